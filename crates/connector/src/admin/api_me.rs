//! The caller's own account through the REST API: his password and his API tokens, what the
//! password and "API tokens" pages do (the same store calls, throttle and audit records, with
//! `via: api`), so that neither is UI-only.
//!
//! Every role may do this for himself ([`Permit::OwnAccount`]). The password change is the one
//! call a user whose password is still a one-time one may make: it is how the API gets past
//! its 403 `password_change_required` without the UI. Users of the LDAP directory change their
//! password there and have no tokens here.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_domain::secret::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{json_body, read_body, ApiError, ApiUser, ErrorBody};
use super::roles::{self, Actor, Permit};
use super::state::Admin;
use super::tokens_page::audit_token;
use super::users::{TokenView, UserError};
use crate::audit::AuditAction;

/// The routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(tokens, create_token))
        .routes(routes!(revoke_token))
}

fn from(ext: &axum::http::Extensions) -> SocketAddr {
    super::session::peer(ext)
}

fn refused(e: UserError) -> ApiError {
    match e {
        UserError::WrongPassword => {
            ApiError(StatusCode::BAD_REQUEST, "wrong_password", e.to_string())
        }
        UserError::Rule(_)
        | UserError::Mismatch
        | UserError::BadName
        | UserError::TooManyTokens => {
            ApiError(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
        }
        UserError::UnknownToken(_) => {
            ApiError(StatusCode::NOT_FOUND, "unknown_token", e.to_string())
        }
        UserError::Unknown(_) => ApiError(
            StatusCode::CONFLICT,
            "directory_user",
            "your user is kept in the LDAP directory: change your password there; API tokens \
             are for the connector's own users"
                .into(),
        ),
        e => {
            tracing::error!(error = %e, "admin API: changing the caller's own account failed");
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "not_saved",
                "the change could not be saved; see the connector's log".into(),
            )
        }
    }
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now (the one-time one, at first).
    current: String,
    /// The new one: at least 12 characters, not the user's name.
    new: String,
}

/// Changes the caller's own password; until he has, a user with a one-time password gets
/// 403 `password_change_required` from every other call.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "me",
    request_body = PasswordChange,
    responses((status = 204, description = "Changed"),
        (status = 400, body = ErrorBody, description = "the current password is wrong (`wrong_password`), or the new one breaks a rule (`bad_request`)"),
        (status = 409, body = ErrorBody, description = "a directory user (`directory_user`)"),
        (status = 500, body = ErrorBody, description = "not saved (`not_saved`)"),
        (status = 413, body = ErrorBody, description = "a body over 64 KiB (`too_large`)")),
    extensions(("x-permit" = json!("OwnAccount"))))]
pub async fn change_password(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit_own(&a, Permit::OwnAccount)?;
    let peer = from(req.extensions());
    let body = read_body(req).await?;
    let f: PasswordChange = json_body(&body)?;
    let now = Instant::now();
    let new = Secret::new(f.new);
    let repeat = Secret::new(new.expose().to_owned());
    match st
        .users
        .change_password(&a.name, Secret::new(f.current), new, repeat)
        .await
    {
        Ok(()) => {
            st.audit(
                AuditAction::AdminUser,
                "password_changed",
                &a.name,
                "api",
                peer,
            );
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(e @ UserError::WrongPassword) => {
            st.throttle.failed(&a.name, peer.ip(), now);
            Err(refused(e))
        }
        Err(e) => Err(refused(e)),
    }
}

/// The caller's API tokens (never their secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    tokens: Vec<TokenView>,
}

/// A new token's name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for, 1 to 64 characters.
    name: String,
}

/// A new token, shown once: only its hash is kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// `Authorization: Bearer <token>` acts as the caller, with his role.
    token: String,
    tokens: Vec<TokenView>,
}

async fn own(st: &Admin, a: &Actor) -> Vec<TokenView> {
    st.users.tokens(&a.name).await
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "me",
    responses((status = 200, body = Tokens)),
    extensions(("x-permit" = json!("OwnAccount"))))]
pub async fn tokens(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::OwnAccount)?;
    Ok(Json(Tokens {
        tokens: own(&st, &a).await,
    })
    .into_response())
}

/// Makes an API token for the caller.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "me",
    request_body = NewToken,
    responses((status = 201, body = Created),
        (status = 400, body = ErrorBody, description = "a bad name, or too many tokens"),
        (status = 409, body = ErrorBody, description = "a directory user (`directory_user`)"),
        (status = 413, body = ErrorBody, description = "a body over 64 KiB (`too_large`)")),
    extensions(("x-permit" = json!("OwnAccount"))))]
pub async fn create_token(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::OwnAccount)?;
    let peer = from(req.extensions());
    let body = read_body(req).await?;
    let f: NewToken = json_body(&body)?;
    let token = st
        .users
        .create_token(&a.name, &f.name)
        .await
        .map_err(refused)?;
    audit_token(&st, &a.name, "api", peer, "token_created", f.name.trim());
    let created = Created {
        token: token.into_inner(),
        tokens: own(&st, &a).await,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "me",
    params(("id" = String, Path, description = "The token's public id, as listed")),
    responses((status = 200, body = Tokens),
        (status = 404, body = ErrorBody, description = "no such token of the caller's (`unknown_token`)")),
    extensions(("x-permit" = json!("OwnAccount"))))]
pub async fn revoke_token(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::OwnAccount)?;
    st.users.revoke_token(&a.name, &id).await.map_err(refused)?;
    audit_token(
        &st,
        &a.name,
        "api",
        from(req.extensions()),
        "token_revoked",
        &id,
    );
    Ok(Json(Tokens {
        tokens: own(&st, &a).await,
    })
    .into_response())
}
