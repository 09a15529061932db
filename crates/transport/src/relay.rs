//! Relaying a session between a local byte stream (the client's socket on the hub, the internal
//! system's socket on the connector) and its stream of the tunnel, counting bytes, stopping on
//! demand.
//!
//! Written for the tunnel rather than as two generic copies, for memory and copies:
//! * **No buffer while idle.** A read first goes into a small buffer on the stack; only when a
//!   read fills it (bulk traffic) does the relay read into a heap buffer, and it drops that
//!   buffer again as soon as the socket has nothing more to read. A thousand idle sessions hold
//!   no relay buffers at all, where a pair of 64 KiB copy buffers each would.
//! * **No copy in bulk.** Bulk reads land in a `BytesMut` whose filled part is handed to the
//!   multiplexer as is (`split().freeze()`); chunks from the multiplexer are written to the
//!   socket as is. The generic path copied each byte once more on each side.
//! * **Bounded.** The multiplexer is handed only as much as the peer's window allows, and one
//!   received chunk at a time is held, released to flow control as it is taken.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::h2stream::{h2_to_io, H2Stream};

/// Heap buffer for bulk reads; also the most a single read hands the multiplexer.
pub const RELAY_BUF: usize = 64 * 1024;

/// Stack buffer for reads while traffic is light (keystrokes, requests, small replies).
/// A read that fills it switches the direction to bulk reads.
const SMALL_READ: usize = 4 * 1024;

/// Below this much spare room, the bulk buffer is topped up to [`RELAY_BUF`] before a read.
const MIN_SPARE: usize = 8 * 1024;

/// How a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEnd {
    /// Both sides closed in order.
    Closed,
    /// One side failed (reset, broken pipe …).
    Error,
    /// The relay was cut from outside (revocation, shutdown, window closed).
    Cut,
}

/// One of the two relayed sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The local byte stream.
    Local,
    /// The tunnel stream.
    Tunnel,
}

/// Bytes moved by a relay, and who closed first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Bytes read from the local side and handed to the tunnel.
    pub to_tunnel: u64,
    /// Bytes taken from the tunnel and written to the local side.
    pub from_tunnel: u64,
    /// The side whose end-of-stream came first, if either did: who ended the session.
    pub closed_first: Option<Side>,
}

/// Bytes a relay has moved so far, readable while it runs (the portal's live sessions).
#[derive(Debug, Default)]
pub struct LiveBytes {
    /// Local → tunnel, so far.
    pub to_tunnel: std::sync::atomic::AtomicU64,
    /// Tunnel → local, so far.
    pub from_tunnel: std::sync::atomic::AtomicU64,
}

/// [`relay`], also counting into `live` as bytes move.
pub async fn relay_counted<L, S>(
    local: L,
    stream: H2Stream,
    stop: S,
    live: std::sync::Arc<LiveBytes>,
) -> (RelayStats, RelayEnd, Option<io::Error>)
where
    L: AsyncRead + AsyncWrite + Unpin,
    S: std::future::Future<Output = ()>,
{
    relay_inner(local, stream, stop, Some(live)).await
}

/// Relays until both directions are done, one fails, or `stop` completes (a cut: revocation,
/// shutdown, a closed window). Counts bytes even when the relay ends in an error, so audit
/// records are truthful. A relay that ends early drops the tunnel stream unfinished, which
/// resets it (`RST_STREAM CANCEL`) for the peer.
pub async fn relay<L, S>(
    local: L,
    stream: H2Stream,
    stop: S,
) -> (RelayStats, RelayEnd, Option<io::Error>)
where
    L: AsyncRead + AsyncWrite + Unpin,
    S: std::future::Future<Output = ()>,
{
    relay_inner(local, stream, stop, None).await
}

async fn relay_inner<L, S>(
    local: L,
    stream: H2Stream,
    stop: S,
    live: Option<std::sync::Arc<LiveBytes>>,
) -> (RelayStats, RelayEnd, Option<io::Error>)
where
    L: AsyncRead + AsyncWrite + Unpin,
    S: std::future::Future<Output = ()>,
{
    let (send, recv, leftover) = stream.into_parts();
    let mut r = Relay {
        local,
        send,
        recv,
        up: Up::default(),
        down: Down {
            pending: leftover,
            ..Down::default()
        },
        stats: RelayStats::default(),
        live,
    };
    let res = tokio::select! {
        res = poll_fn(|cx| r.poll(cx)) => Some(res),
        _ = stop => None,
    };
    match res {
        Some(Ok(())) => (r.stats, RelayEnd::Closed, None),
        Some(Err(e)) => (r.stats, RelayEnd::Error, Some(e)),
        None => (r.stats, RelayEnd::Cut, None),
    }
}

struct Relay<L> {
    local: L,
    send: SendStream<Bytes>,
    recv: RecvStream,
    up: Up,
    down: Down,
    stats: RelayStats,
    live: Option<std::sync::Arc<LiveBytes>>,
}

/// Local → tunnel.
#[derive(Default)]
struct Up {
    /// Read, not yet handed to the multiplexer (waiting for window).
    pending: Bytes,
    /// Bulk read buffer; empty (unallocated) while traffic is light.
    buf: BytesMut,
    bulk: bool,
    eof: bool,
    done: bool,
}

/// Tunnel → local.
#[derive(Default)]
struct Down {
    /// Taken from the multiplexer, not yet written.
    pending: Bytes,
    unflushed: bool,
    eof: bool,
    done: bool,
}

impl<L: AsyncRead + AsyncWrite + Unpin> Relay<L> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let up = if self.up.done {
            Poll::Ready(())
        } else {
            self.poll_up(cx)?
        };
        let down = if self.down.done {
            Poll::Ready(())
        } else {
            self.poll_down(cx)?
        };
        if up.is_ready() && down.is_ready() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn closed(&mut self, side: Side) {
        self.stats.closed_first.get_or_insert(side);
    }

    fn poll_up(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if !self.up.pending.is_empty() {
                self.send.reserve_capacity(self.up.pending.len());
                match ready!(self.send.poll_capacity(cx)) {
                    None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                    Some(Err(e)) => return Poll::Ready(Err(h2_to_io(e))),
                    Some(Ok(0)) => continue,
                    Some(Ok(cap)) => {
                        let n = cap.min(self.up.pending.len());
                        let chunk = self.up.pending.split_to(n);
                        self.send.send_data(chunk, false).map_err(h2_to_io)?;
                        self.stats.to_tunnel += n as u64;
                        if let Some(l) = &self.live {
                            l.to_tunnel
                                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                        }
                        continue;
                    }
                }
            }
            if self.up.eof {
                self.send.send_data(Bytes::new(), true).map_err(h2_to_io)?;
                self.up.done = true;
                return Poll::Ready(Ok(()));
            }
            let n = if self.up.bulk {
                ready!(self.read_bulk(cx))?
            } else {
                ready!(self.read_small(cx))?
            };
            if n == 0 {
                self.up.eof = true;
                self.closed(Side::Local);
            }
        }
    }

    /// Reads into a stack buffer and copies what came (a few bytes, usually) to the heap.
    fn read_small(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        // Uninitialised: zeroing 4 KiB on every poll (most of which return Pending) was 41 % of
        // a round trip's instructions (`bench/callgrind`). `ReadBuf` tracks what was written,
        // and only that is read back.
        let mut small = [std::mem::MaybeUninit::<u8>::uninit(); SMALL_READ];
        let mut rb = ReadBuf::uninit(&mut small);
        ready!(Pin::new(&mut self.local).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        self.up.bulk = n == SMALL_READ;
        self.up.pending = Bytes::copy_from_slice(rb.filled());
        Poll::Ready(Ok(n))
    }

    /// Reads into the bulk buffer and hands the filled part on without copying. When the
    /// socket runs dry, the buffer is dropped and reads go back to the stack.
    fn read_bulk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.up.buf.capacity() - self.up.buf.len() < MIN_SPARE {
            // Reuses the allocation when the multiplexer has let go of every earlier chunk.
            self.up.buf.reserve(RELAY_BUF);
        }
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.local), cx, &mut self.up.buf) {
            Poll::Pending => {
                self.up.buf = BytesMut::new();
                self.up.bulk = false;
                Poll::Pending
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(n)) => {
                self.up.pending = self.up.buf.split().freeze();
                Poll::Ready(Ok(n))
            }
        }
    }

    fn poll_down(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if !self.down.pending.is_empty() {
                let n = ready!(Pin::new(&mut self.local).poll_write(cx, &self.down.pending))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.down.pending.advance(n);
                self.down.unflushed = true;
                self.stats.from_tunnel += n as u64;
                if let Some(l) = &self.live {
                    l.from_tunnel
                        .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                }
                continue;
            }
            if self.down.eof {
                // Shutting down flushes first.
                ready!(Pin::new(&mut self.local).poll_shutdown(cx))?;
                self.down.done = true;
                return Poll::Ready(Ok(()));
            }
            match self.recv.poll_data(cx) {
                Poll::Pending => {
                    if self.down.unflushed {
                        ready!(Pin::new(&mut self.local).poll_flush(cx))?;
                        self.down.unflushed = false;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => {
                    self.down.eof = true;
                    self.closed(Side::Tunnel);
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    // Released as taken: the relay holds at most this one chunk.
                    let _ = self.recv.flow_control().release_capacity(chunk.len());
                    self.down.pending = chunk;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(h2_to_io(e))),
            }
        }
    }
}

/// Reads the next chunk from `rd` as `Bytes` without zero-filling or copying: `buf` is grown
/// to [`RELAY_BUF`] of uninitialized room when needed, so memory is touched only as data
/// arrives. `Ok(None)` at end of stream. For pumps that hand chunks on as messages (WebSocket
/// frames) instead of relaying into a tunnel stream.
pub async fn read_chunk<R>(rd: &mut R, buf: &mut BytesMut) -> io::Result<Option<Bytes>>
where
    R: AsyncRead + Unpin,
{
    if buf.capacity() - buf.len() < MIN_SPARE {
        buf.reserve(RELAY_BUF);
    }
    match tokio::io::AsyncReadExt::read_buf(rd, buf).await? {
        0 => Ok(None),
        _ => Ok(Some(buf.split().freeze())),
    }
}
