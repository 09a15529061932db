//! The REST API of the monitoring and the live sessions: the same permits as the pages
//! ([`roles::permit`]) and the same operations (`crate::ops::monitoring`, `crate::ops::live`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{caller, ApiError, ApiUser, ErrorBody};
use super::monitoring_page::{bucket_rows, span, SpanQuery};
use super::roles::{self, Permit};
use super::state::Admin;
use crate::live::LiveView;
use crate::monitor::connections::BackendConnections;
use crate::monitor::history::HardwareView;
use crate::monitor::{RequestRecord, ResetWhat, Usage};

/// The monitoring and sessions API routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(hardware))
        .routes(routes!(performance))
        .routes(routes!(recent))
        .routes(routes!(top))
        .routes(routes!(usage))
        .routes(routes!(alerts))
        .routes(routes!(connections))
        .routes(routes!(reset))
        .routes(routes!(sessions))
        .routes(routes!(cut))
}

/// Requests by duration.
#[derive(Debug, Serialize, ToSchema)]
pub struct Performance {
    duration_buckets: Vec<Bucket>,
}

/// Requests that took at most `up_to_ms` (and more than the bucket before).
#[derive(Debug, Serialize, ToSchema)]
pub struct Bucket {
    /// The bucket's upper bound, ms (the last: no bound).
    up_to_ms: u64,
    /// For people, e.g. `≤ 50 ms`.
    label: String,
    requests: u64,
}

/// Requests, as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct Requests {
    requests: Vec<RequestRecord>,
}

/// Usage per virtual host and resource (kept across restarts).
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageList {
    usage: Vec<Usage>,
}

/// Back-end connections per virtual host.
#[derive(Debug, Serialize, ToSchema)]
pub struct Connections {
    connections: Vec<BackendConnections>,
}

/// What a reset emptied.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reset {
    /// `usage`, `performance`, `top_time_consumers` or `connections`.
    reset: &'static str,
}

/// The live sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sessions {
    sessions: Vec<LiveView>,
}

/// A session cut.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cut {
    cut: LiveView,
}

/// CPU, memory and disk over the last hour (or `span`), with gaps where the connector was down.
#[utoipa::path(get, path = "/api/v1/monitoring/hardware", tag = "monitoring",
    params(SpanQuery),
    responses((status = 200, body = HardwareView),
        (status = 400, body = ErrorBody, description = "a bad span")),
    extensions(("x-permit" = json!("ViewMonitoring"))))]
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

/// The duration buckets.
#[utoipa::path(get, path = "/api/v1/monitoring/performance", tag = "monitoring",
    responses((status = 200, body = Performance)),
    extensions(("x-permit" = json!("ViewMonitoring"))))]
pub async fn performance(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let v = crate::ops::monitor(&st.shared);
    let duration_buckets = v
        .duration_buckets
        .iter()
        .zip(bucket_rows(&v))
        .map(|(&(up_to_ms, requests), (label, _))| Bucket {
            up_to_ms,
            label,
            requests,
        })
        .collect();
    Ok(Json(Performance { duration_buckets }).into_response())
}

/// The most recent requests, newest first.
#[utoipa::path(get, path = "/api/v1/monitoring/recent", tag = "monitoring",
    responses((status = 200, body = Requests)),
    extensions(("x-permit" = json!("ViewMonitoring"))))]
pub async fn recent(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let requests = crate::ops::monitor(&st.shared).recent;
    Ok(Json(Requests { requests }).into_response())
}

/// The top time consumers, slowest first.
#[utoipa::path(get, path = "/api/v1/monitoring/top", tag = "monitoring",
    responses((status = 200, body = Requests)),
    extensions(("x-permit" = json!("ViewMonitoring"))))]
pub async fn top(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let v = crate::ops::monitor(&st.shared);
    Ok(Json(Requests {
        requests: v.top_time_consumers,
    })
    .into_response())
}

/// Usage per virtual host and resource.
#[utoipa::path(get, path = "/api/v1/monitoring/usage", tag = "monitoring",
    responses((status = 200, body = UsageList)),
    extensions(("x-permit" = json!("ViewMonitoring"))))]
pub async fn usage(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let usage = crate::ops::monitoring::usage(&st.shared);
    Ok(Json(UsageList { usage }).into_response())
}

/// Alerts, newest first (active and resolved), and the deliveries not yet made.
#[utoipa::path(get, path = "/api/v1/monitoring/alerts", tag = "monitoring",
    responses((status = 200, body = crate::alerts::AlertsView)),
    extensions(("x-permit" = json!("ViewMonitoring"))))]
pub async fn alerts(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    Ok(Json(crate::ops::monitoring::alerts(&st.shared)).into_response())
}

/// Back-end connections per virtual host: open, peak, opened.
#[utoipa::path(get, path = "/api/v1/monitoring/connections", tag = "monitoring",
    responses((status = 200, body = Connections)),
    extensions(("x-permit" = json!("ViewMonitoring"))))]
pub async fn connections(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let c = crate::ops::monitoring::connections(&st.shared);
    Ok(Json(Connections { connections: c }).into_response())
}

/// Empties one of the monitoring views.
#[utoipa::path(post, path = "/api/v1/monitoring/reset/{what}", tag = "monitoring",
    params(("what" = String, Path, description = "`usage`, `performance`, `top_time_consumers` or `connections`")),
    responses((status = 200, body = Reset),
        (status = 404, body = ErrorBody, description = "nothing of that name (`not_found`)")),
    extensions(("x-permit" = json!("ResetMonitoring"))))]
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
    Ok(Json(Reset {
        reset: what.as_str(),
    })
    .into_response())
}

/// The live sessions.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "monitoring",
    responses((status = 200, body = Sessions)),
    extensions(("x-permit" = json!("ViewSessions"))))]
pub async fn sessions(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewSessions)?;
    let sessions = crate::ops::live::sessions(&st.shared);
    Ok(Json(Sessions { sessions }).into_response())
}

/// Ends that live session at once, as this user.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/cut", tag = "monitoring",
    params(("id" = u64, Path, description = "The live session's id, as GET /api/v1/sessions lists it")),
    responses((status = 200, body = Cut),
        (status = 404, body = ErrorBody, description = "no such live session (`unknown_session`)")),
    extensions(("x-permit" = json!("CutSession"))))]
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
    Ok(Json(Cut { cut: v }).into_response())
}
