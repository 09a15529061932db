//! Records the store reads and writes (everything except the audit log, which has its own
//! module because its hashing rule is part of the contract).
//!
//! Timestamps serialize as RFC 3339 strings, and secret hashes are neither serialized nor
//! printed by `Debug`, so a record can be logged or returned from an API without leaking
//! material an attacker could brute-force offline.

use std::fmt;

use portcullis_domain::secret::Secret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Primary key of every table except the audit log (whose key is its sequence number).
pub type Id = i64;

/// A customer (tenant). Nothing crosses companies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Company {
    pub id: Id,
    /// Unique across the hub.
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether the company's users must sign in to the portal with a second factor.
    pub require_totp: bool,
}

/// A company's OpenID Connect sign-in: its identity provider, the hub's client there, and the
/// claim that names a user. Not serializable: the hub shows it through a view of its own,
/// without the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The company.
    pub company_id: Id,
    /// The issuer URL (`https://…`), as the provider's ID tokens name it.
    pub issuer: String,
    /// The hub's client id at the provider.
    pub client_id: String,
    /// The client secret, sealed by the hub (the store never sees it in the clear); masked in
    /// `Debug`.
    pub client_secret_sealed: Secret<Vec<u8>>,
    /// The ID-token claim whose value names the user (`preferred_username`, `email` …).
    pub user_claim: String,
    /// PEM certificates trusted for the issuer besides the system's roots.
    pub extra_ca_pem: Option<String>,
    /// Whether sign-ins through the provider are accepted.
    pub enabled: bool,
    /// When the settings were last stored.
    pub updated_at: OffsetDateTime,
}

pub use portcullis_domain::authz::{ParseRoleError, Role};

/// What a token may be used for. Stored and serialized as the snake_case name.
///
/// The scope narrows a credential; it never widens what the token's user may do (that is the
/// user's role and authorizations, checked per operation and per session).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// The REST API and every entry point. Every token made before scopes existed.
    #[default]
    Api,
    /// A route password: only a connection password (the `/W/` password of an SAP route
    /// string, the SOCKS5 and HTTP proxy password). The REST API refuses it, so it cannot
    /// mint credentials or change anything.
    Route,
    /// A signed-in browser's credential, held in the portal's session cookie: the portal
    /// only. The REST API and the entry points refuse it.
    Portal,
}

impl TokenScope {
    /// Every scope.
    pub const ALL: [TokenScope; 3] = [TokenScope::Api, TokenScope::Route, TokenScope::Portal];

    /// The stored (and serialized) name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Api => "api",
            TokenScope::Route => "route",
            TokenScope::Portal => "portal",
        }
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not the name of any [`TokenScope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token scope {0:?} (one of: api, route, portal)")]
pub struct ParseScopeError(pub String);

impl std::str::FromStr for TokenScope {
    type Err = ParseScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenScope::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseScopeError(s.to_owned()))
    }
}

/// What the caller supplies to create an API token. The caller generates the secret and
/// hashes it; the store never sees the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// The user the token is a credential of; it acts with that user's role and company.
    pub user_id: Id,
    /// Human label, not unique.
    pub name: String,
    /// The non-secret half of the token, used to look it up. Unique.
    pub public_id: String,
    /// Hash of the secret half (the algorithm is the caller's choice).
    pub secret_hash: Secret<Vec<u8>>,
    pub expires_at: Option<OffsetDateTime>,
    /// What the token may be used for.
    pub scope: TokenScope,
}

/// A stored API token, with the facts about its user that deciding on it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: Id,
    /// The user it belongs to.
    pub user_id: Id,
    /// That user's login name.
    pub user_name: String,
    /// That user's company (`None`: a vendor user).
    pub company_id: Option<Id>,
    /// That user's role.
    pub role: Role,
    /// That user's authorizations.
    pub authorizations: portcullis_domain::authz::Authorizations,
    /// Set when the user is disabled: the token must be refused.
    #[serde(with = "time::serde::rfc3339::option")]
    pub user_disabled_at: Option<OffsetDateTime>,
    /// The token's own label.
    pub name: String,
    pub public_id: String,
    /// Never serialized and masked in `Debug`.
    #[serde(skip_serializing)]
    pub secret_hash: Secret<Vec<u8>>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Set once by [`Store::revoke_api_token`](crate::Store::revoke_api_token); a revoked
    /// token must be refused even if it has not expired.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// What the token may be used for (`api` for every token made before scopes existed).
    pub scope: TokenScope,
    /// When it was last used, as far as [`Store::touch_api_token`](crate::Store::touch_api_token)
    /// recorded (about once a minute at most); `None` before its first recorded use.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// A company's on-premise agent, identified by company + location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connector {
    pub id: Id,
    pub company_id: Id,
    /// Location ID, unique within the company.
    pub location: String,
    /// Lower-case hex fingerprint of the connector's current client certificate; how the
    /// tunnel endpoint maps a TLS peer to a connector.
    pub cert_fingerprint: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub cert_not_after: Option<OffsetDateTime>,
    /// When the first certificate was recorded; kept across renewals.
    #[serde(with = "time::serde::rfc3339::option")]
    pub enrolled_at: Option<OffsetDateTime>,
    /// Once set, the connector must be refused whatever certificate it presents.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Software version the connector reported when it last connected.
    pub last_version: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What the caller supplies to create a one-time enrollment token for a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrollmentToken {
    pub connector_id: Id,
    /// Non-secret lookup half. Unique.
    pub public_id: String,
    /// Hash of the secret half.
    pub secret_hash: Secret<Vec<u8>>,
    /// The token is refused from this instant on.
    pub expires_at: OffsetDateTime,
}

/// How [`Store::redeem_enrollment_token`](crate::Store::redeem_enrollment_token) redeemed a
/// token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// The token was unused and is used now, by this key.
    First,
    /// The token was redeemed before by the same key and has not expired: the enrolment is
    /// repeated (its first answer was lost).
    Repeat,
}

/// A stored enrollment token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentToken {
    pub id: Id,
    pub connector_id: Id,
    pub public_id: String,
    /// Never serialized and masked in `Debug`.
    #[serde(skip_serializing)]
    pub secret_hash: Secret<Vec<u8>>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Set by [`Store::consume_enrollment_token`](crate::Store::consume_enrollment_token).
    #[serde(with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_round_trip_and_api_is_the_default() {
        for s in TokenScope::ALL {
            assert_eq!(s.as_str().parse::<TokenScope>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(TokenScope::default(), TokenScope::Api);
        assert!("Route".parse::<TokenScope>().is_err());
    }

    #[test]
    fn secret_hashes_are_masked_and_not_serialized() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let t = ApiToken {
            id: 1,
            user_id: 3,
            user_name: "ci-user".into(),
            company_id: None,
            role: Role::VendorAdmin,
            authorizations: Default::default(),
            user_disabled_at: None,
            name: "ci".into(),
            public_id: "pub".into(),
            secret_hash: Secret::new(vec![0xde, 0xad, 0xbe, 0xef]),
            created_at: now,
            expires_at: None,
            revoked_at: None,
            scope: TokenScope::Route,
            last_used_at: None,
        };
        let dbg = format!("{t:?}");
        assert!(dbg.contains("<redacted 4 bytes>"), "{dbg}");
        assert!(!dbg.contains("222, 173, 190, 239"), "{dbg}");
        let json = serde_json::to_value(&t).unwrap();
        assert!(json.get("secret_hash").is_none());
        assert_eq!(json["created_at"], "1970-01-01T00:00:00Z");
        assert_eq!(json["scope"], "route");

        let e = EnrollmentToken {
            id: 1,
            connector_id: 2,
            public_id: "p".into(),
            secret_hash: Secret::new(vec![7; 32]),
            created_at: now,
            expires_at: now,
            used_at: None,
        };
        assert!(format!("{e:?}").contains("<redacted 32 bytes>"));
        assert!(serde_json::to_value(&e)
            .unwrap()
            .get("secret_hash")
            .is_none());
        let n = NewEnrollmentToken {
            connector_id: 2,
            public_id: "p".into(),
            secret_hash: Secret::new(vec![7; 32]),
            expires_at: now,
        };
        assert!(!format!("{n:?}").contains("7, 7"));
    }
}
