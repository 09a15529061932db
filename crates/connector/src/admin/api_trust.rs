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
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{caller, json_body as body, ApiError, ApiUser, ErrorBody};
use super::roles::{self, Permit};
use super::state::Admin;
use super::ui_cert::{self, UiCertView};
use crate::ops::security::{Check, State as CheckState};
use crate::ops::system_cert::SystemCertificate;
use crate::ops::trust::{TrustEdited, TrustStore};
use crate::system_cert::SystemCertView;

/// The routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(trust_all))
        .routes(routes!(remove))
        .routes(routes!(security))
        .routes(routes!(ui_certificate, replace_ui))
        .routes(routes!(ui_certificate_csr))
        .routes(routes!(system_certificate, put_system_certificate))
        .routes(routes!(generate_system_certificate))
        .routes(routes!(system_certificate_csr))
}

/// A certificate, as it is now.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemCertificateView {
    certificate: SystemCertView,
}

/// The UI certificate, as it is now (`null` if it cannot be read).
#[derive(Debug, Serialize, ToSchema)]
pub struct UiCertificate {
    certificate: Option<UiCertView>,
}

/// A certificate signing request to give a CA.
#[derive(Debug, Serialize, ToSchema)]
pub struct Csr {
    /// PEM.
    csr: String,
}

/// The trust-all switch as set.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustAll {
    trust_all: bool,
    /// Whether it was set otherwise before.
    changed: bool,
}

/// The security status: every check, and how many warn.
#[derive(Debug, Serialize, ToSchema)]
pub struct Security {
    warnings: usize,
    checks: Vec<Check>,
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

/// The current one (or null) and a pending CSR.
#[utoipa::path(get, path = "/api/v1/system-certificate", tag = "certificates",
    responses((status = 200, body = SystemCertificate)),
    extensions(("x-permit" = json!("ViewTrust"))))]
pub async fn system_certificate(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    let s = crate::ops::system_cert::show(&st.shared).await?;
    Ok(Json(s).into_response())
}

/// The body of a generation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateBody {
    /// Subject DN, e.g. `CN=connector,O=Example`.
    subject: String,
    /// Days of validity (default 365).
    #[serde(default = "default_days")]
    days: u32,
}

fn default_days() -> u32 {
    365
}

/// 201 with the new certificate.
#[utoipa::path(post, path = "/api/v1/system-certificate/generate", tag = "certificates",
    request_body = GenerateBody,
    responses((status = 201, body = SystemCertificateView),
        (status = 400, body = ErrorBody, description = "a bad body"),
        (status = 422, body = ErrorBody, description = "refused (`refused`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn generate_system_certificate(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: GenerateBody = body(&b)?;
    let v = crate::ops::system_cert::generate(&st.shared, &caller(&a), &b.subject, b.days).await?;
    Ok((
        StatusCode::CREATED,
        Json(SystemCertificateView { certificate: v }),
    )
        .into_response())
}

/// The body of a CSR.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CsrBody {
    /// Subject DN, e.g. `CN=connector,O=Example`.
    subject: String,
}

/// 201 with the CSR (PEM).
#[utoipa::path(post, path = "/api/v1/system-certificate/csr", tag = "certificates",
    request_body = CsrBody,
    responses((status = 201, body = Csr),
        (status = 400, body = ErrorBody, description = "a bad body"),
        (status = 422, body = ErrorBody, description = "refused (`refused`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn system_certificate_csr(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: CsrBody = body(&b)?;
    let csr = crate::ops::system_cert::csr(&st.shared, &caller(&a), &b.subject).await?;
    Ok((StatusCode::CREATED, Json(Csr { csr })).into_response())
}

/// The body of a system certificate replacement.
#[derive(Debug, Deserialize, ToSchema)]
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

/// The pending CSR's signed chain, or a PKCS#12 file.
#[utoipa::path(put, path = "/api/v1/system-certificate", tag = "certificates",
    request_body = SystemBody,
    responses((status = 200, body = SystemCertificateView),
        (status = 400, body = ErrorBody, description = "a bad body"),
        (status = 422, body = ErrorBody, description = "the chain or file is refused (`refused`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
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
    Ok(Json(SystemCertificateView { certificate: v }).into_response())
}

/// The back-end trust store: trust all, its certificates, files that cannot be read.
#[utoipa::path(get, path = "/api/v1/trust", tag = "trust",
    responses((status = 200, body = TrustStore)),
    extensions(("x-permit" = json!("ViewTrust"))))]
pub async fn list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    let t = crate::ops::trust::list(&st.shared).await?;
    Ok(Json(t).into_response())
}

/// The body of an addition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// The file's name in the trust store.
    name: String,
    /// One or more certificates, PEM.
    pem: String,
}

/// 201 with the file and its certificates.
#[utoipa::path(post, path = "/api/v1/trust", tag = "trust",
    request_body = AddBody,
    responses((status = 201, body = TrustEdited),
        (status = 400, body = ErrorBody, description = "a bad body, name or certificate (`bad_certificate`)"),
        (status = 409, body = ErrorBody, description = "a file has that name (`exists`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn add(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: AddBody = body(&b)?;
    let e = crate::ops::trust::add(&st.shared, &caller(&a), &b.name, &b.pem).await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// Removes a file from the trust store.
#[utoipa::path(delete, path = "/api/v1/trust/{name}", tag = "trust",
    params(("name" = String, Path, description = "The trust store file's name")),
    responses((status = 200, body = TrustEdited),
        (status = 404, body = ErrorBody, description = "no such file (`unknown_certificate`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn remove(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let e = crate::ops::trust::remove(&st.shared, &caller(&a), &name).await?;
    Ok(Json(e).into_response())
}

/// The body of the switch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustAllBody {
    /// Trust every back-end certificate (an unsafe setting the security page warns of).
    trust_all: bool,
}

/// Turns trust all on or off.
#[utoipa::path(put, path = "/api/v1/trust/trust-all", tag = "trust",
    request_body = TrustAllBody,
    responses((status = 200, body = TrustAll),
        (status = 400, body = ErrorBody, description = "a bad body")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn trust_all(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: TrustAllBody = body(&b)?;
    let changed = crate::ops::trust::trust_all(&st.shared, &caller(&a), b.trust_all).await?;
    Ok(Json(TrustAll {
        trust_all: b.trust_all,
        changed,
    })
    .into_response())
}

/// Every check, and how many warn.
#[utoipa::path(get, path = "/api/v1/security", tag = "trust",
    responses((status = 200, body = Security)),
    extensions(("x-permit" = json!("ViewSecurity"))))]
pub async fn security(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewSecurity)?;
    let checks = super::security_page::status(&st).await;
    let warnings = checks
        .iter()
        .filter(|c| c.state == CheckState::Warning)
        .count();
    Ok(Json(Security { warnings, checks }).into_response())
}

/// The admin listener's certificate.
#[utoipa::path(get, path = "/api/v1/ui-certificate", tag = "certificates",
    responses((status = 200, body = UiCertificate)),
    extensions(("x-permit" = json!("ViewTrust"))))]
pub async fn ui_certificate(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    Ok(Json(UiCertificate {
        certificate: ui_cert::current(&st),
    })
    .into_response())
}

/// The body of a replacement: PEM, or PKCS#12 in base64.
#[derive(Debug, Deserialize, ToSchema)]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UiCsrBody {
    /// The common name.
    cn: String,
    /// DNS names or addresses the certificate is for.
    #[serde(default)]
    names: Vec<String>,
}

/// A CSR for the UI certificate (the key stays here); the signed chain comes back with
/// `PUT /api/v1/ui-certificate` `{"chain_pem"}`.
#[utoipa::path(post, path = "/api/v1/ui-certificate/csr", tag = "certificates",
    request_body = UiCsrBody,
    responses((status = 201, body = Csr),
        (status = 400, body = ErrorBody, description = "a bad body"),
        (status = 422, body = ErrorBody, description = "refused (`refused`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn ui_certificate_csr(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: UiCsrBody = body(&b)?;
    let csr = ui_cert::csr(&st, &a.name, "api", &b.cn, &b.names.join(","))
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string()))?;
    Ok((StatusCode::CREATED, Json(Csr { csr })).into_response())
}

/// In force for the next TLS connection.
#[utoipa::path(put, path = "/api/v1/ui-certificate", tag = "certificates",
    request_body = ReplaceBody,
    responses((status = 200, body = UiCertificate),
        (status = 400, body = ErrorBody, description = "a bad body"),
        (status = 422, body = ErrorBody, description = "the certificate is refused (`refused`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
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
    Ok(Json(UiCertificate {
        certificate: Some(v),
    })
    .into_response())
}
