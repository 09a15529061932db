//! The resources of an HTTP or HTTPS access entry (`/access/{name}/resources`): list, add,
//! edit, remove (sap-reference §3.5.3). Each form carries the entry's version; a resource is
//! addressed by its position, which the version guards (a list that moved meanwhile is a
//! stale version: 409).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::denied;
use super::pages::op_page;
use super::render::url_segment;
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::checked;
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::ops::access_entry::{self, EntryView};
use crate::ops::entry_text::{ResourceChange, ResourceFields};

#[derive(Template)]
#[template(path = "admin/access_resources.html")]
struct ResourcesPage {
    chrome: Chrome,
    e: EntryView,
    href: String,
    can_edit: bool,
    http: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn page(
    st: &Admin,
    s: &Signed,
    name: &str,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    match access_entry::get(&st.shared, name).await {
        Ok(e) => render::page(
            status,
            &ResourcesPage {
                chrome: s.chrome("access"),
                href: format!("/access/{}", url_segment(&e.name)),
                http: e.protocol == "http" || e.protocol == "https",
                can_edit: roles::may(&s.actor, Permit::EditAccess),
                e,
                notice,
                error,
            },
        ),
        Err(e) => {
            let (status, text) = op_page(&e);
            render::message_for(s.chrome("access"), status, &text)
        }
    }
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /access/{name}/resources`.
pub async fn list(
    State(st): State<Admin>,
    s: Signed,
    Path(name): Path<String>,
    axum::extract::Query(q): axum::extract::Query<DoneQuery>,
) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAccess) {
        return denied(&s, &e);
    }
    let notice = q.done.map(|d| match d.as_str() {
        "added" => "The resource is added and in force.".to_owned(),
        "removed" => "The resource is removed.".to_owned(),
        _ => "The resource is saved and in force.".to_owned(),
    });
    page(&st, &s, &name, StatusCode::OK, notice, None).await
}

/// A resource form: the entry's version and the resource's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResourceForm {
    version: String,
    path: String,
    policy: String,
    active: String,
    websocket_upgrade: String,
    description: String,
}

impl ResourceForm {
    fn fields(&self) -> ResourceFields {
        ResourceFields {
            path: self.path.trim().to_owned(),
            policy: self.policy.trim().to_owned(),
            active: checked(&self.active),
            websocket_upgrade: checked(&self.websocket_upgrade),
            description: self.description.trim().to_owned(),
        }
    }
}

async fn change(
    st: &Admin,
    s: &Signed,
    name: &str,
    version: &str,
    c: ResourceChange,
    done: &str,
) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(s, &e);
    }
    match access_entry::resources(&st.shared, &s.caller(), name, version, &c).await {
        Ok(_) => Redirect::to(&format!(
            "/access/{}/resources?done={done}",
            url_segment(name)
        ))
        .into_response(),
        Err(e) => {
            let (status, text) = op_page(&e);
            page(st, s, name, status, None, Some(text)).await
        }
    }
}

/// `POST /access/{name}/resources`: adds a resource.
pub async fn add(
    State(st): State<Admin>,
    Path(name): Path<String>,
    p: Posted<ResourceForm>,
) -> Response {
    let c = ResourceChange::Add(p.form.fields());
    change(&st, &p.signed, &name, &p.form.version, c, "added").await
}

/// `POST /access/{name}/resources/{index}`: replaces the resource at `index`.
pub async fn update(
    State(st): State<Admin>,
    Path((name, index)): Path<(String, usize)>,
    p: Posted<ResourceForm>,
) -> Response {
    let c = ResourceChange::Replace(index, p.form.fields());
    change(&st, &p.signed, &name, &p.form.version, c, "saved").await
}

/// `POST /access/{name}/resources/{index}/remove`.
pub async fn remove(
    State(st): State<Admin>,
    Path((name, index)): Path<(String, usize)>,
    p: Posted<ResourceForm>,
) -> Response {
    let c = ResourceChange::Remove(index);
    change(&st, &p.signed, &name, &p.form.version, c, "removed").await
}
