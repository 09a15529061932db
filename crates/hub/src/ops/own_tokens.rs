//! A signed-in user's own credentials: his API tokens and route passwords (list, revoke, and
//! a new API token within the hub's token policy) and his signed-in browsers.
//!
//! "A token may not mint tokens" still holds: only a portal session may make its user a new
//! API token. A portal session is itself proof of an interactive sign-in (a password, and a
//! code where the user has a second factor); an API token proves only possession of itself,
//! so a stolen or expiring one still cannot make its own successor.

use portcullis_domain::authz::Role;
use portcullis_store::{ApiToken, Id, TokenScope};
use time::OffsetDateTime;

use super::tokens::{revoke_checked, Revoked};
use super::{event, Caller, Change, OpError};
use crate::accounts::{self, IssuedToken};
use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::state::State;
use crate::token_policy::LifetimeRequest;

/// The caller's credentials, newest first: API tokens and route passwords, and his other
/// signed-in browsers (live ones only).
#[derive(Debug, Default)]
pub struct OwnCredentials {
    /// API tokens and route passwords, revoked and expired ones included.
    pub tokens: Vec<ApiToken>,
    /// Portal sessions still live.
    pub browsers: Vec<ApiToken>,
}

/// The signed-in user's credentials.
pub async fn list(st: &State, me: &Principal) -> Result<OwnCredentials, OpError> {
    let now = OffsetDateTime::now_utc();
    let mut all = st.store.list_user_tokens(me.user_id).await?;
    all.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    let (browsers, tokens): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|t| t.scope == TokenScope::Portal);
    let browsers = browsers
        .into_iter()
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now))
        .collect();
    Ok(OwnCredentials { tokens, browsers })
}

/// Makes the signed-in user a new API token (shown once), expiring as `lifetime` asks within
/// the hub's `[tokens]` policy. Only from a portal session (see the module docs).
pub async fn create(
    st: &State,
    by: Caller<'_>,
    name: &str,
    lifetime: LifetimeRequest,
) -> Result<IssuedToken, OpError> {
    let me = by.principal;
    if me.scope != TokenScope::Portal {
        return Err(OpError::Forbidden {
            code: "token_cannot_mint",
            message: "a token cannot create tokens for its own user; sign in to the portal".into(),
        });
    }
    if me.role == Role::Technical {
        return Err(OpError::forbidden(
            "technical users get tokens from an admin",
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(OpError::invalid("name: 1 to 100 characters"));
    }
    let expires = super::tokens::expiry(st, lifetime)?;
    let mut tx = st.store.begin().await?;
    let issued = accounts::issue_token(&mut *tx, me.user_id, name, expires).await?;
    tx.audit(event(
        by,
        me.company_id,
        AuditAction::TokenCreated,
        &me.user_name,
        serde_json::json!({"token_id": issued.row.id, "own": true}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(issued)
}

/// Revokes one of the signed-in user's own credentials (a token with its route passwords, a
/// route password, another signed-in browser). Another user's is "not found".
pub async fn revoke(st: &State, by: Caller<'_>, id: Id) -> Result<Revoked, OpError> {
    let me = by.principal;
    let tok = st
        .store
        .list_user_tokens(me.user_id)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(OpError::NotFound("token"))?;
    if tok.id == me.token_id {
        return Err(OpError::invalid("sign out to end this browser's session"));
    }
    revoke_checked(st, by, tok).await
}
