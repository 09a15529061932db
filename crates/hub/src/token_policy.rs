//! How long an API token may live: the hub's `[tokens]` policy and the one function that turns
//! what a caller asked for into an expiry.
//!
//! A credential should never outlive the reason it was made. So every token the API creates
//! expires: after `default_lifetime_days` when the caller names no lifetime, never later than
//! `max_lifetime_days`. A token without expiry exists only when the hub's operator allowed them
//! (`allow_unlimited = true`) **and** the creating admin asked for one explicitly
//! (`"no_expiry": true`); a missing or `null` `expires_in_secs` means "the default", never
//! "for ever".
//!
//! Route passwords have their own, much shorter limit (`crate::accounts::RouteTtl`); the
//! bootstrap admin token written at first start is the one exception (see `crate::lib`).

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// `[tokens]` in the hub's configuration file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokens {
    /// Lifetime of a token created without `expires_in_secs`, days (default 90).
    pub default_lifetime_days: Option<u32>,
    /// Longest lifetime an admin may ask for, days (default 365).
    pub max_lifetime_days: Option<u32>,
    /// Whether an admin may create a token without expiry with `"no_expiry": true`
    /// (default false).
    pub allow_unlimited: Option<bool>,
}

/// The validated `[tokens]` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Lifetime when none is asked for.
    pub default_lifetime: Duration,
    /// Longest lifetime that may be asked for.
    pub max_lifetime: Duration,
    /// Whether `no_expiry` is honoured at all.
    pub allow_unlimited: bool,
}

/// Longest `max_lifetime_days` accepted: ten years.
pub const MAX_LIFETIME_DAYS_LIMIT: u32 = 3650;

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            default_lifetime: Duration::days(90),
            max_lifetime: Duration::days(365),
            allow_unlimited: false,
        }
    }
}

/// Why a `[tokens]` section was rejected. The messages name the field as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenPolicyError {
    /// `max_lifetime_days` is 0 or above [`MAX_LIFETIME_DAYS_LIMIT`].
    #[error("tokens.max_lifetime_days: must be 1..={MAX_LIFETIME_DAYS_LIMIT}")]
    MaxLifetime {
        /// The value given.
        days: u32,
    },
    /// `default_lifetime_days` is 0 or above `max_lifetime_days`.
    #[error("tokens.default_lifetime_days: must be 1..=max_lifetime_days ({max})")]
    DefaultLifetime {
        /// The value given.
        days: u32,
        /// The `max_lifetime_days` in force.
        max: u32,
    },
}

impl TryFrom<&RawTokens> for TokenPolicy {
    type Error = TokenPolicyError;

    fn try_from(raw: &RawTokens) -> Result<TokenPolicy, TokenPolicyError> {
        let max = raw.max_lifetime_days.unwrap_or(365);
        if !(1..=MAX_LIFETIME_DAYS_LIMIT).contains(&max) {
            return Err(TokenPolicyError::MaxLifetime { days: max });
        }
        let default = raw.default_lifetime_days.unwrap_or(90.min(max));
        if !(1..=max).contains(&default) {
            return Err(TokenPolicyError::DefaultLifetime { days: default, max });
        }
        Ok(TokenPolicy {
            default_lifetime: Duration::days(default.into()),
            max_lifetime: Duration::days(max.into()),
            allow_unlimited: raw.allow_unlimited.unwrap_or(false),
        })
    }
}

/// What a caller asked for: `expires_in_secs` and `no_expiry` of the request body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifetimeRequest {
    /// Seconds from now; `None`: the policy's default.
    pub expires_in_secs: Option<u64>,
    /// An explicit request for a token that never expires.
    pub no_expiry: bool,
}

/// Why a lifetime was refused. Each variant is a client error with its own code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifetimeError {
    /// `expires_in_secs` was 0.
    #[error("expires_in_secs must be at least 1")]
    Zero,
    /// Longer than `max_lifetime_days`.
    #[error(
        "expires_in_secs {asked} is longer than this hub allows: at most {max_secs} seconds \
         ({max_days} days, [tokens] max_lifetime_days)"
    )]
    AboveMax {
        /// What was asked, seconds.
        asked: u64,
        /// The limit, seconds.
        max_secs: i64,
        /// The limit, days.
        max_days: i64,
    },
    /// `no_expiry` together with `expires_in_secs`.
    #[error("give expires_in_secs or no_expiry, not both")]
    Both,
    /// `no_expiry` on a hub that does not allow unlimited tokens.
    #[error(
        "this hub creates no tokens without expiry ([tokens] allow_unlimited = false); \
         give expires_in_secs (at most {max_days} days) or leave it out for the default"
    )]
    UnlimitedNotAllowed {
        /// The longest lifetime allowed, days.
        max_days: i64,
    },
}

impl LifetimeError {
    /// The stable error code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            LifetimeError::Zero | LifetimeError::Both => "invalid_expiry",
            LifetimeError::AboveMax { .. } => "expiry_above_max",
            LifetimeError::UnlimitedNotAllowed { .. } => "unlimited_not_allowed",
        }
    }
}

impl TokenPolicy {
    /// The expiry of a token created `now` for `req` (`None`: never), or why not.
    pub fn expiry(
        &self,
        req: LifetimeRequest,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, LifetimeError> {
        let max_secs = self.max_lifetime.whole_seconds();
        let max_days = self.max_lifetime.whole_days();
        match (req.no_expiry, req.expires_in_secs) {
            (true, Some(_)) => Err(LifetimeError::Both),
            (true, None) if self.allow_unlimited => Ok(None),
            (true, None) => Err(LifetimeError::UnlimitedNotAllowed { max_days }),
            (false, None) => Ok(Some(now + self.default_lifetime)),
            (false, Some(0)) => Err(LifetimeError::Zero),
            (false, Some(s)) if s > max_secs as u64 => Err(LifetimeError::AboveMax {
                asked: s,
                max_secs,
                max_days,
            }),
            (false, Some(s)) => Ok(Some(now + Duration::seconds(s as i64))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(expires_in_secs: Option<u64>, no_expiry: bool) -> LifetimeRequest {
        LifetimeRequest {
            expires_in_secs,
            no_expiry,
        }
    }

    #[test]
    fn every_token_expires_unless_the_operator_and_the_admin_both_say_otherwise() {
        let now = OffsetDateTime::now_utc();
        let p = TokenPolicy::default();
        assert_eq!(
            p.expiry(req(None, false), now),
            Ok(Some(now + Duration::days(90)))
        );
        assert_eq!(
            p.expiry(req(Some(60), false), now),
            Ok(Some(now + Duration::seconds(60)))
        );
        let year = 365 * 86_400;
        assert!(p.expiry(req(Some(year), false), now).is_ok());
        let e = p.expiry(req(Some(year + 1), false), now).unwrap_err();
        assert_eq!(e.code(), "expiry_above_max");
        assert!(e.to_string().contains("365 days"), "{e}");
        assert_eq!(p.expiry(req(Some(0), false), now), Err(LifetimeError::Zero));
        assert_eq!(
            p.expiry(req(None, true), now).unwrap_err().code(),
            "unlimited_not_allowed"
        );
        assert_eq!(p.expiry(req(Some(5), true), now), Err(LifetimeError::Both));
        let open = TokenPolicy {
            allow_unlimited: true,
            ..p
        };
        assert_eq!(open.expiry(req(None, true), now), Ok(None));
        assert_eq!(
            open.expiry(req(None, false), now),
            Ok(Some(now + Duration::days(90))),
            "allowing unlimited tokens does not make them the default"
        );
    }

    #[test]
    fn the_config_is_checked() {
        let raw = |d, m| RawTokens {
            default_lifetime_days: d,
            max_lifetime_days: m,
            allow_unlimited: None,
        };
        assert_eq!(
            TokenPolicy::try_from(&raw(None, None)).unwrap(),
            TokenPolicy::default()
        );
        let short = TokenPolicy::try_from(&raw(None, Some(30))).unwrap();
        assert_eq!(short.default_lifetime, Duration::days(30));
        assert!(TokenPolicy::try_from(&raw(Some(31), Some(30))).is_err());
        assert!(TokenPolicy::try_from(&raw(Some(0), None)).is_err());
        assert!(TokenPolicy::try_from(&raw(None, Some(0))).is_err());
        assert!(TokenPolicy::try_from(&raw(None, Some(3651))).is_err());
        // The messages an operator sees name the field as written in the file.
        assert_eq!(
            TokenPolicy::try_from(&raw(Some(31), Some(30)))
                .unwrap_err()
                .to_string(),
            "tokens.default_lifetime_days: must be 1..=max_lifetime_days (30)"
        );
        assert_eq!(
            TokenPolicy::try_from(&raw(None, Some(0)))
                .unwrap_err()
                .to_string(),
            "tokens.max_lifetime_days: must be 1..=3650"
        );
    }
}
