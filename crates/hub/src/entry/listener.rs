//! The accept loop every listener shares (the entries, the API and the tunnel): stop on
//! shutdown, admit each connection to the pre-authentication phase through the listener's
//! [`PreauthGate`], and hand it to a handler with its [`PreauthSlot`].
//!
//! The slot is the connection's right to be a stranger. The handler drops it once the client
//! has authenticated; until then the accept loop ends the connection (drops the handler's
//! future, which closes the socket) when the slot is displaced by a lighter source (see
//! [`portcullis_transport::preauth`]) or when the pre-auth deadline has passed with a short grace for a
//! polite refusal. After the slot is dropped nothing here can end the connection.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

pub use portcullis_transport::preauth::{Caps, PreauthGate, PreauthSlot};

use crate::state::State;

/// The TLS handshake of a client within `[limits] tls_handshake_timeout_secs` and what is left
/// of the pre-auth deadline; `None` (logged at debug) when it fails or times out. `entry`
/// names the listener in the log.
pub async fn tls_within_deadline(
    state: &State,
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    slot: &PreauthSlot,
    entry: &str,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let limit = state.config.tls_handshake_timeout.min(slot.remaining());
    match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, entry, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, entry, "TLS handshake timed out");
            None
        }
    }
}

/// Accepts on `listener` until shutdown; `handle` gets the connection and its pre-auth slot,
/// which it drops once the client is authenticated. Handlers run on `state.tasks`.
pub async fn accept_loop<F, Fut>(state: State, listener: TcpListener, name: &'static str, handle: F)
where
    F: Fn(State, TcpStream, SocketAddr, PreauthSlot) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let tracker = state.tasks.clone();
    accept_loop_on(state, listener, name, &tracker, handle).await
}

/// [`accept_loop`] with handlers running on `tracker` (the tunnel endpoint uses its own, so
/// shutdown can drain sessions without waiting for tunnels).
pub async fn accept_loop_on<F, Fut>(
    state: State,
    listener: TcpListener,
    name: &'static str,
    tracker: &TaskTracker,
    handle: F,
) where
    F: Fn(State, TcpStream, SocketAddr, PreauthSlot) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let gate = PreauthGate::new(
        name,
        Caps {
            global: state.config.max_preauth,
            per_source: state.config.max_preauth_per_source,
        },
    );
    state.metrics.watch_gate(gate.clone());
    loop {
        let (tcp, peer) = tokio::select! {
            _ = state.accept_stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, entry = name, "accept failed");
                    continue;
                }
            },
        };
        let deadline = Instant::now() + state.config.preauth_timeout;
        let Ok(slot) = gate.enter(peer, deadline) else {
            // Closed at once (dropping the stream): a refused stranger costs nothing more.
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let ended = slot.ended();
        let conn = handle(state.clone(), tcp, peer, slot);
        tracker.spawn(async move {
            tokio::select! {
                () = conn => {}
                why = ended => tracing::debug!(%peer, entry = name, "unauthenticated connection ended: {why}"),
            }
        });
    }
}
