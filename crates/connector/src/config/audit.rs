//! `[audit]`: what the connector's audit log records and how long it keeps it (see
//! [`crate::audit::policy`] for what each setting means).
//!
//! ```toml
//! [audit]
//! level = "security"          # "security" (default), "all" or "off"
//! categories = ["access", "trust", "monitoring", "users", "settings"]   # default: all
//! retention_days = 0          # 0 (default): keep for ever; 1..=3650 days
//! ```

use serde::Deserialize;

use super::{field, ConfigError};
use crate::audit::policy::{AuditLevel, AuditSettings, Category, MAX_RETENTION_DAYS};

/// `[audit]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    categories: Option<Vec<String>>,
    #[serde(default)]
    retention_days: Option<u32>,
}

impl TryFrom<RawAudit> for AuditSettings {
    type Error = ConfigError;

    fn try_from(raw: RawAudit) -> Result<Self, ConfigError> {
        let level = match raw.level.as_deref() {
            None => AuditLevel::default(),
            Some(s) => AuditLevel::parse(s).ok_or_else(|| {
                field("audit.level", format!("{s:?} is not security, all or off"))
            })?,
        };
        let categories = match raw.categories {
            None => Category::ALL.to_vec(),
            Some(list) => {
                let mut out = Vec::new();
                for s in list {
                    let c = Category::parse(&s).ok_or_else(|| {
                        field(
                            "audit.categories",
                            format!(
                                "{s:?} is not one of access, trust, monitoring, users, settings"
                            ),
                        )
                    })?;
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
                out
            }
        };
        let retention_days = raw.retention_days.unwrap_or(0);
        if retention_days > MAX_RETENTION_DAYS {
            return Err(field(
                "audit.retention_days",
                format!("{retention_days} is more than {MAX_RETENTION_DAYS} days"),
            ));
        }
        Ok(AuditSettings {
            level,
            categories,
            retention_days,
        })
    }
}
