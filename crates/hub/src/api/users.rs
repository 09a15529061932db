//! Users and their tokens over HTTP: parse, call [`ops::users`], render.

use portcullis_domain::secret::Secret;
use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::{Authorizations, Op, Permit, Role};
use portcullis_store::{Id, User};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::{Body, OptionalBody, Path, Query};
use super::{ApiErr, Authed};
use crate::auth::Principal;
use crate::ops::{self, Caller};
use crate::state::State;

/// Body of `POST /api/v1/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// Company id or name; omit for vendor users.
    pub company: Option<String>,
    /// Login name (letters, digits, `.`, `-`, `_`, `@`), unique across the hub.
    pub name: String,
    /// Name shown to people.
    #[serde(default)]
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Authorizations (company users).
    #[serde(default)]
    pub authorizations: Authorizations,
}

/// `POST /api/v1/users`
pub async fn create_user(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Body(b): Body<NewUserBody>,
) -> Result<(StatusCode, Json<User>), ApiErr> {
    let permit = users_permit(&st, &p, b.company.as_deref(), Op::ManageUsers).await?;
    let new = ops::users::NewUser {
        name: b.name,
        display_name: b.display_name,
        email: b.email,
        role: b.role,
        authorizations: b.authorizations,
    };
    let u = ops::users::create(
        &st,
        Caller {
            principal: &p,
            from,
        },
        &permit,
        new,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// A permit for `op` on the users of `company` (id or name), or on vendor users when `None`.
async fn users_permit(
    st: &State,
    p: &Principal,
    company: Option<&str>,
    op: Op,
) -> Result<Permit, ApiErr> {
    Ok(match company {
        Some(key) => ops::access::company(st, p, key, op).await?.1,
        None => ops::access::vendor_permit(p, op)?,
    })
}

/// Query of `GET /api/v1/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Company id or name; omit for vendor users.
    pub company: Option<String>,
}

/// `GET /api/v1/users?company=`
pub async fn list_users(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Query(q): Query<UserQuery>,
) -> Result<Json<Vec<User>>, ApiErr> {
    let permit = users_permit(&st, &p, q.company.as_deref(), Op::ReadUsers).await?;
    Ok(Json(ops::users::list(&st, &permit).await?))
}

/// Body of `PATCH /api/v1/users/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditUserBody {
    /// The new set of authorizations.
    pub authorizations: Authorizations,
}

/// `PATCH /api/v1/users/{id}`: the super administrator grants or takes authorizations.
pub async fn edit_user(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
    Body(b): Body<EditUserBody>,
) -> Result<Json<User>, ApiErr> {
    let (before, permit) = ops::access::user(&st, &p, id, Op::ManageUsers).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let after = ops::users::set_authorizations(&st, by, &permit, before, &b.authorizations).await?;
    Ok(Json(after))
}

/// `POST /api/v1/users/{id}/disable`: revokes everything of the user — every API token and
/// route password (revoked, not only refused, so nothing of his comes back), the web sessions
/// opened with them (they re-check their token on every request) — and cuts his live sessions.
pub async fn disable_user(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<User>, ApiErr> {
    let (before, permit) = ops::access::user(&st, &p, id, Op::ManageUsers).await?;
    let after = ops::users::disable(
        &st,
        Caller {
            principal: &p,
            from,
        },
        &permit,
        before,
    )
    .await?;
    Ok(Json(after))
}

/// Body of `POST /api/v1/users/{id}/password`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The password to set; omitted: a generated one-time password.
    pub password: Option<Secret<String>>,
    /// Whether the next sign-in must change it (default true).
    pub must_change: Option<bool>,
}

/// Answer of `POST /api/v1/users/{id}/password`: the password, shown once.
#[derive(Debug, Serialize)]
pub struct PasswordSet {
    /// The user.
    pub user: User,
    /// The password now set (the generated one, or the one chosen).
    pub password: Secret<String>,
    /// Whether the next sign-in must change it.
    pub must_change: bool,
}

/// `POST /api/v1/users/{id}/password`: an admin sets a user's portal password.
pub async fn set_password(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
    OptionalBody(b): OptionalBody<PasswordBody>,
) -> Result<Json<PasswordSet>, ApiErr> {
    let (user, permit) = ops::access::user(&st, &p, id, Op::ManageUsers).await?;
    let must_change = b.must_change.unwrap_or(true);
    let password = ops::signin::set_password(
        &st,
        Caller {
            principal: &p,
            from,
        },
        &permit,
        &user,
        ops::signin::PasswordSetting {
            chosen: b.password,
            must_change,
        },
    )
    .await?;
    Ok(Json(PasswordSet {
        user,
        password,
        must_change,
    }))
}

/// `POST /api/v1/users/{id}/totp/reset`: an admin removes a user's second factor.
pub async fn reset_totp(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<User>, ApiErr> {
    let (user, permit) = ops::access::user(&st, &p, id, Op::ManageUsers).await?;
    ops::second_factor::reset(
        &st,
        Caller {
            principal: &p,
            from,
        },
        &permit,
        &user,
    )
    .await?;
    Ok(Json(user))
}

/// Body of `POST /api/v1/users/{id}/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Token label.
    pub name: String,
    /// Lifetime in seconds; left out or `null`: the hub's default (`[tokens]
    /// default_lifetime_days`), at most `max_lifetime_days`.
    pub expires_in_secs: Option<u64>,
    /// A token that never expires: only on a hub with `[tokens] allow_unlimited = true`, and
    /// not together with `expires_in_secs`.
    #[serde(default)]
    pub no_expiry: bool,
}

/// A token just made; `token` is shown once (and masked in `Debug`).
#[derive(Debug, Serialize)]
pub struct IssuedView {
    /// Token id.
    pub id: Id,
    /// Its user.
    pub user: String,
    /// The token string.
    pub token: Secret<String>,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// `POST /api/v1/users/{id}/tokens`: a new token for a user, made by an admin of the user's
/// company (a vendor admin for vendor users).
///
/// Never for oneself: a token may not mint tokens. Otherwise any credential — a technical
/// user's, one that expires in a minute, a stolen one — could make its own successor that
/// outlives it and survives its revocation. A person who needs a new token asks an admin
/// (later: logs in to the portal interactively). A route password
/// (`POST /api/v1/route-passwords`) is the one credential one makes for oneself; why that is
/// safe is argued in [`super::route_password`].
pub async fn create_user_token(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
    Body(b): Body<TokenBody>,
) -> Result<(StatusCode, Json<IssuedView>), ApiErr> {
    let by = Caller {
        principal: &p,
        from,
    };
    let (user, permit) = ops::users::token_holder(&st, by, id).await?;
    let expires_at = ops::tokens::expiry(
        &st,
        crate::token_policy::LifetimeRequest {
            expires_in_secs: b.expires_in_secs,
            no_expiry: b.no_expiry,
        },
    )?;
    let issued = ops::users::issue_token(&st, by, &permit, user, &b.name, expires_at).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedView {
            id: issued.token.row.id,
            user: issued.user,
            token: issued.token.token,
            expires_at,
        }),
    ))
}
