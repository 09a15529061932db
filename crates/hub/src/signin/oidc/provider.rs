//! One company's identity provider, through `openidconnect`: discovery (with its keys), the
//! authorization URL (code flow, PKCE S256, `state`, `nonce`), the code exchange and the ID
//! token's checks (signature by the provider's keys, `iss`, `aud`, `exp`, `nonce`).
//!
//! Discovery documents with their keys are kept per issuer (and CA) for [`CACHE_TTL`]; a
//! token whose signature does not verify against keys older than [`REFRESH_AFTER`] is checked
//! once more against freshly fetched keys (the provider may have rotated them).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use portcullis_domain::secret::Secret;
use sha2::{Digest, Sha256};

use super::http::HttpsClient;

/// How long a provider's discovery document and keys are reused.
pub const CACHE_TTL: Duration = Duration::from_secs(600);
/// Keys at least this old are fetched again when a signature does not verify.
pub const REFRESH_AFTER: Duration = Duration::from_secs(30);
/// Most providers cached.
const MAX_CACHED: usize = 1024;
/// Most requests to providers in flight at once (discovery, keys, code exchanges): sign-ins
/// that anybody can start must not open connections without bound.
pub const MAX_IN_FLIGHT: usize = 32;

/// The signature algorithms accepted for ID tokens (asymmetric only: a token signed with the
/// client secret proves nothing the hub does not know itself).
const ALGS: [CoreJwsSigningAlgorithm; 7] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Why talking to a provider failed. Messages name the cause, never a token or a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The settings do not make a client (an issuer or redirect URI that is not a URL).
    #[error("the sign-in settings are not usable: {0}")]
    Settings(String),
    /// Discovery or the keys could not be fetched or read.
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider refused the code exchange, or answered it with something unreadable.
    #[error("the identity provider refused the sign-in: {0}")]
    Exchange(String),
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce …).
    #[error("the identity provider's token was refused: {0}")]
    Token(String),
}

impl ProviderError {
    /// The `reason` recorded in the audit event.
    pub fn reason(&self) -> &'static str {
        match self {
            ProviderError::Settings(_) | ProviderError::Unreachable(_) => {
                "oidc_provider_unreachable"
            }
            ProviderError::Exchange(_) => "oidc_provider_error",
            ProviderError::Token(_) => "oidc_token_refused",
        }
    }
}

/// What the hub uses of a company's settings for one flow.
#[derive(Debug)]
pub struct Settings<'a> {
    /// The issuer URL.
    pub issuer: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// The client secret, opened.
    pub client_secret: Secret<String>,
    /// Extra trusted CA (PEM).
    pub extra_ca: Option<&'a str>,
    /// The hub's callback URL.
    pub redirect_uri: &'a str,
}

/// Where to send the browser, and what to remember until it comes back.
#[derive(Debug)]
pub struct Begun {
    /// The provider's authorization URL with every parameter.
    pub url: String,
    /// `state`.
    pub state: Secret<String>,
    /// `nonce`.
    pub nonce: Secret<String>,
    /// The PKCE verifier.
    pub pkce_verifier: Secret<String>,
}

#[derive(Debug)]
struct Cached {
    at: Instant,
    metadata: CoreProviderMetadata,
}

/// The providers' discovery documents and keys (see the module docs).
#[derive(Debug)]
pub struct Providers {
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    in_flight: tokio::sync::Semaphore,
}

impl Default for Providers {
    fn default() -> Self {
        Providers {
            cache: Mutex::default(),
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        }
    }
}

fn cache_key(issuer: &str, extra_ca: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update([0]);
    h.update(extra_ca.unwrap_or("").as_bytes());
    h.finalize().into()
}

impl Providers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place among the requests in flight, waiting at most one request's deadline.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ProviderError> {
        match tokio::time::timeout(super::http::TIMEOUT, self.in_flight.acquire()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(ProviderError::Unreachable(
                "too many sign-ins are talking to identity providers now".into(),
            )),
        }
    }

    /// Forgets every cached document (settings changed).
    pub fn forget_all(&self) {
        self.lock().clear();
    }

    /// The provider's metadata with keys: cached, unless `fresh` or too old.
    async fn metadata(
        &self,
        s: &Settings<'_>,
        http: &HttpsClient,
        fresh: bool,
    ) -> Result<(CoreProviderMetadata, Instant), ProviderError> {
        let key = cache_key(s.issuer, s.extra_ca);
        let now = Instant::now();
        if !fresh {
            if let Some(c) = self.lock().get(&key) {
                if now.duration_since(c.at) < CACHE_TTL {
                    return Ok((c.metadata.clone(), c.at));
                }
            }
        }
        let issuer = IssuerUrl::new(s.issuer.to_string())
            .map_err(|e| ProviderError::Settings(format!("issuer: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, http)
            .await
            .map_err(|e| ProviderError::Unreachable(error_chain(&e)))?;
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, c| now.duration_since(c.at) < CACHE_TTL);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Cached {
                at: now,
                metadata: metadata.clone(),
            },
        );
        Ok((metadata, now))
    }

    /// Discovers the provider and makes the authorization URL for a new flow.
    pub async fn begin(&self, s: &Settings<'_>) -> Result<Begun, ProviderError> {
        let _slot = self.slot().await?;
        let http = client(s)?;
        let (metadata, _) = self.metadata(s, &http, false).await?;
        let scopes: Vec<String> = {
            let supported = metadata.scopes_supported();
            ["profile", "email"]
                .into_iter()
                .filter(|want| {
                    supported.is_none_or(|list| list.iter().any(|sc| sc.as_str() == *want))
                })
                .map(String::from)
                .collect()
        };
        let oidc = oidc_client(metadata, s)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = oidc
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for sc in scopes {
            req = req.add_scope(Scope::new(sc));
        }
        let (url, state, nonce) = req.url();
        Ok(Begun {
            url: url.to_string(),
            state: Secret::new(state.secret().clone()),
            nonce: Secret::new(nonce.secret().clone()),
            pkce_verifier: Secret::new(verifier.secret().clone()),
        })
    }

    /// Exchanges `code` and checks the ID token against `nonce`; returns its verified claims.
    pub async fn finish(
        &self,
        s: &Settings<'_>,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ProviderError> {
        let _slot = self.slot().await?;
        let http = client(s)?;
        let (metadata, fetched) = self.metadata(s, &http, false).await?;
        let oidc = oidc_client(metadata, s)?;
        let response = oidc
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| ProviderError::Settings(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&http)
            .await
            .map_err(|e| ProviderError::Exchange(error_chain(&e)))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| ProviderError::Exchange("the answer holds no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        match verify_id_token(&oidc, id_token, &nonce) {
            Ok(()) => {}
            Err(ClaimsVerificationError::SignatureVerification(_))
                if fetched.elapsed() >= REFRESH_AFTER =>
            {
                let (metadata, _) = self.metadata(s, &http, true).await?;
                let oidc = oidc_client(metadata, s)?;
                verify_id_token(&oidc, id_token, &nonce)
                    .map_err(|e| ProviderError::Token(error_chain(&e)))?;
            }
            Err(e) => return Err(ProviderError::Token(error_chain(&e))),
        }
        super::claims::payload(&id_token.to_string())
            .ok_or_else(|| ProviderError::Token("the ID token's claims are not readable".into()))
    }
}

/// The `openidconnect` client as discovery makes it.
type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The ID token's checks: signature by one of the provider's keys with an accepted
/// algorithm, `iss`, `aud` (this client), `exp`, `nonce`.
fn verify_id_token(
    oidc: &OidcClient,
    token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<(), ClaimsVerificationError> {
    token
        .claims(&oidc.id_token_verifier().set_allowed_algs(ALGS), nonce)
        .map(|_| ())
}

fn client(s: &Settings<'_>) -> Result<HttpsClient, ProviderError> {
    HttpsClient::new(s.extra_ca).map_err(|e| ProviderError::Settings(e.to_string()))
}

/// The `openidconnect` client for `s`, authenticating at the token endpoint the way the
/// provider says it supports (`client_secret_basic` unless only `_post` is listed).
fn oidc_client(
    metadata: CoreProviderMetadata,
    s: &Settings<'_>,
) -> Result<OidcClient, ProviderError> {
    let auth = match metadata.token_endpoint_auth_methods_supported() {
        Some(m)
            if !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && m.contains(&CoreClientAuthMethod::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    };
    let redirect = RedirectUrl::new(s.redirect_uri.to_string())
        .map_err(|e| ProviderError::Settings(format!("redirect URI: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(s.client_id.to_string()),
        Some(ClientSecret::new(s.client_secret.expose().clone())),
    )
    .set_redirect_uri(redirect)
    .set_auth_type(auth))
}

/// An error with its sources, for logs and audit details (never holds a token: the crate's
/// errors name fields and causes).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    //! The ID token's checks as the hub wires them, on tokens signed here (ES256, ring): the
    //! real provider of the end-to-end tests never sends a wrong audience or nonce.
    use super::*;
    use base64::Engine;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use std::str::FromStr;

    const ISSUER: &str = "https://idp.test";
    const CLIENT: &str = "hub";

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    }

    struct Key(EcdsaKeyPair);

    impl Key {
        fn new() -> Key {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            Key(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap(),
            )
        }

        fn jwk(&self, kid: &str) -> serde_json::Value {
            let p = self.0.public_key().as_ref();
            serde_json::json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
                "kid": kid, "x": b64(&p[1..33]), "y": b64(&p[33..65])})
        }

        fn sign(&self, kid: &str, claims: serde_json::Value) -> CoreIdToken {
            let input = format!(
                "{}.{}",
                b64(serde_json::json!({"alg": "ES256", "kid": kid})
                    .to_string()
                    .as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let sig = self.0.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
            CoreIdToken::from_str(&format!("{input}.{}", b64(sig.as_ref()))).unwrap()
        }
    }

    fn client_with(key: &Key) -> OidcClient {
        let mut metadata: CoreProviderMetadata = serde_json::from_value(serde_json::json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/auth"),
            "token_endpoint": format!("{ISSUER}/token"),
            "jwks_uri": format!("{ISSUER}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        }))
        .unwrap();
        metadata = metadata.set_jwks(
            serde_json::from_value(serde_json::json!({"keys": [key.jwk("k1")]})).unwrap(),
        );
        oidc_client(
            metadata,
            &Settings {
                issuer: ISSUER,
                client_id: CLIENT,
                client_secret: Secret::new("s".into()),
                extra_ca: None,
                redirect_uri: "https://hub.test/signin/oidc/callback",
            },
        )
        .unwrap()
    }

    fn claims(change: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut c = serde_json::json!({"iss": ISSUER, "aud": CLIENT, "sub": "anna",
            "iat": now, "exp": now + 300, "nonce": "n-1", "preferred_username": "anna"});
        change(&mut c);
        c
    }

    #[test]
    fn a_token_passes_only_with_its_key_issuer_audience_expiry_and_nonce() {
        let key = Key::new();
        let oidc = client_with(&key);
        let nonce = Nonce::new("n-1".into());
        let ok = key.sign("k1", claims(|_| {}));
        assert!(verify_id_token(&oidc, &ok, &nonce).is_ok());
        assert_eq!(
            super::super::claims::payload(&ok.to_string()).unwrap()["sub"],
            "anna"
        );

        let cases: [(&str, CoreIdToken, Nonce); 6] = [
            (
                "another audience",
                key.sign("k1", claims(|c| c["aud"] = "other-client".into())),
                nonce.clone(),
            ),
            ("another nonce", ok.clone(), Nonce::new("n-2".into())),
            (
                "no nonce",
                key.sign(
                    "k1",
                    claims(|c| {
                        c.as_object_mut().unwrap().remove("nonce");
                    }),
                ),
                nonce.clone(),
            ),
            (
                "another issuer",
                key.sign("k1", claims(|c| c["iss"] = "https://evil.test".into())),
                nonce.clone(),
            ),
            (
                "expired",
                key.sign(
                    "k1",
                    claims(|c| c["exp"] = (c["iat"].as_i64().unwrap() - 600).into()),
                ),
                nonce.clone(),
            ),
            (
                "another key",
                Key::new().sign("k1", claims(|_| {})),
                nonce.clone(),
            ),
        ];
        for (what, token, nonce) in cases {
            assert!(
                verify_id_token(&oidc, &token, &nonce).is_err(),
                "{what} passed"
            );
        }
    }

    #[test]
    fn a_token_signed_with_the_client_secret_is_refused() {
        let key = Key::new();
        let oidc = client_with(&key);
        let input = format!(
            "{}.{}",
            b64(br#"{"alg":"HS256"}"#),
            b64(claims(|_| {}).to_string().as_bytes())
        );
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s"),
            input.as_bytes(),
        );
        let token = CoreIdToken::from_str(&format!("{input}.{}", b64(mac.as_ref()))).unwrap();
        assert!(verify_id_token(&oidc, &token, &Nonce::new("n-1".into())).is_err());
    }
}
