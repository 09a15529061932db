//! The REST API under `/api/v1` on the admin listener: JSON, HTTP basic auth of a connector
//! user, the same [`roles::permit`] as the pages and the same operations (`crate::ops`).
//!
//! Besides basic auth, an API token of a connector user (`Authorization: Bearer pcc_…`, made on the user's
//! `/tokens` page), which acts as that user. A user whose password is still an initial one
//! gets 403 `password_change_required` until he changes it in the UI. Failed credentials slow down as the UI's logon does (the shared
//! throttle: 429 while waiting). Errors are `{"code": …, "message": …}`.
//!
//! `GET /api/v1/openapi.json` serves the API's description, generated from the handlers'
//! annotations and types (`super::openapi`, which routes every API module, this one too).

use std::time::Instant;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use portcullis_domain::secret::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::logon::{logon, Refused};
use super::roles::{self, Actor, Denied, Permit};
use super::session::peer;
use super::state::Admin;
use crate::access_edit::EditError;
use crate::audit::AuditAction;
use crate::ops::entry_text::EntryEditError;
use crate::ops::OpError;
use crate::shared::LocalCaller;
use crate::windows::CloseError;

use crate::ops::ClosedLocally;
use crate::windows::WindowView;

/// An API error: status, code, message.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub &'static str, pub String);

/// What every refused API call answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable: `unauthorized`, `forbidden`, `password_change_required`,
    /// `too_many_failures`, `directory_unavailable`, `not_found`, `bad_request`, `conflict`,
    /// `version_required`, `exists`, `refused`, `unknown_…`.
    pub code: &'static str,
    /// For a person: what went wrong and what to do.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.1,
            message: self.2,
        };
        let mut r = (self.0, Json(body)).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis-connector\", charset=\"UTF-8\""),
            );
        }
        r
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        let code = match d {
            Denied::PasswordChange => "password_change_required",
            _ => "forbidden",
        };
        ApiError(StatusCode::FORBIDDEN, code, d.to_string())
    }
}

/// The status and code of a refused operation.
pub fn op_status(e: &OpError) -> (StatusCode, &'static str) {
    match e {
        OpError::Close(CloseError::Unknown(_)) => (StatusCode::NOT_FOUND, "unknown_window"),
        OpError::Close(_) => (StatusCode::CONFLICT, "already_closed"),
        OpError::CloseRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        OpError::UnknownCertificate(_) => (StatusCode::NOT_FOUND, "unknown_certificate"),
        OpError::TrustFileExists { .. } => (StatusCode::CONFLICT, "exists"),
        OpError::SystemCertificate(_) => (StatusCode::UNPROCESSABLE_ENTITY, "refused"),
        OpError::UnknownDomainMapping(_) => (StatusCode::NOT_FOUND, "unknown_domain_mapping"),
        OpError::TrustName(_) | OpError::PemTooLong | OpError::Certificate(_) => {
            (StatusCode::BAD_REQUEST, "bad_certificate")
        }
        OpError::UnknownSession(_) => (StatusCode::NOT_FOUND, "unknown_session"),
        OpError::AuditFilter(_) | OpError::AuditSettings(_) => {
            (StatusCode::BAD_REQUEST, "bad_request")
        }
        OpError::AuditRead(_) => (StatusCode::INTERNAL_SERVER_ERROR, "audit_unreadable"),
        OpError::UnknownEntry(_) | OpError::Edit(EditError::UnknownEntry(_)) => {
            (StatusCode::NOT_FOUND, "unknown_entry")
        }
        OpError::Entry(EntryEditError::Conflict(_)) => (StatusCode::CONFLICT, "conflict"),
        OpError::Entry(EntryEditError::Exists(_)) => (StatusCode::CONFLICT, "exists"),
        OpError::Entry(EntryEditError::UnknownResource { .. }) => {
            (StatusCode::NOT_FOUND, "unknown_resource")
        }
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "refused"),
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        let (s, c) = op_status(&e);
        ApiError(s, c, e.to_string())
    }
}

/// The caller of an API request, by HTTP basic auth.
#[derive(Debug)]
pub struct ApiUser(pub Actor);

fn basic(parts: &Parts) -> Option<(String, String)> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

impl FromRequestParts<Admin> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Admin) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "give a connector user's name and password (HTTP basic auth) or an API token \
                 (Authorization: Bearer pcc_…)"
                    .into(),
            )
        };
        let from = peer(&parts.extensions);
        let now = Instant::now();
        if let Some(token) = bearer(parts) {
            // A token names no user before it is checked: only the address slows down.
            if let Some(wait) = st.throttle.wait_from(from.ip(), now) {
                return Err(too_many(wait));
            }
            return match super::logon::token(st, &token).await {
                Some(actor) => Ok(ApiUser(actor)),
                None => {
                    st.throttle.failed_from(from.ip(), now);
                    st.audit(AuditAction::AdminSignIn, "denied", "(token)", "api", from);
                    Err(unauthorized())
                }
            };
        }
        let (name, password) = basic(parts).ok_or_else(unauthorized)?;
        if let Some(wait) = st.throttle.wait(&name, from.ip(), now) {
            return Err(too_many(wait));
        }
        match logon(st, &name, Secret::new(password)).await {
            Ok((actor, _)) => {
                st.throttle.succeeded(&name);
                Ok(ApiUser(actor))
            }
            Err(Refused::Credentials { .. }) => {
                st.throttle.failed(&name, from.ip(), now);
                st.audit(AuditAction::AdminSignIn, "denied", &name, "api", from);
                Err(unauthorized())
            }
            Err(Refused::Unavailable(_)) => {
                st.audit(AuditAction::AdminSignIn, "denied", &name, "api", from);
                Err(ApiError(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "directory_unavailable",
                    "the user directory cannot be reached now; try again later".into(),
                ))
            }
        }
    }
}

fn too_many(wait: std::time::Duration) -> ApiError {
    ApiError(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_failures",
        format!(
            "too many failed logons; try again in {} seconds",
            wait.as_secs().max(1)
        ),
    )
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The caller of an API operation, as the operations record him.
pub(crate) fn caller(a: &Actor) -> LocalCaller {
    LocalCaller {
        by: a.name.clone(),
        via: "api",
        uid: None,
        pid: None,
    }
}

/// A JSON body of type `T`, or 400 `bad_request` saying why not.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not the JSON this call takes: {e}"),
        )
    })
}

/// The body of `req` (when the handler needs the request's extensions too), at most 64 KiB;
/// else 413 `too_large`.
pub async fn read_body(req: axum::extract::Request) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the body is too large".into(),
            )
        })
}

/// As [`json_body`], but an empty body is `T::default()`.
pub fn optional_json_body<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        json_body(body)
    }
}

/// The connection routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(windows))
        .routes(routes!(close_window))
}

/// The windows the hub pushed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Windows {
    /// Every window the connector knows, newest first.
    pub windows: Vec<WindowView>,
}

/// The hub connection: tunnel state, hub address, location, versions, certificate expiry,
/// connected since, reconnects, heartbeat round trip.
#[utoipa::path(get, path = "/api/v1/status", tag = "connector",
    responses((status = 200, body = crate::local::protocol::StatusView)),
    extensions(("x-permit" = json!("ViewStatus"))))]
pub async fn status(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewStatus)?;
    Ok(Json(crate::ops::status(&st.shared)).into_response())
}

/// The windows the hub pushed.
#[utoipa::path(get, path = "/api/v1/windows", tag = "connector",
    responses((status = 200, body = Windows)),
    extensions(("x-permit" = json!("ViewWindows"))))]
pub async fn windows(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewWindows)?;
    let windows = crate::ops::windows(&st.shared);
    Ok(Json(Windows { windows }).into_response())
}

/// The optional body of a close.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// Why (kept in the audit log).
    #[serde(default)]
    reason: Option<String>,
}

/// Closes a window at the connector as this user (the customer's own key): its live sessions
/// are cut and no new one starts, whatever the hub says.
#[utoipa::path(post, path = "/api/v1/windows/{id}/close", tag = "connector",
    params(("id" = String, Path, description = "The hub's window id")),
    request_body(content = Option<CloseBody>, description = "Optional; may be empty"),
    responses((status = 200, body = ClosedLocally),
        (status = 400, body = ErrorBody, description = "a bad body"),
        (status = 404, body = ErrorBody, description = "no such window (`unknown_window`)"),
        (status = 409, body = ErrorBody, description = "closed already (`already_closed`)")),
    extensions(("x-permit" = json!("CloseWindow"))))]
pub async fn close_window(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::CloseWindow)?;
    let body: CloseBody = optional_json_body(&body)?;
    let c = crate::ops::close_window(&st.shared, &id, &caller(&a), body.reason)?;
    Ok(Json(c).into_response())
}

/// An unknown API path.
pub async fn not_found() -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such API route".into(),
    )
}
