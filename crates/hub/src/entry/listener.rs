//! The accept loop every entry point shares: stop on shutdown, cap connections in the
//! pre-authentication phase, hand each connection to a handler with its permit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;

use crate::state::State;

/// The TLS handshake of a client within the pre-auth deadline; `None` (logged at debug) when
/// it fails or times out. `entry` names the listener in the log.
pub async fn tls_within_deadline(
    state: &State,
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    entry: &str,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(state.config.preauth_timeout, acceptor.accept(tcp)).await {
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

/// Accepts on `listener` until shutdown; `handle` gets the connection and a pre-auth permit
/// that it drops once the client is authenticated. Handlers run on `state.tasks`.
pub async fn accept_loop<F, Fut>(state: State, listener: TcpListener, name: &'static str, handle: F)
where
    F: Fn(State, TcpStream, SocketAddr, OwnedSemaphorePermit) -> Fut,
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
    F: Fn(State, TcpStream, SocketAddr, OwnedSemaphorePermit) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let preauth = Arc::new(Semaphore::new(state.config.max_preauth));
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
        let Ok(permit) = preauth.clone().try_acquire_owned() else {
            tracing::warn!(%peer, entry = name, "too many unauthenticated connections, dropping");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        tracker.spawn(handle(state.clone(), tcp, peer, permit));
    }
}
