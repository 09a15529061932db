//! Records the store reads and writes (everything except the audit log, which has its own
//! module because its hashing rule is part of the contract).
//!
//! Timestamps serialize as RFC 3339 strings, and secret hashes are neither serialized nor
//! printed by `Debug`, so a record can be logged or returned from an API without leaking
//! material an attacker could brute-force offline.

use std::fmt;
use std::str::FromStr;

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
}

/// What an API token may do. Stored as the snake_case text of the variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the hub: every company, every setting.
    VendorAdmin,
    /// Administers one company.
    CompanyAdmin,
    /// A support engineer or cloud application acting within granted windows.
    Technical,
}

impl Role {
    /// Every role, for exhaustive tests and UI pickers.
    pub const ALL: [Role; 3] = [Role::VendorAdmin, Role::CompanyAdmin, Role::Technical];

    /// The stored (and serialized) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::VendorAdmin => "vendor_admin",
            Role::CompanyAdmin => "company_admin",
            Role::Technical => "technical",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not the stored name of any [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

/// What the caller supplies to create an API token. The caller generates the secret and
/// hashes it; the store never sees the secret itself.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// `None` for vendor-wide tokens. The store does not check that the role fits (that is a
    /// domain rule); it only checks that a given company exists.
    pub company_id: Option<Id>,
    /// Human label, not unique.
    pub name: String,
    pub role: Role,
    /// The non-secret half of the token, used to look it up. Unique.
    pub public_id: String,
    /// Hash of the secret half (the algorithm is the caller's choice).
    pub secret_hash: Vec<u8>,
    pub expires_at: Option<OffsetDateTime>,
}

/// A stored API token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: Id,
    pub company_id: Option<Id>,
    pub name: String,
    pub role: Role,
    pub public_id: String,
    /// Never serialized and masked in `Debug`.
    #[serde(skip_serializing)]
    pub secret_hash: Vec<u8>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Set once by [`Store::revoke_api_token`](crate::Store::revoke_api_token); a revoked
    /// token must be refused even if it has not expired.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
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
#[derive(Clone, PartialEq, Eq)]
pub struct NewEnrollmentToken {
    pub connector_id: Id,
    /// Non-secret lookup half. Unique.
    pub public_id: String,
    /// Hash of the secret half.
    pub secret_hash: Vec<u8>,
    /// The token is refused from this instant on.
    pub expires_at: OffsetDateTime,
}

/// A stored enrollment token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentToken {
    pub id: Id,
    pub connector_id: Id,
    pub public_id: String,
    /// Never serialized and masked in `Debug`.
    #[serde(skip_serializing)]
    pub secret_hash: Vec<u8>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Set by [`Store::consume_enrollment_token`](crate::Store::consume_enrollment_token).
    #[serde(with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
}

/// Stands in for a secret hash in `Debug` output: shows that a value is present and its
/// length (useful when debugging a wrong hash algorithm), never the bytes.
struct Masked(usize);

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0)
    }
}

impl fmt::Debug for NewApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiToken")
            .field("company_id", &self.company_id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("public_id", &self.public_id)
            .field("secret_hash", &Masked(self.secret_hash.len()))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("company_id", &self.company_id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("public_id", &self.public_id)
            .field("secret_hash", &Masked(self.secret_hash.len()))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

impl fmt::Debug for NewEnrollmentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEnrollmentToken")
            .field("connector_id", &self.connector_id)
            .field("public_id", &self.public_id)
            .field("secret_hash", &Masked(self.secret_hash.len()))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl fmt::Debug for EnrollmentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollmentToken")
            .field("id", &self.id)
            .field("connector_id", &self.connector_id)
            .field("public_id", &self.public_id)
            .field("secret_hash", &Masked(self.secret_hash.len()))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_text_round_trips() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        assert_eq!(Role::CompanyAdmin.as_str(), "company_admin");
        assert!("Vendor_Admin".parse::<Role>().is_err());
    }

    #[test]
    fn secret_hashes_are_masked_and_not_serialized() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let t = ApiToken {
            id: 1,
            company_id: None,
            name: "ci".into(),
            role: Role::VendorAdmin,
            public_id: "pub".into(),
            secret_hash: vec![0xde, 0xad, 0xbe, 0xef],
            created_at: now,
            expires_at: None,
            revoked_at: None,
        };
        let dbg = format!("{t:?}");
        assert!(dbg.contains("<redacted 4 bytes>"), "{dbg}");
        assert!(!dbg.contains("222, 173, 190, 239"), "{dbg}");
        let json = serde_json::to_value(&t).unwrap();
        assert!(json.get("secret_hash").is_none());
        assert_eq!(json["created_at"], "1970-01-01T00:00:00Z");

        let e = EnrollmentToken {
            id: 1,
            connector_id: 2,
            public_id: "p".into(),
            secret_hash: vec![7; 32],
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
            secret_hash: vec![7; 32],
            expires_at: now,
        };
        assert!(!format!("{n:?}").contains("7, 7"));
    }
}
