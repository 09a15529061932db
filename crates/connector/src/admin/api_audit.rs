//! The REST API of the audit log: records by filter (newest first, paged), the chain check
//! and the export as JSON lines; `ViewAudit` as on the pages, the same operations
//! (`crate::ops::audit`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{caller, ApiError, ApiUser, ErrorBody};
use super::audit_page::{export_response, AuditQuery};
use super::roles::{self, Permit};
use super::state::Admin;
use crate::audit::cleanup::Cleaned;
use crate::audit::policy::AuditSettings;
use crate::ops::audit::{AuditPage, ChainCheck, DEFAULT_LIMIT};

/// The audit API routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(records))
        .routes(routes!(verify))
        .routes(routes!(export))
        .routes(routes!(settings, set_settings))
        .routes(routes!(cleanup))
}

/// A query string that does not parse (`limit=abc`), as a JSON error.
fn bad_query(e: QueryRejection) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
}

/// Level, categories, retention.
#[utoipa::path(get, path = "/api/v1/audit/settings", tag = "audit",
    responses((status = 200, body = AuditSettings)),
    extensions(("x-permit" = json!("ViewAudit"))))]
pub async fn settings(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAudit)?;
    Ok(Json(crate::ops::audit_settings::settings(&st.shared)).into_response())
}

/// Sets level, categories and retention: written to the
/// configuration, in force at once, audited.
#[utoipa::path(put, path = "/api/v1/audit/settings", tag = "audit",
    request_body = AuditSettings,
    responses((status = 200, body = AuditSettings),
        (status = 400, body = ErrorBody, description = "a bad body")),
    extensions(("x-permit" = json!("EditAudit"))))]
pub async fn set_settings(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAudit)?;
    let new: AuditSettings = serde_json::from_slice(&body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body: {e}"),
        )
    })?;
    let s = crate::ops::audit_settings::set(&st.shared, new, &caller(&a)).await?;
    Ok(Json(s).into_response())
}

/// Removes the records older than the retention now.
#[utoipa::path(post, path = "/api/v1/audit/cleanup", tag = "audit",
    responses((status = 200, body = Cleaned),
        (status = 400, body = ErrorBody, description = "no retention is set (`bad_request`)"),
        (status = 500, body = ErrorBody, description = "the log cannot be read or rewritten (`audit_unreadable`)")),
    extensions(("x-permit" = json!("EditAudit"))))]
pub async fn cleanup(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAudit)?;
    let c = crate::ops::audit_settings::cleanup(&st.shared, &caller(&a)).await?;
    Ok(Json(c).into_response())
}

/// Audit records by filter, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = AuditPage),
        (status = 400, body = ErrorBody, description = "a bad filter")),
    extensions(("x-permit" = json!("ViewAudit"))))]
pub async fn records(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAudit)?;
    let Query(f) = q.map_err(bad_query)?;
    let filter = f.filter()?;
    let page = crate::ops::audit::query(
        &st.shared,
        &filter,
        f.limit.unwrap_or(DEFAULT_LIMIT),
        f.offset.unwrap_or(0),
    )?;
    Ok(Json(page).into_response())
}

/// The hash chain check.
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = ChainCheck)),
    extensions(("x-permit" = json!("ViewAudit"))))]
pub async fn verify(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAudit)?;
    let shared = st.shared.clone();
    let check = tokio::task::spawn_blocking(move || crate::ops::audit::verify(&shared))
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the check did not finish: {e}"),
            )
        })?;
    Ok(Json(check).into_response())
}

/// JSON lines, oldest first.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit",
    params(AuditQuery),
    responses((status = 200, description = "The records, oldest first, one JSON object a line", content_type = "application/x-ndjson", body = String),
        (status = 400, body = ErrorBody, description = "a bad filter")),
    extensions(("x-permit" = json!("ViewAudit"))))]
pub async fn export(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAudit)?;
    let Query(f) = q.map_err(bad_query)?;
    Ok(export_response(&st, f.filter()?))
}
