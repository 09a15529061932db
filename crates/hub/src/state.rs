//! What every listener of the hub shares.

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::Auditor;
use crate::config::HubConfig;
use crate::pki_state::HubPki;
use crate::registry::Registry;

/// Shared hub state.
#[derive(Debug)]
pub struct HubState {
    /// Validated configuration.
    pub config: HubConfig,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// CA and server certificate.
    pub pki: HubPki,
    /// Live tunnels.
    pub registry: Registry,
    /// Audit writer.
    pub audit: Auditor,
    /// Prometheus metrics (`/metrics` on `[listen] metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Recently verified API tokens.
    pub tokens: crate::auth::TokenCache,
    /// Failed portal sign-ins, per user and per address.
    pub signin_throttle: crate::signin::throttle::SignInThrottle,
    /// The sessions relaying now.
    pub live: crate::live::LiveSessions,
    /// The operator's certificates, when `[tls]` names them.
    pub operator_certs: crate::operator_tls::OperatorCerts,
    /// Sign-ins waiting for their second factor.
    pub pending_signins: crate::signin::pending::PendingSignIns,
    /// OpenID Connect sign-ins: flows waiting for their callback, providers' documents.
    pub oidc: crate::signin::oidc::Oidc,
    /// Seals secrets the hub must read back (TOTP secrets) before they reach the store.
    pub sealer: crate::signin::sealer::Sealer,
    /// Recent target resolutions (service connection, window or grant).
    pub resolved: crate::resolve::cache::ResolveCache,
    /// The latest health report of each connector.
    pub health: crate::health::Reports,
    /// Window pushes and the window scheduler's wake-up.
    pub windows: crate::windows::hub::WindowHub,
    /// The tunnel address told to connectors at enrolment.
    pub advertised_tunnel: String,
    /// The addresses the hub bound (what the portal tells people to connect to).
    pub addrs: BoundAddrs,
    /// The web entry's origins (`None`: the web entry is off).
    pub web_origins: Option<crate::web::WebOrigins>,
    /// Tickets and browser sessions of the web entry.
    pub web: crate::web::WebSessions,
    /// Cancelled when the hub stops accepting new connections (first phase of shutdown).
    pub accept_stop: CancellationToken,
    /// Cancelled when the hub cuts everything still running (second phase); tunnels' cut
    /// tokens are its children.
    pub shutdown: CancellationToken,
    /// Client connections and sessions in flight, drained (with a grace period) at shutdown.
    pub tasks: TaskTracker,
    /// Tunnel tasks: they live until the hard stop, so shutdown does not wait on them first.
    pub tunnels: TaskTracker,
}

impl HubState {
    /// The host people and clients name to reach `bound`: its IP, or, for a wildcard bind
    /// address, the first name of the server certificate (what clients verify).
    pub fn public_host(&self, bound: SocketAddr) -> String {
        if bound.ip().is_unspecified() {
            self.config.server_names[0].clone()
        } else {
            bound.ip().to_string()
        }
    }

    /// The API's base URL as clients use it, e.g. `https://127.0.0.1:8443`.
    pub fn api_url(&self) -> String {
        let host = self.public_host(self.addrs.api);
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        format!("https://{host}:{}", self.addrs.api.port())
    }

    /// The NI entry as a route string names it (`host`, `port`); `None` when it is off.
    pub fn ni_entry(&self) -> Option<(String, u16)> {
        self.addrs.ni.map(|a| (self.public_host(a), a.port()))
    }
}

/// Addresses the hub actually bound (port 0 resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundAddrs {
    /// API over HTTPS.
    pub api: SocketAddr,
    /// Tunnel endpoint.
    pub tunnel: SocketAddr,
    /// SOCKS5 entry.
    pub socks5: Option<SocketAddr>,
    /// HTTP proxy entry.
    pub http_proxy: Option<SocketAddr>,
    /// NI (SAProuter protocol) entry.
    pub ni: Option<SocketAddr>,
    /// Web entry (browsers).
    pub web: Option<SocketAddr>,
    /// Metrics and health (plain HTTP).
    pub metrics: Option<SocketAddr>,
}

/// Shared state handle.
pub type State = Arc<HubState>;
