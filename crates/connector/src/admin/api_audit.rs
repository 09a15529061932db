//! The REST API of the audit log: records by filter (newest first, paged), the chain check
//! and the export as JSON lines; `ViewAudit` as on the pages, the same operations
//! (`crate::ops::audit`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::api::{ApiError, ApiUser};
use super::audit_page::{export_response, AuditQuery};
use super::roles::{self, Permit};
use super::state::Admin;
use crate::audit::policy::AuditSettings;
use crate::ops::audit::DEFAULT_LIMIT;
use crate::shared::LocalCaller;

/// The audit API routes (listed in `API_ROUTES`).
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/api/v1/audit", get(records))
        .route("/api/v1/audit/verify", post(verify))
        .route("/api/v1/audit/export", get(export))
        .route("/api/v1/audit/settings", get(settings).put(set_settings))
        .route("/api/v1/audit/cleanup", post(cleanup))
}

/// A query string that does not parse (`limit=abc`), as a JSON error.
fn bad_query(e: QueryRejection) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
}

fn caller(a: &roles::Actor) -> LocalCaller {
    LocalCaller {
        by: a.name.clone(),
        via: "api",
        uid: None,
        pid: None,
    }
}

/// `GET /api/v1/audit/settings`: level, categories, retention.
pub async fn settings(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAudit)?;
    Ok(Json(crate::ops::audit_settings::settings(&st.shared)).into_response())
}

/// `PUT /api/v1/audit/settings` with `{level, categories, retention_days}`: written to the
/// configuration, in force at once, audited.
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

/// `POST /api/v1/audit/cleanup`: removes the records older than the retention now.
pub async fn cleanup(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAudit)?;
    let c = crate::ops::audit_settings::cleanup(&st.shared, &caller(&a)).await?;
    Ok(Json(c).into_response())
}

/// `GET /api/v1/audit?from=&to=&action=&outcome=&q=&limit=&offset=`.
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

/// `POST /api/v1/audit/verify`: the hash chain check.
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

/// `GET /api/v1/audit/export?from=&to=&action=&outcome=&q=`: JSON lines, oldest first.
pub async fn export(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAudit)?;
    let Query(f) = q.map_err(bad_query)?;
    Ok(export_response(&st, f.filter()?))
}
