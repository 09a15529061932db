//! One HTTPS connection of a web UI (the hub's portal and API, the connector's admin UI and
//! API): TLS within the pre-auth deadline, then HTTP/1.1 or HTTP/2 (by ALPN) with upgrades.
//!
//! A client certificate the TLS handshake verified (where the site asks for one) reaches every
//! request of the connection as the extension [`PeerCertificate`].
//!
//! The connection holds its pre-auth slot ([`PreauthSlot`]) until its first request head has
//! arrived: a client that completes TLS and then says nothing is dropped at the deadline, and
//! a flood of such clients never holds more than the listener's caps. Who may send what is
//! the router's business (every page and call authenticates on its own); the slot only bounds
//! the strangers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use portcullis_transport::preauth::PreauthSlot;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The leaf certificate the client presented and the site's verifier accepted.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub rustls_pki_types::CertificateDer<'static>);

/// The deadlines of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// Longest TLS handshake (never longer than what is left of the slot's deadline).
    pub tls_handshake: Duration,
    /// Longest wait for the rest of a request head once it has begun (HTTP/1.1).
    pub header_read: Duration,
}

/// A web UI's listener: what each of its connections needs.
#[derive(Clone)]
pub struct Site {
    /// Names the listener in the log.
    pub name: &'static str,
    /// TLS with the site's certificate.
    pub acceptor: TlsAcceptor,
    /// The pages and API calls.
    pub router: Router,
    /// The connection's deadlines.
    pub deadlines: Deadlines,
    /// Ends every connection.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("name", &self.name)
            .field("deadlines", &self.deadlines)
            .finish_non_exhaustive()
    }
}

impl Site {
    /// Serves one accepted connection until it ends or shutdown; `peer` reaches handlers as
    /// axum's `ConnectInfo<SocketAddr>`.
    pub async fn connection(&self, tcp: TcpStream, peer: SocketAddr, slot: PreauthSlot) {
        let Site {
            name,
            acceptor,
            router,
            deadlines,
            shutdown,
        } = self;
        serve(
            name,
            acceptor,
            router.clone(),
            (tcp, peer),
            slot,
            *deadlines,
            shutdown,
        )
        .await
    }
}

async fn serve(
    name: &'static str,
    acceptor: &TlsAcceptor,
    router: Router,
    (tcp, peer): (TcpStream, SocketAddr),
    slot: PreauthSlot,
    deadlines: Deadlines,
    shutdown: &CancellationToken,
) {
    let limit = deadlines.tls_handshake.min(slot.remaining());
    let tls = match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, entry = name, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, entry = name, "TLS handshake timed out");
            return;
        }
    };
    let peer_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| PeerCertificate(c.clone().into_owned()));
    let deadline = slot.deadline();
    let slot = Arc::new(Mutex::new(Some(slot)));
    let first_request = Arc::new(Notify::new());
    let (held, seen) = (slot.clone(), first_request.clone());
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        if let Ok(mut s) = held.lock() {
            if s.take().is_some() {
                seen.notify_one();
            }
        }
        req.extensions_mut().insert(ConnectInfo(peer));
        if let Some(c) = &peer_cert {
            req.extensions_mut().insert(c.clone());
        }
        router.clone().oneshot(req)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .header_read_timeout(deadlines.header_read)
        .timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = &mut conn => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, entry = name, "connection ended");
            }
            return;
        }
        _ = first_request.notified() => {}
        _ = tokio::time::sleep_until(deadline) => {
            tracing::debug!(%peer, entry = name, "client sent no request before the deadline");
            return;
        }
        _ = shutdown.cancelled() => return,
    }
    tokio::select! {
        r = &mut conn => if let Err(e) = r {
            tracing::debug!(%peer, error = %e, entry = name, "connection ended");
        },
        _ = shutdown.cancelled() => {}
    }
}
