//! Users and their tokens: a company's super administrator manages the company's users and
//! their authorizations; a vendor admin manages vendor users (support engineers, auditors).

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::{authorize, Authorizations, Op, Role};
use portcullis_store::{Id, User};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::{Body, Path, Query};
use super::remote::{company_permit, permit};
use super::{action_event, commit, ApiErr, Authed};
use crate::accounts::TokenKind;
use crate::auth::Principal;
use crate::registry::CutKey;
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

fn check_login(name: &str) -> Result<(), ApiErr> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiErr::bad_request(
            "invalid",
            "name: 1 to 64 characters: letters, digits, '.', '-', '_', '@'",
        ))
    }
}

fn vendor_permit(p: &Principal) -> Result<(), ApiErr> {
    authorize(&p.actor(), Op::ManageUsers, None)
        .map(|_| ())
        .map_err(|_| ApiErr::forbidden())
}

/// `POST /api/v1/users`
pub async fn create_user(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Body(b): Body<NewUserBody>,
) -> Result<(StatusCode, Json<User>), ApiErr> {
    check_login(&b.name)?;
    let company = match &b.company {
        Some(key) => Some(company_permit(&st, &p, key, Op::ManageUsers).await?.0.id),
        None => {
            vendor_permit(&p)?;
            None
        }
    };
    b.role
        .check_company(company)
        .map_err(|e| ApiErr::bad_request("invalid", e.to_string()))?;
    if b.role != Role::CompanyUser && !b.authorizations.is_empty() {
        return Err(ApiErr::bad_request(
            "invalid",
            "authorizations are granted to company_user users (a company_admin holds them all)",
        ));
    }
    if let Some(e) = &b.email {
        let ok = e.len() <= 254
            && e.split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !e.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(ApiErr::bad_request(
                "invalid",
                format!("email: {e:?} is not an e-mail address"),
            ));
        }
    }
    let mut tx = st.store.begin().await?;
    let u = tx
        .create_user(portcullis_store::NewUser {
            company_id: company,
            name: b.name.clone(),
            display_name: b.display_name.clone(),
            email: b.email.clone(),
            role: b.role,
            authorizations: b.authorizations.clone(),
        })
        .await?;
    tx.audit(action_event(
        &p,
        from,
        company,
        "user.created",
        &u.name,
        serde_json::json!({"after": &u}),
    ))
    .await?;
    commit(&st, tx).await?;
    Ok((StatusCode::CREATED, Json(u)))
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
    let company = match &q.company {
        Some(key) => Some(company_permit(&st, &p, key, Op::ReadUsers).await?.0.id),
        None => {
            authorize(&p.actor(), Op::ReadUsers, None).map_err(|_| ApiErr::forbidden())?;
            None
        }
    };
    Ok(Json(st.store.list_users(company).await?))
}

async fn managed_user(st: &State, p: &Principal, id: Id) -> Result<User, ApiErr> {
    let u = st
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiErr::not_found("user"))?;
    match u.company_id {
        Some(c) => {
            permit(p, Op::ManageUsers, c, "user")?;
        }
        None => vendor_permit(p)?,
    }
    Ok(u)
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
    let before = managed_user(&st, &p, id).await?;
    if before.role != Role::CompanyUser {
        return Err(ApiErr::bad_request(
            "invalid",
            "authorizations are granted to company_user users",
        ));
    }
    let mut tx = st.store.begin().await?;
    let after = tx.set_user_authorizations(id, &b.authorizations).await?;
    tx.audit(action_event(
        &p,
        from,
        after.company_id,
        "user.authorizations_changed",
        &after.name,
        serde_json::json!({"before": before, "after": &after}),
    ))
    .await?;
    commit(&st, tx).await?;
    st.tokens.forget_all();
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
    let before = managed_user(&st, &p, id).await?;
    if before.id == p.user_id {
        return Err(ApiErr::bad_request(
            "invalid",
            "you cannot disable yourself",
        ));
    }
    let now = portcullis_store::millis::truncate(OffsetDateTime::now_utc());
    let tokens = crate::accounts::live_tokens(st.store.as_ref(), id, TokenKind::All).await?;
    let mut after = before.clone();
    let mut tx = st.store.begin().await?;
    if tx.disable_user(id, now).await? {
        after.disabled_at = Some(now);
    }
    let revoked = crate::accounts::revoke(&mut *tx, &tokens, now).await?;
    tx.audit(action_event(
        &p,
        from,
        after.company_id,
        "user.disabled",
        &after.name,
        serde_json::json!({"before": before, "after": &after, "tokens_revoked": revoked}),
    ))
    .await?;
    commit(&st, tx).await?;
    st.tokens.forget_all();
    // Every session of his, whichever of his tokens opened it, ends as "user disabled".
    st.registry.cut(CutKey::User(id));
    Ok(Json(after))
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
#[derive(Serialize)]
pub struct IssuedView {
    /// Token id.
    pub id: Id,
    /// Its user.
    pub user: String,
    /// The token string.
    pub token: String,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for IssuedView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedView")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("token", &"****")
            .field("expires_at", &self.expires_at)
            .finish()
    }
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
    if id == p.user_id {
        return Err(ApiErr::new(
            StatusCode::FORBIDDEN,
            "token_cannot_mint",
            "a token cannot create tokens for its own user: an admin of your company (a vendor \
             admin for vendor users) creates them",
        ));
    }
    let u = st
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiErr::not_found("user"))?;
    match u.company_id {
        Some(c) => {
            permit(&p, Op::ManageTokens, c, "user")?;
        }
        None => {
            authorize(&p.actor(), Op::ManageTokens, None).map_err(|_| ApiErr::forbidden())?;
        }
    }
    if u.disabled_at.is_some() {
        return Err(ApiErr::bad_request("invalid", "the user is disabled"));
    }
    if b.name.trim().is_empty() || b.name.len() > 100 {
        return Err(ApiErr::bad_request("invalid", "name: 1 to 100 characters"));
    }
    let expires_at = super::token_expiry(
        &st,
        crate::token_policy::LifetimeRequest {
            expires_in_secs: b.expires_in_secs,
            no_expiry: b.no_expiry,
        },
    )?;
    let mut tx = st.store.begin().await?;
    let issued = crate::accounts::issue_token(&mut *tx, u.id, &b.name, expires_at).await?;
    tx.audit(action_event(
        &p,
        from,
        u.company_id,
        "token.created",
        &u.name,
        serde_json::json!({"token_id": issued.row.id}),
    ))
    .await?;
    commit(&st, tx).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedView {
            id: issued.row.id,
            user: u.name,
            token: issued.token,
            expires_at,
        }),
    ))
}
