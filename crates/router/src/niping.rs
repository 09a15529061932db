//! niping, SAP's network test tool (sap-reference §1.10), as a server and a client.
//!
//! `niping -s` echoes every NI message it receives; `niping -c -H <host|route>` sends a
//! number of buffers that start with the eye catcher `EYECATCHER`, one at a time, waits for
//! each echo and prints the round-trip times. Basis admins use it to tell "the network (or a
//! SAProuter on the way) is the problem" from "the application is the problem", so the clone
//! has to speak the same bytes: plain NI frames (§1.4), in MSG mode end to end when the target
//! is reached through a route string.
//!
//! # Layout
//!
//! * `niping.rs` (here): the server, [`serve`] with its [`ServerOptions`].
//! * `client.rs`: [`run_client`] / [`Client`] with [`ClientOptions`], and [`NipingError`].
//! * `report.rs`: [`Report`], the times and throughput niping prints.
//!
//! # The server is a diagnostic tool
//!
//! It echoes whatever it is sent, to whoever connects, with no permission table: run it for
//! the duration of a test, not as a permanent service. Its memory is bounded by
//! connections × [`ServerOptions::max_frame`], since every connection may have one frame of
//! up to that size in flight.

mod client;
mod report;

use std::net::SocketAddr;
use std::time::Duration;

use portcullis_ni::frame::{NI_PING, NI_PONG};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::io::{read_frame, write_frame, FrameError};

pub use client::{run_client, Client, ClientOptions, NipingError, MAX_LEN, MIN_LEN};
pub use report::Report;

/// Largest frame the server echoes unless told otherwise: 64 MiB.
///
/// niping's `-B` buffers can be large (people test with megabytes to see throughput); a limit
/// still has to exist because the length header is read before the payload, and the payload
/// buffer is allocated from it.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024 * 1024;

/// How long the accept loop pauses after a failed `accept` (typically "too many open files"),
/// so that a full descriptor table does not turn the loop into a busy spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How the server treats its connections.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest payload accepted in one frame, checked against the length header before
    /// anything is allocated. A larger frame ends that connection (and only that one).
    pub max_frame: usize,
    /// How long a connection may stay silent (or refuse to take its echo) before it is
    /// closed. `None`, the default, waits for ever, as niping's server does: a person may
    /// start a client, pause it in a debugger or run it with long pauses, and a test server
    /// has no resources worth reclaiming from an idle peer.
    pub idle_timeout: Option<Duration>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_frame: DEFAULT_MAX_FRAME,
            idle_timeout: None,
        }
    }
}

/// Accepts connections on `listener` until `shutdown` is cancelled, echoing every NI frame
/// on each connection in its own task.
///
/// Every frame goes back unchanged, except the keep-alive `NI_PING`, which is answered with
/// `NI_PONG` as any NI peer does. A frame that is oversized, cut short or otherwise unreadable
/// ends its connection with a log line; other connections do not notice.
///
/// On shutdown the listener is closed first (no new connections), then the open connections
/// are closed and this function returns once their tasks have ended. A niping exchange holds
/// no state worth draining, so there is no grace period.
pub async fn serve(listener: TcpListener, opts: ServerOptions, shutdown: CancellationToken) {
    let tasks = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "niping: accept failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        let opts = opts.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {
                    tracing::debug!(%peer, "niping: connection closed by shutdown");
                }
                () = connection(stream, peer, &opts) => {}
            }
        });
    }
    drop(listener);
    tasks.close();
    tasks.wait().await;
}

/// Runs one connection to its end and logs how it ended.
async fn connection(mut stream: TcpStream, peer: SocketAddr, opts: &ServerOptions) {
    // niping measures latency: small frames must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    tracing::debug!(%peer, "niping: connection accepted");
    let mut echoed: u64 = 0;
    match echo_frames(&mut stream, opts, &mut echoed).await {
        Ok(()) => tracing::info!(%peer, echoed, "niping: client disconnected"),
        Err(ConnectionEnd::Idle(after)) => {
            tracing::info!(%peer, echoed, ?after, "niping: idle connection closed");
        }
        Err(ConnectionEnd::Read(e)) => {
            tracing::warn!(%peer, echoed, error = %e, "niping: bad frame, connection closed");
        }
        Err(ConnectionEnd::Write(e)) => {
            tracing::warn!(%peer, echoed, error = %e, "niping: cannot send the echo, connection closed");
        }
    }
}

/// Why a connection ended other than by the client closing it between frames.
#[derive(Debug)]
enum ConnectionEnd {
    /// Nothing moved for the idle timeout.
    Idle(Duration),
    /// The next frame could not be read (malformed, oversized, cut short, socket error).
    Read(FrameError),
    /// The echo could not be sent.
    Write(std::io::Error),
}

/// Echoes frames until the client closes the connection between two frames (`Ok`) or
/// something goes wrong. `echoed` counts the frames answered, for the log.
async fn echo_frames(
    stream: &mut TcpStream,
    opts: &ServerOptions,
    echoed: &mut u64,
) -> Result<(), ConnectionEnd> {
    loop {
        let frame =
            match with_idle_timeout(opts.idle_timeout, read_frame(stream, opts.max_frame)).await? {
                Ok(frame) => frame,
                Err(FrameError::Closed) => return Ok(()),
                Err(e) => return Err(ConnectionEnd::Read(e)),
            };
        let answer: &[u8] = if frame == NI_PING { NI_PONG } else { &frame };
        with_idle_timeout(opts.idle_timeout, write_frame(stream, answer))
            .await?
            .map_err(ConnectionEnd::Write)?;
        *echoed = echoed.saturating_add(1);
    }
}

/// Runs `fut`, giving up after `limit` when there is one.
async fn with_idle_timeout<F: std::future::Future>(
    limit: Option<Duration>,
    fut: F,
) -> Result<F::Output, ConnectionEnd> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| ConnectionEnd::Idle(limit)),
        None => Ok(fut.await),
    }
}
