//! A company's API tokens (each with a user of its own), revoking any token with the route
//! passwords made with it, and a user's route password for himself.
//!
//! A company admin makes his company's tokens; a vendor admin makes only a company's **first**
//! company admin, to hand the company over (BY-01, [`Op::BootstrapCompanyAdmin`]). A route
//! password is the one credential a token makes for its own user; why that is safe is argued
//! in `crate::api::route_password`.

use portcullis_domain::authz::{authorize, AuthzError, Op, Permit, Role};
use portcullis_store::{ApiToken, Company, Id, TokenScope, User};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{access, check, check_name, event, Caller, Change, OpError};
use crate::accounts::{self, IssuedToken, RouteTtl, TokenKind};
use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::state::State;
use crate::token_policy::LifetimeRequest;

/// The expiry of a token created now for `req`, under the hub's `[tokens]` policy
/// ([`crate::token_policy`]): the default lifetime when none is asked, never more than the
/// maximum, no expiry only when the policy allows it and the caller said `no_expiry`.
pub fn expiry(st: &State, req: LifetimeRequest) -> Result<Option<OffsetDateTime>, OpError> {
    st.config
        .tokens
        .expiry(req, OffsetDateTime::now_utc())
        .map_err(|e| OpError::Invalid {
            code: e.code(),
            message: e.to_string(),
        })
}

/// The company `key` (id or name) and a permit to make its tokens: the company admin's
/// ([`Op::ManageTokens`]) or else a vendor admin's for its first admin
/// ([`Op::BootstrapCompanyAdmin`]); refused as the company admin's permit was.
pub async fn company_permit(
    st: &State,
    p: &Principal,
    key: &str,
) -> Result<(Company, Permit), OpError> {
    match access::company(st, p, key, Op::ManageTokens).await {
        Ok(found) => Ok(found),
        // Not the company's admin: perhaps the vendor admin handing the company over.
        Err(refused) => access::company(st, p, key, Op::BootstrapCompanyAdmin)
            .await
            .map_err(|_| refused),
    }
}

/// A company token to make.
#[derive(Debug, Clone)]
pub struct NewCompanyToken {
    /// Name of the token and of its user, e.g. `ci-bot`.
    pub name: String,
    /// The user's role.
    pub role: Role,
    /// How long it lives, decided under the hub's policy ([`expiry`]).
    pub lifetime: LifetimeRequest,
}

/// A company token just made, with its user.
#[derive(Debug)]
pub struct IssuedCompanyToken {
    /// The stored row and the token string (shown once).
    pub token: IssuedToken,
    /// The user the token acts as.
    pub user: String,
}

/// Makes an API token for `company` with a user of its own with the asked-for role (the user
/// API manages people with several tokens). Under a [`Op::BootstrapCompanyAdmin`] permit only
/// the company's first admin.
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: &Company,
    new: NewCompanyToken,
) -> Result<IssuedCompanyToken, OpError> {
    let bootstrap = permit.op() == Op::BootstrapCompanyAdmin;
    if bootstrap {
        check(permit, Op::BootstrapCompanyAdmin, Some(company.id))?;
        first_admin_only(st, company, new.role).await?;
    } else {
        check(permit, Op::ManageTokens, Some(company.id))?;
    }
    check_name("name", &new.name)?;
    if new.role.check_company(Some(company.id)).is_err() {
        return Err(OpError::Invalid {
            code: "invalid_role",
            message: "company tokens are technical, company_user, company_admin or auditor".into(),
        });
    }
    let expires_at = expiry(st, new.lifetime)?;
    let mut tx = st.store.begin().await?;
    let user = accounts::create_user(
        &mut *tx,
        Some(company.id),
        None,
        &new.name,
        new.role,
        portcullis_domain::authz::Authorizations::none(),
    )
    .await?;
    let issued = accounts::issue_token(&mut *tx, user.id, &new.name, expires_at).await?;
    let t = &issued.row;
    tx.audit(event(
        by,
        Some(company.id),
        AuditAction::TokenCreated,
        &t.name,
        serde_json::json!({"token_id": t.id, "role": new.role, "first_admin": bootstrap}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(IssuedCompanyToken {
        token: issued,
        user: user.name,
    })
}

/// What a vendor admin may make of a company's credentials: its first company admin, nothing
/// else (BY-01). Refuses any other role, and a company that has an enabled admin already.
pub(super) async fn first_admin_only(st: &State, c: &Company, role: Role) -> Result<(), OpError> {
    if role != Role::CompanyAdmin {
        return Err(OpError::Forbidden {
            code: "customer_credentials",
            message: format!(
                "a vendor admin makes only a company's first admin (role company_admin); \
                 {}'s own admin makes its other users and tokens",
                c.name
            ),
        });
    }
    let has_admin = st
        .store
        .list_users(Some(c.id))
        .await?
        .iter()
        .any(|u| u.role == Role::CompanyAdmin && u.disabled_at.is_none());
    if has_admin {
        return Err(OpError::Forbidden {
            code: "company_has_admin",
            message: format!(
                "{} has a company admin already: its users and tokens are the company's to make",
                c.name
            ),
        });
    }
    Ok(())
}

/// The tokens of the permit's company (never their secrets).
pub async fn list(st: &State, permit: &Permit) -> Result<Vec<ApiToken>, OpError> {
    let company = crate::ops::company_of(permit, Op::ManageTokens)?;
    Ok(st.store.list_api_tokens(Some(company)).await?)
}

/// The API tokens of `user` (a user of the permit's company; never their secrets, never his
/// portal sessions or route passwords), newest first.
pub async fn of_user(st: &State, permit: &Permit, user: &User) -> Result<Vec<ApiToken>, OpError> {
    let company = crate::ops::company_of(permit, Op::ManageTokens)?;
    if user.company_id != Some(company) {
        return Err(OpError::NotFound("user"));
    }
    let mut list: Vec<ApiToken> = st
        .store
        .list_api_tokens(Some(company))
        .await?
        .into_iter()
        .filter(|t| t.user_id == user.id && t.scope == TokenScope::Api)
        .collect();
    list.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    Ok(list)
}

/// What revoking a token did.
#[derive(Debug, Clone, Copy)]
pub struct Revoked {
    /// The token.
    pub id: Id,
    /// Whether it was live until now.
    pub was_active: bool,
}

/// Revokes a token and every route password made with it (they go with the API token of
/// their user), and cuts every live session opened with any of them.
pub async fn revoke(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    tok: ApiToken,
) -> Result<Revoked, OpError> {
    check(permit, Op::ManageTokens, tok.company_id)?;
    revoke_checked(st, by, tok).await
}

/// [`revoke`] once the caller's right to revoke `tok` is established (an admin's permit, or
/// the token being the caller's own: [`super::own_tokens::revoke`]).
pub(super) async fn revoke_checked(
    st: &State,
    by: Caller<'_>,
    tok: ApiToken,
) -> Result<Revoked, OpError> {
    let id = tok.id;
    let now = OffsetDateTime::now_utc();
    let route_passwords = if tok.scope == TokenScope::Api {
        accounts::live_tokens(st.store.as_ref(), tok.user_id, TokenKind::RoutePasswords).await?
    } else {
        Vec::new()
    };
    let mut tx = st.store.begin().await?;
    let was_active = tx.revoke_api_token(id, now).await?;
    let route_passwords = accounts::revoke(&mut *tx, &route_passwords, now).await?;
    tx.audit(event(
        by,
        tok.company_id,
        AuditAction::TokenRevoked,
        &tok.name,
        serde_json::json!({"token_id": id, "route_passwords_revoked": route_passwords}),
    ))
    .await?;
    let changes: Vec<Change> = std::iter::once(id)
        .chain(route_passwords.iter().copied())
        .map(|token| Change::TokenRevoked { token })
        .collect();
    super::commit(st, tx, &changes).await?;
    Ok(Revoked { id, was_active })
}

/// A permit for the caller to make a route password for himself; a technical user is told
/// why he gets none.
pub fn route_password_permit(p: &Principal) -> Result<Permit, OpError> {
    authorize(&p.actor(), Op::CreateRoutePassword, p.company_id).map_err(|e| {
        let message = match e {
            AuthzError::RoleDenied {
                role: Role::Technical,
                ..
            } => "a technical user gets no route password: its API token is already a \
                  connection password"
                .to_string(),
            other => other.to_string(),
        };
        OpError::forbidden(message)
    })
}

/// A route password just made.
#[derive(Debug)]
pub struct IssuedRoutePassword {
    /// The stored row and the password (shown once).
    pub token: IssuedToken,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// Makes a route password for the caller, living `ttl_minutes` (an hour when `None`), never
/// past the expiry of the API token that asks for it.
pub async fn create_route_password(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    ttl_minutes: Option<i64>,
) -> Result<IssuedRoutePassword, OpError> {
    let p = by.principal;
    check(permit, Op::CreateRoutePassword, p.company_id)?;
    if permit.user_id() != p.user_id {
        return Err(OpError::forbidden("a route password is its holder's own"));
    }
    let ttl = match ttl_minutes {
        None => RouteTtl::DEFAULT,
        Some(m) => RouteTtl::from_minutes(m).map_err(|e| OpError::Invalid {
            code: "invalid_ttl",
            message: e.to_string(),
        })?,
    };
    let mut tx = st.store.begin().await?;
    let issued = accounts::issue_route_password(&mut *tx, permit, ttl, p.expires_at).await?;
    let row = &issued.row;
    let expires_at = row.expires_at.ok_or(OpError::Internal(
        "a route password was stored without an expiry",
    ))?;
    // Never the password: the audit log is read by more people than its holder.
    tx.audit(event(
        by,
        p.company_id,
        AuditAction::RoutePasswordCreated,
        &row.user_name,
        serde_json::json!({
            "token_id": row.id,
            "ttl_minutes": ttl.minutes(),
            "expires_at": expires_at.format(&Rfc3339).ok(),
        }),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(IssuedRoutePassword {
        token: issued,
        expires_at,
    })
}
