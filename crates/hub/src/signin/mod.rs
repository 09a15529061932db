//! Signing in to the portal: passwords, the slowing of failed attempts, and how long a
//! signed-in browser stays signed in (`[portal]` in the hub's configuration).
//!
//! A signed-in browser holds a credential of its own: an API-token row of scope `portal`,
//! whose string lives only in the browser's `__Host-` cookie. It yields the same
//! [`Principal`](crate::auth::Principal) a token does, so every operation sees one kind of
//! caller whichever door it came through; the REST API and the entry points refuse the scope.
//! It ends at its absolute timeout (its expiry), after its idle timeout (its last use), at
//! sign-out (revoked), and with its user.
//!
//! # Layout
//! - this file: [`PortalPolicy`], the `[portal]` section.
//! - [`password`]: argon2id hashes, the password rules, one-time passwords, and
//!   [`throttle`]: failed sign-ins slow down per user and per address (both in
//!   `portcullis-webui`, shared with the connector's admin UI).
//! - [`totp`]: the second factor's one-time codes; [`sealer`]: its secrets sealed at rest;
//!   [`pending`]: sign-ins waiting for their code.
//! - [`oidc`]: signing in through a company's identity provider (OpenID Connect).

pub mod oidc;
pub mod pending;
pub mod sealer;
pub mod tickets;
pub mod totp;

// Shared with the connector's admin UI (`crates/webui`); re-exported so that the hub's
// modules name them where they always did.
pub use portcullis_webui::{password, throttle};

use serde::Deserialize;
use std::time::Duration;

/// How a user proved who he is when signing in to the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// His name and password.
    Password,
    /// His company's identity provider (OpenID Connect).
    Oidc,
}

impl Method {
    /// The name in audit details (`method`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Oidc => "oidc",
        }
    }
}

/// `[portal]` in the hub's configuration file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPortal {
    /// Minutes without a request after which a browser must sign in again (default 30).
    pub idle_timeout_minutes: Option<u32>,
    /// Hours after sign-in after which a browser must sign in again (default 12).
    pub absolute_timeout_hours: Option<u32>,
}

/// The validated `[portal]` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalPolicy {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute_timeout: Duration,
}

impl Default for PortalPolicy {
    fn default() -> Self {
        PortalPolicy {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
        }
    }
}

/// Why a `[portal]` section was rejected; the message names the field as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortalPolicyError {
    /// `idle_timeout_minutes` out of range.
    #[error("portal.idle_timeout_minutes: must be 1..=1440")]
    Idle,
    /// `absolute_timeout_hours` out of range.
    #[error("portal.absolute_timeout_hours: must be 1..=168")]
    Absolute,
}

impl TryFrom<&RawPortal> for PortalPolicy {
    type Error = PortalPolicyError;

    fn try_from(raw: &RawPortal) -> Result<Self, Self::Error> {
        let d = PortalPolicy::default();
        let idle = match raw.idle_timeout_minutes {
            None => d.idle_timeout,
            Some(m @ 1..=1440) => Duration::from_secs(u64::from(m) * 60),
            Some(_) => return Err(PortalPolicyError::Idle),
        };
        let absolute = match raw.absolute_timeout_hours {
            None => d.absolute_timeout,
            Some(h @ 1..=168) => Duration::from_secs(u64::from(h) * 3600),
            Some(_) => return Err(PortalPolicyError::Absolute),
        };
        Ok(PortalPolicy {
            idle_timeout: idle,
            absolute_timeout: absolute,
        })
    }
}
