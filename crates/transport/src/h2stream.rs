//! One multiplexed stream as a plain `AsyncRead + AsyncWrite` byte stream.
//!
//! Flow control: received bytes are released to the peer's window only as they are read, so a
//! slow reader holds at most one stream window of buffered data (bounded memory), and a writer
//! only hands h2 as much as the peer's window allows (`reserve_capacity` / `poll_capacity`), so
//! h2's send buffer is bounded too.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream of the tunnel, as bytes.
#[derive(Debug)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Data received from h2 but not yet read by the user.
    pending: Bytes,
    eof: bool,
    shut: bool,
}

impl H2Stream {
    /// Wraps the two halves of a stream; `leftover` is data already taken off `recv`
    /// (and already released to flow control) that must be read first.
    pub fn new(send: SendStream<Bytes>, recv: RecvStream, leftover: Bytes) -> Self {
        H2Stream {
            send,
            recv,
            pending: leftover,
            eof: false,
            shut: false,
        }
    }

    /// The two halves and any data already taken off `recv`, for a caller that drives the
    /// stream itself ([`crate::relay::relay`]).
    pub fn into_parts(self) -> (SendStream<Bytes>, RecvStream, Bytes) {
        (self.send, self.recv, self.pending)
    }

    /// Abandons the stream at once (RST_STREAM CANCEL): used when a session is cut.
    pub fn cancel(&mut self) {
        self.send.send_reset(h2::Reason::CANCEL);
    }
}

/// An h2 error as an I/O error: a peer's reset reads as a reset connection.
pub fn h2_to_io(e: h2::Error) -> io::Error {
    if e.is_io() {
        return e
            .into_io()
            .unwrap_or_else(|| io::Error::other("h2 I/O error"));
    }
    let kind = match e.reason() {
        Some(h2::Reason::CANCEL) | Some(h2::Reason::NO_ERROR) => io::ErrorKind::ConnectionReset,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

impl AsyncRead for H2Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(chunk)) => {
                    // Release at once: the chunk now lives in `pending`, bounded by one chunk,
                    // and the reader is about to consume it.
                    let _ = this.recv.flow_control().release_capacity(chunk.len());
                    this.pending = chunk;
                }
                Some(Err(e)) => return Poll::Ready(Err(h2_to_io(e))),
                None => this.eof = true,
            }
        }
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let this = &mut *self;
        this.send.reserve_capacity(buf.len());
        loop {
            match ready!(this.send.poll_capacity(cx)) {
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                Some(Err(e)) => return Poll::Ready(Err(h2_to_io(e))),
                Some(Ok(0)) => continue,
                Some(Ok(cap)) => {
                    let n = cap.min(buf.len());
                    return match this
                        .send
                        .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                    {
                        Ok(()) => Poll::Ready(Ok(n)),
                        Err(e) => Poll::Ready(Err(h2_to_io(e))),
                    };
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The connection task writes and flushes frames as soon as they are queued.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            self.shut = true;
            if let Err(e) = self.send.send_data(Bytes::new(), true) {
                return Poll::Ready(Err(h2_to_io(e)));
            }
        }
        Poll::Ready(Ok(()))
    }
}
