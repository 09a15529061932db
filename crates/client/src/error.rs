//! [`ClientError`]: every way a call to the hub can fail, by cause.

use http::StatusCode;

/// Why a call to the hub failed. The hub's own refusals ([`ClientError::Refused`]) carry its
/// stable error code, so callers decide on the code, never on the message's words.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The hub URL is not `https://host[:port][/…]`.
    #[error("hub URL must start with https:// (got {0:?})")]
    NotHttps(String),
    /// The hub URL's authority cannot be read (`why` says which part).
    #[error("bad hub URL {url:?}: {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The CA file could not be read as PEM.
    #[error("the CA file is not PEM: {0}")]
    CaPem(#[source] portcullis_transport::pki::PkiError),
    /// The CA file holds no certificate.
    #[error("no certificate in the CA file")]
    NoCaCertificate,
    /// The TLS configuration trusting the CA could not be built.
    #[error("TLS setup for the hub failed: {0}")]
    TlsConfig(#[source] portcullis_transport::tls::TlsError),
    /// The hub's host is not a valid TLS server name.
    #[error("{0:?} is not a valid server name for TLS")]
    ServerName(String),
    /// No TCP connection to the hub.
    #[error("cannot reach the hub at {authority}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed (an unknown CA, a wrong host name, a closed port …).
    #[error("TLS with the hub at {authority} failed")]
    Handshake {
        /// `host:port`.
        authority: String,
        /// The handshake error.
        #[source]
        source: std::io::Error,
    },
    /// The request could not be built (a path that is not a valid URI).
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
    /// The HTTP exchange broke off.
    #[error("HTTP exchange with the hub failed: {0}")]
    Http(#[from] hyper::Error),
    /// The answer's body could not be read (broke off, or larger than the client takes).
    #[error("reading the hub's answer: {0}")]
    Body(String),
    /// A request body could not be encoded as JSON.
    #[error("the request is not JSON: {0}")]
    Encode(#[source] serde_json::Error),
    /// A 2xx answer whose body is not the JSON the call expects.
    #[error("the hub's answer is not the expected JSON")]
    Decode(#[source] serde_json::Error),
    /// The hub refused the request with its JSON error body.
    #[error("hub refused ({status}): {message} [{code}]")]
    Refused {
        /// The HTTP status (4xx, 5xx).
        status: StatusCode,
        /// The stable machine-readable code (`not_found`, `token_expired` …).
        code: String,
        /// The human-readable message.
        message: String,
    },
    /// A non-2xx answer without the JSON error body (a proxy in between, an old hub).
    #[error("hub answered {0}")]
    Status(StatusCode),
    /// Writing a download to its destination failed.
    #[error("writing the hub's answer: {0}")]
    Write(#[source] std::io::Error),
}

impl ClientError {
    /// The HTTP status of an answer the hub refused, if that is what this is.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Refused { status, .. } | ClientError::Status(status) => Some(*status),
            _ => None,
        }
    }

    /// The hub's error code, if it refused with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}
