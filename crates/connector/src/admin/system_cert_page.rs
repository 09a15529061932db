//! The system certificate page (`/system-certificate`, CC-26): the connector's TLS client
//! certificate towards back ends (subject, issuer, validity, fingerprint, or none), and its
//! replacement: generate a self-signed one, import a PKCS#12 file, or make a key and CSR,
//! download the CSR, and upload the signed chain later. The rules are
//! [`crate::ops::system_cert`]'s; the new certificate is in force for new sessions without a
//! restart.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::multipart::Uploaded;
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::ops::system_cert::SystemCertificate;
use crate::ops::OpError;

/// The page's routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/system-certificate", get(page))
        .route("/system-certificate/generate", post(generate))
        .route("/system-certificate/import", post(import))
        .route("/system-certificate/csr", post(csr))
        .route("/system-certificate/csr.pem", get(csr_download))
        .route("/system-certificate/signed", post(signed))
}

#[derive(Template)]
#[template(path = "admin/system_certificate.html")]
struct SystemCertPage {
    chrome: Chrome,
    edit: bool,
    s: SystemCertificate,
    notice: Option<String>,
    error: Option<String>,
}

impl SystemCertPage {
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
    let chrome = s.chrome("system-certificate");
    match crate::ops::system_cert::show(&st.shared).await {
        Ok(sc) => render::page(
            status,
            &SystemCertPage {
                chrome,
                edit: roles::may(&s.actor, Permit::EditTrust),
                s: sc,
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

async fn outcome<T>(
    st: &Admin,
    s: &Signed,
    r: Result<T, OpError>,
    notice: impl FnOnce(T) -> String,
) -> Response {
    match r {
        Ok(v) => show(st, s, StatusCode::OK, Some(notice(v)), None).await,
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            show(
                st,
                s,
                status,
                None,
                Some(super::pages::sentence(&e.to_string())),
            )
            .await
        }
    }
}

/// `GET /system-certificate`.
pub async fn page(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewTrust) {
        return super::pages::denied(&s, &e);
    }
    show(&st, &s, StatusCode::OK, None, None).await
}

/// The generate form.
#[derive(Debug, Deserialize)]
pub struct GenerateForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    days: String,
}

/// `POST /system-certificate/generate`.
pub async fn generate(State(st): State<Admin>, p: Posted<GenerateForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let Ok(days) = p.form.days.trim().parse::<u32>() else {
        let e = "The validity is a number of days (1 to 3650).".to_owned();
        return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e)).await;
    };
    let r = crate::ops::system_cert::generate(&st.shared, &s.caller(), &p.form.subject, days).await;
    outcome(&st, &s, r, |v| {
        format!(
            "Generated {}; new sessions use it within a second.",
            v.subject
        )
    })
    .await
}

/// `POST /system-certificate/import` (multipart): `p12` and `password`.
pub async fn import(State(st): State<Admin>, u: Uploaded) -> Response {
    let s = u.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let Some(p12) = u.fields.bytes("p12") else {
        let e = "Choose a PKCS#12 file (.p12, .pfx).".to_owned();
        return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e)).await;
    };
    let password = u.fields.text("password");
    let r = crate::ops::system_cert::import(&st.shared, &s.caller(), p12, &password).await;
    outcome(&st, &s, r, |v| {
        format!(
            "Imported {}; new sessions use it within a second.",
            v.subject
        )
    })
    .await
}

/// The CSR form.
#[derive(Debug, Deserialize)]
pub struct CsrForm {
    #[serde(default)]
    subject: String,
}

/// `POST /system-certificate/csr`: a new key and CSR; the page then offers the download.
pub async fn csr(State(st): State<Admin>, p: Posted<CsrForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let r = crate::ops::system_cert::csr(&st.shared, &s.caller(), &p.form.subject).await;
    outcome(&st, &s, r, |_| {
        "The CSR is ready: download it, have your CA sign it, and upload the signed chain."
            .to_owned()
    })
    .await
}

/// `GET /system-certificate/csr.pem`: the pending CSR.
pub async fn csr_download(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewTrust) {
        return super::pages::denied(&s, &e);
    }
    match crate::ops::system_cert::show(&st.shared).await {
        Ok(SystemCertificate {
            pending_csr: Some(csr),
            ..
        }) => (
            [
                (header::CONTENT_TYPE, "application/pkcs10"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"connector-system.csr\"",
                ),
            ],
            csr,
        )
            .into_response(),
        _ => render::message_for(
            s.chrome("system-certificate"),
            StatusCode::NOT_FOUND,
            "No certificate signing request is pending.",
        ),
    }
}

/// `POST /system-certificate/signed` (multipart): the signed chain (`chain` file or
/// `chain_pem` text) for the pending CSR.
pub async fn signed(State(st): State<Admin>, u: Uploaded) -> Response {
    let s = u.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let chain = match u.fields.bytes("chain") {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => u.fields.text("chain_pem"),
    };
    let r = crate::ops::system_cert::complete(&st.shared, &s.caller(), &chain).await;
    outcome(&st, &s, r, |v| {
        format!(
            "The signed certificate {} (issued by {}) is in force for new sessions.",
            v.subject, v.issuer
        )
    })
    .await
}
