//! API tokens: issuing, parsing and verifying, and the [`Principal`] a verified token yields.
//!
//! A token is `pct_<public id: 12 hex>_<secret: 64 hex>`. The public id finds the row; the
//! secret is 256 random bits, stored only as its SHA-256 and compared in constant time. A slow
//! password hash (argon2id) protects *low-entropy* human passwords against offline guessing;
//! a 256-bit random secret cannot be guessed, so a fast hash is as safe here and keeps
//! per-connection authentication cheap (see `docs/adr/0002-token-hashing.md`).

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use portcullis_store::{ApiToken, Id, Role, Store, StoreError};

/// Prefix of API tokens.
pub const API_TOKEN_PREFIX: &str = "pct";

/// A freshly generated secret, with what is stored of it.
#[derive(Clone)]
pub struct NewSecret {
    /// Public id (hex).
    pub public_id: String,
    /// The secret (hex), shown once.
    pub secret: String,
    /// SHA-256 of the secret's bytes as written (hex string).
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("public_id", &self.public_id)
            .finish_non_exhaustive()
    }
}

/// Generates a public id of `id_bytes` random bytes and a 32-byte secret.
pub fn new_secret(id_bytes: usize) -> NewSecret {
    let mut rng = rand::thread_rng();
    let mut id = vec![0u8; id_bytes];
    rng.fill_bytes(&mut id);
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let secret = hex::encode(secret);
    NewSecret {
        public_id: hex::encode(id),
        hash: hash_secret(&secret),
        secret,
    }
}

/// SHA-256 of a secret's text.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time check of a presented secret against a stored hash.
pub fn secret_matches(presented: &str, stored_hash: &[u8]) -> bool {
    let h = hash_secret(presented);
    h.len() == stored_hash.len() && bool::from(h.ct_eq(stored_hash))
}

/// The string form of an API token.
pub fn format_api_token(public_id: &str, secret: &str) -> String {
    format!("{API_TOKEN_PREFIX}_{public_id}_{secret}")
}

/// Splits `pct_<id>_<secret>`; `None` when the shape is wrong.
pub fn parse_api_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.trim().strip_prefix("pct_")?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id) && hex(secret)).then_some((id, secret))
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Token row id.
    pub token_id: Id,
    /// Token name, e.g. `ci-bot`.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The company the token belongs to; `None` for vendor administrators.
    pub company_id: Option<Id>,
    /// When the token expires; sessions opened with it end then.
    pub expires_at: Option<OffsetDateTime>,
}

impl Principal {
    /// How the principal appears in audit records and on the connector: `token:<name>#<id>`.
    pub fn label(&self) -> String {
        format!("token:{}#{}", self.name, self.token_id)
    }

    /// Whether the principal may administer `company` (vendor admins may administer all).
    pub fn may_admin(&self, company: Id) -> bool {
        match self.role {
            Role::VendorAdmin => true,
            Role::CompanyAdmin => self.company_id == Some(company),
            Role::Technical => false,
        }
    }

    /// Whether the principal may see `company`'s objects.
    pub fn may_read(&self, company: Id) -> bool {
        self.role == Role::VendorAdmin || self.company_id == Some(company)
    }
}

/// Why a token was not accepted. The client learns only "invalid token"; the log learns which.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The string is not shaped like a token.
    #[error("malformed token")]
    Malformed,
    /// No token has this public id.
    #[error("unknown token")]
    Unknown,
    /// The secret does not match.
    #[error("wrong secret")]
    WrongSecret,
    /// The token was revoked.
    #[error("revoked token")]
    Revoked,
    /// The token expired.
    #[error("expired token")]
    Expired,
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Verifies a presented token string.
pub async fn verify_token(store: &dyn Store, presented: &str) -> Result<Principal, AuthError> {
    let (id, secret) = parse_api_token(presented).ok_or(AuthError::Malformed)?;
    let tok: ApiToken = store
        .find_api_token(&id.to_ascii_lowercase())
        .await?
        .ok_or(AuthError::Unknown)?;
    if !secret_matches(&secret.to_ascii_lowercase(), &tok.secret_hash) {
        return Err(AuthError::WrongSecret);
    }
    if tok.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    if tok
        .expires_at
        .is_some_and(|e| e <= OffsetDateTime::now_utc())
    {
        return Err(AuthError::Expired);
    }
    Ok(Principal {
        token_id: tok.id,
        name: tok.name,
        role: tok.role,
        company_id: tok.company_id,
        expires_at: tok.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_and_secrets_compare() {
        let s = new_secret(6);
        let t = format_api_token(&s.public_id, &s.secret);
        let (id, sec) = parse_api_token(&t).unwrap();
        assert_eq!((id, sec), (s.public_id.as_str(), s.secret.as_str()));
        assert!(secret_matches(sec, &s.hash));
        assert!(!secret_matches(&"0".repeat(64), &s.hash));
        for bad in [
            "",
            "pct_",
            "pct_abc",
            "xyz_ab_cd",
            "pct_zz_00",
            "pct_ab_c d",
        ] {
            assert!(parse_api_token(bad).is_none(), "{bad}");
        }
        assert!(!format!("{s:?}").contains(&s.secret));
    }
}
