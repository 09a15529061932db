//! What a client asks a session for ([`Target`]) and why a session is refused
//! ([`SessionError`]): the vocabulary the entries, the resolver and the session share, in a
//! module of its own that depends on none of them.

use portcullis_proto::RefuseCode;
use portcullis_transport::tunnel::TunnelError;

/// What the client asked to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Connector location ID.
    pub location: String,
    /// Virtual host.
    pub host: String,
    /// Virtual port.
    pub port: u16,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}/[{}]:{}", self.location, self.host, self.port)
        } else {
            write!(f, "{}/{}:{}", self.location, self.host, self.port)
        }
    }
}

/// Why a session could not be opened. Each maps to an entry point's own reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The principal may not open sessions (e.g. a vendor admin token, which has no company).
    #[error("this token may not open sessions: {0}")]
    NotPermitted(&'static str),
    /// The location has no live tunnel.
    #[error("connector {0:?} is not connected")]
    ConnectorOffline(String),
    /// The connector refused.
    #[error("refused by connector ({code:?}): {message}")]
    Refused {
        /// Reason code.
        code: RefuseCode,
        /// Connector's message.
        message: String,
    },
    /// The tunnel failed while opening.
    #[error("tunnel: {0}")]
    Tunnel(#[from] TunnelError),
    /// The token already has as many live sessions as the hub allows.
    #[error("this token has {0} live sessions, the most allowed")]
    TooManySessions(usize),
    /// The hub's key refused: unknown service connection, no grant, not named, wrong port.
    #[error("{0}")]
    Denied(String),
    /// The service connection has no open window now.
    #[error("the service connection has no open window; the customer opens one")]
    NoWindow,
    /// The hub could not decide (its store failed); nothing was opened.
    #[error("the hub cannot check this request now; try again")]
    Unavailable,
}

impl SessionError {
    /// Stable code for API errors and audit records.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::NotPermitted(_) => "not_permitted",
            SessionError::ConnectorOffline(_) => "connector_offline",
            SessionError::Refused { code, .. } => match code {
                RefuseCode::NotAllowed => "not_allowed",
                RefuseCode::ConnectionRefused => "connection_refused",
                RefuseCode::HostUnreachable => "host_unreachable",
                RefuseCode::Timeout => "backend_timeout",
                RefuseCode::WindowClosed => "window_closed_at_connector",
                _ => "unavailable",
            },
            SessionError::Tunnel(TunnelError::Timeout(_)) => "tunnel_timeout",
            SessionError::Tunnel(_) => "tunnel_error",
            SessionError::TooManySessions(_) => "too_many_sessions",
            SessionError::Denied(_) => "denied",
            SessionError::NoWindow => "no_open_window",
            SessionError::Unavailable => "hub_unavailable",
        }
    }

    /// Text safe to show the client: no transport internals (those go to the log).
    pub fn client_message(&self) -> String {
        match self {
            SessionError::Tunnel(TunnelError::Timeout(_)) => {
                "the connector did not answer in time".into()
            }
            SessionError::Tunnel(_) => "the tunnel to the connector failed".into(),
            other => other.to_string(),
        }
    }
}
