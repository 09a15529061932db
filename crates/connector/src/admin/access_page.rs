//! The access control pages (CC-18..21, CC-23, CC-24, CC-57): the list, one entry (edit,
//! delete with a confirmation). The wizard is [`super::access_wizard_page`], the resources
//! [`super::access_resources_page`], import, export and check all [`super::access_io_page`].
//!
//! Pages parse, ask [`roles::permit`] ([`Permit::ViewAccess`] to see, [`Permit::EditAccess`]
//! to change), call the operations (`crate::ops::access_entry`, the same the API calls) and
//! render. Each edit form carries the version of the entry it was rendered from; a stale one
//! is refused by the operation and shown with 409 and the entry as it is now.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use portcullis_domain::access::BackendType;
use serde::Deserialize;

use super::access_io_page as io;
use super::access_resources_page as res;
use super::access_wizard_page as wizard;
use super::pages::op_page;
use super::pages::{denied, sentence};
use super::render::url_segment;
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::checked;
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::ops::access_entry::{self, EntryView};
use crate::ops::entry_text::EntryFields;
use crate::reach::Reachability;

/// The access control pages' routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/access", get(list))
        .route("/access/new", get(wizard::start).post(wizard::step))
        .route("/access/export", get(io::export))
        .route("/access/import", get(io::import_form).post(io::import))
        .route("/access/check", post(io::check_all))
        .route("/access/{name}", get(entry).post(update))
        .route("/access/{name}/delete", get(delete_form).post(delete))
        .route("/access/{name}/check", post(io::check_one))
        .route("/access/{name}/resources", get(res::list).post(res::add))
        .route("/access/{name}/resources/{index}", post(res::update))
        .route("/access/{name}/resources/{index}/remove", post(res::remove))
}

/// An entry with its last reachability result.
#[derive(Debug)]
pub(crate) struct Row {
    /// The entry.
    pub e: EntryView,
    /// Its last check, if any.
    pub reach: Option<Reachability>,
}

impl Row {
    /// The path of its page.
    pub fn href(&self) -> String {
        format!("/access/{}", url_segment(&self.e.name))
    }

    /// The last check, in words.
    pub fn reach_text(&self) -> String {
        match &self.reach {
            None => "not checked".into(),
            Some(r) if r.reachable => format!("reachable ({})", r.detail),
            Some(r) => format!("not reachable: {}", r.detail),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/access_list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    can_edit: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// `?removed=` after a deletion.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    removed: Option<String>,
}

/// `GET /access`: every entry.
pub async fn list(State(st): State<Admin>, s: Signed, Query(q): Query<ListQuery>) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAccess) {
        return denied(&s, &e);
    }
    let (rows, error) = match access_entry::list(&st.shared).await {
        Ok(v) => (v, None),
        Err(e) => (Vec::new(), Some(sentence(&e.to_string()))),
    };
    let rows = rows
        .into_iter()
        .map(|e| Row {
            reach: st.shared.reach.of(&e.name),
            e,
        })
        .collect();
    render::page(
        StatusCode::OK,
        &ListPage {
            can_edit: roles::may(&s.actor, Permit::EditAccess),
            chrome: s.chrome("access"),
            rows,
            notice: q.removed.map(|n| format!("The entry {n} is removed.")),
            error,
        },
    )
}

#[derive(Template)]
#[template(path = "admin/access_entry.html")]
struct EntryPage {
    chrome: Chrome,
    row: Row,
    /// What the form shows (the entry, or what was typed when refused).
    f: EntryFields,
    backends: Vec<&'static str>,
    can_edit: bool,
    notice: Option<String>,
    error: Option<String>,
}

impl EntryPage {
    fn backend_is(&self, b: &str) -> bool {
        self.f.backend_type == b
    }

    fn protocol_is(&self, p: &str) -> bool {
        self.f.protocol == p
    }

    fn protocols(&self) -> [&'static str; 7] {
        ["http", "https", "tcp", "tcp_tls", "ldap", "ldaps", "ni"]
    }
}

/// `?added=1&checked=1&saved=1` after the wizard or a save.
#[derive(Debug, Default, Deserialize)]
pub struct EntryQuery {
    #[serde(default)]
    added: Option<String>,
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    checked: Option<String>,
}

async fn entry_page(
    st: &Admin,
    s: &Signed,
    name: &str,
    status: StatusCode,
    typed: Option<EntryFields>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let e = match access_entry::get(&st.shared, name).await {
        Ok(e) => e,
        Err(e) => {
            let (status, text) = op_page(&e);
            return render::message_for(s.chrome("access"), status, &text);
        }
    };
    render::page(
        status,
        &EntryPage {
            chrome: s.chrome("access"),
            f: typed.unwrap_or_else(|| e.fields()),
            backends: BackendType::ALL.iter().map(|b| b.as_str()).collect(),
            can_edit: roles::may(&s.actor, Permit::EditAccess),
            row: Row {
                reach: st.shared.reach.of(&e.name),
                e,
            },
            notice,
            error,
        },
    )
}

/// `GET /access/{name}`: the entry, its edit form (for those who may edit).
pub async fn entry(
    State(st): State<Admin>,
    s: Signed,
    Path(name): Path<String>,
    Query(q): Query<EntryQuery>,
) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAccess) {
        return denied(&s, &e);
    }
    let notice = match (&q.added, &q.saved, &q.checked) {
        (Some(_), _, Some(_)) => {
            Some("The entry is added and in force; its reachability is checked below.".into())
        }
        (Some(_), _, None) => Some("The entry is added and in force.".into()),
        (None, Some(_), _) => Some("The entry is saved and in force.".into()),
        (None, None, Some(_)) => Some("Reachability checked.".into()),
        _ => None,
    };
    entry_page(&st, &s, &name, StatusCode::OK, None, notice, None).await
}

/// The edit form's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditForm {
    version: String,
    name: String,
    backend_type: String,
    protocol: String,
    internal: String,
    #[serde(rename = "virtual")]
    virtual_target: String,
    host_in_header: String,
    system_certificate: String,
    system_id: String,
    description: String,
}

/// `POST /access/{name}`: saves the entry if it is still the version the form was made from.
pub async fn update(
    State(st): State<Admin>,
    Path(name): Path<String>,
    p: Posted<EditForm>,
) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(&s, &e);
    }
    let g = p.form;
    let f = EntryFields {
        name: g.name.trim().into(),
        backend_type: g.backend_type.trim().into(),
        protocol: g.protocol.trim().into(),
        internal: g.internal.trim().into(),
        virtual_target: g.virtual_target.trim().into(),
        host_in_header: g.host_in_header.trim().into(),
        system_certificate: checked(&g.system_certificate),
        system_id: g.system_id.trim().into(),
        description: g.description.trim().into(),
    };
    match access_entry::update(&st.shared, &s.caller(), &name, &g.version, &f).await {
        Ok(done) => {
            Redirect::to(&format!("/access/{}?saved=1", url_segment(&done.name))).into_response()
        }
        Err(e) => {
            let (status, text) = op_page(&e);
            // A conflict shows the entry as it is now; anything else what was typed.
            let typed = (status != StatusCode::CONFLICT).then_some(f);
            entry_page(&st, &s, &name, status, typed, None, Some(text)).await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/access_delete.html")]
struct DeletePage {
    chrome: Chrome,
    e: EntryView,
    href: String,
}

/// `GET /access/{name}/delete`: the confirmation.
pub async fn delete_form(State(st): State<Admin>, s: Signed, Path(name): Path<String>) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(&s, &e);
    }
    match access_entry::get(&st.shared, &name).await {
        Ok(e) => render::page(
            StatusCode::OK,
            &DeletePage {
                chrome: s.chrome("access"),
                href: format!("/access/{}", url_segment(&e.name)),
                e,
            },
        ),
        Err(e) => {
            let (status, text) = op_page(&e);
            render::message_for(s.chrome("access"), status, &text)
        }
    }
}

/// A form with the entry's version.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VersionForm {
    version: String,
}

/// `POST /access/{name}/delete`: removes the entry if it is still the version confirmed.
pub async fn delete(
    State(st): State<Admin>,
    Path(name): Path<String>,
    p: Posted<VersionForm>,
) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(&s, &e);
    }
    match access_entry::remove(&st.shared, &s.caller(), &name, &p.form.version).await {
        Ok(_) => Redirect::to(&format!("/access?removed={}", url_segment(&name))).into_response(),
        Err(e) => {
            let (status, text) = op_page(&e);
            entry_page(&st, &s, &name, status, None, None, Some(text)).await
        }
    }
}
