//! The backup page (`/settings/backup`, Administrators): a password twice, and the encrypted
//! backup file as the answer; the same operation as `POST /api/v1/backup`
//! ([`crate::ops::backup::make`]).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;

/// The page's routes.
pub fn routes() -> Router<Admin> {
    Router::new().route("/settings/backup", get(form).post(make))
}

#[derive(Template)]
#[template(path = "admin/backup.html")]
struct BackupPage {
    chrome: Chrome,
    error: Option<String>,
}

fn page(s: &Signed, status: StatusCode, error: Option<String>) -> Response {
    render::page(
        status,
        &BackupPage {
            chrome: s.chrome("backup"),
            error,
        },
    )
}

/// `GET /settings/backup`.
pub async fn form(s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::Backup) {
        return super::pages::denied(&s, &e);
    }
    page(&s, StatusCode::OK, None)
}

/// The form's fields.
#[derive(Debug, Deserialize)]
pub struct BackupForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// `POST /settings/backup`: the file, or the page with why not.
pub async fn make(State(st): State<Admin>, p: Posted<BackupForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::Backup) {
        return super::pages::denied(&s, &e);
    }
    if p.form.password != p.form.repeat {
        let e = "The two passwords differ; type the same one twice.".to_owned();
        return page(&s, StatusCode::BAD_REQUEST, Some(e));
    }
    match crate::ops::backup::make(&st.shared, &s.caller(), p.form.password).await {
        Ok(made) => super::api_backup::file_response(made),
        Err(e) => {
            let (status, _) = super::api_backup::refused(&e);
            page(&s, status, Some(super::pages::sentence(&e.to_string())))
        }
    }
}
