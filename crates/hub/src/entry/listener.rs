//! The accept loop every entry point shares: stop on shutdown, cap connections in the
//! pre-authentication phase, hand each connection to a handler with its permit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::state::State;

/// Accepts on `listener` until shutdown; `handle` gets the connection and a pre-auth permit
/// that it drops once the client is authenticated.
pub async fn accept_loop<F, Fut>(state: State, listener: TcpListener, name: &'static str, handle: F)
where
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
        state.tasks.spawn(handle(state.clone(), tcp, peer, permit));
    }
}
