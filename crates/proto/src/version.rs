//! The hub's version policy: which connector versions it accepts, and which it warns.
//!
//! A connector below `minimum` is refused with [`crate::RejectCode::ClientTooOld`] naming the
//! minimum. A connector below `warn_below` (when set) is accepted with a
//! [`crate::VersionWarning`] that the connector logs and the hub lists, so admins learn of the
//! cut-off well before it happens.

use semver::Version;

use crate::message::VersionWarning;

/// What the hub requires of connectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionPolicy {
    /// Oldest version accepted.
    pub minimum: Version,
    /// Versions below this are accepted with a warning (the next minimum).
    pub warn_below: Option<Version>,
    /// The date (ISO 8601) from which `warn_below` becomes the minimum, when announced.
    pub sunset_date: Option<String>,
}

/// The policy's verdict on one connector version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionVerdict {
    /// Accepted without remarks.
    Accepted,
    /// Accepted, with a warning to pass on.
    Warn(VersionWarning),
    /// Refused: older than the minimum.
    TooOld {
        /// The minimum version.
        minimum: Version,
    },
    /// The version string is not semver; treated as too old.
    Unparseable,
}

impl VersionPolicy {
    /// A policy that accepts everything from `0.0.0` on.
    pub fn accept_all() -> Self {
        VersionPolicy {
            minimum: Version::new(0, 0, 0),
            warn_below: None,
            sunset_date: None,
        }
    }

    /// Judges a connector's reported version.
    pub fn check(&self, reported: &str) -> VersionVerdict {
        let Ok(v) = Version::parse(reported.trim()) else {
            return VersionVerdict::Unparseable;
        };
        // Pre-release builds of the minimum count as the minimum itself: compare without them.
        let core = Version::new(v.major, v.minor, v.patch);
        if core < self.minimum {
            return VersionVerdict::TooOld {
                minimum: self.minimum.clone(),
            };
        }
        match &self.warn_below {
            Some(w) if core < *w => {
                let when = self
                    .sunset_date
                    .as_deref()
                    .map(|d| format!(" from {d}"))
                    .unwrap_or_default();
                VersionVerdict::Warn(VersionWarning {
                    message: format!(
                        "connector version {v} will be refused{when}: upgrade to {w} or later"
                    ),
                    minimum_version: w.to_string(),
                    sunset_date: self.sunset_date.clone(),
                })
            }
            _ => VersionVerdict::Accepted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> VersionPolicy {
        VersionPolicy {
            minimum: Version::new(1, 2, 0),
            warn_below: Some(Version::new(1, 4, 0)),
            sunset_date: Some("2027-01-31".into()),
        }
    }

    #[test]
    fn below_minimum_is_too_old_and_names_the_minimum() {
        assert_eq!(
            policy().check("1.1.9"),
            VersionVerdict::TooOld {
                minimum: Version::new(1, 2, 0)
            }
        );
    }

    #[test]
    fn inside_sunset_period_warns_with_date() {
        match policy().check("1.3.0") {
            VersionVerdict::Warn(w) => {
                assert_eq!(w.minimum_version, "1.4.0");
                assert_eq!(w.sunset_date.as_deref(), Some("2027-01-31"));
                assert!(w.message.contains("2027-01-31"), "{}", w.message);
            }
            other => panic!("expected a warning, got {other:?}"),
        }
    }

    #[test]
    fn current_versions_and_prereleases_of_the_minimum_pass() {
        assert_eq!(policy().check("1.4.0"), VersionVerdict::Accepted);
        assert_eq!(policy().check("2.0.0"), VersionVerdict::Accepted);
        assert!(matches!(
            policy().check("1.2.0-rc.1"),
            VersionVerdict::Warn(_)
        ));
    }

    #[test]
    fn garbage_versions_are_unparseable() {
        assert_eq!(policy().check("latest"), VersionVerdict::Unparseable);
        assert_eq!(policy().check(""), VersionVerdict::Unparseable);
    }
}
