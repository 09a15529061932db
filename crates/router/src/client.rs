//! The client side of NI routing: connect to the first router of a route string and ask it
//! for the rest, as SAP GUI, niping and pysap do.
//!
//! A router answers a route request with `NI_PONG` (the route is up: from here on the stream
//! belongs to the target) or with an `NI_RTERR` error ([`RouteRefused`]). The same exchange
//! happens between routers when a route has several hops, so the router uses
//! [`request_route`] to forward a request to the next one.

use std::fmt;
use std::time::Duration;

use portcullis_ni::rterr::RtErrKind;
use portcullis_ni::{Message, ReturnCode, RouteRequest, RouteString, RtErr, TalkMode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::io::{read_frame, write_frame, FrameError};

/// Largest answer accepted from a router before the route is up: an `NI_RTERR` with its
/// `*ERR*` block is a few hundred bytes.
pub const MAX_ANSWER: usize = portcullis_ni::MAX_ROUTE_MESSAGE;

/// A router's refusal, decoded from its `NI_RTERR`.
#[derive(Clone, PartialEq, Eq)]
pub struct RouteRefused {
    /// The return code, e.g. −94.
    pub return_code: i32,
    /// The error text of the `*ERR*` block, or the raw text when it has no such block.
    pub text: String,
}

impl RouteRefused {
    /// Decodes an error message.
    pub fn from_rterr(err: &RtErr) -> RouteRefused {
        let text = match err.error_info() {
            Ok(info) => info.error,
            Err(_) => String::from_utf8_lossy(&err.text)
                .trim_end_matches('\0')
                .to_owned(),
        };
        RouteRefused {
            return_code: err.return_code,
            text,
        }
    }

    /// The catalogue entry of the return code, when it is one SAP documents.
    pub fn code(&self) -> Option<ReturnCode> {
        ReturnCode::from_code(self.return_code)
    }
}

/// `NIEROUT_PERM_DENIED (-94): route permission denied (…)`.
impl fmt::Display for RouteRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code() {
            Some(code) => write!(f, "{} ({})", code.name(), self.return_code)?,
            None => write!(f, "return code {}", self.return_code)?,
        }
        if !self.text.is_empty() {
            write!(f, ": {}", self.text)?;
        }
        Ok(())
    }
}

impl fmt::Debug for RouteRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a route could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The first router's address could not be resolved or reached.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port` of the first router.
        target: String,
        /// What failed.
        source: std::io::Error,
    },
    /// No answer within the deadline.
    #[error("no answer from the router within {0:?}")]
    Timeout(Duration),
    /// The route string's first hop names a service that is neither a port nor a known name.
    #[error("unknown service '{0}' on the first hop")]
    UnknownService(String),
    /// A router refused the route.
    #[error("route refused: {0}")]
    Refused(RouteRefused),
    /// The answer could not be read.
    #[error("reading the router's answer: {0}")]
    Frame(#[from] FrameError),
    /// The answer was neither `NI_PONG` nor an error.
    #[error("unexpected answer from the router: {0}")]
    Unexpected(String),
    /// Sending failed.
    #[error("sending the route request: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The return code to pass on when a router forwarding a route hits this error.
    pub fn return_code(&self) -> ReturnCode {
        match self {
            ClientError::Connect { .. } => ReturnCode::RouterConnRefused,
            ClientError::Timeout(_) => ReturnCode::Timeout,
            ClientError::UnknownService(_) => ReturnCode::RouterServiceUnknown,
            ClientError::Refused(r) => r.code().unwrap_or(ReturnCode::RouterInternal),
            ClientError::Frame(_) | ClientError::Io(_) => ReturnCode::RouterConnBroken,
            ClientError::Unexpected(_) => ReturnCode::RouterInternal,
        }
    }
}

/// Sends `request` on `stream` and waits for the answer: `Ok` on `NI_PONG`.
///
/// Version requests are not sent: a router must accept a route request as the first message.
pub async fn request_route<S>(stream: &mut S, request: &RouteRequest) -> Result<(), ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let payload = request
        .encode()
        .map_err(|e| ClientError::Unexpected(format!("cannot encode the route request: {e}")))?;
    write_frame(stream, &payload).await?;
    read_route_answer(stream).await
}

/// Reads a router's answer to a route request.
pub async fn read_route_answer<S>(stream: &mut S) -> Result<(), ClientError>
where
    S: AsyncRead + Unpin + ?Sized,
{
    let answer = read_frame(stream, MAX_ANSWER).await?;
    match Message::parse(&answer) {
        Ok(Message::Pong) => Ok(()),
        Ok(Message::RtErr(err)) if err.kind() == RtErrKind::Error => {
            Err(ClientError::Refused(RouteRefused::from_rterr(&err)))
        }
        Ok(other) => Err(ClientError::Unexpected(format!("{other:?}"))),
        Err(e) => Err(ClientError::Unexpected(e.to_string())),
    }
}

/// Asks a router for its NI version (the version request pysap sends before anything else).
pub async fn query_version<S>(stream: &mut S) -> Result<u8, ClientError>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let request = RtErr::version_request(portcullis_ni::route::NI_VERSION).encode();
    write_frame(stream, &request).await?;
    let answer = read_frame(stream, MAX_ANSWER).await?;
    match Message::parse(&answer) {
        Ok(Message::RtErr(err)) if err.kind() == RtErrKind::VersionResponse => Ok(err.ni_version),
        Ok(Message::RtErr(err)) if err.kind() == RtErrKind::Error => {
            Err(ClientError::Refused(RouteRefused::from_rterr(&err)))
        }
        Ok(other) => Err(ClientError::Unexpected(format!("{other:?}"))),
        Err(e) => Err(ClientError::Unexpected(e.to_string())),
    }
}

/// Opens a TCP connection to `host:service` within `timeout`.
pub async fn connect_tcp(
    host: &str,
    service: &str,
    timeout: Duration,
) -> Result<TcpStream, ClientError> {
    let port = portcullis_ni::service::resolve_service(service)
        .ok_or_else(|| ClientError::UnknownService(service.to_owned()))?;
    let target = format!("{host}:{port}");
    let connect = async {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        TcpStream::connect((host, port)).await
    };
    match tokio::time::timeout(timeout, connect).await {
        Err(_) => Err(ClientError::Timeout(timeout)),
        Ok(Err(source)) => Err(ClientError::Connect { target, source }),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
    }
}

/// Connects through `route`: TCP to its first hop, then the route request for the rest.
/// The returned stream carries the target's bytes (NI frames in [`TalkMode::Msg`], raw bytes
/// in [`TalkMode::Raw`]).
pub async fn connect(
    route: &RouteString,
    mode: TalkMode,
    timeout: Duration,
) -> Result<TcpStream, ClientError> {
    let first = route
        .hops()
        .first()
        .ok_or_else(|| ClientError::Unexpected("empty route".into()))?;
    let mut stream = connect_tcp(&first.host, &first.service, timeout).await?;
    let request = route.to_request(mode, portcullis_ni::route::NI_VERSION);
    match tokio::time::timeout(timeout, request_route(&mut stream, &request)).await {
        Err(_) => Err(ClientError::Timeout(timeout)),
        Ok(result) => result.map(|()| stream),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_ni::{ErrorContext, ErrorInfo};

    #[test]
    fn a_refusal_reads_the_error_text_and_names_the_code() {
        let info = ErrorInfo::for_router(
            ReturnCode::PermDenied,
            "route permission denied (10.0.0.1 to 10.0.0.2, 3200)",
            40,
            "Sun Nov 22 12:00:00 2026",
            &ErrorContext::default(),
            true,
        );
        let refused = RouteRefused::from_rterr(&RtErr::error(40, ReturnCode::PermDenied, &info));
        assert_eq!(refused.return_code, -94);
        assert_eq!(
            refused.to_string(),
            "NIEROUT_PERM_DENIED (-94): route permission denied (10.0.0.1 to 10.0.0.2, 3200)"
        );
    }

    #[tokio::test]
    async fn pong_is_success_and_an_error_is_a_refusal() {
        let (mut client, mut router) = tokio::io::duplex(4096);
        write_frame(&mut router, portcullis_ni::frame::NI_PONG)
            .await
            .unwrap();
        read_route_answer(&mut client).await.unwrap();

        let info = ErrorInfo::for_router(
            ReturnCode::Overflow,
            "too many clients",
            40,
            "",
            &ErrorContext::default(),
            true,
        );
        write_frame(
            &mut router,
            &RtErr::error(40, ReturnCode::Overflow, &info).encode(),
        )
        .await
        .unwrap();
        let err = read_route_answer(&mut client).await.unwrap_err();
        assert_eq!(err.return_code(), ReturnCode::Overflow);

        write_frame(&mut router, b"hello").await.unwrap();
        let err = read_route_answer(&mut client).await.unwrap_err();
        assert!(matches!(err, ClientError::Unexpected(_)), "{err:?}");
    }
}
