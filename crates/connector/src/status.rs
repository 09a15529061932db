//! What the agent publishes about itself ([`Status`] on a `watch` channel): a leaf, so the
//! tasks that update it need not import the agent loop that owns the channel.

use portcullis_proto::VersionWarning;

/// Where the agent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Dialling the hub, or waiting to retry.
    Connecting,
    /// A tunnel is up.
    Connected,
    /// The hub refused the last attempt. With a fatal code `run` has returned; otherwise
    /// the agent retries after back-off.
    Rejected,
    /// `run` has returned (shutdown or a fatal error other than a rejection).
    Stopped,
}

/// What the agent publishes about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Where the agent is.
    pub state: State,
    /// The hub's version, from the last `Welcome` (kept after the tunnel drops).
    pub hub_version: Option<String>,
    /// The hub's sunset warning, from the last `Welcome`.
    pub warning: Option<VersionWarning>,
    /// Generation of the access control list in force: 0 for the list the agent started
    /// with, +1 per reload that changed it. Raised only after the hub was sent the new
    /// inventory when a tunnel is up.
    pub acl_generation: u64,
    /// Successful tunnel establishments (handshakes that got a `Welcome`) since start.
    pub connects: u64,
    /// The most recent reason an attempt failed or a tunnel ended. Not cleared by a
    /// successful connection; look at `state` for the present.
    pub last_error: Option<String>,
    /// Configuration changes refused as invalid since start (the previous list stayed).
    pub config_rejections: u64,
    /// Window sets and updates from the hub applied since start (tests wait on it).
    pub windows_applied: u64,
    /// `[backend_tls]` changes put in force since start (trust-store edits among them).
    pub backend_tls_reloads: u64,
    /// Why the audit log cannot be written now (`None` while it can). While it is set, new
    /// sessions are refused.
    pub audit_error: Option<String>,
    /// The hub's tunnel address dialled (configured or enrolled), known once the connector
    /// has loaded its identity.
    pub hub_addr: Option<String>,
    /// This connector's location ID (from enrolment).
    pub location: Option<String>,
    /// When the client certificate expires, unix ms.
    pub certificate_not_after_ms: Option<i64>,
    /// Since when the present tunnel is up, unix ms (`None` while not connected).
    pub connected_since_ms: Option<i64>,
    /// The round trip of the last heartbeat the hub acknowledged, ms.
    pub heartbeat_rtt_ms: Option<u64>,
    /// Where the admin UI and REST API listen (`None` while off or not yet bound).
    pub admin_addr: Option<std::net::SocketAddr>,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            state: State::Connecting,
            hub_version: None,
            warning: None,
            acl_generation: 0,
            connects: 0,
            last_error: None,
            config_rejections: 0,
            windows_applied: 0,
            backend_tls_reloads: 0,
            audit_error: None,
            hub_addr: None,
            location: None,
            certificate_not_after_ms: None,
            connected_since_ms: None,
            heartbeat_rtt_ms: None,
            admin_addr: None,
        }
    }
}
