//! Signing in and out of the portal, and passwords: a user's own change, an admin's one-time
//! password.
//!
//! A sign-in is decided here and nowhere else, whichever door asks: the name and password are
//! checked (argon2id on the blocking pool, the same work for an unknown name), failures slow
//! down per user and per address ([`crate::signin::throttle`]), and a success stores the
//! session's credential ([`crate::accounts::issue_portal_credential`]) with its audit event.
//! A wrong name, a wrong password, a disabled user and a user without a password all get the
//! same answer, so the portal tells nobody which names exist.

use std::net::SocketAddr;
use std::time::Instant;

use portcullis_domain::authz::{Op, Permit, Role};
use portcullis_domain::secret::Secret;
use portcullis_store::{Id, NewAuditEvent, PasswordRecord, User};
use time::OffsetDateTime;

use super::{check, event, Caller, Change, OpError};
use crate::accounts::TokenKind;
use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::signin::password::{self, PasswordRule};
use crate::signin::Method;
use crate::state::State;

/// A browser that signed in: the credential for its cookie, and whether it must change the
/// password before anything else.
#[derive(Debug)]
pub struct SignedIn {
    /// `pct_<public>_<secret>` of scope `portal`; shown only to the browser, in its cookie.
    pub credential: Secret<String>,
    /// The principal the credential yields.
    pub principal: Principal,
    /// The password is one an admin set: the portal asks for a new one first.
    pub must_change: bool,
}

/// Where a right password leads.
#[derive(Debug)]
pub enum SignInStep {
    /// Signed in.
    Done(SignedIn),
    /// The user has a second factor: the code comes next, with this ticket
    /// ([`super::second_factor::sign_in_code`]).
    Code(Secret<String>),
}

/// Why a sign-in did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// Wrong name or password (or a disabled user, or one without a password): one answer
    /// for all, so that names do not leak.
    #[error("the user name or password is wrong")]
    Refused,
    /// The second factor's code was wrong or already used.
    #[error("the code is wrong or was already used; type the code your app shows now")]
    WrongCode,
    /// The sign-in waited too long for its code, or tried too many: start again.
    #[error(transparent)]
    Ticket(#[from] crate::signin::pending::TicketError),
    /// Too many failures: the attempt was not checked; try again after this long.
    #[error("too many failed sign-ins; try again in {} seconds", .0.as_secs().max(1))]
    SlowDown(std::time::Duration),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] portcullis_store::StoreError),
}

/// Signs `name` in with `password` from `from` (see the module docs).
pub async fn sign_in(
    st: &State,
    name: &str,
    password: Secret<String>,
    from: SocketAddr,
) -> Result<SignInStep, SignInError> {
    let name = name.trim();
    if let Some(wait) = st.signin_throttle.wait(name, from.ip(), Instant::now()) {
        tracing::info!(user = %name, %from, "portal sign-in slowed down");
        return Err(SignInError::SlowDown(wait));
    }
    let user = if name.is_empty() || name.len() > 64 {
        None
    } else {
        st.store.find_user_by_name(name).await?
    };
    let record = match &user {
        Some(u) => st.store.user_password(u.id).await?,
        None => None,
    };
    let must_change = record.as_ref().is_some_and(|r| r.must_change);
    let matches = password::verify_blocking(password, record.map(|r| r.hash)).await;
    let usable = user
        .as_ref()
        .filter(|u| u.disabled_at.is_none() && u.role != Role::Technical);
    let (Some(user), true) = (usable, matches) else {
        st.signin_throttle.failed(name, from.ip(), Instant::now());
        let reason = match &user {
            Some(u) if matches && u.disabled_at.is_some() => "disabled",
            _ => "wrong_password",
        };
        failed(st, user.as_ref(), name, from, reason).await;
        return Err(SignInError::Refused);
    };
    if st.store.user_totp(user.id).await?.is_some() {
        // The password was right; the user's count clears only when the code is right too,
        // so that wrong codes slow down as wrong passwords do.
        let ticket = st.pending_signins.issue(
            crate::signin::pending::Pending {
                user: user.id,
                must_change,
                method: Method::Password,
            },
            Instant::now(),
        );
        return Ok(SignInStep::Code(ticket));
    }
    st.signin_throttle.succeeded(name);
    Ok(SignInStep::Done(
        issue_session(st, user, must_change, from, false, Method::Password).await?,
    ))
}

/// Stores a new portal session for `user` with its audit event (`second_factor`: whether a
/// code was checked too; `method`: how the first step proved who he is). Every sign-in ends
/// here, whichever way it came.
pub(super) async fn issue_session(
    st: &State,
    user: &User,
    must_change: bool,
    from: SocketAddr,
    second_factor: bool,
    method: Method,
) -> Result<SignedIn, portcullis_store::StoreError> {
    let name = match method {
        Method::Password => crate::accounts::PORTAL_CREDENTIAL_NAME,
        Method::Oidc => crate::accounts::PORTAL_OIDC_CREDENTIAL_NAME,
    };
    let expires = OffsetDateTime::now_utc()
        + time::Duration::try_from(st.config.portal.absolute_timeout)
            .unwrap_or(time::Duration::hours(12));
    let mut tx = st.store.begin().await?;
    let issued = crate::accounts::issue_portal_credential(&mut *tx, user.id, expires, name).await?;
    let principal = crate::auth::principal_of(issued.row);
    tx.audit(event(
        Caller {
            principal: &principal,
            from,
        },
        user.company_id,
        AuditAction::UserSignedIn,
        &user.name,
        serde_json::json!({
            "must_change": must_change,
            "second_factor": second_factor,
            "method": method.as_str(),
        }),
    ))
    .await?;
    super::commit(st, tx, &[]).await?;
    Ok(SignedIn {
        credential: issued.token,
        principal,
        must_change,
    })
}

/// Records a refused sign-in (actor `portal`, the name as typed).
pub(super) async fn failed(
    st: &State,
    user: Option<&User>,
    typed: &str,
    from: SocketAddr,
    reason: &str,
) {
    let typed: String = typed.chars().take(64).collect();
    st.audit
        .record_event(NewAuditEvent {
            at: OffsetDateTime::now_utc(),
            company_id: user.and_then(|u| u.company_id),
            actor: "portal".into(),
            action: AuditAction::UserSignInFailed.code().into(),
            target: typed,
            outcome: "failure".into(),
            detail: serde_json::json!({"reason": reason, "from": from.to_string()}),
        })
        .await;
}

/// Signs the session `by` out: its credential is revoked.
pub async fn sign_out(st: &State, by: Caller<'_>) -> Result<(), OpError> {
    let now = OffsetDateTime::now_utc();
    let mut tx = st.store.begin().await?;
    let revoked = tx.revoke_api_token(by.principal.token_id, now).await?;
    tx.audit(event(
        by,
        by.principal.company_id,
        AuditAction::UserSignedOut,
        &by.principal.user_name,
        serde_json::json!({}),
    ))
    .await?;
    let changes = if revoked {
        vec![Change::TokenRevoked {
            token: by.principal.token_id,
        }]
    } else {
        vec![]
    };
    super::commit(st, tx, &changes).await?;
    Ok(())
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordChangeError {
    /// The current password given is wrong.
    #[error("the current password is wrong")]
    WrongCurrent,
    /// The two new passwords differ.
    #[error("the new password and its repetition differ")]
    Mismatch,
    /// The new password breaks a rule.
    #[error(transparent)]
    Rule(#[from] PasswordRule),
    /// Another failure.
    #[error(transparent)]
    Op(#[from] OpError),
}

impl From<portcullis_store::StoreError> for PasswordChangeError {
    fn from(e: portcullis_store::StoreError) -> Self {
        PasswordChangeError::Op(e.into())
    }
}

/// The signed-in user changes his own password; his other portal sessions end.
pub async fn change_password(
    st: &State,
    by: Caller<'_>,
    current: Secret<String>,
    new: Secret<String>,
    repeated: Secret<String>,
) -> Result<(), PasswordChangeError> {
    let me = by.principal;
    if new != repeated {
        return Err(PasswordChangeError::Mismatch);
    }
    password::check_rules(&me.user_name, new.expose())?;
    let record = st.store.user_password(me.user_id).await?;
    if let Some(r) = &record {
        if password::verify(new.expose(), r.hash.expose()) {
            return Err(PasswordRule::Unchanged.into());
        }
    }
    if !password::verify_blocking(current, record.map(|r| r.hash)).await {
        st.signin_throttle
            .failed(&me.user_name, by.from.ip(), Instant::now());
        return Err(PasswordChangeError::WrongCurrent);
    }
    let hash = password::hash_blocking(new).await;
    let others: Vec<Id> =
        crate::accounts::live_tokens(st.store.as_ref(), me.user_id, TokenKind::PortalSessions)
            .await?
            .into_iter()
            .filter(|&t| t != me.token_id)
            .collect();
    let now = OffsetDateTime::now_utc();
    let mut tx = st.store.begin().await?;
    tx.set_user_password(
        me.user_id,
        Some(&PasswordRecord {
            hash,
            must_change: false,
        }),
    )
    .await?;
    let revoked = crate::accounts::revoke(&mut *tx, &others, now).await?;
    tx.audit(event(
        by,
        me.company_id,
        AuditAction::UserPasswordChanged,
        &me.user_name,
        serde_json::json!({"sessions_ended": &revoked}),
    ))
    .await?;
    super::commit(st, tx, &token_cuts(&revoked)).await?;
    Ok(())
}

/// The changes that revoking portal credentials `revoked` makes (their caches forgotten).
fn token_cuts(revoked: &[Id]) -> Vec<Change> {
    revoked
        .iter()
        .map(|&token| Change::TokenRevoked { token })
        .collect()
}

/// Whether the signed-in user must still change his password (an admin set it).
pub async fn must_change(st: &State, me: &Principal) -> Result<bool, OpError> {
    Ok(st
        .store
        .user_password(me.user_id)
        .await?
        .is_some_and(|r| r.must_change))
}

/// What an admin sets as a user's password.
#[derive(Debug, Clone)]
pub struct PasswordSetting {
    /// The password, when the admin chose one (it must pass the rules); `None`: a generated
    /// one-time password, shown once.
    pub chosen: Option<Secret<String>>,
    /// Whether the user's next sign-in must change it (the default; a demo or a scripted
    /// setup may turn it off).
    pub must_change: bool,
}

/// An admin sets `user`'s password (generated unless chosen; returned, to be shown once),
/// which by default the user's next sign-in must change; the user's portal sessions end. Not
/// for oneself (change your own password instead) and not for technical users (they have
/// tokens, not passwords).
pub async fn set_password(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    user: &User,
    setting: PasswordSetting,
) -> Result<Secret<String>, OpError> {
    check(permit, Op::ManageUsers, user.company_id)?;
    if user.id == by.principal.user_id {
        return Err(OpError::invalid(
            "change your own password in the portal instead",
        ));
    }
    if user.role == Role::Technical {
        return Err(OpError::invalid(
            "technical users sign in with API tokens, not passwords",
        ));
    }
    if user.disabled_at.is_some() {
        return Err(OpError::invalid("the user is disabled"));
    }
    let one_time = match setting.chosen {
        Some(p) => {
            password::check_rules(&user.name, p.expose()).map_err(|e| OpError::Invalid {
                code: "weak_password",
                message: e.to_string(),
            })?;
            p
        }
        None => password::generate(),
    };
    let hash = password::hash_blocking(one_time.clone()).await;
    let sessions =
        crate::accounts::live_tokens(st.store.as_ref(), user.id, TokenKind::PortalSessions).await?;
    let now = OffsetDateTime::now_utc();
    let mut tx = st.store.begin().await?;
    tx.set_user_password(
        user.id,
        Some(&PasswordRecord {
            hash,
            must_change: setting.must_change,
        }),
    )
    .await?;
    let revoked = crate::accounts::revoke(&mut *tx, &sessions, now).await?;
    tx.audit(event(
        by,
        user.company_id,
        AuditAction::UserPasswordSet,
        &user.name,
        serde_json::json!({"must_change": setting.must_change, "sessions_ended": &revoked}),
    ))
    .await?;
    super::commit(st, tx, &token_cuts(&revoked)).await?;
    Ok(one_time)
}
