//! What the audit log records (`[audit]` in the configuration; CC-47, CC-48, CC-51), after
//! SAP's Cloud Connector (sap-reference §3.11):
//!
//! - `level` for the access scope (requests through the connector):
//!   - `security` (the default): one `http.denied` per refused HTTP request, besides the
//!     records every level keeps;
//!   - `all`: also one `http.allowed` per HTTP request let through (SAP's "one entry per
//!     received request");
//!   - `off`: no per-request record at all (neither `http.denied` nor `http.allowed`).
//!
//!   Every level keeps the session records (`session.refused`, `session.start`,
//!   `session.end`, `session.cut`): a session is the vendor's access itself, what the customer
//!   proves with this log, and the connector refuses a session whose start cannot be written
//!   (fail closed), which an "off" must not undo.
//! - `categories`: which configuration changes are recorded: `access` (`access.edited`,
//!   `acl.reloaded`, `access.reachability`), `trust` (`trust_store.edited`,
//!   `backend_tls.reloaded`, `backend_tls.trust_all`), `monitoring` (`monitoring.reset`),
//!   `users` (`admin.user`), `settings` (`admin.settings`). All by default. A change of the
//!   audit settings themselves (`audit.settings`), a cleanup (`audit.cleaned`), the log's own
//!   repairs and every other record are always written.
//! - `retention_days`: records older than this many days are removed by the daily cleanup
//!   (0, the default: kept for ever).

use serde::{Deserialize, Serialize};

use super::AuditAction;

/// The audit level of the access scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditLevel {
    /// No per-request records.
    Off,
    /// Refused requests (the default).
    #[default]
    Security,
    /// Every request.
    All,
}

impl AuditLevel {
    /// Every level, as offered.
    pub const ALL: [AuditLevel; 3] = [AuditLevel::Security, AuditLevel::All, AuditLevel::Off];

    /// The name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditLevel::Off => "off",
            AuditLevel::Security => "security",
            AuditLevel::All => "all",
        }
    }

    /// The level of that name.
    pub fn parse(s: &str) -> Option<AuditLevel> {
        AuditLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// A category of configuration changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The `[[access]]` list.
    Access,
    /// The back-end trust store and `[backend_tls]`.
    Trust,
    /// Monitoring resets.
    Monitoring,
    /// Admin UI users.
    Users,
    /// Admin UI settings (the logon text).
    Settings,
}

impl Category {
    /// Every category, as offered.
    pub const ALL: [Category; 5] = [
        Category::Access,
        Category::Trust,
        Category::Monitoring,
        Category::Users,
        Category::Settings,
    ];

    /// The name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Access => "access",
            Category::Trust => "trust",
            Category::Monitoring => "monitoring",
            Category::Users => "users",
            Category::Settings => "settings",
        }
    }

    /// The category of that name.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The category of `action`, if it is a configuration change that can be left out.
    pub fn of(action: AuditAction) -> Option<Category> {
        use AuditAction as A;
        match action {
            A::AccessEdited | A::AclReloaded | A::Reachability => Some(Category::Access),
            A::TrustStoreEdited | A::BackendTlsReloaded | A::TrustAllBackends => {
                Some(Category::Trust)
            }
            A::MonitoringReset => Some(Category::Monitoring),
            A::AdminUser => Some(Category::Users),
            A::AdminSettings => Some(Category::Settings),
            _ => None,
        }
    }
}

/// The longest retention accepted, in days (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// `[audit]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The level of the access scope.
    pub level: AuditLevel,
    /// The configuration-change categories recorded.
    pub categories: Vec<Category>,
    /// Days records are kept (0: for ever).
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            level: AuditLevel::Security,
            categories: Category::ALL.to_vec(),
            retention_days: 0,
        }
    }
}

impl AuditSettings {
    /// Whether a record of `action` is written under these settings.
    pub fn keeps(&self, action: AuditAction) -> bool {
        match action {
            AuditAction::HttpAllowed => self.level == AuditLevel::All,
            AuditAction::HttpDenied => self.level != AuditLevel::Off,
            a => Category::of(a).is_none_or(|c| self.categories.contains(&c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_decides_the_request_records_and_sessions_stay() {
        let mut s = AuditSettings::default();
        assert!(s.keeps(AuditAction::HttpDenied));
        assert!(!s.keeps(AuditAction::HttpAllowed));
        s.level = AuditLevel::All;
        assert!(s.keeps(AuditAction::HttpAllowed) && s.keeps(AuditAction::HttpDenied));
        s.level = AuditLevel::Off;
        assert!(!s.keeps(AuditAction::HttpAllowed) && !s.keeps(AuditAction::HttpDenied));
        for a in [
            AuditAction::SessionStart,
            AuditAction::SessionEnd,
            AuditAction::SessionRefused,
            AuditAction::SessionCut,
        ] {
            assert!(s.keeps(a), "{a:?} is kept at every level");
        }
    }

    #[test]
    fn a_category_left_out_is_not_recorded_but_audit_settings_always_are() {
        let s = AuditSettings {
            categories: vec![Category::Access],
            ..AuditSettings::default()
        };
        assert!(s.keeps(AuditAction::AccessEdited));
        assert!(!s.keeps(AuditAction::MonitoringReset));
        assert!(!s.keeps(AuditAction::AdminUser));
        assert!(s.keeps(AuditAction::AuditSettings));
        assert!(s.keeps(AuditAction::Cleaned));
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
    }
}
