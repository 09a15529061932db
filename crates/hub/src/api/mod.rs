//! The REST API (`/api/v1`) over HTTPS, and `portcullis connect`'s WebSocket endpoint.
//!
//! # Layout
//!
//! Handlers only parse, get their permit from [`crate::ops::access`], call the operation in
//! [`crate::ops`] and render; the rules live there.
//! - [`error`]: JSON errors `{code, message}`; [`extract`]: extractors that reject in that shape.
//! - [`admin`]: companies, API tokens, connectors (create, list with live status, revoke), the
//!   audit list.
//! - [`audit`]: checking the audit chain and streaming its export as JSON Lines.
//! - [`enroll`]: the unauthenticated enrolment call (one-time token + CSR → certificate).
//! - [`users`]: users, their authorizations and tokens.
//! - [`oidc`]: a company's OpenID Connect sign-in settings.
//! - [`route_password`]: a dialog user's short-lived route password for himself.
//! - [`remote`]: systems, favourites, connection types, service connections.
//! - [`windows`]: windows, standing grants, the open-connection count, a system's log book.
//! - [`web_link`]: a one-time link that opens an HTTP service connection in a browser.
//! - [`connect`]: WebSocket streams for `portcullis connect`.
//! - [`server`]: the HTTPS accept loop.

pub mod admin;
pub mod audit;
pub mod connect;
pub mod enroll;
pub mod error;
pub mod extract;
pub mod oidc;
pub mod remote;
pub mod route_password;
pub mod server;
pub mod users;
pub mod web_link;
pub mod windows;

use axum::extract::{FromRequestParts, State as AxState};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::auth::Principal;
use crate::state::State;
pub use error::ApiErr;

/// The OpenAPI document, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// A request authenticated with `Authorization: Bearer <token>`: an API token; a route
/// password is refused here (403 `route_password`), whatever the endpoint.
#[derive(Debug, Clone)]
pub struct Authed(pub Principal);

impl FromRequestParts<State> for Authed {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiErr> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiErr::new(
                    StatusCode::UNAUTHORIZED,
                    "auth_required",
                    "send Authorization: Bearer <token>",
                )
            })?;
        Ok(Authed(
            state.tokens.verify_api(state.store.as_ref(), token).await?,
        ))
    }
}

/// Builds the router.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/version", get(version))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/enroll", post(enroll::enroll))
        .route(
            "/api/v1/companies",
            post(admin::create_company).get(admin::list_companies),
        )
        .route(
            "/api/v1/companies/{company}/tokens",
            post(admin::create_token).get(admin::list_tokens),
        )
        .route(
            "/api/v1/companies/{company}/connectors",
            post(admin::create_connector).get(admin::list_connectors),
        )
        .route(
            "/api/v1/connectors/{id}/revoke",
            post(admin::revoke_connector),
        )
        .route("/api/v1/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/api/v1/route-passwords", post(route_password::create))
        .route(
            "/api/v1/connectors/{id}/enrollment-token",
            post(admin::new_enrollment_token),
        )
        .route("/api/v1/audit", get(admin::list_audit))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/audit/export", get(audit::export))
        .route("/api/v1/connect", get(connect::connect))
        .merge(remote_routes())
        .merge(crate::portal::routes())
        .fallback(fallback)
        // A deadline on every request, reading the body included: a client trickling a body
        // cannot hold a task and a connection for ever.
        .layer(axum::middleware::from_fn(request_deadline))
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .with_state(state)
}

/// Systems, connection types, service connections, windows, grants, log books.
fn remote_routes() -> Router<State> {
    use axum::routing::{delete, patch, put};
    Router::new()
        .route(
            "/api/v1/users",
            post(users::create_user).get(users::list_users),
        )
        .route("/api/v1/users/{id}", patch(users::edit_user))
        .route("/api/v1/users/{id}/disable", post(users::disable_user))
        .route("/api/v1/users/{id}/tokens", post(users::create_user_token))
        .route("/api/v1/users/{id}/password", post(users::set_password))
        .route("/api/v1/users/{id}/totp/reset", post(users::reset_totp))
        .route(
            "/api/v1/companies/{company}/systems",
            get(remote::list_systems).post(remote::create_system),
        )
        .route(
            "/api/v1/systems/{id}",
            get(remote::get_system)
                .put(remote::update_system)
                .delete(remote::delete_system),
        )
        .route(
            "/api/v1/systems/{id}/favourite",
            put(remote::set_favourite).delete(remote::set_favourite),
        )
        .route("/api/v1/systems/{id}/logbook", get(windows::logbook))
        .route(
            "/api/v1/systems/{id}/service-connections",
            post(remote::create_service),
        )
        .route(
            "/api/v1/companies/{company}/connection-types",
            get(remote::list_types).post(remote::create_type),
        )
        .route("/api/v1/connection-types/{id}", delete(remote::delete_type))
        .route(
            "/api/v1/companies/{company}/service-connections",
            get(remote::list_services),
        )
        .route(
            "/api/v1/service-connections/{id}",
            get(remote::get_service).delete(remote::delete_service),
        )
        .route(
            "/api/v1/service-connections/{id}/windows",
            get(windows::list_windows).post(windows::open_window),
        )
        .route(
            "/api/v1/service-connections/{id}/grants",
            post(windows::create_grant),
        )
        .route(
            "/api/v1/service-connections/{id}/web-link",
            post(web_link::create),
        )
        .route(
            "/api/v1/companies/{company}/windows",
            get(windows::list_live_windows),
        )
        .route(
            "/api/v1/windows/{id}",
            get(windows::get_window).patch(windows::edit_window),
        )
        .route("/api/v1/windows/{id}/close", post(windows::close_window))
        .route(
            "/api/v1/companies/{company}/grants",
            get(windows::list_grants),
        )
        .route("/api/v1/grants/{id}/revoke", post(windows::revoke_grant))
        .route("/api/v1/companies/{company}/summary", get(windows::summary))
        .route(
            "/api/v1/companies/{company}/oidc",
            get(oidc::get).put(oidc::put).delete(oidc::delete),
        )
        .route(
            "/api/v1/companies/{company}/sessions",
            get(windows::list_live_sessions),
        )
        .route("/api/v1/sessions/{id}/cut", post(windows::cut_session))
}

/// A path nobody serves: JSON for the API's paths, a page for the portal's.
async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if crate::portal::owns(uri.path()) {
        crate::portal::fallback().await
    } else {
        ApiErr::not_found("route").into_response()
    }
}

/// How long one API request may take, body upload included.
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

async fn request_deadline(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiErr::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long",
        )
        .into_response(),
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn version(AxState(st): AxState<State>) -> Json<serde_json::Value> {
    let p = &st.config.version_policy;
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "min_connector_version": p.minimum.to_string(),
        "warn_below": p.warn_below.as_ref().map(|v| v.to_string()),
        "sunset_date": p.sunset_date,
    }))
}

async fn openapi() -> impl axum::response::IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
