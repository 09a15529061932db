//! The tunnel between a connector and the hub: handshake, then an HTTP/2 multiplexer with the
//! roles reversed.
//!
//! The connector dials out (TLS 1.3, mutual auth) and sends the preface and `Hello`; the hub
//! answers with its preface and `Welcome` or `Reject`. After a `Welcome` the connector runs the
//! HTTP/2 *server* side on the connection it dialled and the hub the *client* side, so the hub
//! opens streams towards the customer network without the connector accepting any inbound
//! connection. The hub first opens one control stream (`/control`: inventory, heartbeats,
//! goodbye), then one stream per session (`/stream`), whose first frame each way is
//! `StreamOpen` / `StreamReply`. See `docs/adr/0001-multiplexer.md` for why h2.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::{server::SendResponse, RecvStream};
use http::{Method, Request, Response};
use portcullis_proto::frame::{decode_buf, encode_to_vec};
use portcullis_proto::{
    DecodeError, Hello, Message, OpenResult, Reject, StreamOpen, StreamReply, Welcome,
    MAX_FRAME_LEN, WIRE_VERSION,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::framed::{read_message, read_preface, write_preface_and};
use crate::h2stream::H2Stream;

/// Path of the control stream.
pub const CONTROL_PATH: &str = "/control";
/// Path of a session stream.
pub const STREAM_PATH: &str = "/stream";

/// Largest header block either side accepts: our requests carry a method, a path and nothing
/// else, so anything larger is an attack on memory.
pub const MAX_HEADER_LIST: u32 = 16 * 1024;

/// Multiplexer tuning. The defaults favour bulk throughput with bounded memory per stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuxSettings {
    /// Receive window per stream: the most a slow reader can leave buffered.
    pub stream_window: u32,
    /// Receive window for the whole connection.
    pub connection_window: u32,
    /// Largest HTTP/2 frame accepted, which is the most of one stream written before another
    /// stream's frame can follow it.
    pub max_frame_size: u32,
    /// Most concurrent streams the connector accepts.
    pub max_concurrent_streams: u32,
    /// Most bytes h2 buffers for sending on one stream: the staging area between a session and
    /// the socket. It does not bound what is in flight (the peer's window does), so it can be
    /// small; a large one lets a bulk stream queue far ahead of an interactive one.
    pub max_send_buffer: usize,
}

impl Default for MuxSettings {
    fn default() -> Self {
        MuxSettings {
            stream_window: 1 << 20,
            connection_window: 16 << 20,
            // 32 KiB frames and a 128 KiB send buffer: measured against 256 KiB and 1 MiB, they
            // halve an interactive stream's latency next to a bulk one and raise bulk
            // throughput (docs/benchmarks.md, "What each change bought").
            max_frame_size: 32 << 10,
            max_concurrent_streams: 16_384,
            max_send_buffer: 128 << 10,
        }
    }
}

/// Smallest per-stream receive window a configuration may ask for, KiB.
pub const MIN_STREAM_WINDOW_KIB: u32 = 64;
/// Largest per-stream receive window, KiB (the connection window: one stream may use it all).
pub const MAX_STREAM_WINDOW_KIB: u32 = 16 * 1024;

impl MuxSettings {
    /// The defaults with a per-stream receive window of `kib` KiB, which sets what one stream
    /// may have in flight towards this side: larger carries more per stream over a long round
    /// trip (1 MiB is about 160 Mbit/s per 50 ms), smaller keeps less of a bulk stream queued
    /// ahead of an interactive one (`docs/benchmarks.md`, head-of-line). Refused outside
    /// [`MIN_STREAM_WINDOW_KIB`]`..=`[`MAX_STREAM_WINDOW_KIB`], with the reason.
    pub fn with_stream_window_kib(kib: u32) -> Result<MuxSettings, String> {
        if !(MIN_STREAM_WINDOW_KIB..=MAX_STREAM_WINDOW_KIB).contains(&kib) {
            return Err(format!(
                "must be {MIN_STREAM_WINDOW_KIB}..={MAX_STREAM_WINDOW_KIB} (KiB), not {kib}"
            ));
        }
        Ok(MuxSettings {
            stream_window: kib * 1024,
            ..MuxSettings::default()
        })
    }
}

/// Why a tunnel or one of its streams failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TunnelError {
    /// The socket failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection or stream.
    #[error("closed by peer")]
    Closed,
    /// The peer sent bytes that are not a valid frame.
    #[error("protocol: {0}")]
    Decode(#[from] DecodeError),
    /// The multiplexer failed.
    #[error("multiplexer: {0}")]
    H2(#[from] h2::Error),
    /// The hub refused the connector; the reason is in the message.
    #[error("refused by hub ({:?}): {}", .0.code, .0.message)]
    Rejected(Reject),
    /// The peer sent a valid message at the wrong time.
    #[error("expected {expected}, got {got}")]
    Unexpected {
        /// What was expected.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// A phase did not finish before its deadline.
    #[error("timed out during {0}")]
    Timeout(&'static str),
    /// The peer speaks a wire version this build does not.
    #[error("peer speaks wire version {0}, this build speaks {WIRE_VERSION}")]
    WireVersion(u16),
}

impl TunnelError {
    pub(crate) fn eof_is_closed(e: std::io::Error) -> TunnelError {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            TunnelError::Closed
        } else {
            TunnelError::Io(e)
        }
    }
}

async fn within<T>(
    d: Duration,
    phase: &'static str,
    f: impl std::future::Future<Output = Result<T, TunnelError>>,
) -> Result<T, TunnelError> {
    tokio::time::timeout(d, f)
        .await
        .map_err(|_| TunnelError::Timeout(phase))?
}

// ---------------------------------------------------------------------------------------------
// Connector side

/// The connector's half after a successful handshake: accepts the hub's streams.
#[derive(Debug)]
pub struct ConnectorMux<IO> {
    conn: h2::server::Connection<IO, Bytes>,
}

/// Runs the connector's handshake on a fresh (TLS) connection and starts the multiplexer.
pub async fn connector_handshake<IO>(
    mut io: IO,
    hello: Hello,
    settings: &MuxSettings,
    deadline: Duration,
) -> Result<(Welcome, ConnectorMux<IO>), TunnelError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    within(deadline, "handshake", async {
        write_preface_and(&mut io, &Message::Hello(hello)).await?;
        let preface = read_preface(&mut io).await?;
        let welcome = match read_message(&mut io).await? {
            Message::Welcome(w) => w,
            Message::Reject(r) => return Err(TunnelError::Rejected(r)),
            other => {
                return Err(TunnelError::Unexpected {
                    expected: "welcome",
                    got: other.name(),
                })
            }
        };
        if preface.wire_version != WIRE_VERSION {
            return Err(TunnelError::WireVersion(preface.wire_version));
        }
        let conn = h2::server::Builder::new()
            .max_header_list_size(MAX_HEADER_LIST)
            .initial_window_size(settings.stream_window)
            .initial_connection_window_size(settings.connection_window)
            .max_frame_size(settings.max_frame_size)
            .max_concurrent_streams(settings.max_concurrent_streams)
            .max_send_buffer_size(settings.max_send_buffer)
            .handshake(io)
            .await?;
        Ok((welcome, ConnectorMux { conn }))
    })
    .await
}

/// A stream the hub opened.
#[derive(Debug)]
pub enum Incoming {
    /// The control stream (already answered).
    Control(H2Stream),
    /// A session stream; read its `StreamOpen` next.
    Stream(IncomingStream),
}

impl<IO: AsyncRead + AsyncWrite + Unpin> ConnectorMux<IO> {
    /// Waits for the next stream. This also drives the connection's I/O, so call it in a loop
    /// for as long as the tunnel should live. `None` when the hub closed the tunnel.
    pub async fn accept(&mut self) -> Option<Result<Incoming, TunnelError>> {
        let (req, mut respond) = match self.conn.accept().await? {
            Ok(pair) => pair,
            Err(e) => return Some(Err(e.into())),
        };
        let (parts, recv) = req.into_parts();
        if parts.uri.path() == CONTROL_PATH {
            return Some(
                respond
                    .send_response(Response::new(()), false)
                    .map(|send| Incoming::Control(H2Stream::new(send, recv, Bytes::new())))
                    .map_err(TunnelError::from),
            );
        }
        if parts.uri.path() != STREAM_PATH {
            respond.send_reset(h2::Reason::REFUSED_STREAM);
            return Some(Err(TunnelError::Unexpected {
                expected: "a /control or /stream request",
                got: "another path",
            }));
        }
        Some(Ok(Incoming::Stream(IncomingStream { recv, respond })))
    }

    /// Starts a graceful close: no new streams, existing ones finish.
    pub fn graceful_shutdown(&mut self) {
        self.conn.graceful_shutdown();
    }
}

/// A session stream whose `StreamOpen` has not been read yet.
#[derive(Debug)]
pub struct IncomingStream {
    recv: RecvStream,
    respond: SendResponse<Bytes>,
}

impl IncomingStream {
    /// Reads the `StreamOpen` (with a deadline).
    pub async fn read_open(mut self, deadline: Duration) -> Result<PendingStream, TunnelError> {
        let res = within(deadline, "stream open", read_first(&mut self.recv)).await;
        let (msg, leftover) = match res {
            Ok(v) => v,
            Err(e) => {
                self.respond.send_reset(h2::Reason::PROTOCOL_ERROR);
                return Err(e);
            }
        };
        match msg {
            Message::StreamOpen(open) => Ok(PendingStream {
                open,
                recv: self.recv,
                respond: self.respond,
                leftover,
            }),
            other => {
                self.respond.send_reset(h2::Reason::PROTOCOL_ERROR);
                Err(TunnelError::Unexpected {
                    expected: "stream_open",
                    got: other.name(),
                })
            }
        }
    }
}

/// A stream whose `StreamOpen` was read; accept or refuse it.
#[derive(Debug)]
pub struct PendingStream {
    /// What the hub asks for.
    pub open: StreamOpen,
    recv: RecvStream,
    respond: SendResponse<Bytes>,
    leftover: Bytes,
}

impl PendingStream {
    /// Answers `Connected` and returns the stream for relaying.
    pub fn accept(mut self) -> Result<H2Stream, TunnelError> {
        let mut send = self.respond.send_response(Response::new(()), false)?;
        let reply = Message::StreamReply(StreamReply {
            session_id: self.open.session_id.clone(),
            result: OpenResult::Connected,
        });
        send.send_data(Bytes::from(encode_to_vec(&reply)), false)?;
        Ok(H2Stream::new(send, self.recv, self.leftover))
    }

    /// Answers with a refusal and ends the stream.
    pub fn refuse(mut self, result: OpenResult) -> Result<(), TunnelError> {
        let mut send = self.respond.send_response(Response::new(()), false)?;
        let reply = Message::StreamReply(StreamReply {
            session_id: self.open.session_id.clone(),
            result,
        });
        send.send_data(Bytes::from(encode_to_vec(&reply)), true)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Hub side

/// Reads the connector's preface and `Hello`. A connector with another wire version gets a
/// `Reject` in version 1 frames before the error is returned.
pub async fn hub_read_hello<IO>(io: &mut IO, deadline: Duration) -> Result<Hello, TunnelError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    within(deadline, "hello", async {
        let preface = read_preface(io).await?;
        if preface.wire_version != WIRE_VERSION {
            let reject = Reject {
                code: portcullis_proto::RejectCode::WireVersionUnsupported,
                message: format!(
                    "this hub speaks wire version {WIRE_VERSION}, not {}",
                    preface.wire_version
                ),
                minimum_version: None,
            };
            let _ = write_preface_and(io, &Message::Reject(reject)).await;
            return Err(TunnelError::WireVersion(preface.wire_version));
        }
        match read_message(io).await? {
            Message::Hello(h) => Ok(h),
            other => Err(TunnelError::Unexpected {
                expected: "hello",
                got: other.name(),
            }),
        }
    })
    .await
}

/// Sends a `Reject` and closes the write side.
pub async fn hub_reject<IO>(mut io: IO, reject: Reject) -> Result<(), TunnelError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    write_preface_and(&mut io, &Message::Reject(reject)).await?;
    io.shutdown().await?;
    Ok(())
}

/// Sends `Welcome`, starts the multiplexer's client side and opens the control stream.
pub async fn hub_welcome<IO>(
    mut io: IO,
    welcome: Welcome,
    settings: &MuxSettings,
    deadline: Duration,
) -> Result<(HubMux, H2Stream), TunnelError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    within(deadline, "multiplexer start", async {
        write_preface_and(&mut io, &Message::Welcome(welcome)).await?;
        let (send, conn) = h2::client::Builder::new()
            // The connector must not open streams towards the hub: no server push, no
            // server-initiated streams, small header blocks (every header is ours).
            .enable_push(false)
            .max_concurrent_streams(0)
            .max_header_list_size(MAX_HEADER_LIST)
            .initial_window_size(settings.stream_window)
            .initial_connection_window_size(settings.connection_window)
            .max_frame_size(settings.max_frame_size)
            .max_send_buffer_size(settings.max_send_buffer)
            .handshake::<_, Bytes>(io)
            .await?;
        let driver = tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "tunnel multiplexer ended");
            }
        });
        let mux = HubMux {
            send,
            driver: Arc::new(DriverGuard(driver)),
        };
        let control = mux.open(CONTROL_PATH).await?;
        Ok((mux, control))
    })
    .await
}

/// The hub's handle on a tunnel: opens streams. Cheap to clone; the tunnel closes when
/// [`HubMux::close`] is called or the last clone is dropped.
#[derive(Debug, Clone)]
pub struct HubMux {
    send: h2::client::SendRequest<Bytes>,
    driver: Arc<DriverGuard>,
}

#[derive(Debug)]
struct DriverGuard(JoinHandle<()>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl HubMux {
    async fn open(&self, path: &str) -> Result<H2Stream, TunnelError> {
        let (send, recv) = self.request(path).await?;
        Ok(H2Stream::new(send, recv, Bytes::new()))
    }

    async fn request(
        &self,
        path: &str,
    ) -> Result<(h2::SendStream<Bytes>, RecvStream), TunnelError> {
        let mut sr = self.send.clone().ready().await?;
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("https://tunnel{path}"))
            .body(())
            .map_err(|_| TunnelError::Unexpected {
                expected: "a valid request",
                got: "a bad URI",
            })?;
        let (resp, send) = sr.send_request(req, false)?;
        let recv = resp.await?.into_body();
        Ok((send, recv))
    }

    /// Opens a session stream: sends `StreamOpen`, waits for the connector's answer. Returns
    /// the stream when the connector connected, or its refusal.
    pub async fn open_stream(
        &self,
        open: &StreamOpen,
        deadline: Duration,
    ) -> Result<Result<H2Stream, OpenResult>, TunnelError> {
        within(deadline, "stream open", async {
            let mut sr = self.send.clone().ready().await?;
            let req = Request::builder()
                .method(Method::POST)
                .uri(format!("https://tunnel{STREAM_PATH}"))
                .body(())
                .map_err(|_| TunnelError::Unexpected {
                    expected: "a valid request",
                    got: "a bad URI",
                })?;
            let (resp, mut send) = sr.send_request(req, false)?;
            let first = encode_to_vec(&Message::StreamOpen(open.clone()));
            send.send_data(Bytes::from(first), false)?;
            let mut recv = resp.await?.into_body();
            let (msg, leftover) = read_first(&mut recv).await?;
            match msg {
                Message::StreamReply(r) => match r.result {
                    OpenResult::Connected => Ok(Ok(H2Stream::new(send, recv, leftover))),
                    refused => Ok(Err(refused)),
                },
                other => Err(TunnelError::Unexpected {
                    expected: "stream_reply",
                    got: other.name(),
                }),
            }
        })
        .await
    }

    /// Whether the tunnel's connection has ended.
    pub fn is_closed(&self) -> bool {
        self.driver.0.is_finished()
    }

    /// Cuts the tunnel at once: every stream on it fails.
    pub fn close(&self) {
        self.driver.0.abort();
    }
}

/// Reads the first frame of a stream body, returning it and whatever bytes followed it.
async fn read_first(recv: &mut RecvStream) -> Result<(Message, Bytes), TunnelError> {
    let mut buf = BytesMut::new();
    loop {
        if let Some(msg) = decode_buf(&mut buf)? {
            return Ok((msg, buf.freeze()));
        }
        if buf.len() > MAX_FRAME_LEN as usize + 5 {
            return Err(DecodeError::BadLength {
                len: buf.len() as u32,
                max: MAX_FRAME_LEN,
            }
            .into());
        }
        match recv.data().await {
            Some(Ok(chunk)) => {
                let _ = recv.flow_control().release_capacity(chunk.len());
                buf.extend_from_slice(&chunk);
            }
            Some(Err(e)) => return Err(e.into()),
            None => return Err(TunnelError::Closed),
        }
    }
}
