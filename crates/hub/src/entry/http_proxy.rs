//! The HTTP CONNECT proxy entry point.
//!
//! `CONNECT host:port HTTP/1.1` with `Proxy-Authorization: Bearer <token>` and the location in a
//! `Portcullis-Location` header, or `Proxy-Authorization: Basic base64(location:token)` as for
//! SOCKS5. Errors come back as HTTP status codes with a JSON body `{code, message}`: 407 for
//! missing or wrong credentials, 403 for a target no access control entry lists, 502/503/504
//! for back-end trouble.

use std::convert::Infallible;
use std::net::SocketAddr;

use base64::Engine;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use portcullis_proto::RefuseCode;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use crate::session::{self, SessionError, Target};
use crate::state::State;

/// Header naming the connector location with Bearer authentication.
pub const LOCATION_HEADER: &str = "portcullis-location";

type Resp = Response<Full<Bytes>>;

fn error(status: StatusCode, code: &str, message: &str) -> Resp {
    let body = serde_json::json!({"code": code, "message": message}).to_string();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        r.headers_mut().insert(
            header::PROXY_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"portcullis\""),
        );
    }
    r
}

/// The HTTP status for a session error.
pub fn status_for(e: &SessionError) -> StatusCode {
    match e {
        SessionError::NotPermitted(_) => StatusCode::FORBIDDEN,
        SessionError::ConnectorOffline(_) => StatusCode::SERVICE_UNAVAILABLE,
        SessionError::Refused { code, .. } => match code {
            RefuseCode::NotAllowed | RefuseCode::WindowClosed => StatusCode::FORBIDDEN,
            RefuseCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        },
        SessionError::Tunnel(_) => StatusCode::BAD_GATEWAY,
        SessionError::TooManySessions(_) => StatusCode::TOO_MANY_REQUESTS,
        SessionError::Denied(_) | SessionError::NoWindow => StatusCode::FORBIDDEN,
        SessionError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Splits the credentials out of a request: (location, token).
fn credentials(req: &Request<Incoming>) -> Option<(String, String)> {
    let auth = req
        .headers()
        .get(header::PROXY_AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, value) = auth.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        let loc = req.headers().get(LOCATION_HEADER)?.to_str().ok()?;
        return Some((loc.trim().to_string(), value.trim().to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (loc, tok) = text.split_once(':')?;
        return Some((loc.to_string(), tok.to_string()));
    }
    None
}

fn split_authority(a: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        (h, p)
    } else {
        a.rsplit_once(':')?
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    portcullis_proto::check_host(host).ok()?;
    Some((host.to_ascii_lowercase(), port))
}

async fn serve_request(state: State, peer: SocketAddr, req: Request<Incoming>) -> Resp {
    if req.method() != Method::CONNECT {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this proxy only supports CONNECT",
        );
    }
    let Some((host, port)) = req
        .uri()
        .authority()
        .and_then(|a| split_authority(a.as_str()))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_target",
            "CONNECT needs host:port",
        );
    };
    let Some((location, token)) = credentials(&req) else {
        return error(
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            "auth_required",
            "send Proxy-Authorization: Basic base64(location:token), or Bearer <token> with a Portcullis-Location header",
        );
    };
    let principal = match state.tokens.verify(state.store.as_ref(), &token).await {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(%peer, %location, reason = %e, "http proxy authentication failed");
            return error(
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                "invalid_token",
                "the token is invalid, expired or revoked",
            );
        }
    };
    let target = Target {
        location,
        host,
        port,
    };
    let session = match session::open(&state, &principal, "http-proxy", peer, target).await {
        Ok(s) => s,
        Err(e) => return error(status_for(&e), e.code(), &e.client_message()),
    };
    let upgrade = hyper::upgrade::on(req);
    let st = state.clone();
    state.tasks.spawn(async move {
        match upgrade.await {
            Ok(up) => session.relay(&st, TokioIo::new(up)).await,
            Err(e) => tracing::info!(%peer, error = %e, "http proxy upgrade failed"),
        }
    });
    Response::new(Full::new(Bytes::new()))
}

/// Handles one HTTP proxy client connection.
pub async fn handle(state: State, tcp: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
    let svc_state = state.clone();
    let svc = hyper::service::service_fn(move |req| {
        let st = svc_state.clone();
        async move { Ok::<_, Infallible>(serve_request(st, peer, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        // hyper needs a timer for the header deadline (it panics without one).
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(state.config.preauth_timeout)
        // One request per connection: a CONNECT becomes the tunnel; anything else (a refusal,
        // a 405) closes, so a client cannot hold a pre-auth slot by sending cheap requests.
        .keep_alive(false)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(tcp), svc)
        .with_upgrades();
    // The permit covers reading the first request head; hyper's header timeout bounds it.
    let conn = async move {
        let r = conn.await;
        drop(permit);
        r
    };
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "http proxy connection ended");
    }
}
