//! The trust store page (`/trust`, CC-27, sap-reference §3.11): the back-end CA certificates
//! (subject, issuer, end of validity, file), adding one by PEM upload (a file or pasted text),
//! removing one, and the **trust all** switch, which needs an explicit confirmation to turn
//! on. The page parses, asks [`roles::permit`] and calls `crate::ops::trust`, the same
//! operations as `portcullis connector trust …`; the reload watcher puts every change in force
//! for new sessions without a restart.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::multipart::Uploaded;
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::trust_edit::TrustedCert;

/// The routes of the trust store, the security status and the UI certificate (pages and
/// API): merged into the admin router in one line.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/trust", get(page))
        .route("/trust/add", post(add))
        .route("/trust/remove", post(remove))
        .route("/trust/trust-all", post(trust_all))
}

#[derive(Template)]
#[template(path = "admin/trust.html")]
struct TrustPage {
    chrome: Chrome,
    edit: bool,
    trust_all: bool,
    certificates: Vec<TrustedCert>,
    problems: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
}

impl TrustPage {
    fn when(&self, t: &str) -> String {
        render::when(t)
    }
}

async fn show(
    st: &Admin,
    s: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let chrome = s.chrome("trust");
    let edit = roles::may(&s.actor, Permit::EditTrust);
    match crate::ops::trust::list(&st.shared).await {
        Ok(t) => render::page(
            status,
            &TrustPage {
                chrome,
                edit,
                trust_all: t.trust_all,
                certificates: t.certificates,
                problems: t.problems,
                notice,
                error,
            },
        ),
        Err(e) => render::message_for(
            chrome,
            StatusCode::INTERNAL_SERVER_ERROR,
            &super::pages::sentence(&e.to_string()),
        ),
    }
}

/// `GET /trust`.
pub async fn page(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewTrust) {
        return super::pages::denied(&s, &e);
    }
    show(&st, &s, StatusCode::OK, None, None).await
}

/// `POST /trust/add` (multipart): `name`, and the PEM as the file `file` or the text `pem`.
pub async fn add(State(st): State<Admin>, u: Uploaded) -> Response {
    let s = u.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let name = u.fields.text("name").trim().to_owned();
    let pem = match u.fields.bytes("file") {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => u.fields.text("pem"),
    };
    if pem.trim().is_empty() {
        let e = "Choose a PEM file or paste the certificate.".to_owned();
        return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e)).await;
    }
    match crate::ops::trust::add(&st.shared, &s.caller(), &name, &pem).await {
        Ok(e) => {
            let n = format!(
                "Added {} ({} certificate(s)); new sessions use it within a second.",
                e.file,
                e.certificates.len()
            );
            show(&st, &s, StatusCode::OK, Some(n), None).await
        }
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            let text = super::pages::sentence(&e.to_string());
            show(&st, &s, status, None, Some(text)).await
        }
    }
}

/// The remove form.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    name: String,
}

/// `POST /trust/remove`: `name`, a file as the page lists it.
pub async fn remove(State(st): State<Admin>, p: Posted<RemoveForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    match crate::ops::trust::remove(&st.shared, &s.caller(), &p.form.name).await {
        Ok(e) => {
            let n = format!("Removed {}; new sessions no longer trust it.", e.file);
            show(&st, &s, StatusCode::OK, Some(n), None).await
        }
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            let text = super::pages::sentence(&e.to_string());
            show(&st, &s, status, None, Some(text)).await
        }
    }
}

/// The trust-all form: `on` (`yes`/`no`) and, to turn it on, `confirm=yes`.
#[derive(Debug, Deserialize)]
pub struct TrustAllForm {
    #[serde(default)]
    on: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /trust/trust-all`.
pub async fn trust_all(State(st): State<Admin>, p: Posted<TrustAllForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let on = match p.form.on.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            let e = "Say whether trust all is to be on or off.".to_owned();
            return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e)).await;
        }
    };
    if on && p.form.confirm != "yes" {
        let e = "Trust all was not turned on: confirm that every back-end certificate, a forged \
                 one too, is to be accepted."
            .to_owned();
        return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e)).await;
    }
    match crate::ops::trust::trust_all(&st.shared, &s.caller(), on).await {
        Ok(_) => {
            let n = if on {
                "Trust all is on: every back-end certificate is accepted."
            } else {
                "Trust all is off: only the trust store's certificates are accepted."
            };
            show(&st, &s, StatusCode::OK, Some(n.to_owned()), None).await
        }
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            let text = super::pages::sentence(&e.to_string());
            show(&st, &s, status, None, Some(text)).await
        }
    }
}
