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
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{json_body, read_body, ApiError, ApiUser, ErrorBody};
use super::roles::{self, Permit, Role};
use super::state::Admin;
use super::users::{UserError, UserView};

/// The routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
        .routes(routes!(reset))
        .routes(routes!(logon_text, set_logon_text))
}

/// A user of the admin UI and API.
#[derive(Debug, Default, Serialize, ToSchema)]
struct User {
    name: String,
    /// `Administrator`, `Display`, `Monitoring` or `Support`.
    role: &'static str,
    /// His password is still one set by someone else: he must change it at his next logon.
    must_change: bool,
    disabled: bool,
}

fn view(u: &UserView) -> User {
    User {
        name: u.name.clone(),
        role: u.role.as_str(),
        must_change: u.must_change,
        disabled: u.disabled,
    }
}

/// Every user.
#[derive(Debug, Serialize, ToSchema)]
struct Users {
    users: Vec<User>,
}

/// A user's new one-time password, shown once.
#[derive(Debug, Serialize, ToSchema)]
struct OneTime {
    name: String,
    /// Only when the user was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    /// Give it to the user; he must change it at his first logon.
    one_time_password: String,
}

/// The logon screen's text.
#[derive(Debug, Serialize, ToSchema)]
struct LogonTextView {
    /// As typed.
    text: String,
    /// As shown: the sanitised HTML subset.
    html: String,
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

fn from(headers_ext: &axum::http::Extensions) -> std::net::SocketAddr {
    super::session::peer(headers_ext)
}

/// Every user (name, role, must change, disabled).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Users)),
    extensions(("x-permit" = json!("ManageUsers"))))]
async fn list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ManageUsers)?;
    let users = st.users.list().await.iter().map(view).collect();
    Ok(Json(Users { users }).into_response())
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
struct NewUser {
    name: String,
    /// `Administrator`, `Display`, `Monitoring` or `Support`.
    role: String,
}

/// A new user; answers his one-time password, once.
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = NewUser,
    responses((status = 201, body = OneTime),
        (status = 400, body = ErrorBody, description = "a bad name or role"),
        (status = 409, body = ErrorBody, description = "a user has that name (`exists`)"),
        (status = 413, body = ErrorBody, description = "a body over 64 KiB (`too_large`)")),
    extensions(("x-permit" = json!("ManageUsers"))))]
async fn create(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ManageUsers)?;
    let peer = from(req.extensions());
    let body = read_body(req).await?;
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
    let body = OneTime {
        name,
        role: Some(role.as_str()),
        one_time_password: pw.into_inner(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A new one-time password for the user, answered once.
#[utoipa::path(post, path = "/api/v1/users/{name}/reset", tag = "users",
    params(("name" = String, Path, description = "The user's name")),
    responses((status = 200, body = OneTime),
        (status = 404, body = ErrorBody, description = "no such user (`unknown_user`)")),
    extensions(("x-permit" = json!("ManageUsers"))))]
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
    Ok(Json(OneTime {
        name,
        role: None,
        one_time_password: pw.into_inner(),
    })
    .into_response())
}

/// A change of a user.
#[derive(Debug, Deserialize, ToSchema)]
struct UserChange {
    disabled: bool,
}

/// Disables or enables a user (not oneself).
#[utoipa::path(put, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user's name")), request_body = UserChange,
    responses((status = 200, body = User),
        (status = 400, body = ErrorBody, description = "a bad body, or oneself"),
        (status = 404, body = ErrorBody, description = "no such user (`unknown_user`)"),
        (status = 413, body = ErrorBody, description = "a body over 64 KiB (`too_large`)")),
    extensions(("x-permit" = json!("ManageUsers"))))]
async fn update(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ManageUsers)?;
    let peer = from(req.extensions());
    let f: UserChange = json_body(&read_body(req).await?)?;
    st.users
        .set_disabled(&a.name, &name, f.disabled)
        .await
        .map_err(refused)?;
    let what = if f.disabled { "disabled" } else { "enabled" };
    st.audit_user_change(&a.name, "api", what, &name, peer);
    let user = st.users.list().await.into_iter().find(|u| u.name == name);
    Ok(Json(user.as_ref().map(view).unwrap_or_default()).into_response())
}

/// The logon screen's text.
#[utoipa::path(get, path = "/api/v1/settings/logon-text", tag = "users",
    responses((status = 200, body = LogonTextView)),
    extensions(("x-permit" = json!("EditSettings"))))]
async fn logon_text(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditSettings)?;
    Ok(Json(logon_text_view(&st)).into_response())
}

/// The logon screen's text.
#[derive(Debug, Deserialize, ToSchema)]
struct LogonText {
    text: String,
}

/// Sets the logon screen's text (a small HTML subset; the rest is dropped).
#[utoipa::path(put, path = "/api/v1/settings/logon-text", tag = "users",
    request_body = LogonText,
    responses((status = 200, body = LogonTextView),
        (status = 400, body = ErrorBody, description = "a bad body, or too long")),
    extensions(("x-permit" = json!("EditSettings"))))]
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
    Ok(Json(logon_text_view(&st)).into_response())
}

fn logon_text_view(st: &Admin) -> LogonTextView {
    LogonTextView {
        text: st.logon_text.raw(),
        html: st.logon_text.html(),
    }
}
