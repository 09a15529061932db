//! Signing in through a company's own identity provider (OpenID Connect): the protocol side.
//! What a sign-in decides (which company, which user, the audit trail, the session) is
//! [`crate::ops::oidc_signin`]; the settings are [`crate::ops::oidc`].
//!
//! The flow is the authorization code flow with PKCE (S256), `state` and `nonce`, for a
//! confidential client (the hub holds the client secret). The browser is bound to its flow
//! by a cookie of its own ([`flows`]).
//!
//! # Layout
//! - this file: [`Oidc`], what the hub keeps (flows, providers).
//! - [`flows`]: the flows waiting for the provider's answer (single use, short-lived, bound to
//!   the browser).
//! - [`provider`]: discovery with keys (cached), the authorization URL, the code exchange and
//!   the ID token's checks, through the `openidconnect` crate.
//! - [`claims`]: from verified claims to the one user they name.
//! - [`http`]: the HTTPS client (hyper over rustls: system roots plus the company's CA, a
//!   deadline and a size cap).

pub mod claims;
pub mod flows;
pub mod http;
pub mod provider;

use subtle::ConstantTimeEq;

/// What the hub keeps for OpenID Connect sign-ins.
#[derive(Debug, Default)]
pub struct Oidc {
    /// Flows waiting for their callback.
    pub flows: flows::PendingFlows,
    /// Providers' discovery documents and keys.
    pub providers: provider::Providers,
}

/// Whether `a` is `b`, in constant time.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The path of the callback the provider redirects browsers to (the redirect URI is the
/// hub's API URL followed by it).
pub const CALLBACK_PATH: &str = "/signin/oidc/callback";
