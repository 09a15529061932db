//! One connection to the router, from its first byte to its end (sap-reference §1.5.3).
//!
//! 1. Admission: the connection takes a place in the client table, or is answered −100.
//! 2. TLS: a first byte of `0x16` starts a TLS hop (see [`crate::tls`]).
//! 3. The first request, within the `-W` deadline: version requests and `NI_PING`s are
//!    answered and reading goes on; a route request goes to [`crate::route`], an
//!    administration request to [`crate::admin`]; anything else is answered with the error
//!    its decoding produced and the connection closed. No route in time: −5.

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_ni::rterr::ReturnCode;
use portcullis_ni::MAX_ROUTE_MESSAGE;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::clients::{Slot, Stopper};
use crate::handshake::{self, FirstRequest, Rejected};
use crate::io::{read_frame, write_frame};
use crate::server::Shared;
use crate::tls::TLS_HANDSHAKE;

/// A byte stream a route runs over: plain TCP or a TLS hop.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A boxed [`Stream`].
pub(crate) type BoxStream = Box<dyn Stream>;

/// A connection as the route and admin handlers see it.
pub(crate) struct Conn {
    pub(crate) stream: BoxStream,
    pub(crate) peer: SocketAddr,
    pub(crate) local: SocketAddr,
    /// The subject of the client certificate of a TLS hop.
    pub(crate) tls_peer: Option<String>,
    pub(crate) slot: Slot,
}

impl Conn {
    /// Sends an error and ends the connection.
    pub(crate) async fn refuse(mut self, shared: &Shared, code: ReturnCode, text: &str) {
        send_error(&mut self.stream, shared, code, text, "").await;
    }

    /// The peer's address as the table and the log see it (IPv4-mapped shown as IPv4).
    pub(crate) fn peer_ip(&self) -> std::net::IpAddr {
        self.peer.ip().to_canonical()
    }

    /// `C<id>/-` handle text for the log.
    pub(crate) fn handle(&self) -> String {
        format!("C{}/-", self.slot.id())
    }
}

/// Writes an error message and shuts the stream down, within the `-W` timeout.
pub(crate) async fn send_error<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    shared: &Shared,
    code: ReturnCode,
    text: &str,
    detail: &str,
) {
    let message = shared.error_message(code, text, detail);
    let send = async {
        write_frame(stream, &message).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(shared.config.timeout, send).await;
}

/// Serves one accepted connection.
pub(crate) async fn handle(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let deadline = Instant::now() + shared.config.timeout;
    let local = tcp
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let address = peer.ip().to_canonical().to_string();
    let Some(slot) = shared.clients.admit(&address, Stopper::default()) else {
        overflow(&shared, tcp, peer, deadline).await;
        return;
    };
    let (stream, tls_peer) = match detect_tls(&shared, tcp, deadline).await {
        Ok(pair) => pair,
        Err(why) => {
            shared
                .trace
                .write(2, format!("{peer}: connection dropped: {why}"));
            return;
        }
    };
    let mut conn = Conn {
        stream,
        peer,
        local,
        tls_peer,
        slot,
    };
    let peer_text = format!("host {}/{}", conn.peer_ip(), peer.port());
    shared.log_line("CONNECT FROM", &format!("{} {peer_text}", conn.handle()));
    let first = tokio::select! {
        first = timeout_at(deadline, first_request(&shared, &mut conn.stream)) => first,
        _ = conn.slot.stopper().stopped() => {
            conn.refuse(&shared, ReturnCode::Canceled, "connection cancelled by administrator").await;
            return;
        }
    };
    match first {
        Err(_elapsed) => {
            let secs = shared.config.timeout.as_secs_f64();
            shared
                .trace
                .write(2, format!("{peer}: no route received within {secs}s"));
            let detail = format!("no route received within {secs}s (CONNECTED)");
            let handle = conn.handle();
            send_error(
                &mut conn.stream,
                &shared,
                ReturnCode::Timeout,
                "connection timed out",
                &detail,
            )
            .await;
            shared.log_line("DISCONNECT", &format!("{handle} {peer_text}"));
        }
        Ok(Err(Some((code, text)))) => {
            shared.trace.write(2, format!("{peer}: refused: {text}"));
            let handle = conn.handle();
            conn.refuse(&shared, code, &text).await;
            shared.log_line("DISCONNECT", &format!("{handle} {peer_text}"));
        }
        Ok(Err(None)) => {
            shared.log_line("DISCONNECT", &format!("{} {peer_text}", conn.handle()));
        }
        Ok(Ok(FirstRequest::Admin(request))) => {
            let handle = conn.handle();
            crate::admin::handle(&shared, conn, request).await;
            shared.log_line("DISCONNECT", &format!("{handle} {peer_text}"));
        }
        Ok(Ok(FirstRequest::Route(request))) => {
            crate::route::handle(&shared, conn, request).await;
        }
    }
}

/// Answers a connection the table has no room for: reads its first message (so the answer
/// is not lost to a reset), sends −100, closes. At most a few at a time.
async fn overflow(shared: &Shared, tcp: TcpStream, peer: SocketAddr, deadline: Instant) {
    let Ok(_permit) = shared.overflow().clone().try_acquire_owned() else {
        return;
    };
    shared
        .trace
        .write(1, format!("{peer}: refused, client table full"));
    let mut stream: BoxStream = Box::new(tcp);
    if let Ok(Ok(_)) = timeout_at(deadline, read_frame(&mut stream, MAX_ROUTE_MESSAGE)).await {
        send_error(
            &mut stream,
            shared,
            ReturnCode::Overflow,
            "max. number of clients reached",
            "",
        )
        .await;
    }
}

/// Starts TLS when the first byte is a TLS handshake record.
async fn detect_tls(
    shared: &Shared,
    tcp: TcpStream,
    deadline: Instant,
) -> Result<(BoxStream, Option<String>), String> {
    let mut first = [0u8; 1];
    let peeked = timeout_at(deadline, tcp.peek(&mut first)).await;
    match peeked {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {}
        // Plain NI (or an early close, which the frame reader reports).
        Ok(Ok(_)) | Err(_) => return Ok((Box::new(tcp), None)),
        Ok(Err(e)) => return Err(e.to_string()),
    }
    let Some(tls) = &shared.tls else {
        return Err("TLS handshake received, but this router has no TLS identity".into());
    };
    match timeout_at(deadline, tls.accept(tcp)).await {
        Ok(Ok((stream, subject))) => Ok((Box::new(stream), subject)),
        Ok(Err(e)) => Err(format!("TLS handshake failed: {e}")),
        Err(_) => Err("TLS handshake timed out".into()),
    }
}

/// [`handshake::read_first_request`] with this router's trace.
async fn first_request(
    shared: &Shared,
    stream: &mut BoxStream,
) -> Result<FirstRequest, Option<(ReturnCode, String)>> {
    handshake::read_first_request(stream, |message| {
        shared
            .trace
            .write(3, format!("received {}", handshake::describe(message)));
    })
    .await
    .map_err(|rejected| match rejected {
        Rejected::Answer { code, text } => Some((code, text)),
        Rejected::Gone => None,
    })
}
