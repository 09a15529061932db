//! Dialling back ends: the one way to an internal system, and only with an [`AccessPermit`]
//! (a positive access-control decision). Plain TCP, or TLS for `https`/`tcp_tls`/`ldaps`
//! entries ([`BackendTls`]). Sessions, HTTP processing and reachability checks all dial here.

use std::time::Duration;

use portcullis_domain::access::AccessPermit;
use portcullis_proto::RefuseCode;
use tokio::net::TcpStream;

use crate::backend_tls::BackendTls;

/// How long dialling an internal system may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Why an internal system could not be reached; `code` is what the hub is told.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DialError {
    /// The refusal code for the hub.
    pub code: RefuseCode,
    /// Human-readable reason (names the internal address: for local logs).
    pub message: String,
    /// A reason the hub and the client may see (a TLS failure names no internal address).
    pub public: Option<String>,
}

/// A connection to a back end: plain TCP or TLS.
pub(crate) trait BackendIo:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> BackendIo for T {}

/// Dials the back end a permit allows and, for `https`/`tcp_tls`/`ldaps` entries, speaks TLS
/// to it ([`BackendTls`]).
pub(crate) async fn dial_backend(
    permit: &AccessPermit,
    tls: &BackendTls,
) -> Result<Box<dyn BackendIo>, DialError> {
    let tcp = dial(permit, DIAL_TIMEOUT).await?;
    if !permit.protocol().is_tls() {
        return Ok(Box::new(tcp));
    }
    let handshake = tls.connect(
        tcp,
        permit.internal_host(),
        permit.options().system_certificate,
    );
    match tokio::time::timeout(DIAL_TIMEOUT, handshake).await {
        Ok(Ok(stream)) => Ok(Box::new(stream)),
        Ok(Err(reason)) => Err(DialError {
            code: RefuseCode::HostUnreachable,
            message: reason.to_string(),
            public: Some(reason.to_string()),
        }),
        Err(_) => Err(DialError {
            code: RefuseCode::Timeout,
            message: "the TLS handshake with the back end timed out".into(),
            public: Some("the TLS handshake with the internal system timed out".into()),
        }),
    }
}

/// Connects to the internal system a permit allows, within `timeout`, with `TCP_NODELAY`.
///
/// Taking the permit (not a host and port) is the point: dialling requires a positive
/// access-control decision.
pub async fn dial(permit: &AccessPermit, timeout: Duration) -> Result<TcpStream, DialError> {
    let host = permit.internal_host();
    let port = permit.internal_port();
    let shown = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let stream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Err(_) => {
            return Err(DialError {
                code: RefuseCode::Timeout,
                message: format!("connecting to {shown} timed out after {timeout:?}"),
                public: None,
            })
        }
        Ok(Err(e)) => {
            let code = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => RefuseCode::ConnectionRefused,
                std::io::ErrorKind::TimedOut => RefuseCode::Timeout,
                _ => RefuseCode::HostUnreachable,
            };
            return Err(DialError {
                code,
                message: format!("cannot connect to {shown}: {e}"),
                public: None,
            });
        }
        Ok(Ok(s)) => s,
    };
    // Interactive protocols (SAP GUI, SSH) suffer from Nagle; failure here is harmless.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// What the hub is told about a failed dial (local logs get the internal address too).
pub(crate) fn public_reason(code: RefuseCode) -> &'static str {
    match code {
        RefuseCode::ConnectionRefused => "the internal system refused the connection",
        RefuseCode::Timeout => "connecting to the internal system timed out",
        _ => "the internal system is unreachable",
    }
}
