//! API tokens: issuing, parsing and verifying, and the [`Principal`] a verified token yields.
//!
//! A token is `pct_<public id: 12 hex>_<secret: 64 hex>`. The public id finds the row; the
//! secret is 256 random bits, stored only as its SHA-256 and compared in constant time. A slow
//! password hash (argon2id) protects *low-entropy* human passwords against offline guessing;
//! a 256-bit random secret cannot be guessed, so a fast hash is as safe here and keeps
//! per-connection authentication cheap (see `docs/adr/0002-token-hashing.md`).
//!
//! # Scopes and route passwords
//!
//! Every token has a [`TokenScope`]. An `api` token works everywhere. A `route` token — a
//! *route password* — is `pct_<12 hex>_<32 hex>`: a 128-bit secret, short enough to type as
//! the `/W/` password of an SAP route string and still beyond guessing (2^128 tries, offline
//! too), in `[a-z0-9_]` only, so it never contains the route string's `/` separator and
//! passes pysap's `[\w.]` password rule. It always expires. It is a *connection password*
//! only:
//!
//! * entry points (SOCKS5, HTTP proxy, the coming NI entry) call [`TokenCache::verify`], which
//!   accepts every scope; the session is then decided by `session::open` exactly as for the
//!   user's API token, and ends when the token expires;
//! * the REST API calls [`TokenCache::verify_api`], which refuses it with
//!   [`AuthError::RoutePassword`], so a route password can neither change anything nor mint
//!   further credentials.

use portcullis_domain::secret::Secret;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use portcullis_domain::authz::{Actor, Authorizations};
use portcullis_store::{ApiToken, Id, Role, Store, StoreError, TokenScope};

/// Prefix of API tokens.
pub const API_TOKEN_PREFIX: &str = "pct";

/// Random bytes of an API token's public id (12 hex digits).
pub const PUBLIC_ID_BYTES: usize = 6;

/// Random bytes of an API token's secret (256 bits, 64 hex digits).
pub const API_SECRET_BYTES: usize = 32;

/// Random bytes of a route password's secret (128 bits, 32 hex digits): short enough to type
/// into SAP GUI's route string field, still beyond guessing (see the module docs).
pub const ROUTE_SECRET_BYTES: usize = 16;

/// A freshly generated secret, with what is stored of it.
#[derive(Debug, Clone)]
pub struct NewSecret {
    /// Public id (hex).
    pub public_id: String,
    /// The secret (hex), shown once.
    pub secret: Secret<String>,
    /// SHA-256 of the secret's bytes as written (hex string).
    pub hash: Vec<u8>,
}

/// Generates a public id of `id_bytes` random bytes and a 32-byte secret.
pub fn new_secret(id_bytes: usize) -> NewSecret {
    new_secret_sized(id_bytes, API_SECRET_BYTES)
}

/// Generates a public id of `id_bytes` random bytes and a secret of `secret_bytes` random
/// bytes, both written as lower-case hex.
pub fn new_secret_sized(id_bytes: usize, secret_bytes: usize) -> NewSecret {
    let mut rng = rand::thread_rng();
    let mut id = vec![0u8; id_bytes];
    rng.fill_bytes(&mut id);
    let mut secret = vec![0u8; secret_bytes];
    rng.fill_bytes(&mut secret);
    let secret = hex::encode(secret);
    NewSecret {
        public_id: hex::encode(id),
        hash: hash_secret(&secret),
        secret: secret.into(),
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
    /// The token's public id (the part before the secret): how a web session re-reads it.
    pub public_id: String,
    /// Token name, e.g. `ci-bot`.
    pub name: String,
    /// The user the token is a credential of.
    pub user_id: Id,
    /// That user's login name (windows name engineers by it).
    pub user_name: String,
    /// The user's role.
    pub role: Role,
    /// The user's authorizations.
    pub authorizations: Authorizations,
    /// The user's company; `None` for vendor users.
    pub company_id: Option<Id>,
    /// When the token expires; sessions opened with it end then.
    pub expires_at: Option<OffsetDateTime>,
    /// What the token may be used for: a `route` token (a route password) is a connection
    /// password only, refused by the REST API ([`TokenCache::verify_api`]).
    pub scope: TokenScope,
}

impl Principal {
    /// How the principal appears in audit records and on the connector: `token:<name>#<id>`.
    pub fn label(&self) -> String {
        format!("token:{}#{}", self.name, self.token_id)
    }

    /// The user as the domain's [`authorize`](portcullis_domain::authz::authorize) sees it.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            role: self.role,
            company_id: self.company_id,
            authorizations: self.authorizations.clone(),
        }
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
    /// The token's user is disabled.
    #[error("disabled user")]
    Disabled,
    /// A valid route password presented to the REST API, which takes API tokens only.
    #[error("route password presented to the REST API")]
    RoutePassword,
    /// A portal session's credential presented anywhere but the portal, or another token
    /// presented to the portal.
    #[error("credential of another scope")]
    WrongScope,
    /// A portal session unused for longer than its idle timeout.
    #[error("idle session")]
    Idle,
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Verifies a presented token string against the store (no cache).
pub async fn verify_token(store: &dyn Store, presented: &str) -> Result<Principal, AuthError> {
    let (id, secret) = parse_api_token(presented).ok_or(AuthError::Malformed)?;
    let Some(tok) = store.find_api_token(&id.to_ascii_lowercase()).await? else {
        let _ = secret_matches(&secret.to_ascii_lowercase(), &NO_SUCH_TOKEN_HASH);
        return Err(AuthError::Unknown);
    };
    check(&tok, secret)?;
    Ok(principal_of(tok))
}

/// The principal of the token `public_id` as the store has it now, refused when it was
/// revoked, expired or its user disabled since: what a web session checks on every
/// connection instead of a secret it never sees again.
pub async fn reverify(store: &dyn Store, public_id: &str) -> Result<Principal, AuthError> {
    let tok: ApiToken = store
        .find_api_token(public_id)
        .await?
        .ok_or(AuthError::Unknown)?;
    check_state(&tok)?;
    Ok(principal_of(tok))
}

/// The checks a stored token must pass for `secret`, in the order that leaks least: a wrong
/// secret is reported before the token's state.
fn check(tok: &ApiToken, secret: &str) -> Result<(), AuthError> {
    if !secret_matches(&secret.to_ascii_lowercase(), tok.secret_hash.expose()) {
        return Err(AuthError::WrongSecret);
    }
    check_state(tok)
}

/// Whether a stored token may be used now: not revoked, its user not disabled, not expired.
fn check_state(tok: &ApiToken) -> Result<(), AuthError> {
    if tok.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    if tok.user_disabled_at.is_some() {
        return Err(AuthError::Disabled);
    }
    if tok
        .expires_at
        .is_some_and(|e| e <= OffsetDateTime::now_utc())
    {
        return Err(AuthError::Expired);
    }
    Ok(())
}

/// The principal a stored token yields (its checks already made).
pub(crate) fn principal_of(tok: ApiToken) -> Principal {
    Principal {
        token_id: tok.id,
        public_id: tok.public_id,
        name: tok.name,
        user_id: tok.user_id,
        user_name: tok.user_name,
        role: tok.role,
        authorizations: tok.authorizations,
        company_id: tok.company_id,
        expires_at: tok.expires_at,
        scope: tok.scope,
    }
}

/// How long a token row read from the store is reused. Revocation through this hub forgets the
/// row at once ([`TokenCache::forget_all`]); the TTL bounds how long a change made behind the hub's
/// back (another process writing the database) can go unseen.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a portal session's use is written to the store (its idle timeout is minutes).
pub const TOUCH_EVERY: time::Duration = time::Duration::seconds(60);

/// Most token rows kept; beyond it the cache is cleared (rows are cheap to read again).
const TOKEN_CACHE_MAX: usize = 10_000;

/// Token rows recently read from the store, so a client opening many connections with one
/// token costs one store read per TTL instead of one per connection. Every hit still checks
/// the presented secret (constant time), revocation and expiry; only valid rows are kept.
#[derive(Debug, Default)]
pub struct TokenCache {
    inner: std::sync::Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    /// What the store answered for a public id, `None` for "no such token": unknown ids are
    /// remembered like known ones, so that whether an id exists changes neither the work done
    /// nor the time taken (no store read for the one and a read for the other).
    rows: std::collections::HashMap<String, (Option<ApiToken>, std::time::Instant)>,
    /// Bumped by every `forget_all`: a row read before a revocation must not be cached after it.
    generation: u64,
}

/// A stored hash no presented secret matches, compared against when the public id is unknown
/// so that an unknown id costs the same hash and comparison as a known one.
const NO_SUCH_TOKEN_HASH: [u8; 32] = [0; 32];

impl TokenCache {
    /// Verifies `presented` as a **connection password**, whatever its scope (an API token or a
    /// route password), reading the store only on a miss or after the TTL. This is what entry
    /// points call (SOCKS5, HTTP proxy, the NI entry) before `session::open`, which decides the
    /// session on the returned principal; the session ends at `expires_at`.
    ///
    /// A wrong, unknown, revoked or expired token, or one of a disabled user, is an error; the
    /// client should learn only that it was refused, the log may learn which [`AuthError`].
    pub async fn verify(&self, store: &dyn Store, presented: &str) -> Result<Principal, AuthError> {
        let tok = self.verify_row(store, presented).await?;
        match tok.scope {
            TokenScope::Api | TokenScope::Route => Ok(principal_of(tok)),
            TokenScope::Portal => Err(AuthError::WrongScope),
        }
    }

    /// Verifies a portal session's credential (scope `portal` only): as [`TokenCache::verify`],
    /// and then refuses it when it was not used for `idle` (its last recorded use, or its
    /// creation). A use is recorded when the last one is older than [`TOUCH_EVERY`].
    pub async fn verify_portal(
        &self,
        store: &dyn Store,
        presented: &str,
        idle: std::time::Duration,
    ) -> Result<Principal, AuthError> {
        let tok = self.verify_row(store, presented).await?;
        if tok.scope != TokenScope::Portal {
            return Err(AuthError::WrongScope);
        }
        let now = OffsetDateTime::now_utc();
        let last = tok.last_used_at.unwrap_or(tok.created_at);
        if now - last > idle {
            return Err(AuthError::Idle);
        }
        if now - last > TOUCH_EVERY {
            store.touch_api_token(tok.id, now).await?;
            self.touched(&tok.public_id, now);
        }
        Ok(principal_of(tok))
    }

    /// Records a use in the cached row, so the next requests within the TTL do not touch the
    /// store again.
    fn touched(&self, public_id: &str, at: OffsetDateTime) {
        if let Some((Some(row), _)) = self.lock().rows.get_mut(public_id) {
            row.last_used_at = Some(at);
        }
    }

    /// The stored row of `presented` when its secret matches and it may be used now
    /// (whatever its scope).
    async fn verify_row(&self, store: &dyn Store, presented: &str) -> Result<ApiToken, AuthError> {
        let (id, secret) = parse_api_token(presented).ok_or(AuthError::Malformed)?;
        let id = id.to_ascii_lowercase();
        let (cached, generation) = {
            let g = self.lock();
            let hit = g
                .rows
                .get(&id)
                .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
                .map(|(tok, _)| tok.clone());
            (hit, g.generation)
        };
        let tok = match cached {
            Some(tok) => tok,
            None => {
                let found = store.find_api_token(&id).await?;
                let mut g = self.lock();
                if g.generation == generation {
                    if g.rows.len() >= TOKEN_CACHE_MAX {
                        g.rows.clear();
                    }
                    g.rows
                        .insert(id, (found.clone(), std::time::Instant::now()));
                }
                found
            }
        };
        let Some(tok) = tok else {
            // The same work as a wrong secret for a known id; the answer is fixed anyway.
            let _ = secret_matches(&secret.to_ascii_lowercase(), &NO_SUCH_TOKEN_HASH);
            return Err(AuthError::Unknown);
        };
        check(&tok, secret)?;
        Ok(tok)
    }

    /// Verifies `presented` for the REST API: as [`TokenCache::verify`], and then refuses a
    /// route password with [`AuthError::RoutePassword`] (checked after the secret, so only the
    /// holder of a valid route password learns that it is one).
    pub async fn verify_api(
        &self,
        store: &dyn Store,
        presented: &str,
    ) -> Result<Principal, AuthError> {
        let tok = self.verify_row(store, presented).await?;
        match tok.scope {
            TokenScope::Api => Ok(principal_of(tok)),
            TokenScope::Route => Err(AuthError::RoutePassword),
            TokenScope::Portal => Err(AuthError::WrongScope),
        }
    }

    /// Forgets every cached row (call after revoking or changing a token).
    pub fn forget_all(&self) {
        let mut g = self.lock();
        g.rows.clear();
        g.generation += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // The map holds no invariant a panicking holder could break: recover from poison.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_and_secrets_compare() {
        let s = new_secret(6);
        let t = format_api_token(&s.public_id, s.secret.expose());
        let (id, sec) = parse_api_token(&t).unwrap();
        assert_eq!(
            (id, sec),
            (s.public_id.as_str(), s.secret.expose().as_str())
        );
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
        assert!(!format!("{s:?}").contains(s.secret.expose().as_str()));
    }

    #[test]
    fn route_passwords_are_short_parse_and_stay_in_the_route_string_alphabet() {
        let s = new_secret_sized(PUBLIC_ID_BYTES, ROUTE_SECRET_BYTES);
        let t = format_api_token(&s.public_id, s.secret.expose());
        assert_eq!(t.len(), "pct_".len() + 12 + 1 + 32, "{t}");
        assert!(
            t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "only [A-Za-z0-9_]: no '/' to end a route string value, no '.'"
        );
        let (id, sec) = parse_api_token(&t).unwrap();
        assert_eq!((id.len(), sec.len()), (12, 32));
        assert!(secret_matches(sec, &s.hash));
    }

    #[tokio::test]
    async fn the_cache_checks_every_secret_and_forgets_on_revocation() {
        use portcullis_store::{NewApiToken, SqliteStore};
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let user = crate::accounts::create_user(
            &mut *tx,
            None,
            None,
            "cached",
            Role::VendorAdmin,
            Authorizations::none(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let s = new_secret(6);
        let row = store
            .create_api_token(NewApiToken {
                user_id: user.id,
                name: "cached".into(),
                public_id: s.public_id.clone(),
                secret_hash: s.hash.clone().into(),
                expires_at: None,
                scope: TokenScope::Api,
            })
            .await
            .unwrap();
        let good = format_api_token(&s.public_id, s.secret.expose());
        let wrong = format_api_token(&s.public_id, &"ab".repeat(32));
        let cache = TokenCache::default();
        assert_eq!(cache.verify(&store, &good).await.unwrap().token_id, row.id);
        // A cached row still needs the right secret.
        assert!(matches!(
            cache.verify(&store, &wrong).await,
            Err(AuthError::WrongSecret)
        ));
        // Revoked in the store behind the cache's back: the cached row is used until the TTL
        // (that is what the cache is for) …
        store
            .revoke_api_token(row.id, OffsetDateTime::now_utc())
            .await
            .unwrap();
        assert!(cache.verify(&store, &good).await.is_ok());
        // … and forgotten at once when the hub revokes (it calls forget_all).
        cache.forget_all();
        assert!(matches!(
            cache.verify(&store, &good).await,
            Err(AuthError::Revoked)
        ));
        assert!(matches!(
            cache.verify(&store, "pct_zz").await,
            Err(AuthError::Malformed)
        ));
    }

    #[tokio::test]
    async fn an_unknown_token_id_costs_what_a_known_one_costs() {
        use portcullis_store::{NewApiToken, SqliteStore};
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let user = crate::accounts::create_user(
            &mut *tx,
            None,
            None,
            "known",
            Role::VendorAdmin,
            Authorizations::none(),
        )
        .await
        .unwrap();
        let s = new_secret(6);
        tx.create_api_token(NewApiToken {
            user_id: user.id,
            name: "known".into(),
            public_id: s.public_id.clone(),
            secret_hash: s.hash.clone().into(),
            expires_at: None,
            scope: TokenScope::Api,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let wrong_secret = format_api_token(&s.public_id, &"ab".repeat(32));
        let unknown_id = format_api_token("0123456789ab", &"ab".repeat(32));
        let cache = TokenCache::default();
        // The first attempt of each reads the store once …
        assert!(matches!(
            cache.verify(&store, &wrong_secret).await,
            Err(AuthError::WrongSecret)
        ));
        assert!(matches!(
            cache.verify(&store, &unknown_id).await,
            Err(AuthError::Unknown)
        ));
        // … and the next ones read it no more, known id or not: with the store closed, both
        // are still answered from the cache (an uncached one would fail with a store error).
        store.close().await;
        for _ in 0..3 {
            assert!(matches!(
                cache.verify(&store, &wrong_secret).await,
                Err(AuthError::WrongSecret)
            ));
            assert!(matches!(
                cache.verify(&store, &unknown_id).await,
                Err(AuthError::Unknown)
            ));
        }
        let other_unknown = format_api_token("ba9876543210", &"ab".repeat(32));
        assert!(matches!(
            cache.verify(&store, &other_unknown).await,
            Err(AuthError::Store(_))
        ));
    }
}
