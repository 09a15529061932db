//! Users and the tokens an admin makes for them: a company's super administrator manages the
//! company's users and their authorizations; a vendor admin manages vendor users (support
//! engineers, auditors).

use portcullis_domain::authz::{Authorizations, Op, Permit, Role};
use portcullis_store::{Id, User};
use time::OffsetDateTime;

use super::{access, check, event, Caller, Change, OpError};
use crate::accounts::TokenKind;
use crate::audit_action::AuditAction;
use crate::state::State;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name (letters, digits, `.`, `-`, `_`, `@`), unique across the hub.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Authorizations (company users only).
    pub authorizations: Authorizations,
}

fn check_login(name: &str) -> Result<(), OpError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(
            "name: 1 to 64 characters: letters, digits, '.', '-', '_', '@'",
        ))
    }
}

fn check_email(e: &str) -> Result<(), OpError> {
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "email: {e:?} is not an e-mail address"
        )))
    }
}

/// Creates a user of the permit's company (a vendor user under a vendor-wide permit).
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    new: NewUser,
) -> Result<User, OpError> {
    let company = permit.company();
    check(permit, Op::ManageUsers, company)?;
    check_login(&new.name)?;
    new.role
        .check_company(company)
        .map_err(|e| OpError::invalid(e.to_string()))?;
    if new.role != Role::CompanyUser && !new.authorizations.is_empty() {
        return Err(OpError::invalid(
            "authorizations are granted to company_user users (a company_admin holds them all)",
        ));
    }
    if let Some(e) = &new.email {
        check_email(e)?;
    }
    let mut tx = st.store.begin().await?;
    let u = tx
        .create_user(portcullis_store::NewUser {
            company_id: company,
            name: new.name,
            display_name: new.display_name,
            email: new.email,
            role: new.role,
            authorizations: new.authorizations,
        })
        .await?;
    tx.audit(event(
        by,
        company,
        AuditAction::UserCreated,
        &u.name,
        serde_json::json!({"after": &u}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(u)
}

/// The users of the permit's company (vendor users under a vendor-wide permit).
pub async fn list(st: &State, permit: &Permit) -> Result<Vec<User>, OpError> {
    check(permit, Op::ReadUsers, permit.company())?;
    Ok(st.store.list_users(permit.company()).await?)
}

/// Grants or takes a company user's authorizations.
pub async fn set_authorizations(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    before: User,
    authorizations: &Authorizations,
) -> Result<User, OpError> {
    check(permit, Op::ManageUsers, before.company_id)?;
    if before.role != Role::CompanyUser {
        return Err(OpError::invalid(
            "authorizations are granted to company_user users",
        ));
    }
    let mut tx = st.store.begin().await?;
    let after = tx
        .set_user_authorizations(before.id, authorizations)
        .await?;
    tx.audit(event(
        by,
        after.company_id,
        AuditAction::UserAuthorizationsChanged,
        &after.name,
        serde_json::json!({"before": before, "after": &after}),
    ))
    .await?;
    super::commit(st, tx, &[Change::UserChanged { user: after.id }]).await?;
    Ok(after)
}

/// Disables a user and revokes everything of his — every API token and route password
/// (revoked, not only refused, so nothing of his comes back), the web sessions opened with
/// them (they re-check their token on every request) — and cuts his live sessions.
pub async fn disable(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    before: User,
) -> Result<User, OpError> {
    check(permit, Op::ManageUsers, before.company_id)?;
    if before.id == by.principal.user_id {
        return Err(OpError::invalid("you cannot disable yourself"));
    }
    let id = before.id;
    let now = portcullis_store::millis::truncate(OffsetDateTime::now_utc());
    let tokens = crate::accounts::live_tokens(st.store.as_ref(), id, TokenKind::All).await?;
    let mut after = before.clone();
    let mut tx = st.store.begin().await?;
    if tx.disable_user(id, now).await? {
        after.disabled_at = Some(now);
    }
    let revoked = crate::accounts::revoke(&mut *tx, &tokens, now).await?;
    tx.audit(event(
        by,
        after.company_id,
        AuditAction::UserDisabled,
        &after.name,
        serde_json::json!({"before": before, "after": &after, "tokens_revoked": revoked}),
    ))
    .await?;
    // Every session of his, whichever of his tokens opened it, ends as "user disabled".
    super::commit(st, tx, &[Change::UserDisabled { user: id }]).await?;
    Ok(after)
}

/// A token just made for a user; the token string is shown once.
#[derive(Debug)]
pub struct IssuedForUser {
    /// The stored row.
    pub token: crate::accounts::IssuedToken,
    /// Its user's login name.
    pub user: String,
}

/// The user `id` and a permit to make tokens for him, refused for oneself: a token may not
/// mint tokens. Otherwise any credential — a technical user's, one that expires in a minute,
/// a stolen one — could make its own successor that outlives it and survives its revocation.
/// A person who needs a new token asks an admin (later: logs in to the portal interactively).
pub async fn token_holder(st: &State, by: Caller<'_>, id: Id) -> Result<(User, Permit), OpError> {
    if id == by.principal.user_id {
        return Err(OpError::Forbidden {
            code: "token_cannot_mint",
            message: "a token cannot create tokens for its own user: an admin of your company \
                      (a vendor admin for vendor users) creates them"
                .into(),
        });
    }
    access::user(st, by.principal, id, Op::ManageTokens).await
}

/// Makes a new API token for `user`, expiring at `expires_at` (already decided under the
/// hub's token policy).
pub async fn issue_token(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    user: User,
    name: &str,
    expires_at: Option<OffsetDateTime>,
) -> Result<IssuedForUser, OpError> {
    check(permit, Op::ManageTokens, user.company_id)?;
    if user.id == by.principal.user_id {
        return Err(OpError::forbidden(
            "a token cannot create tokens for its own user",
        ));
    }
    if user.disabled_at.is_some() {
        return Err(OpError::invalid("the user is disabled"));
    }
    if name.trim().is_empty() || name.len() > 100 {
        return Err(OpError::invalid("name: 1 to 100 characters"));
    }
    let mut tx = st.store.begin().await?;
    let issued = crate::accounts::issue_token(&mut *tx, user.id, name, expires_at).await?;
    tx.audit(event(
        by,
        user.company_id,
        AuditAction::TokenCreated,
        &user.name,
        serde_json::json!({"token_id": issued.row.id}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(IssuedForUser {
        token: issued,
        user: user.name,
    })
}

/// A company handed over: its first super administrator and his one-time password.
#[derive(Debug)]
pub struct HandedOver {
    /// The new company admin.
    pub user: User,
    /// His one-time password (shown once; the first sign-in must change it).
    pub password: portcullis_domain::secret::Secret<String>,
}

/// A vendor admin hands `company` over to the customer: its first super administrator, a
/// person who signs in to the portal with a one-time password (the first-admin rule of
/// [`super::tokens::create`]: only while the company has no enabled admin). Stored with the
/// user, the password and both audit events in one transaction.
pub async fn hand_over(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: &portcullis_store::Company,
    name: &str,
    display_name: &str,
) -> Result<HandedOver, OpError> {
    check(permit, Op::BootstrapCompanyAdmin, Some(company.id))?;
    super::tokens::first_admin_only(st, company, Role::CompanyAdmin).await?;
    check_login(name)?;
    let password = crate::signin::password::generate();
    let hash = crate::signin::password::hash_blocking(password.clone()).await;
    let mut tx = st.store.begin().await?;
    let user = tx
        .create_user(portcullis_store::NewUser {
            company_id: Some(company.id),
            name: name.to_string(),
            display_name: display_name.trim().to_string(),
            email: None,
            role: Role::CompanyAdmin,
            authorizations: Authorizations::none(),
        })
        .await?;
    tx.set_user_password(
        user.id,
        Some(&portcullis_store::PasswordRecord {
            hash,
            must_change: true,
        }),
    )
    .await?;
    tx.audit(event(
        by,
        company.id,
        AuditAction::UserCreated,
        &user.name,
        serde_json::json!({"after": &user, "first_admin": true}),
    ))
    .await?;
    tx.audit(event(
        by,
        company.id,
        AuditAction::UserPasswordSet,
        &user.name,
        serde_json::json!({"must_change": true, "sessions_ended": []}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(HandedOver { user, password })
}
