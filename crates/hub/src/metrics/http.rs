//! The metrics listener (`[listen] metrics`, plain HTTP, off unless set): `GET /metrics`
//! (Prometheus text format), `GET /healthz` (the process answers) and `GET /readyz` (the
//! store answers a read within a second and the audit writer runs; else 503 with the reason).
//!
//! Plain HTTP because that is what scrapers and probes speak; bind it to the loopback or a
//! monitoring network. It serves no secret and takes no input. Strangers are bounded: at
//! most [`MAX_CONNECTIONS`] connections at once (more are closed at accept), each for at most
//! [`CONNECTION_DEADLINE`], HTTP/1.1 only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State as Ax;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::Scrape;
use crate::state::State;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Longest life of one connection.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// Longest a readiness probe waits for the store.
const STORE_PROBE: Duration = Duration::from_secs(1);

/// The routes.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// Serves `listener` until the hub's hard stop.
pub async fn serve(state: State, listener: TcpListener) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let app = router(state.clone());
    loop {
        let (tcp, peer) = tokio::select! {
            () = state.shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "metrics listener: too many connections; closed");
            continue;
        };
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5));
            let conn = http.serve_connection(TokioIo::new(tcp), service);
            let _ = tokio::time::timeout(CONNECTION_DEADLINE, conn).await;
            drop(slot);
        });
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn metrics(Ax(st): Ax<State>, headers: axum::http::HeaderMap) -> Response {
    let mut certificates = Vec::new();
    if let Some(at) = not_after(st.pki.server_chain.first().map(|c| c.as_ref())) {
        certificates.push(("server", at));
    }
    if let Some(at) = not_after(Some(st.pki.ca.cert_der().as_ref())) {
        certificates.push(("ca", at));
    }
    // Its failures are counted; the scrape answers anyway.
    let _ = probe_store(&st).await;
    let now = Scrape {
        live_sessions: st.live.len(),
        tunnels: st.registry.all().len(),
        audit_queue: st.audit.queued(),
        certificates,
    };
    // OpenMetrics to whoever asks for it (Prometheus does), the classic format otherwise.
    let (content_type, body) =
        portcullis_webui::openmetrics::negotiate(&headers, st.metrics.encode(&now));
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn not_after(der: Option<&[u8]>) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der?).ok()?;
    Some(cert.validity().not_after.timestamp())
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

async fn readyz(Ax(st): Ax<State>) -> Response {
    if st.tasks.is_closed() || st.shutdown.is_cancelled() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into());
    }
    if !st.audit.running() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit writer has stopped\n".into(),
        );
    }
    match probe_store(&st).await {
        Ok(()) => text(StatusCode::OK, "ready\n".into()),
        Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

/// One cheap read of the store, timed into the store latency histogram.
async fn probe_store(st: &State) -> Result<(), String> {
    let began = Instant::now();
    let r = tokio::time::timeout(STORE_PROBE, st.store.get_company(0)).await;
    st.metrics
        .store_probed(began.elapsed(), matches!(r, Ok(Ok(_))));
    match r {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the store cannot be read: {e}")),
        Err(_) => Err(format!("the store did not answer within {STORE_PROBE:?}")),
    }
}
