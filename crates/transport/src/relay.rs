//! Relaying bytes between two streams, counting them, and stopping on demand.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

/// Buffer size per direction: large enough for bulk transfers to move in big writes.
pub const RELAY_BUF: usize = 64 * 1024;

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

/// One of the two relayed streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first argument of [`relay`].
    A,
    /// The second argument of [`relay`].
    B,
}

/// Bytes moved by a relay, and who closed first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Bytes from `a` to `b`.
    pub a_to_b: u64,
    /// Bytes from `b` to `a`.
    pub b_to_a: u64,
    /// The side whose read reached end-of-stream first, if either did: who ended the session.
    pub closed_first: Option<Side>,
}

const NONE: u8 = 0;
const SIDE_A: u8 = 1;
const SIDE_B: u8 = 2;

/// Copies both ways until both sides are done, an error, or `cut` fires. Counts bytes even
/// when the relay ends in an error, so audit records are truthful.
pub async fn relay<A, B>(
    a: A,
    b: B,
    cut: &CancellationToken,
) -> (RelayStats, RelayEnd, Option<io::Error>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let read_a = Arc::new(AtomicU64::new(0));
    let read_b = Arc::new(AtomicU64::new(0));
    let first_eof = Arc::new(AtomicU8::new(NONE));
    let mut a = Counted {
        inner: a,
        read: read_a.clone(),
        first_eof: first_eof.clone(),
        me: SIDE_A,
    };
    let mut b = Counted {
        inner: b,
        read: read_b.clone(),
        first_eof: first_eof.clone(),
        me: SIDE_B,
    };
    let res = tokio::select! {
        r = tokio::io::copy_bidirectional_with_sizes(&mut a, &mut b, RELAY_BUF, RELAY_BUF) => Some(r),
        _ = cut.cancelled() => None,
    };
    let stats = RelayStats {
        a_to_b: read_a.load(Ordering::Relaxed),
        b_to_a: read_b.load(Ordering::Relaxed),
        closed_first: match first_eof.load(Ordering::Relaxed) {
            SIDE_A => Some(Side::A),
            SIDE_B => Some(Side::B),
            _ => None,
        },
    };
    match res {
        Some(Ok(_)) => (stats, RelayEnd::Closed, None),
        Some(Err(e)) => (stats, RelayEnd::Error, Some(e)),
        None => (stats, RelayEnd::Cut, None),
    }
}

struct Counted<S> {
    inner: S,
    read: Arc<AtomicU64>,
    /// Shared by both sides: the first to see end-of-stream writes its mark.
    first_eof: Arc<AtomicU8>,
    me: u8,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let room = buf.remaining() > 0;
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if room && n == 0 && matches!(r, Poll::Ready(Ok(()))) {
            let _ = self.first_eof.compare_exchange(
                NONE,
                self.me,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
