//! The start of every NI connection, shared by the router and the hub's NI entry: read until
//! the first real request, answering version requests and pings on the way, and the
//! `NI_RTERR` errors both send.

use portcullis_ni::frame::NI_PONG;
use portcullis_ni::route::NI_VERSION;
use portcullis_ni::rterr::{
    format_error_time, ErrorContext, ErrorInfo, ReturnCode, RtErr, RtErrKind,
};
use portcullis_ni::{AdminRequest, Message, RouteRequest, MAX_ROUTE_MESSAGE};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::io::{read_frame, write_frame, FrameError};

/// Version requests and pings accepted before the first request: pysap sends one version
/// request; more than a few is a peer wasting the server's time.
pub const MAX_CONTROL_MESSAGES: usize = 8;

/// The first real request of a connection.
#[derive(Debug)]
pub enum FirstRequest {
    /// `NI_ROUTE`.
    Route(RouteRequest),
    /// `ROUTER_ADM`.
    Admin(AdminRequest),
}

/// Why no request came.
#[derive(Debug)]
pub enum Rejected {
    /// The peer sent something to answer with this error.
    Answer {
        /// The return code.
        code: ReturnCode,
        /// The error text.
        text: String,
    },
    /// The peer left or the socket failed: nothing to answer.
    Gone,
}

/// Reads until a route or admin request (the caller bounds the time). `on_message` sees
/// every message, e.g. for a trace.
pub async fn read_first_request<S>(
    stream: &mut S,
    mut on_message: impl FnMut(&Message),
) -> Result<FirstRequest, Rejected>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let answer = |code, text: String| Rejected::Answer { code, text };
    for _ in 0..=MAX_CONTROL_MESSAGES {
        let payload = match read_frame(stream, MAX_ROUTE_MESSAGE).await {
            Ok(p) => p,
            Err(FrameError::Protocol(e)) => {
                return Err(answer(e.return_code_kind(), e.to_string()))
            }
            Err(_) => return Err(Rejected::Gone),
        };
        let message =
            Message::parse(&payload).map_err(|e| answer(e.return_code_kind(), e.to_string()))?;
        on_message(&message);
        let reply = match message {
            Message::Route(request) => return Ok(FirstRequest::Route(request)),
            Message::Admin(request) => return Ok(FirstRequest::Admin(request)),
            Message::Ping => NI_PONG.to_vec(),
            Message::RtErr(err) => match err.kind() {
                RtErrKind::VersionRequest => RtErr::version_response(NI_VERSION).encode(),
                kind => {
                    return Err(answer(
                        ReturnCode::Version,
                        format!("unknown opcode {} received ({kind:?})", err.opcode),
                    ))
                }
            },
            Message::Pong | Message::Other(_) => {
                return Err(answer(
                    ReturnCode::RouterInternal,
                    "expected a route request".into(),
                ))
            }
        };
        if write_frame(stream, &reply).await.is_err() {
            return Err(Rejected::Gone);
        }
    }
    Err(answer(
        ReturnCode::RouterInternal,
        "too many control messages before the route request".into(),
    ))
}

/// An `NI_RTERR` error payload. With `hide_detail`, release, module, detail and location
/// stay empty (see [`ErrorInfo::for_router`]); `host_name` names the sender in the location.
pub fn error_payload(
    code: ReturnCode,
    text: &str,
    detail: &str,
    host_name: &str,
    hide_detail: bool,
) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let context = ErrorContext {
        release: format!("Portcullis {}", env!("CARGO_PKG_VERSION")),
        module: "portcullis-router".into(),
        line: String::new(),
        detail: detail.to_owned(),
        system_call: String::new(),
        location: format!("Portcullis {} on '{host_name}'", env!("CARGO_PKG_VERSION")),
    };
    let info = ErrorInfo::for_router(
        code,
        text,
        NI_VERSION,
        format_error_time(i64::try_from(now).unwrap_or(i64::MAX)),
        &context,
        hide_detail,
    );
    RtErr::error(NI_VERSION, code, &info).encode()
}

/// A message for a trace, without secrets.
pub fn describe(message: &Message) -> String {
    match message {
        Message::Route(r) => format!(
            "NI_ROUTE mode {:?}, {} entries, next hop {:?}",
            r.talk_mode,
            r.hops.len(),
            r.next_hop().map(|h| (&h.host, &h.service))
        ),
        Message::Admin(a) => format!("ROUTER_ADM command {}", a.command.code()),
        Message::RtErr(e) => format!("NI_RTERR opcode {} rc {}", e.opcode, e.return_code),
        Message::Ping => "NI_PING".into(),
        Message::Pong => "NI_PONG".into(),
        Message::Other(p) => format!("{} unknown bytes", p.len()),
    }
}
