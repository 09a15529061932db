//! Import, export and check all of the access control pages (CC-20, CC-24): the same
//! operations as `portcullis connector access export|import` and `portcullis connector check`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::multipart::Uploaded;
use super::pages::op_page;
use super::pages::{denied, Empty};
use super::render::url_segment;
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::checked;
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::reach::Reachability;

/// `GET /access/export`: the `[[access]]` tables as a file.
pub async fn export(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAccess) {
        return denied(&s, &e);
    }
    match crate::ops::access::export(&st.shared).await {
        Ok(toml) => (
            [
                (header::CONTENT_TYPE, "application/toml; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"access.toml\"",
                ),
            ],
            toml,
        )
            .into_response(),
        Err(e) => {
            let (status, text) = op_page(&e);
            render::message_for(s.chrome("access"), status, &text)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/access_import.html")]
struct ImportPage {
    chrome: Chrome,
    toml: String,
    overwrite: bool,
    summary: Option<crate::access_edit::ImportSummary>,
    error: Option<String>,
}

fn import_page(
    s: &Signed,
    status: StatusCode,
    f: ImportForm,
    summary: Option<crate::access_edit::ImportSummary>,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &ImportPage {
            chrome: s.chrome("access"),
            overwrite: checked(&f.overwrite),
            toml: f.toml,
            summary,
            error,
        },
    )
}

/// `GET /access/import`.
pub async fn import_form(s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(&s, &e);
    }
    import_page(&s, StatusCode::OK, ImportForm::default(), None, None)
}

/// The import form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImportForm {
    toml: String,
    overwrite: String,
}

/// `POST /access/import` (multipart, for the file input): merges the `[[access]]` tables of
/// the chosen file, or else of the pasted text; shows what it did.
pub async fn import(State(st): State<Admin>, u: Uploaded) -> Response {
    let s = u.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(&s, &e);
    }
    let overwrite = u.fields.text("overwrite");
    let toml = match u.fields.bytes("file") {
        Some(b) => match std::str::from_utf8(b) {
            Ok(t) => t.to_owned(),
            Err(_) => {
                let form = ImportForm {
                    toml: String::new(),
                    overwrite,
                };
                let e = "The file is not UTF-8 text (export writes TOML).".to_owned();
                return import_page(&s, StatusCode::BAD_REQUEST, form, None, Some(e));
            }
        },
        None => u.fields.text("toml"),
    };
    let form = ImportForm { toml, overwrite };
    let result = crate::ops::access::import_as(
        &st.shared,
        &s.caller(),
        &form.toml,
        checked(&form.overwrite),
    )
    .await;
    match result {
        Ok(done) => import_page(
            &s,
            StatusCode::OK,
            ImportForm::default(),
            Some(done.summary),
            None,
        ),
        Err(e) => {
            let (status, text) = op_page(&e);
            import_page(&s, status, form, None, Some(text))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/access_check.html")]
struct CheckPage {
    chrome: Chrome,
    results: Vec<Reachability>,
}

/// `POST /access/check`: checks every entry's back end and shows the results.
pub async fn check_all(State(st): State<Admin>, p: Posted<Empty>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAccess) {
        return denied(&s, &e);
    }
    match crate::ops::check(&st.shared, None).await {
        Ok(results) => render::page(
            StatusCode::OK,
            &CheckPage {
                chrome: s.chrome("access"),
                results,
            },
        ),
        Err(e) => {
            let (status, text) = op_page(&e);
            render::message_for(s.chrome("access"), status, &text)
        }
    }
}

/// `POST /access/{name}/check`: checks one entry; back to its page.
pub async fn check_one(
    State(st): State<Admin>,
    Path(name): Path<String>,
    p: Posted<Empty>,
) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAccess) {
        return denied(&s, &e);
    }
    match crate::ops::check(&st.shared, Some(&name)).await {
        Ok(_) => Redirect::to(&format!("/access/{}?checked=1", url_segment(&name))).into_response(),
        Err(e) => {
            let (status, text) = op_page(&e);
            render::message_for(s.chrome("access"), status, &text)
        }
    }
}
