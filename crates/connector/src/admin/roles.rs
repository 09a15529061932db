//! The admin UI's roles and what each may do: every page and every API call asks
//! [`permit`], the one check, for the [`Permit`] it needs.
//!
//! The roles follow SAP's Cloud Connector (sap-reference §3.3): an **Administrator** may do
//! everything; **Display** sees everything and changes nothing; **Monitoring** sees the
//! connector's state and its monitoring (what a monitoring system's technical user needs);
//! **Support** sees what Display sees (later tasks give it the support settings: log levels,
//! traces).

use serde::{Deserialize, Serialize};

/// A connector user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Everything.
    Administrator,
    /// Sees everything, changes nothing.
    Display,
    /// The state and the monitoring only.
    Monitoring,
    /// Sees what Display sees (and, later, the support settings).
    Support,
}

impl Role {
    /// Every role, in the order the UI lists them.
    pub const ALL: [Role; 4] = [
        Role::Administrator,
        Role::Display,
        Role::Monitoring,
        Role::Support,
    ];

    /// The name as written in the user store and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Display => "Display",
            Role::Monitoring => "Monitoring",
            Role::Support => "Support",
        }
    }

    /// The role of that name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What the role may do.
    pub fn permits(self) -> &'static [Permit] {
        use Permit::*;
        match self {
            Role::Administrator => &[
                ViewStatus,
                ViewWindows,
                CloseWindow,
                ManageUsers,
                EditSettings,
                ViewTrust,
                EditTrust,
                ViewSecurity,
                ViewMonitoring,
                ResetMonitoring,
                ViewSessions,
                CutSession,
                ViewAudit,
                EditAudit,
                ViewAccess,
                EditAccess,
                OwnAccount,
                Backup,
            ],
            Role::Display | Role::Support => &[
                ViewStatus,
                ViewWindows,
                ViewTrust,
                ViewSecurity,
                ViewMonitoring,
                ViewSessions,
                ViewAudit,
                ViewAccess,
                OwnAccount,
            ],
            Role::Monitoring => &[
                ViewStatus,
                ViewSecurity,
                ViewMonitoring,
                ViewSessions,
                OwnAccount,
            ],
        }
    }
}

/// One thing a page or an API call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// See the hub connection (the status operation).
    ViewStatus,
    /// See the windows the hub pushed.
    ViewWindows,
    /// Close a window at the connector (the customer's own key).
    CloseWindow,
    /// Create users, reset their passwords, disable them.
    ManageUsers,
    /// Change the admin UI's settings (the logon text).
    EditSettings,
    /// See the certificates: the back-end trust store, `trust_all`, the system certificate,
    /// the UI certificate (public facts; no key is ever shown).
    ViewTrust,
    /// Change them: add and remove trusted CAs, switch `trust_all`, replace the system and UI
    /// certificates.
    EditTrust,
    /// See the security status. Every role: it shows states, no secrets, and a monitoring
    /// system is exactly what should alert on a warning there.
    ViewSecurity,
    /// See the monitoring: hardware, performance, usage, back-end connections.
    ViewMonitoring,
    /// Reset monitoring records (audited).
    ResetMonitoring,
    /// See the live sessions.
    ViewSessions,
    /// Cut a live session at once (audited).
    CutSession,
    /// Read, check and export the audit log.
    ViewAudit,
    /// Change the audit settings (level, categories, retention) and run a cleanup.
    EditAudit,
    /// See the access control list, export it, check reachability.
    ViewAccess,
    /// Add, edit, remove and import access entries and their resources.
    EditAccess,
    /// Change one's own password and manage one's own API tokens. Every role.
    OwnAccount,
    /// Make a backup of the connector (it holds the private keys).
    Backup,
}

/// Why [`permit`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// The user still has the password an administrator set (or the initial one).
    #[error("change your one-time password first (in the admin UI, or PUT /api/v1/me/password)")]
    PasswordChange,
    /// The role does not allow it.
    #[error("the role {} may not do this", .0.as_str())]
    Role(Role),
}

/// Who is asking: what [`permit`] looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's name.
    pub name: String,
    /// The user's role.
    pub role: Role,
    /// Whether the user must change the password before anything else.
    pub must_change: bool,
}

/// The one check: may `actor` do `what`? A user with a password to change may do nothing
/// but change it.
pub fn permit(actor: &Actor, what: Permit) -> Result<(), Denied> {
    if actor.must_change {
        return Err(Denied::PasswordChange);
    }
    if actor.role.permits().contains(&what) {
        Ok(())
    } else {
        Err(Denied::Role(actor.role))
    }
}

/// As [`permit`], but also for a user who must still change his one-time password: for the
/// change itself, which is what lets him past [`Denied::PasswordChange`].
pub fn permit_own(actor: &Actor, what: Permit) -> Result<(), Denied> {
    let changed = Actor {
        must_change: false,
        ..actor.clone()
    };
    permit(&changed, what)
}

/// Whether [`permit`] allows it (for showing or hiding a control).
pub fn may(actor: &Actor, what: Permit) -> bool {
    permit(actor, what).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, must_change: bool) -> Actor {
        Actor {
            name: "x".into(),
            role,
            must_change,
        }
    }

    #[test]
    fn only_an_administrator_closes_and_nobody_acts_before_the_change() {
        assert_eq!(
            permit(&actor(Role::Administrator, false), Permit::CloseWindow),
            Ok(())
        );
        for r in [Role::Display, Role::Monitoring, Role::Support] {
            assert_eq!(
                permit(&actor(r, false), Permit::CloseWindow),
                Err(Denied::Role(r))
            );
            assert!(!may(&actor(r, false), Permit::ManageUsers));
        }
        assert!(may(&actor(Role::Display, false), Permit::ViewWindows));
        assert!(!may(&actor(Role::Monitoring, false), Permit::ViewWindows));
        for r in Role::ALL {
            assert!(may(&actor(r, false), Permit::ViewSecurity), "{r:?}");
            assert_eq!(
                may(&actor(r, false), Permit::EditTrust),
                r == Role::Administrator
            );
            assert_eq!(
                may(&actor(r, false), Permit::ViewTrust),
                r != Role::Monitoring
            );
        }
        for r in [Role::Display, Role::Support] {
            assert!(may(&actor(r, false), Permit::ViewAccess));
            assert!(!may(&actor(r, false), Permit::EditAccess));
        }
        assert!(!may(&actor(Role::Monitoring, false), Permit::ViewAccess));
        assert!(may(&actor(Role::Administrator, false), Permit::EditAccess));
        assert_eq!(
            permit(&actor(Role::Administrator, true), Permit::ViewStatus),
            Err(Denied::PasswordChange)
        );
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn every_role_owns_its_account_and_only_the_password_change_passes_a_one_time_password() {
        for r in Role::ALL {
            assert!(may(&actor(r, false), Permit::OwnAccount), "{r:?}");
            assert_eq!(
                permit(&actor(r, true), Permit::OwnAccount),
                Err(Denied::PasswordChange)
            );
            assert_eq!(permit_own(&actor(r, true), Permit::OwnAccount), Ok(()));
            // The exception is for one's own account, not a way round the role.
            assert_eq!(
                permit_own(&actor(Role::Monitoring, true), Permit::EditAccess),
                Err(Denied::Role(Role::Monitoring))
            );
        }
    }
}
