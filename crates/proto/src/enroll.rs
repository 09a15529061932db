//! Enrolment: the one-time token an admin hands to a connector, and the HTTPS exchange that
//! turns it into a client certificate.
//!
//! The token is `PCE1.<public id>.<secret>.<hub CA SHA-256 fingerprint, hex>`. The fingerprint
//! lets the connector pin the hub's CA on its very first connection, before it trusts anything
//! (no trust-on-first-use). The secret is shown once and stored only as a hash.

use portcullis_domain::secret::Secret;
use serde::{Deserialize, Serialize};

/// Prefix and format version of enrolment tokens.
pub const TOKEN_PREFIX: &str = "PCE1";
/// API path of the enrolment call.
pub const ENROLL_PATH: &str = "/api/v1/enroll";

/// A parsed enrolment token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollToken {
    /// Looks the token up on the hub.
    pub public_id: String,
    /// Proves possession; compared as a hash, in constant time.
    pub secret: Secret<String>,
    /// Lowercase hex SHA-256 of the hub CA certificate (DER).
    pub ca_fingerprint: String,
}

/// Why a token string is not an enrolment token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Portcullis enrolment token (expected PCE1.<id>.<secret>.<ca fingerprint>): {0}")]
pub struct TokenFormatError(pub &'static str);

impl EnrollToken {
    /// Parses the string form.
    pub fn parse(s: &str) -> Result<EnrollToken, TokenFormatError> {
        let mut parts = s.trim().split('.');
        if parts.next() != Some(TOKEN_PREFIX) {
            return Err(TokenFormatError("wrong prefix"));
        }
        let (Some(id), Some(secret), Some(fp), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenFormatError("wrong number of parts"));
        };
        let hex = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(id) || id.len() > 64 || !hex(secret) || secret.len() < 32 || secret.len() > 128 {
            return Err(TokenFormatError("id and secret must be hex"));
        }
        if fp.len() != 64 || !hex(fp) {
            return Err(TokenFormatError("CA fingerprint must be 64 hex digits"));
        }
        Ok(EnrollToken {
            public_id: id.to_ascii_lowercase(),
            secret: Secret::new(secret.to_ascii_lowercase()),
            ca_fingerprint: fp.to_ascii_lowercase(),
        })
    }

    /// The string form.
    pub fn to_token_string(&self) -> String {
        format!(
            "{TOKEN_PREFIX}.{}.{}.{}",
            self.public_id,
            self.secret.expose(),
            self.ca_fingerprint
        )
    }
}

/// `POST /api/v1/enroll` request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The whole token string (on the wire: a plain JSON string).
    pub token: Secret<String>,
    /// PKCS#10 certificate signing request (PEM). Only its public key is used.
    pub csr_pem: String,
    /// The connector machine's host name, for the hub's records.
    #[serde(default)]
    pub hostname: Option<String>,
}

/// `POST /api/v1/enroll` success response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The connector's client certificate (PEM), bound to company and location.
    pub certificate_pem: String,
    /// The hub CA certificate (PEM) to pin from now on.
    pub ca_pem: String,
    /// Where the tunnel endpoint listens (`host:port`).
    pub tunnel_addr: String,
    /// Server name to verify on the tunnel endpoint's certificate.
    pub tunnel_server_name: String,
    /// The hub's connector id.
    pub connector_id: i64,
    /// The company's name.
    pub company: String,
    /// The location ID.
    pub location: String,
}

/// The JSON error body every API error has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `token_expired`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_masked_debug() {
        let t = EnrollToken {
            public_id: "0a1b2c3d4e5f".into(),
            secret: Secret::new("ab".repeat(32)),
            ca_fingerprint: "cd".repeat(32),
        };
        let s = t.to_token_string();
        assert_eq!(EnrollToken::parse(&s).unwrap(), t);
        let shown = format!("{t:?}");
        assert!(!shown.contains(t.secret.expose().as_str()), "{shown}");
        assert!(shown.contains("0a1b2c3d4e5f"), "{shown}");
    }

    #[test]
    fn the_request_hides_its_token_in_debug_but_not_on_the_wire() {
        let token = format!("PCE1.aa.{}.{}", "ab".repeat(32), "cd".repeat(32));
        let req = EnrollRequest {
            token: Secret::new(token.clone()),
            csr_pem: "-----BEGIN CERTIFICATE REQUEST-----".into(),
            hostname: Some("host-1".into()),
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains(&"ab".repeat(32)), "{shown}");
        assert!(shown.contains("host-1"), "{shown}");
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["token"], serde_json::Value::String(token.clone()));
        let back: EnrollRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back.token.expose(), &token);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let fp = "cd".repeat(32);
        let sec = "ab".repeat(32);
        for bad in [
            String::new(),
            format!("PCE2.aa.{sec}.{fp}"),
            format!("PCE1.aa.{sec}"),
            format!("PCE1.aa.{sec}.{fp}.x"),
            format!("PCE1.zz.{sec}.{fp}"),
            format!("PCE1.aa.abc.{fp}"),
            format!("PCE1.aa.{sec}.{}", &fp[..60]),
        ] {
            assert!(EnrollToken::parse(&bad).is_err(), "{bad}");
        }
    }
}
