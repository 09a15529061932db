//! The hub's operations: every change to what the hub stores, and the reads that need a
//! permit, in one place that the REST API, the coming portal and the CLI-facing endpoints
//! all call. A door (an axum handler, a page) only parses, calls an operation, and renders.
//!
//! Each write is one store transaction holding the change and its audit event; it is
//! acknowledged only after [`commit`], which also applies the [`Change`]s the write made
//! ([`change::apply`]: caches forgotten, live sessions cut). Every privileged operation takes
//! the [`Permit`] that `authorize` handed out for it, and
//! checks that the permit is for that operation and that object's company ([`check`]).
//!
//! # Layout
//! - this file: [`Caller`], [`OpError`], the permit checks [`check`] and [`company_of`],
//!   [`check_name`], and [`event`], [`commit`], [`record`] for the audit trail.
//! - [`change`]: [`Change`] and [`change::apply`], the one place a write's effects happen.
//! - [`access`]: permits for a company, a system, a service connection … looked up by id
//!   (another company's object is "not found").
//! - [`companies`]: creating companies, listing those a caller may read.
//! - [`tokens`]: a company's API tokens (the first-admin rule), revoking a token with its
//!   route passwords, a user's route password for himself, token lifetimes.
//! - [`connectors`]: registering, listing (with live status), revoking connectors, new
//!   enrolment tokens; [`enrolment`]: redeeming a token for a certificate (no permit: the
//!   token is the credential).
//! - [`systems`]: systems, favourites, a system's log book; [`systems::connection_types`];
//!   [`systems::services`] (service connections, their views with names and state).
//! - [`grants`]: standing grants.
//! - [`windows`]: opening, editing, closing a window as a door asks it (contact, times, what
//!   an independent opening may be), on `crate::windows`, which keeps the window rules; the
//!   reads about windows (one, a service connection's, a company's live ones, its summary).
//! - [`web_links`]: a one-time link that opens an HTTP service connection in a browser.
//! - [`duty`]: what a signed-in user must do first (a password change, a second factor).
//! - [`live`]: a company's live sessions, and cutting one.
//! - [`own_tokens`]: a signed-in user's own tokens, route passwords and browsers.
//! - [`second_factor`]: the portal's TOTP second factor (the code step of a sign-in, turning
//!   it on and off, an admin's reset, a company's requirement).
//! - [`oidc`]: a company's OpenID Connect settings; [`oidc_signin`]: a sign-in through
//!   the company's identity provider (start, callback).
//! - [`signin`]: signing in and out of the portal, a user's own password change, the
//!   password an admin sets for a user.
//! - [`users`]: users, their authorizations, disabling, and the tokens an admin makes for
//!   them.
//! - [`audit`]: whose audit events a caller reads, listing, verifying the chain, what an
//!   export holds ([`audit::format`]: the export's lines).

pub mod access;
pub mod audit;
pub mod change;
pub mod companies;
pub mod connectors;
pub mod duty;
pub mod enrolment;
pub mod grants;
pub mod live;
pub mod oidc;
pub mod oidc_signin;
pub mod own_tokens;
pub mod renewal;
pub mod second_factor;
pub mod signin;
pub mod systems;
pub mod tokens;
pub mod users;
pub mod web_links;
pub mod windows;

use std::net::SocketAddr;

use portcullis_domain::authz::{Op, Permit};
use portcullis_store::{Id, NewAuditEvent, StoreError, StoreTx};

pub use change::Change;

use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::state::State;

/// Who asks: the principal a credential yielded, and the address the request came from.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The authenticated principal.
    pub principal: &'a Principal,
    /// The client's address (recorded in every audit event).
    pub from: SocketAddr,
}

/// Why an operation was refused. Each door renders it in its own way (the API as JSON with a
/// status code, the portal as a page); the wording is the operation's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// No such object, or one the caller may not see (another company's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may see the object but not do this.
    #[error("{message}")]
    Forbidden {
        /// Stable code for clients.
        code: &'static str,
        /// Why, for people.
        message: String,
    },
    /// The request is well formed but a rule of the domain refuses it (a window too long).
    #[error("{message}")]
    Unprocessable {
        /// Stable code for clients.
        code: &'static str,
        /// Which rule, for people.
        message: String,
    },
    /// The request contradicts a rule.
    #[error("{message}")]
    Invalid {
        /// Stable code for clients.
        code: &'static str,
        /// Which rule, for people.
        message: String,
    },
    /// The object is in a state that does not allow it (a window still open, a catalogue
    /// type).
    #[error("{0}")]
    Conflict(String),
    /// A rule the hub keeps itself was broken (a bug); the door logs it and says little.
    #[error("{0}")]
    Internal(&'static str),
    /// The store failed (or is full).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OpError {
    /// A refused request with the code `invalid`.
    pub fn invalid(message: impl Into<String>) -> Self {
        OpError::Invalid {
            code: "invalid",
            message: message.into(),
        }
    }

    /// A forbidden action with the code `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        OpError::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }
}

/// Checks a name that paths take in place of an id (a company, a location, a token's name):
/// 1 to 64 letters, digits, `-`, `_`, `.`, and not all digits, which would be read as an id.
pub fn check_name(field: &'static str, v: &str) -> Result<(), OpError> {
    let invalid = |message: String| OpError::Invalid {
        code: "invalid_name",
        message,
    };
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("{field} must not be all digits")));
    }
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} must be 1-64 characters of letters, digits, '-', '_', '.'"
        )))
    }
}

/// Checks that `permit` was handed out for `op` on `company`: an operation given a permit
/// for another operation or company refuses, so a permit cannot be carried to where it does
/// not belong.
pub fn check(permit: &Permit, op: Op, company: Option<Id>) -> Result<(), OpError> {
    if permit.op() == op && permit.company() == company {
        Ok(())
    } else {
        Err(OpError::forbidden("not allowed"))
    }
}

/// The company of a permit for `op` on one company's data (a list of that company's
/// objects); a vendor-wide permit, or one for another operation, refuses.
pub fn company_of(permit: &Permit, op: Op) -> Result<Id, OpError> {
    let company = permit
        .company()
        .ok_or_else(|| OpError::forbidden("not allowed"))?;
    check(permit, op, Some(company))?;
    Ok(company)
}

/// The audit event of an action: who, what, on which company, from which address (added to
/// `detail`). A change commits it in its own transaction ([`StoreTx::audit`], then
/// [`commit`]); an action that changes nothing stored records it with [`record`].
pub fn event(
    by: Caller<'_>,
    company: impl Into<Option<Id>>,
    action: AuditAction,
    target: &str,
    mut detail: serde_json::Value,
) -> NewAuditEvent {
    if let Some(o) = detail.as_object_mut() {
        o.insert("from".into(), by.from.to_string().into());
    }
    NewAuditEvent {
        at: time::OffsetDateTime::now_utc(),
        company_id: company.into(),
        actor: by.principal.label(),
        action: action.code().into(),
        target: target.into(),
        outcome: "ok".into(),
        detail,
    }
}

/// Commits a change with its audit events, logs the events, then applies `changes` (caches,
/// sessions, tunnels). The caller answers only after this returned `Ok`: an acknowledged
/// change is stored, with its events, and has taken effect.
pub async fn commit(
    st: &State,
    tx: Box<dyn StoreTx>,
    changes: &[Change],
) -> Result<(), StoreError> {
    let stored = tx.commit().await?;
    st.audit.committed(&stored);
    change::apply(st, changes);
    Ok(())
}

/// Records an action that changes nothing stored (a one-time link handed out), waiting for
/// its commit.
pub async fn record(
    st: &State,
    by: Caller<'_>,
    company: impl Into<Option<Id>>,
    action: AuditAction,
    target: &str,
    detail: serde_json::Value,
) {
    st.audit
        .record_event(event(by, company, action, target, detail))
        .await;
}

#[cfg(test)]
mod tests {
    use portcullis_domain::authz::{authorize, Actor, Authorizations, Role};

    use super::*;

    fn company_admin_permit(op: Op, company: Id) -> Permit {
        let actor = Actor {
            user_id: 1,
            role: Role::CompanyAdmin,
            company_id: Some(company),
            authorizations: Authorizations::all(),
        };
        authorize(&actor, op, Some(company)).unwrap()
    }

    #[test]
    fn a_permit_binds_to_its_operation_and_company() {
        let permit = company_admin_permit(Op::ManageGrants, 7);
        assert!(check(&permit, Op::ManageGrants, Some(7)).is_ok());
        assert!(matches!(
            check(&permit, Op::ManageTokens, Some(7)),
            Err(OpError::Forbidden { .. })
        ));
        assert!(matches!(
            check(&permit, Op::ManageGrants, Some(8)),
            Err(OpError::Forbidden { .. })
        ));
        assert_eq!(company_of(&permit, Op::ManageGrants).unwrap(), 7);
        assert!(company_of(&permit, Op::ReadSystems).is_err());
    }

    #[test]
    fn names_that_paths_take_are_checked() {
        for ok in ["acme", "a.b-c_d", "Acme2", &"x".repeat(64)] {
            assert!(check_name("name", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1234", "a b", "a/b", "ä", &"x".repeat(65)] {
            assert!(
                matches!(
                    check_name("name", bad),
                    Err(OpError::Invalid {
                        code: "invalid_name",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }
}
