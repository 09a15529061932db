//! The REST API of the trust store, the security status and the UI certificate: the same
//! permits ([`roles::permit`]) and operations as their pages.
//!
//! - `GET /api/v1/trust`, `POST /api/v1/trust` `{"name","pem"}`,
//!   `DELETE /api/v1/trust/{name}`, `PUT /api/v1/trust/trust-all` `{"trust_all": bool}`;
//! - `GET /api/v1/security`;
//! - `POST /api/v1/ui-certificate/csr` `{"cn","names"}`;
//! - `GET /api/v1/ui-certificate`, `PUT /api/v1/ui-certificate` with `{"chain_pem"}` (the
//!   pending CSR's signed chain), `{"chain_pem","key_pem"}`
//!   or `{"p12_base64","password"}`;
//! - `GET /api/v1/system-certificate`, `POST /api/v1/system-certificate/generate`
//!   `{"subject","days"}`, `POST /api/v1/system-certificate/csr` `{"subject"}`,
//!   `PUT /api/v1/system-certificate` with `{"chain_pem"}` (the pending CSR's signed chain) or
//!   `{"p12_base64","password"}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::api::{ApiError, ApiUser};
use super::roles::{self, Actor, Permit};
use super::state::Admin;
use super::ui_cert;
use crate::ops::security::State as CheckState;
use crate::shared::LocalCaller;

/// The routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/api/v1/trust", get(list).post(add))
        .route("/api/v1/trust/trust-all", put(trust_all))
        .route("/api/v1/trust/{name}", delete(remove))
        .route("/api/v1/security", get(security))
        .route(
            "/api/v1/ui-certificate",
            get(ui_certificate).put(replace_ui),
        )
        .route("/api/v1/ui-certificate/csr", post(ui_certificate_csr))
        .route(
            "/api/v1/system-certificate",
            get(system_certificate).put(put_system_certificate),
        )
        .route(
            "/api/v1/system-certificate/generate",
            post(generate_system_certificate),
        )
        .route(
            "/api/v1/system-certificate/csr",
            post(system_certificate_csr),
        )
}

fn p12_bytes(b64: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("p12_base64: {e}"),
            )
        })
}

/// `GET /api/v1/system-certificate`: the current one (or null) and a pending CSR.
pub async fn system_certificate(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    let s = crate::ops::system_cert::show(&st.shared).await?;
    Ok(Json(json!({
        "certificate": s.current, "problem": s.problem, "pending_csr": s.pending_csr,
    }))
    .into_response())
}

/// The body of a generation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateBody {
    subject: String,
    #[serde(default = "default_days")]
    days: u32,
}

fn default_days() -> u32 {
    365
}

/// `POST /api/v1/system-certificate/generate`: 201 with the new certificate.
pub async fn generate_system_certificate(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: GenerateBody = body(&b)?;
    let v = crate::ops::system_cert::generate(&st.shared, &caller(&a), &b.subject, b.days).await?;
    Ok((StatusCode::CREATED, Json(json!({ "certificate": v }))).into_response())
}

/// The body of a CSR.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrBody {
    subject: String,
}

/// `POST /api/v1/system-certificate/csr`: 201 with the CSR (PEM).
pub async fn system_certificate_csr(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: CsrBody = body(&b)?;
    let csr = crate::ops::system_cert::csr(&st.shared, &caller(&a), &b.subject).await?;
    Ok((StatusCode::CREATED, Json(json!({ "csr": csr }))).into_response())
}

/// The body of a system certificate replacement.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SystemBody {
    /// The signed chain of the pending CSR.
    Signed {
        /// The chain, leaf first.
        chain_pem: String,
    },
    /// A PKCS#12 file.
    P12 {
        /// The file, base64.
        p12_base64: String,
        /// Its password.
        #[serde(default)]
        password: String,
    },
}

/// `PUT /api/v1/system-certificate`: the pending CSR's signed chain, or a PKCS#12 file.
pub async fn put_system_certificate(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let v = match body::<SystemBody>(&b)? {
        SystemBody::Signed { chain_pem } => {
            crate::ops::system_cert::complete(&st.shared, &caller(&a), &chain_pem).await?
        }
        SystemBody::P12 {
            p12_base64,
            password,
        } => {
            let p12 = p12_bytes(&p12_base64)?;
            crate::ops::system_cert::import(&st.shared, &caller(&a), &p12, &password).await?
        }
    };
    Ok(Json(json!({ "certificate": v })).into_response())
}

fn caller(a: &Actor) -> LocalCaller {
    LocalCaller {
        by: a.name.clone(),
        via: "api",
        uid: None,
        pid: None,
    }
}

fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body: {e}"),
        )
    })
}

/// `GET /api/v1/trust`.
pub async fn list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    let t = crate::ops::trust::list(&st.shared).await?;
    Ok(Json(json!({
        "trust_all": t.trust_all, "certificates": t.certificates, "problems": t.problems,
    }))
    .into_response())
}

/// The body of an addition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    name: String,
    pem: String,
}

/// `POST /api/v1/trust`: 201 with the file and its certificates.
pub async fn add(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: AddBody = body(&b)?;
    let e = crate::ops::trust::add(&st.shared, &caller(&a), &b.name, &b.pem).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "file": e.file, "certificates": e.certificates })),
    )
        .into_response())
}

/// `DELETE /api/v1/trust/{name}`.
pub async fn remove(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let e = crate::ops::trust::remove(&st.shared, &caller(&a), &name).await?;
    Ok(Json(json!({ "file": e.file, "certificates": e.certificates })).into_response())
}

/// The body of the switch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustAllBody {
    trust_all: bool,
}

/// `PUT /api/v1/trust/trust-all`.
pub async fn trust_all(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: TrustAllBody = body(&b)?;
    let changed = crate::ops::trust::trust_all(&st.shared, &caller(&a), b.trust_all).await?;
    Ok(Json(json!({ "trust_all": b.trust_all, "changed": changed })).into_response())
}

/// `GET /api/v1/security`: every check, and how many warn.
pub async fn security(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewSecurity)?;
    let checks = super::security_page::status(&st).await;
    let warnings = checks
        .iter()
        .filter(|c| c.state == CheckState::Warning)
        .count();
    Ok(Json(json!({ "warnings": warnings, "checks": checks })).into_response())
}

/// `GET /api/v1/ui-certificate`.
pub async fn ui_certificate(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    Ok(Json(json!({ "certificate": ui_cert::current(&st) })).into_response())
}

/// The body of a replacement: PEM, or PKCS#12 in base64.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum ReplaceBody {
    /// A chain (leaf first) and its key.
    Pem {
        /// The chain.
        chain_pem: String,
        /// The key.
        key_pem: String,
    },
    /// A PKCS#12 file.
    P12 {
        /// The file, base64.
        p12_base64: String,
        /// Its password.
        #[serde(default)]
        password: String,
    },
    /// The signed chain of the pending CSR.
    Signed {
        /// The chain, leaf first.
        chain_pem: String,
    },
}

/// The body of a UI certificate CSR.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiCsrBody {
    cn: String,
    #[serde(default)]
    names: Vec<String>,
}

/// `POST /api/v1/ui-certificate/csr`: 201 with the CSR; the signed chain comes with
/// `PUT /api/v1/ui-certificate` `{"chain_pem"}`.
pub async fn ui_certificate_csr(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: UiCsrBody = body(&b)?;
    let csr = ui_cert::csr(&st, &a.name, "api", &b.cn, &b.names.join(","))
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string()))?;
    Ok((StatusCode::CREATED, Json(json!({ "csr": csr }))).into_response())
}

/// `PUT /api/v1/ui-certificate`: in force for the next TLS connection.
pub async fn replace_ui(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let r = match body::<ReplaceBody>(&b)? {
        ReplaceBody::Pem { chain_pem, key_pem } => {
            ui_cert::replace_pem(&st, &a.name, "api", &chain_pem, &key_pem)
        }
        ReplaceBody::P12 {
            p12_base64,
            password,
        } => {
            let p12 = p12_bytes(&p12_base64)?;
            ui_cert::replace_p12(&st, &a.name, "api", &p12, &password)
        }
        ReplaceBody::Signed { chain_pem } => ui_cert::complete(&st, &a.name, "api", &chain_pem),
    };
    let v = r.map_err(|e| {
        ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            format!("not replaced: {e}"),
        )
    })?;
    Ok(Json(json!({ "certificate": v })).into_response())
}
