//! The REST API of the connector's own users and of the logon text: what the Users page and
//! the logon-text page do, for scripts (the same store calls, permits and audit records, with
//! `via: api`).
//!
//! - `GET /api/v1/users`: every user (name, role, must change, disabled).
//! - `POST /api/v1/users` `{"name", "role"}`: a new user; answers his one-time password once.
//! - `POST /api/v1/users/{name}/reset`: a new one-time password, answered once.
//! - `PUT /api/v1/users/{name}` `{"disabled": bool}`: disable or enable (not oneself).
//! - `GET|PUT /api/v1/settings/logon-text` `{"text"}`: the text as typed (and as shown).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::api::{ApiError, ApiUser};
use super::roles::{self, Permit, Role};
use super::state::Admin;
use super::users::{UserError, UserView};

/// The routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route("/api/v1/users/{name}", axum::routing::put(update))
        .route("/api/v1/users/{name}/reset", post(reset))
        .route(
            "/api/v1/settings/logon-text",
            get(logon_text).put(set_logon_text),
        )
}

fn view(u: &UserView) -> serde_json::Value {
    json!({
        "name": u.name,
        "role": u.role.as_str(),
        "must_change": u.must_change,
        "disabled": u.disabled,
    })
}

fn refused(e: UserError) -> ApiError {
    match e {
        UserError::Unknown(_) => ApiError(StatusCode::NOT_FOUND, "unknown_user", e.to_string()),
        UserError::Exists(_) => ApiError(StatusCode::CONFLICT, "exists", e.to_string()),
        UserError::BadName | UserError::Yourself => {
            ApiError(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
        }
        e => {
            tracing::error!(error = %e, "admin API: changing a user failed");
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "not_saved",
                "the change could not be saved; see the connector's log".into(),
            )
        }
    }
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not the JSON this call takes: {e}"),
        )
    })
}

fn from(headers_ext: &axum::http::Extensions) -> std::net::SocketAddr {
    super::session::peer(headers_ext)
}

async fn list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ManageUsers)?;
    let users: Vec<_> = st.users.list().await.iter().map(view).collect();
    Ok(Json(json!({ "users": users })).into_response())
}

#[derive(Debug, Deserialize)]
struct NewUser {
    name: String,
    role: String,
}

async fn create(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ManageUsers)?;
    let peer = from(req.extensions());
    let body = read(req).await?;
    let f: NewUser = json_body(&body)?;
    let role = Role::parse(&f.role).ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "role must be one of Administrator, Display, Monitoring, Support".into(),
        )
    })?;
    let name = f.name.trim().to_owned();
    let pw = st.users.create(&name, role).await.map_err(refused)?;
    st.audit_user_change(&a.name, "api", "created", &name, peer);
    let body = json!({ "name": name, "role": role.as_str(), "one_time_password": pw.into_inner() });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn reset(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ManageUsers)?;
    let pw = st.users.reset(&name).await.map_err(refused)?;
    st.audit_user_change(
        &a.name,
        "api",
        "password_reset",
        &name,
        from(req.extensions()),
    );
    Ok(Json(json!({ "name": name, "one_time_password": pw.into_inner() })).into_response())
}

#[derive(Debug, Deserialize)]
struct UserChange {
    disabled: bool,
}

async fn update(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ManageUsers)?;
    let peer = from(req.extensions());
    let f: UserChange = json_body(&read(req).await?)?;
    st.users
        .set_disabled(&a.name, &name, f.disabled)
        .await
        .map_err(refused)?;
    let what = if f.disabled { "disabled" } else { "enabled" };
    st.audit_user_change(&a.name, "api", what, &name, peer);
    let user = st.users.list().await.into_iter().find(|u| u.name == name);
    Ok(Json(user.as_ref().map(view).unwrap_or_default()).into_response())
}

async fn logon_text(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditSettings)?;
    Ok(Json(json!({ "text": st.logon_text.raw(), "html": st.logon_text.html() })).into_response())
}

#[derive(Debug, Deserialize)]
struct LogonText {
    text: String,
}

async fn set_logon_text(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditSettings)?;
    let f: LogonText = json_body(&body)?;
    let max = portcullis_webui::sanitize::MAX_LEN;
    if f.text.len() > max {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the text may have at most {max} bytes"),
        ));
    }
    st.logon_text.set(&f.text).map_err(|e| {
        tracing::error!(error = %e, "admin API: saving the logon text failed");
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not_saved",
            "the text could not be saved; see the connector's log".into(),
        )
    })?;
    st.audit_logon_text(&a.name, "api", &f.text);
    Ok(Json(json!({ "text": st.logon_text.raw(), "html": st.logon_text.html() })).into_response())
}

/// The body of `req`, at most 64 KiB.
async fn read(req: axum::extract::Request) -> Result<axum::body::Bytes, ApiError> {
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
