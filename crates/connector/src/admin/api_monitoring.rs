//! The REST API of the monitoring and the live sessions: the same permits as the pages
//! ([`roles::permit`]) and the same operations (`crate::ops::monitoring`, `crate::ops::live`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::api::{ApiError, ApiUser};
use super::monitoring_page::{bucket_rows, span, SpanQuery};
use super::roles::{self, Permit};
use super::state::Admin;
use crate::monitor::ResetWhat;
use crate::shared::LocalCaller;

/// The monitoring and sessions API routes (listed in `API_ROUTES`).
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/api/v1/monitoring/hardware", get(hardware))
        .route("/api/v1/monitoring/performance", get(performance))
        .route("/api/v1/monitoring/recent", get(recent))
        .route("/api/v1/monitoring/top", get(top))
        .route("/api/v1/monitoring/usage", get(usage))
        .route("/api/v1/monitoring/connections", get(connections))
        .route("/api/v1/monitoring/reset/{what}", post(reset))
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{id}/cut", post(cut))
}

fn caller(a: &roles::Actor) -> LocalCaller {
    LocalCaller {
        by: a.name.clone(),
        via: "api",
        uid: None,
        pid: None,
    }
}

/// `GET /api/v1/monitoring/hardware?span=1h|6h|24h` (default `1h`).
pub async fn hardware(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    q: Result<Query<SpanQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let Query(q) =
        q.map_err(|e| ApiError(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let d = span(q.span.as_deref().unwrap_or("1h")).ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "span must be 1h, 6h or 24h".into(),
        )
    })?;
    Ok(Json(crate::ops::monitoring::hardware(&st.shared, Some(d))).into_response())
}

/// `GET /api/v1/monitoring/performance`: the duration buckets.
pub async fn performance(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let v = crate::ops::monitor(&st.shared);
    let buckets: Vec<_> = v
        .duration_buckets
        .iter()
        .zip(bucket_rows(&v))
        .map(|((upper, n), (label, _))| json!({ "up_to_ms": upper, "label": label, "requests": n }))
        .collect();
    Ok(Json(json!({ "duration_buckets": buckets })).into_response())
}

/// `GET /api/v1/monitoring/recent`: the most recent requests, newest first.
pub async fn recent(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    Ok(Json(json!({ "requests": crate::ops::monitor(&st.shared).recent })).into_response())
}

/// `GET /api/v1/monitoring/top`: the top time consumers, slowest first.
pub async fn top(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let v = crate::ops::monitor(&st.shared);
    Ok(Json(json!({ "requests": v.top_time_consumers })).into_response())
}

/// `GET /api/v1/monitoring/usage`.
pub async fn usage(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    Ok(Json(json!({ "usage": crate::ops::monitoring::usage(&st.shared) })).into_response())
}

/// `GET /api/v1/monitoring/connections`.
pub async fn connections(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let c = crate::ops::monitoring::connections(&st.shared);
    Ok(Json(json!({ "connections": c })).into_response())
}

/// `POST /api/v1/monitoring/reset/{what}` (`usage`, `performance`, `top_time_consumers`,
/// `connections`).
pub async fn reset(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(what): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ResetMonitoring)?;
    let what = ResetWhat::parse(&what).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            "not_found",
            "reset one of usage, performance, top_time_consumers, connections".into(),
        )
    })?;
    crate::ops::monitoring::reset(&st.shared, what, &caller(&a)).await?;
    Ok(Json(json!({ "reset": what.as_str() })).into_response())
}

/// `GET /api/v1/sessions`: the live sessions.
pub async fn sessions(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewSessions)?;
    Ok(Json(json!({ "sessions": crate::ops::live::sessions(&st.shared) })).into_response())
}

/// `POST /api/v1/sessions/{id}/cut`: ends that live session at once, as this user.
pub async fn cut(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::CutSession)?;
    let id = id.parse::<u64>().map_err(|_| {
        ApiError(
            StatusCode::NOT_FOUND,
            "unknown_session",
            "no live session has that id".into(),
        )
    })?;
    let v = crate::ops::live::cut_session(&st.shared, id, &caller(&a))?;
    Ok(Json(json!({ "cut": v })).into_response())
}
