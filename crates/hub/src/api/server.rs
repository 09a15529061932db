//! The HTTPS accept loop for the API: TLS under the pre-auth deadline, then HTTP/1.1 or
//! HTTP/2 (by ALPN) with upgrades for WebSockets.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::entry::listener::{accept_loop, PreauthSlot};
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
    permit: PreauthSlot,
) {
    let Some(tls) =
        crate::entry::listener::tls_within_deadline(&state, &acceptor, tcp, peer, &permit, "api")
            .await
    else {
        return;
    };
    // The pre-auth slot is held until the first request head has arrived: a client that
    // completes TLS and then says nothing is dropped at the deadline and never holds more
    // than its slot.
    let deadline = permit.deadline();
    let permit = Arc::new(Mutex::new(Some(permit)));
    let first_request = Arc::new(Notify::new());
    let (slot, seen) = (permit.clone(), first_request.clone());
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        if let Ok(mut p) = slot.lock() {
            if p.take().is_some() {
                seen.notify_one();
            }
        }
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .header_read_timeout(state.config.preauth_timeout)
        .timer(hyper_util::rt::TokioTimer::new());
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    let deadline = tokio::time::sleep_until(deadline);
    tokio::select! {
        r = &mut conn => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "API connection ended");
            }
            return;
        }
        _ = first_request.notified() => {}
        _ = deadline => {
            tracing::debug!(%peer, "API client sent no request before the deadline");
            return;
        }
        _ = state.shutdown.cancelled() => return,
    }
    tokio::select! {
        r = &mut conn => if let Err(e) = r {
            tracing::debug!(%peer, error = %e, "API connection ended");
        },
        _ = state.shutdown.cancelled() => {}
    }
}
