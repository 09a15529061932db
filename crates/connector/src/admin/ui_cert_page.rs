//! The UI certificate page (`/settings/ui-certificate`, sap-reference §3.12): the certificate
//! the admin listener serves (subject, issuer, validity, self-signed or not) and its
//! replacement by a PEM chain and key or by a PKCS#12 file, in force for the next TLS
//! connection ([`super::ui_cert`] holds the rules).

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::multipart::{Fields, Uploaded};
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use super::ui_cert::{self, UiCertView};

/// The page's routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/settings/ui-certificate", get(page))
        .route("/settings/ui-certificate/pem", post(upload_pem))
        .route("/settings/ui-certificate/p12", post(upload_p12))
        .route("/settings/ui-certificate/csr", post(make_csr))
        .route("/settings/ui-certificate/csr.pem", get(csr_download))
        .route("/settings/ui-certificate/signed", post(upload_signed))
}

#[derive(Template)]
#[template(path = "admin/ui_certificate.html")]
struct UiCertPage {
    chrome: Chrome,
    edit: bool,
    cert: Option<UiCertView>,
    pending_csr: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

impl UiCertPage {
    fn when(&self, t: &str) -> String {
        render::when(t)
    }
}

fn show(
    st: &Admin,
    s: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &UiCertPage {
            chrome: s.chrome("ui-certificate"),
            edit: roles::may(&s.actor, Permit::EditTrust),
            cert: ui_cert::current(st),
            pending_csr: ui_cert::pending_csr(st),
            notice,
            error,
        },
    )
}

/// `GET /settings/ui-certificate`.
pub async fn page(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewTrust) {
        return super::pages::denied(&s, &e);
    }
    show(&st, &s, StatusCode::OK, None, None)
}

/// A file input's content, else the text area's.
fn file_or_text(f: &Fields, file: &str, text: &str) -> String {
    match f.bytes(file) {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => f.text(text),
    }
}

fn done(st: &Admin, s: &Signed, r: Result<UiCertView, ui_cert::ReplaceError>) -> Response {
    match r {
        Ok(v) => {
            let n = format!(
                "The UI certificate is now {} (issued by {}); new connections get it.",
                v.subject, v.issuer
            );
            show(st, s, StatusCode::OK, Some(n), None)
        }
        Err(e) => {
            let text = format!("Not replaced: {}", super::pages::sentence(&e.to_string()));
            show(st, s, StatusCode::UNPROCESSABLE_ENTITY, None, Some(text))
        }
    }
}

/// `POST /settings/ui-certificate/pem` (multipart): the chain (`chain` file or `chain_pem`
/// text) and the key (`key` file or `key_pem` text).
pub async fn upload_pem(State(st): State<Admin>, u: Uploaded) -> Response {
    let s = u.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let chain = file_or_text(&u.fields, "chain", "chain_pem");
    let key = file_or_text(&u.fields, "key", "key_pem");
    if chain.trim().is_empty() || key.trim().is_empty() {
        let e = "Give the certificate chain and its private key.".to_owned();
        return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e));
    }
    let r = ui_cert::replace_pem(&st, &s.actor.name, "ui", &chain, &key);
    done(&st, &s, r)
}

/// `POST /settings/ui-certificate/p12` (multipart): the file `p12` and its `password`.
pub async fn upload_p12(State(st): State<Admin>, u: Uploaded) -> Response {
    let s = u.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let Some(p12) = u.fields.bytes("p12") else {
        let e = "Choose a PKCS#12 file (.p12, .pfx).".to_owned();
        return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e));
    };
    let r = ui_cert::replace_p12(&st, &s.actor.name, "ui", p12, &u.fields.text("password"));
    done(&st, &s, r)
}

/// The CSR form.
#[derive(Debug, Deserialize)]
pub struct CsrForm {
    #[serde(default)]
    cn: String,
    #[serde(default)]
    names: String,
}

/// `POST /settings/ui-certificate/csr`: a key and CSR; the page then offers the download.
pub async fn make_csr(State(st): State<Admin>, p: Posted<CsrForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    match ui_cert::csr(&st, &s.actor.name, "ui", &p.form.cn, &p.form.names) {
        Ok(_) => {
            let n = "The CSR is ready: download it, have your CA sign it, and upload the signed \
                     chain."
                .to_owned();
            show(&st, &s, StatusCode::OK, Some(n), None)
        }
        Err(e) => {
            let text = super::pages::sentence(&e.to_string());
            show(&st, &s, StatusCode::UNPROCESSABLE_ENTITY, None, Some(text))
        }
    }
}

/// `GET /settings/ui-certificate/csr.pem`: the pending CSR.
pub async fn csr_download(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewTrust) {
        return super::pages::denied(&s, &e);
    }
    match ui_cert::pending_csr(&st) {
        Some(csr) => (
            [
                (header::CONTENT_TYPE, "application/pkcs10"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"connector-ui.csr\"",
                ),
            ],
            csr,
        )
            .into_response(),
        None => render::message_for(
            s.chrome("ui-certificate"),
            StatusCode::NOT_FOUND,
            "No certificate signing request is pending.",
        ),
    }
}

/// `POST /settings/ui-certificate/signed` (multipart): the signed chain of the pending CSR
/// (`chain` file or `chain_pem` text).
pub async fn upload_signed(State(st): State<Admin>, u: Uploaded) -> Response {
    let s = u.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let chain = file_or_text(&u.fields, "chain", "chain_pem");
    let r = ui_cert::complete(&st, &s.actor.name, "ui", &chain);
    done(&st, &s, r)
}
