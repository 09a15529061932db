//! The HTTP proxy entry point: `CONNECT` and absolute-form requests.
//!
//! `CONNECT host:port HTTP/1.1` (a tunnel for any protocol, HTTPS included), or an
//! absolute-form request `GET http://host[:port]/path HTTP/1.1` (what HTTP clients send to a
//! proxy for plain HTTP: the hub opens the session and forwards that one request in origin
//! form, without the proxy headers). Credentials: `Proxy-Authorization: Bearer <token>` and the
//! location in a `Portcullis-Location` header, or `Proxy-Authorization: Basic
//! base64(location:token)` as for SOCKS5; a support engineer names a service connection as
//! the host and any location. Errors come back as HTTP status codes with a JSON body `{code, message}`: 407 for
//! missing or wrong credentials, 403 for a target no access control entry lists, 502/503/504
//! for back-end trouble.

use std::convert::Infallible;
use std::net::SocketAddr;

use base64::Engine;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use portcullis_proto::RefuseCode;
use tokio::net::TcpStream;

use super::listener::PreauthSlot;
use crate::session::{self, SessionError, Target};
use crate::state::State;

/// Header naming the connector location with Bearer authentication.
pub const LOCATION_HEADER: &str = "portcullis-location";

type Resp = Response<BoxBody<Bytes, hyper::Error>>;

fn full(bytes: Bytes) -> BoxBody<Bytes, hyper::Error> {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn error(status: StatusCode, code: &str, message: &str) -> Resp {
    let body = serde_json::json!({"code": code, "message": message}).to_string();
    let mut r = Response::new(full(Bytes::from(body)));
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

/// The target of a request: `host:port` of a CONNECT, or the authority of an absolute-form
/// `http://` request (port 80 when none is given). `None` for anything else.
fn target_of(req: &Request<Incoming>) -> Option<(String, u16)> {
    if req.method() == Method::CONNECT {
        return split_authority(req.uri().authority()?.as_str());
    }
    if req.uri().scheme_str() != Some("http") {
        return None;
    }
    let host = req.uri().host()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = req.uri().port_u16().unwrap_or(80);
    portcullis_proto::check_host(host).ok()?;
    (port != 0).then(|| (host.to_ascii_lowercase(), port))
}

/// The pre-authentication slot of a connection, given back once the client authenticated.
type SharedSlot = std::sync::Arc<std::sync::Mutex<Option<PreauthSlot>>>;

async fn serve_request(
    state: State,
    peer: SocketAddr,
    req: Request<Incoming>,
    slot: SharedSlot,
) -> Resp {
    let Some((host, port)) = target_of(&req) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_target",
            "send CONNECT host:port, or an absolute-form request such as GET http://host:port/path \
             (https:// goes through CONNECT)",
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
        Ok(p) => {
            // Authenticated: the pre-auth slot is free again, however long the session lasts.
            drop(slot.lock().unwrap_or_else(|e| e.into_inner()).take());
            p
        }
        Err(e) => {
            tracing::info!(%peer, location = %crate::redact::shown(&location), reason = %e, "http proxy authentication failed");
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
    if req.method() != Method::CONNECT {
        return forward(&state, peer, session, req).await;
    }
    let upgrade = hyper::upgrade::on(req);
    let st = state.clone();
    state.tasks.spawn(async move {
        match upgrade.await {
            Ok(up) => session.relay(&st, TokioIo::new(up)).await,
            Err(e) => tracing::info!(%peer, error = %e, "http proxy upgrade failed"),
        }
    });
    Response::new(full(Bytes::new()))
}

/// Forwards one absolute-form request through `session` in origin form and returns the
/// answer; the session ends with the answer's body.
async fn forward(
    state: &State,
    peer: SocketAddr,
    session: session::Session,
    req: Request<Incoming>,
) -> Resp {
    let (mut parts, body) = req.into_parts();
    let origin = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
    parts.uri = match origin.parse() {
        Ok(u) => u,
        Err(_) => return error(StatusCode::BAD_REQUEST, "bad_target", "bad request target"),
    };
    for name in [
        header::PROXY_AUTHORIZATION.as_str(),
        LOCATION_HEADER,
        "proxy-connection",
    ] {
        parts.headers.remove(name);
    }
    if !parts.headers.contains_key(header::HOST) {
        if let Some(v) = authority.and_then(|a| http::HeaderValue::from_str(&a).ok()) {
            parts.headers.insert(header::HOST, v);
        }
    }
    parts.version = http::Version::HTTP_11;
    let (front, back) = tokio::io::duplex(64 * 1024);
    let st = state.clone();
    state
        .tasks
        .spawn(async move { session.relay(&st, back).await });
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(front)).await
    {
        Ok(pair) => pair,
        Err(e) => return error(StatusCode::BAD_GATEWAY, "backend_error", &e.to_string()),
    };
    state.tasks.spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(%peer, error = %e, "http proxy: forwarded request ended");
        }
    });
    match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(resp) => resp.map(BodyExt::boxed),
        Err(e) => {
            tracing::info!(%peer, error = %e, "http proxy: forwarded request failed");
            error(
                StatusCode::BAD_GATEWAY,
                "backend_error",
                "the system behind the connector did not answer",
            )
        }
    }
}

/// Handles one HTTP proxy client connection.
pub async fn handle(state: State, tcp: TcpStream, peer: SocketAddr, permit: PreauthSlot) {
    let svc_state = state.clone();
    let slot: SharedSlot = std::sync::Arc::new(std::sync::Mutex::new(Some(permit)));
    let svc_slot = slot.clone();
    let svc = hyper::service::service_fn(move |req| {
        let st = svc_state.clone();
        let slot = svc_slot.clone();
        async move { Ok::<_, Infallible>(serve_request(st, peer, req, slot).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        // hyper needs a timer for the header deadline (it panics without one).
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(state.config.preauth_timeout)
        // One request per connection: a CONNECT becomes the tunnel; anything else (a refusal,
        // a 400) closes, so a client cannot hold a pre-auth slot by sending cheap requests.
        .keep_alive(false)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(tcp), svc)
        .with_upgrades();
    // The slot covers reading the first request head (hyper's header timeout bounds it) and
    // the authentication; a refused or failed connection gives it back when it ends.
    let conn = async move {
        let r = conn.await;
        drop(slot.lock().unwrap_or_else(|e| e.into_inner()).take());
        r
    };
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "http proxy connection ended");
    }
}
