//! The security status (CC-16, sap-reference §3.12): what weakens this connector now, each
//! with what fixes it. The admin UI's `/security` page and `GET /api/v1/security` show this
//! one list.
//!
//! The checks that need the admin UI's own state (its users, its certificate, its address)
//! take it as [`UiFacts`], gathered by the admin layer: the rules stay here.

use std::net::SocketAddr;

use serde::Serialize;

use crate::config::{base_dir_of, ConnectorConfig};
use crate::config_file::read_config;
use crate::shared::Shared;
use crate::trust_edit::describe;

/// Certificates that end within this many days are named.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Nothing to do.
    Ok,
    /// Something to fix.
    Warning,
}

/// One line of the security status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// Stable id (`initial_password`, `trust_all`, …) for monitoring systems.
    pub id: &'static str,
    /// What is checked, as a heading.
    pub title: &'static str,
    /// Ok or warning.
    pub state: State,
    /// What was found.
    pub detail: String,
    /// The admin UI page that fixes it.
    pub fix: &'static str,
}

/// A certificate the status looks at: whose and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEnd {
    /// Which certificate, as shown (`the UI certificate`, a trust-store file's subject, …).
    pub what: String,
    /// End of validity.
    pub not_after: time::OffsetDateTime,
}

/// What the admin layer knows and the checks need.
#[derive(Debug, Clone, Default)]
pub struct UiFacts {
    /// Whether `Administrator`'s initial password (its one-time file) is still unchanged.
    pub initial_password_unchanged: bool,
    /// Users whose password an administrator set and who have not changed it yet (the
    /// initial `Administrator` is its own check).
    pub one_time_passwords: Vec<String>,
    /// Whether the UI certificate is self-signed.
    pub ui_cert_self_signed: bool,
    /// The UI certificate's end of validity.
    pub ui_cert_not_after: Option<time::OffsetDateTime>,
    /// Where the admin listener is bound.
    pub listen: Option<SocketAddr>,
    /// The LDAP user store's URL when it speaks plain LDAP (no `ldaps://`, no StartTLS) to a
    /// host that is not the loopback: directory passwords then cross the network in clear.
    pub ldap_in_clear: Option<String>,
}

fn check(id: &'static str, title: &'static str, fix: &'static str, bad: Option<String>) -> Check {
    let (state, detail) = match bad {
        Some(d) => (State::Warning, d),
        None => (State::Ok, "In order.".to_owned()),
    };
    Check {
        id,
        title,
        state,
        detail,
        fix,
    }
}

/// What the audit settings leave out that SAP's recommendation keeps: the access scope's
/// denials (`off`) or configuration-change categories.
fn audit_settings_gap(a: &crate::audit::policy::AuditSettings) -> Option<String> {
    use crate::audit::policy::{AuditLevel, Category};
    let missing: Vec<&str> = Category::ALL
        .iter()
        .filter(|c| !a.categories.contains(c))
        .map(|c| c.as_str())
        .collect();
    match (a.level == AuditLevel::Off, missing.is_empty()) {
        (false, true) => None,
        (true, true) => Some("The audit level is off: refused requests are not recorded.".into()),
        (off, false) => Some(format!(
            "{}Configuration changes of these categories are not recorded: {}.",
            if off {
                "The audit level is off: refused requests are not recorded. "
            } else {
                ""
            },
            missing.join(", ")
        )),
    }
}

fn parse_rfc3339(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The certificates of `[backend_tls]`: the system certificate and the trust store's.
async fn backend_certs(shared: &Shared) -> (bool, Vec<CertEnd>, Vec<CertEnd>, Vec<String>) {
    let mut problems = Vec::new();
    let Ok((path, text)) = read_config(shared.config_path.as_deref()).await else {
        problems.push("the configuration cannot be read".to_owned());
        return (false, Vec::new(), Vec::new(), problems);
    };
    let Ok(cfg) = ConnectorConfig::from_toml_str(&text, &base_dir_of(&path)) else {
        problems.push("the configuration does not load".to_owned());
        return (false, Vec::new(), Vec::new(), problems);
    };
    let ends = |file: &std::path::Path, label: &dyn Fn(&str) -> String| -> Vec<CertEnd> {
        let Ok(pem) = std::fs::read(file) else {
            return Vec::new();
        };
        describe(&pem, &file.display().to_string())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| {
                Some(CertEnd {
                    what: label(&c.subject),
                    not_after: parse_rfc3339(&c.not_after)?,
                })
            })
            .collect()
    };
    let system = cfg
        .backend_tls
        .system_certificate
        .as_ref()
        .map(|(cert, _)| {
            let mut v = ends(cert, &|s| format!("the system certificate {s}"));
            v.truncate(1);
            v
        })
        .unwrap_or_default();
    let trust = cfg
        .backend_tls
        .trust_store
        .iter()
        .flat_map(|f| ends(f, &|s| format!("the trusted certificate {s}")))
        .collect();
    (cfg.backend_tls.trust_all, system, trust, problems)
}

/// Names the certificates of `certs` that end within [`EXPIRY_WARNING_DAYS`] of `now`.
pub fn expiring(certs: &[CertEnd], now: time::OffsetDateTime) -> Option<String> {
    let soon = now + time::Duration::days(EXPIRY_WARNING_DAYS);
    let named: Vec<String> = certs
        .iter()
        .filter(|c| c.not_after <= soon)
        .map(|c| {
            let when = c
                .not_after
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            if c.not_after <= now {
                format!("{} expired on {when}", c.what)
            } else {
                format!("{} expires on {when}", c.what)
            }
        })
        .collect();
    (!named.is_empty()).then(|| format!("{}.", named.join("; ")))
}

/// The security status now.
pub(crate) async fn status(shared: &Shared, ui: &UiFacts) -> Vec<Check> {
    let now = time::OffsetDateTime::now_utc();
    let (trust_all, system, trust, problems) = backend_certs(shared).await;
    let audit = shared.audit.health();
    let identity: Vec<CertEnd> = shared
        .status
        .borrow()
        .certificate_not_after_ms
        .and_then(|ms| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        })
        .map(|t| CertEnd {
            what: "the connector's identity certificate (towards the hub)".into(),
            not_after: t,
        })
        .into_iter()
        .collect();
    let ui_cert: Vec<CertEnd> = ui
        .ui_cert_not_after
        .map(|t| CertEnd {
            what: "the UI certificate".into(),
            not_after: t,
        })
        .into_iter()
        .collect();
    let exposed = ui
        .listen
        .is_some_and(|a| !a.ip().is_loopback() && ui.ui_cert_self_signed);
    vec![
        check(
            "initial_password",
            "Initial password of Administrator",
            "/password",
            ui.initial_password_unchanged.then(|| {
                "Administrator still has the initial password: sign in as Administrator and \
                 change it."
                    .to_owned()
            }),
        ),
        check(
            "one_time_passwords",
            "One-time passwords not yet changed",
            "/users",
            (!ui.one_time_passwords.is_empty()).then(|| {
                format!(
                    "These users have not yet changed the password an administrator set: {}.",
                    ui.one_time_passwords.join(", ")
                )
            }),
        ),
        check(
            "trust_all",
            "Trust all back ends",
            "/trust",
            trust_all.then(|| {
                "Trust all is on: every back-end TLS certificate is accepted, a forged one too."
                    .to_owned()
            }),
        ),
        check(
            "ui_certificate_self_signed",
            "UI certificate",
            "/settings/ui-certificate",
            ui.ui_cert_self_signed.then(|| {
                "The admin UI's certificate is self-signed: browsers cannot tell it from a \
                 forged one. Replace it with one of your CA."
                    .to_owned()
            }),
        ),
        check(
            "admin_listener_exposed",
            "Admin UI reachable from the network",
            "/settings/ui-certificate",
            exposed.then(|| {
                format!(
                    "The admin UI listens on {} (not loopback) with its self-signed certificate.",
                    ui.listen.map(|a| a.to_string()).unwrap_or_default()
                )
            }),
        ),
        check(
            "audit_log",
            "Audit log",
            "/",
            audit.failing.then(|| {
                format!(
                    "The audit log cannot be written ({}); no new session is accepted.",
                    audit.error.clone().unwrap_or_default()
                )
            }),
        ),
        check(
            "audit_level",
            "Audit level",
            "/audit/settings",
            audit_settings_gap(&shared.audit.settings()),
        ),
        check(
            "ldap_in_clear",
            "LDAP logon in clear text",
            "/security",
            ui.ldap_in_clear.as_ref().map(|url| {
                format!(
                    "The admin UI's LDAP user store ({url}) uses neither ldaps:// nor StartTLS: \
                     passwords cross the network readable. Set an ldaps:// URL or starttls = true \
                     in [admin.ldap]."
                )
            }),
        ),
        check(
            "identity_certificate_expiry",
            "Identity certificate (towards the hub)",
            "/",
            expiring(&identity, now),
        ),
        check(
            "ui_certificate_expiry",
            "UI certificate validity",
            "/settings/ui-certificate",
            expiring(&ui_cert, now),
        ),
        check(
            "system_certificate_expiry",
            "System certificate validity",
            "/trust",
            expiring(&system, now),
        ),
        check(
            "trust_store_expiry",
            "Trust store validity",
            "/trust",
            expiring(&trust, now).or_else(|| (!problems.is_empty()).then(|| problems.join("; "))),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_ending_within_thirty_days_are_named() {
        let now = time::OffsetDateTime::now_utc();
        let c = |what: &str, days: i64| CertEnd {
            what: what.into(),
            not_after: now + time::Duration::days(days),
        };
        assert_eq!(expiring(&[c("a", 31), c("b", 400)], now), None);
        let text = expiring(&[c("a", 29), c("b", -1), c("c", 90)], now).unwrap();
        assert!(text.contains("a expires on"), "{text}");
        assert!(text.contains("b expired on"), "{text}");
        assert!(!text.contains("c expire"), "{text}");
    }

    #[test]
    fn audit_off_or_categories_left_out_are_named() {
        use crate::audit::policy::{AuditLevel, AuditSettings, Category};
        let mut a = AuditSettings::default();
        assert_eq!(audit_settings_gap(&a), None);
        a.level = AuditLevel::All;
        assert_eq!(audit_settings_gap(&a), None);
        a.level = AuditLevel::Off;
        assert!(audit_settings_gap(&a).unwrap().contains("off"));
        a.level = AuditLevel::Security;
        a.categories.retain(|c| *c != Category::ALL[0]);
        let gap = audit_settings_gap(&a).unwrap();
        assert!(
            gap.contains(Category::ALL[0].as_str()) && !gap.contains("off"),
            "{gap}"
        );
    }
}
