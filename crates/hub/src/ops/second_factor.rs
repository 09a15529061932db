//! The portal's second factor (TOTP): the code step of a sign-in, a user turning it on and
//! off, an admin resetting a user's, and a company making it mandatory.
//!
//! The secret is made here, shown once to its user, and stored sealed
//! ([`crate::signin::sealer`], bound to the user's id). A code is accepted once: its 30-second
//! step is claimed in the store, so a code seen over a shoulder cannot be replayed.

use std::net::SocketAddr;
use std::time::Instant;

use base64::Engine;
use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::secret::Secret;
use portcullis_store::{Company, Id, User};
use time::OffsetDateTime;

use super::signin::{failed, issue_session, SignInError, SignedIn};
use super::{check, event, Caller, Change, OpError};
use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::signin::{password, totp};
use crate::state::State;

fn context(user: Id) -> Vec<u8> {
    format!("totp:user:{user}").into_bytes()
}

fn enrol_context(user: Id) -> Vec<u8> {
    format!("totp-enrol:user:{user}").into_bytes()
}

fn unix_now() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// Checks `code` against `user`'s second factor and claims its step; `false` when it is
/// wrong, already used, or the user has none.
async fn code_ok(st: &State, user: Id, code: &str) -> Result<bool, OpError> {
    let Some(rec) = st.store.user_totp(user).await? else {
        return Ok(false);
    };
    let Some(secret) = st.sealer.open(&context(user), rec.sealed.expose()) else {
        tracing::error!(
            user,
            "a stored TOTP secret does not open with this hub's key"
        );
        return Ok(false);
    };
    let Some(step) = totp::matching_step(&secret, code, unix_now()) else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    Ok(st.store.claim_totp_step(user, step).await?)
}

/// The code step of a sign-in: `ticket` from [`super::signin::sign_in`], the code typed.
pub async fn sign_in_code(
    st: &State,
    ticket: &str,
    code: &str,
    from: SocketAddr,
) -> Result<SignedIn, SignInError> {
    let pending = st.pending_signins.attempt(ticket, Instant::now())?;
    let user = st
        .store
        .get_user(pending.user)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or(SignInError::Refused)?;
    if let Some(wait) = st
        .signin_throttle
        .wait(&user.name, from.ip(), Instant::now())
    {
        return Err(SignInError::SlowDown(wait));
    }
    let ok = code_ok(st, user.id, code).await.map_err(|e| match e {
        OpError::Store(s) => SignInError::Store(s),
        _ => SignInError::Refused,
    })?;
    if !ok {
        st.signin_throttle
            .failed(&user.name, from.ip(), Instant::now());
        failed(st, Some(&user), &user.name, from, "wrong_code").await;
        return Err(SignInError::WrongCode);
    }
    st.pending_signins.done(ticket);
    st.signin_throttle.succeeded(&user.name);
    Ok(issue_session(st, &user, pending.must_change, from, true, pending.method).await?)
}

/// A secret offered to a user who turns the second factor on: shown once, and carried back
/// sealed by the confirming form.
#[derive(Debug)]
pub struct TotpOffer {
    /// The secret for typing into an app, in groups of four.
    pub display: Secret<String>,
    /// The `otpauth://` URI for apps that import links or QR codes.
    pub uri: Secret<String>,
    /// The secret sealed for this user's confirmation form (base64).
    pub sealed: String,
}

/// A new secret for the signed-in user to add to his authenticator app.
pub fn offer(st: &State, me: &Principal) -> TotpOffer {
    let secret = totp::new_secret();
    let sealed = st.sealer.seal(&enrol_context(me.user_id), secret.expose());
    TotpOffer {
        display: Secret::new(totp::display(secret.expose())),
        uri: Secret::new(totp::uri(&me.user_name, secret.expose())),
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
    }
}

/// Whether the signed-in user has a second factor.
pub async fn enabled(st: &State, me: &Principal) -> Result<bool, OpError> {
    Ok(st.store.user_totp(me.user_id).await?.is_some())
}

/// Whether `user` has a second factor, for who may read the users of his company (vendor
/// users under a vendor-wide permit): the admin's user list shows it.
pub async fn enabled_for(st: &State, permit: &Permit, user: &User) -> Result<bool, OpError> {
    check(permit, Op::ReadUsers, user.company_id)?;
    Ok(st.store.user_totp(user.id).await?.is_some())
}

/// Turns the second factor on with the offered secret (`sealed`, from [`offer`]) once a code
/// from the app proves the app has it.
pub async fn enable(st: &State, by: Caller<'_>, sealed: &str, code: &str) -> Result<(), OpError> {
    let me = by.principal;
    let secret = base64::engine::general_purpose::STANDARD
        .decode(sealed.trim())
        .ok()
        .and_then(|s| st.sealer.open(&enrol_context(me.user_id), &s))
        .ok_or_else(|| OpError::invalid("the form has expired; start again"))?;
    if totp::matching_step(&secret, code, unix_now()).is_none() {
        return Err(OpError::Invalid {
            code: "wrong_code",
            message: "the code does not match; check the time on your phone and type the \
                      code the app shows now"
                .into(),
        });
    }
    let stored = st.sealer.seal(&context(me.user_id), &secret);
    let mut tx = st.store.begin().await?;
    tx.set_user_totp(me.user_id, Some(&stored)).await?;
    tx.audit(event(
        by,
        me.company_id,
        AuditAction::UserTotpEnabled,
        &me.user_name,
        serde_json::json!({}),
    ))
    .await?;
    super::commit(st, tx, &[]).await?;
    Ok(())
}

/// Whether `company_id`'s users must have a second factor.
pub async fn required(st: &State, company_id: Option<Id>) -> Result<bool, OpError> {
    Ok(match company_id {
        Some(c) => st
            .store
            .get_company(c)
            .await?
            .is_some_and(|c| c.require_totp),
        None => false,
    })
}

/// The signed-in user turns his second factor off, confirming with his password; refused
/// while his company requires it.
pub async fn disable(st: &State, by: Caller<'_>, current: Secret<String>) -> Result<(), OpError> {
    let me = by.principal;
    if required(st, me.company_id).await? {
        return Err(OpError::forbidden(
            "your company requires a second factor; an administrator can reset yours",
        ));
    }
    let record = st.store.user_password(me.user_id).await?;
    if !password::verify_blocking(current, record.map(|r| r.hash)).await {
        st.signin_throttle
            .failed(&me.user_name, by.from.ip(), Instant::now());
        return Err(OpError::invalid("the password is wrong"));
    }
    let mut tx = st.store.begin().await?;
    tx.set_user_totp(me.user_id, None).await?;
    tx.audit(event(
        by,
        me.company_id,
        AuditAction::UserTotpDisabled,
        &me.user_name,
        serde_json::json!({}),
    ))
    .await?;
    super::commit(st, tx, &[]).await?;
    Ok(())
}

/// An admin removes `user`'s second factor (a lost phone); the user's portal sessions end
/// and, where his company requires one, his next sign-in sets up a new one.
pub async fn reset(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    user: &User,
) -> Result<(), OpError> {
    check(permit, Op::ManageUsers, user.company_id)?;
    let sessions = crate::accounts::live_tokens(
        st.store.as_ref(),
        user.id,
        crate::accounts::TokenKind::PortalSessions,
    )
    .await?;
    let now = OffsetDateTime::now_utc();
    let mut tx = st.store.begin().await?;
    tx.set_user_totp(user.id, None).await?;
    let revoked = crate::accounts::revoke(&mut *tx, &sessions, now).await?;
    tx.audit(event(
        by,
        user.company_id,
        AuditAction::UserTotpReset,
        &user.name,
        serde_json::json!({"sessions_ended": &revoked}),
    ))
    .await?;
    let changes: Vec<Change> = revoked
        .iter()
        .map(|&token| Change::TokenRevoked { token })
        .collect();
    super::commit(st, tx, &changes).await?;
    Ok(())
}

/// A company's super administrator makes the second factor mandatory (or not) for the
/// company's users.
pub async fn set_required(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: Id,
    on: bool,
) -> Result<Company, OpError> {
    check(permit, Op::ManageUsers, Some(company))?;
    let mut tx = st.store.begin().await?;
    let c = tx.set_company_require_totp(company, on).await?;
    tx.audit(event(
        by,
        company,
        AuditAction::CompanyTotpRequirement,
        &c.name,
        serde_json::json!({"require_totp": on}),
    ))
    .await?;
    super::commit(st, tx, &[]).await?;
    Ok(c)
}
