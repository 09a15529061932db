//! The HTTPS accept loop for the API: TLS under the pre-auth deadline, then HTTP/1.1 or
//! HTTP/2 (by ALPN) with upgrades for WebSockets.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::entry::listener::accept_loop;
use crate::state::State;

/// Serves the API until shutdown.
pub async fn serve(state: State, listener: TcpListener, acceptor: TlsAcceptor, router: Router) {
    accept_loop(state, listener, "api", move |st, tcp, peer, permit| {
        let acc = acceptor.clone();
        let router = router.clone();
        async move { handle(st, acc, router, tcp, peer, permit).await }
    })
    .await;
}

async fn handle(
    state: State,
    acceptor: TlsAcceptor,
    router: Router,
    tcp: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
) {
    let tls = match tokio::time::timeout(state.config.preauth_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "API TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "API TLS handshake timed out");
            return;
        }
    };
    drop(permit);
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .header_read_timeout(state.config.preauth_timeout)
        .timer(hyper_util::rt::TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
    tokio::select! {
        r = conn => if let Err(e) = r {
            tracing::debug!(%peer, error = %e, "API connection ended");
        },
        _ = state.shutdown.cancelled() => {}
    }
}
