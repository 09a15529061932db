//! HTTP processing for `http` entries: every request is checked against the entry's
//! resources before it reaches the back end (sap-reference §3.5.3, CC-21).
//!
//! The stream from the hub carries HTTP/1.1; the connector serves it with hyper, and for each
//! request:
//! 1. looks the virtual target up in the *current* access control list (a reload that
//!    removes the entry or changes its resources applies to the next request of a live
//!    session), parses the request target into its one canonical path
//!    ([`portcullis_domain::http_path`]: a target without a single meaning, e.g.
//!    `/a/%2e%2e%2fb`, gets `400`) and checks that path against the resources: refused
//!    requests get `403` with a body that names the reason; a GET or HEAD with a body gets
//!    `400`; every refusal is an `http.denied` audit event naming the entry, method and path;
//! 2. sends an allowed request to the back end with exactly the canonical path (and the query
//!    as sent) on a kept-alive HTTP/1.1 connection (dialled
//!    again with the session's permit when the back end closed it), with `Host` per the
//!    entry (the virtual host, or the internal one and `X-Forwarded-Host`);
//! 3. maps the answer back: a `Location` pointing at the internal host points at the virtual
//!    one, a `Set-Cookie` for the internal host's domain is for the virtual one;
//! 4. a WebSocket upgrade the resource allows is passed to the back end, and on `101` both
//!    sides are joined byte for byte.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use portcullis_domain::access::{AccessPermit, HostInHeader, RequestRefused};
use portcullis_domain::cause::EndCause;
use portcullis_proto::StreamOpen;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

use crate::acl::AclSnapshot;
use crate::audit::{AuditAction, AuditEvent, AuditLog};
use crate::backend::{dial_backend, public_reason, BackendIo};
use crate::backend_tls::BackendTls;
use crate::config::DomainMapping;
use crate::monitor::Monitor;
use crate::windows::show_target;

type Body = BoxBody<Bytes, hyper::Error>;

/// Headers that belong to one hop and are not forwarded (RFC 9110 §7.6.1), except the
/// upgrade pair, which a WebSocket request needs at the back end.
const HOP_BY_HOP: [&str; 6] = [
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
];

/// What one HTTP session did.
#[derive(Debug, Default)]
pub(crate) struct HttpStats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests refused by the resources.
    pub denied: AtomicU64,
}

/// What the request handler needs.
pub(crate) struct HttpCtx {
    pub acl: watch::Receiver<AclSnapshot>,
    pub audit: Arc<AuditLog>,
    pub open: StreamOpen,
    /// The permit the session was admitted with: where to dial the back end.
    pub permit: AccessPermit,
    /// TLS for `https` entries.
    pub backend_tls: Arc<BackendTls>,
    /// Where each request is recorded.
    pub monitor: Arc<Monitor>,
    /// Cookie domain mappings.
    pub domain_mappings: Arc<Vec<DomainMapping>>,
    /// The session's bytes so far, as the live sessions list shows them (body bytes).
    pub live_bytes: Arc<portcullis_transport::relay::LiveBytes>,
}

struct Inner {
    ctx: HttpCtx,
    backend: Mutex<Option<SendRequest<Body>>>,
    stats: Arc<HttpStats>,
}

/// What ended an HTTP session badly.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpFailure {
    /// The HTTP/1.1 handshake on the connection the session dialled failed.
    #[error("HTTP handshake with the back end: {0}")]
    BackendHandshake(#[source] hyper::Error),
    /// Serving the client's connection (through the hub) failed.
    #[error("{0}")]
    Client(#[source] hyper::Error),
}

impl HttpFailure {
    /// Why the session ended, and so whose fault it was.
    pub fn cause(&self) -> EndCause {
        match self {
            HttpFailure::BackendHandshake(_) => EndCause::BackendError,
            HttpFailure::Client(_) => EndCause::ClientError,
        }
    }
}

/// Serves HTTP on `client` until it closes or `stop` completes; `backend` is the connection
/// the session dialled. Returns the error that ended it, if any.
pub(crate) async fn serve<C, S>(
    client: C,
    backend: Box<dyn BackendIo>,
    ctx: HttpCtx,
    stats: Arc<HttpStats>,
    stop: S,
) -> Option<HttpFailure>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Future<Output = ()>,
{
    let first = match connect_backend(backend).await {
        Ok(sender) => Some(sender),
        Err(e) => return Some(HttpFailure::BackendHandshake(e)),
    };
    let inner = Arc::new(Inner {
        ctx,
        backend: Mutex::new(first),
        stats,
    });
    let service = hyper::service::service_fn(move |req| {
        let inner = inner.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&inner, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(client), service)
        .with_upgrades();
    tokio::select! {
        r = conn => r.err().map(HttpFailure::Client),
        () = stop => None,
    }
}

async fn connect_backend(io: Box<dyn BackendIo>) -> Result<SendRequest<Body>, hyper::Error> {
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "back-end HTTP connection ended");
        }
    });
    Ok(sender)
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(format!("Portcullis connector: {message}\n")))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn is_websocket_upgrade<B>(req: &Request<B>) -> bool {
    let has = |name: HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

async fn handle(inner: &Inner, req: Request<Incoming>) -> Response<Body> {
    let began = Instant::now();
    let method = req.method().as_str().to_owned();
    let (resp, resource, path) = decide(inner, req).await;
    let ctx = &inner.ctx;
    let virtual_host = show_target(&ctx.open.host, ctx.open.port);
    ctx.monitor.record(
        ctx.permit.entry(),
        &virtual_host,
        &method,
        &path,
        resource.as_deref(),
        resp.status().as_u16(),
        began.elapsed(),
    );
    // Audit level `all`: one record per request let through (denials are recorded by `deny`).
    if let Some(resource) = &resource {
        ctx.audit.record_or_log(AuditEvent {
            action: AuditAction::HttpAllowed,
            session_id: Some(ctx.open.session_id.clone()),
            principal: Some(ctx.open.principal.clone()),
            target: Some(virtual_host.clone()),
            outcome: "allowed".into(),
            detail: json!({
                "entry": ctx.permit.entry(),
                "method": method,
                "path": path,
                "resource": resource,
                "status": resp.status().as_u16(),
                "millis": u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
            }),
        });
    }
    resp
}

/// A GET or HEAD request that carries a body: back ends disagree on whether it has one (a
/// request smuggled inside the body of another).
fn body_without_meaning<B>(req: &Request<B>) -> bool {
    let h = req.headers();
    let has_body = h.contains_key(header::TRANSFER_ENCODING)
        || h.get_all(header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0));
    has_body && matches!(*req.method(), http::Method::GET | http::Method::HEAD)
}

/// The response to one request, the resource that allowed it (none when refused), and the
/// path to record: the canonical one, or the raw one when the target has none.
async fn decide(
    inner: &Inner,
    mut req: Request<Incoming>,
) -> (Response<Body>, Option<String>, String) {
    let ctx = &inner.ctx;
    inner.stats.requests.fetch_add(1, Ordering::Relaxed);
    // The request target as it came in the request line (absolute form included); only the
    // canonical form of it ever goes further.
    let raw = req.uri().to_string();
    let raw_path = raw.split('?').next().unwrap_or_default().to_owned();
    let upgrade = is_websocket_upgrade(&req);
    let current = ctx.acl.borrow().acl.clone();
    let permit = match current.check(&ctx.open.host, ctx.open.port) {
        Ok(p) => p,
        Err(_) => {
            let why = "the access control entry was removed".to_owned();
            let resp = deny(inner, &req, StatusCode::FORBIDDEN, &raw_path, why);
            return (resp, None, raw_path);
        }
    };
    let allowed = match permit.check_request(raw.as_bytes(), upgrade) {
        Ok(allowed) => allowed,
        Err(RequestRefused::Denied(denied)) => {
            let path = denied.path().to_owned();
            let resp = deny(
                inner,
                &req,
                StatusCode::FORBIDDEN,
                &path,
                denied.to_string(),
            );
            return (resp, None, path);
        }
        Err(bad) => {
            let resp = deny(
                inner,
                &req,
                StatusCode::BAD_REQUEST,
                &raw_path,
                bad.to_string(),
            );
            return (resp, None, raw_path);
        }
    };
    let path = allowed.target.path().to_owned();
    if body_without_meaning(&req) {
        let why = format!("a {} request with a body", req.method());
        return (
            deny(inner, &req, StatusCode::BAD_REQUEST, &path, why),
            None,
            path,
        );
    }
    let resource = allowed.resource;
    let counters = ctx
        .monitor
        .counters(&show_target(&ctx.open.host, ctx.open.port), &resource);
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let live = ctx.live_bytes.clone();
    let req = req.map(|body| counted(body, counters.received.clone(), live, Direction::FromHub));
    let backend_req = match backend_request(req, &permit, &allowed.target.origin_form(), upgrade) {
        Ok(r) => r,
        Err(e) => {
            let resp = text(StatusCode::BAD_REQUEST, &e.to_string());
            return (resp, Some(resource), path);
        }
    };
    let mut resp = match send(inner, backend_req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(session = %ctx.open.session_id, error = %e, "back end failed");
            // The cause names no internal address: hyper and TLS errors describe the protocol.
            let resp = text(
                StatusCode::BAD_GATEWAY,
                &format!("the internal system did not answer: {e}"),
            );
            return (resp, Some(resource), path);
        }
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            let backend_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                if let (Ok(client), Ok(backend)) = (client_upgrade.await, backend_upgrade.await) {
                    let _ = tokio::io::copy_bidirectional(
                        &mut TokioIo::new(client),
                        &mut TokioIo::new(backend),
                    )
                    .await;
                }
            });
        }
    }
    let live = ctx.live_bytes.clone();
    let resp = resp.map(|body| counted(body, counters.sent, live, Direction::ToHub));
    (
        map_response(resp, &permit, &ctx.domain_mappings),
        Some(resource),
        path,
    )
}

/// Which way a body goes, for the session's live byte counts.
#[derive(Debug, Clone, Copy)]
enum Direction {
    /// A request body, from the hub to the back end.
    FromHub,
    /// A response body, from the back end to the hub.
    ToHub,
}

/// `body`, adding the bytes of its data frames to `counter` and to the session's live count
/// (`way`) as they pass.
fn counted(
    body: Incoming,
    counter: Arc<AtomicU64>,
    live: Arc<portcullis_transport::relay::LiveBytes>,
    way: Direction,
) -> Body {
    body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            let n = data.len() as u64;
            counter.fetch_add(n, Ordering::Relaxed);
            match way {
                Direction::FromHub => live.from_tunnel.fetch_add(n, Ordering::Relaxed),
                Direction::ToHub => live.to_tunnel.fetch_add(n, Ordering::Relaxed),
            };
        }
        frame
    })
    .boxed()
}

/// Refuses a request with `status` (403 by the resources, 400 for a target or body without
/// a single meaning), with an `http.denied` audit event naming the entry, method and path.
fn deny(
    inner: &Inner,
    req: &Request<Incoming>,
    status: StatusCode,
    path: &str,
    reason: String,
) -> Response<Body> {
    let ctx = &inner.ctx;
    inner.stats.denied.fetch_add(1, Ordering::Relaxed);
    ctx.audit.record_or_log(AuditEvent {
        action: AuditAction::HttpDenied,
        session_id: Some(ctx.open.session_id.clone()),
        principal: Some(ctx.open.principal.clone()),
        target: Some(show_target(&ctx.open.host, ctx.open.port)),
        outcome: "refused".into(),
        detail: json!({
            "entry": ctx.permit.entry(),
            "method": req.method().as_str(),
            "path": path,
            "status": status.as_u16(),
            "reason": reason,
        }),
    });
    tracing::info!(session = %ctx.open.session_id, entry = ctx.permit.entry(), %path, %reason, "HTTP request refused");
    text(status, &reason)
}

/// The request as the back end gets it: origin-form, hop-by-hop headers dropped, `Host` per
/// the entry.
fn backend_request(
    req: Request<Body>,
    permit: &AccessPermit,
    target: &str,
    websocket: bool,
) -> Result<Request<Body>, RequestError> {
    let (mut parts, body) = req.into_parts();
    if !websocket {
        // Only WebSocket upgrades are checked and joined; any other (h2c, …) is not offered.
        parts.headers.remove(header::UPGRADE);
    }
    parts.uri = target.parse::<Uri>().map_err(RequestError::Target)?;
    parts.version = http::Version::HTTP_11;
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    let virtual_authority = authority(permit.virtual_host(), permit.virtual_port());
    let host = match permit.options().host_in_header {
        HostInHeader::Virtual => virtual_authority,
        HostInHeader::Internal => {
            parts.headers.insert(
                HeaderName::from_static("x-forwarded-host"),
                HeaderValue::from_str(&virtual_authority)?,
            );
            authority(permit.internal_host(), permit.internal_port())
        }
    };
    parts
        .headers
        .insert(header::HOST, HeaderValue::from_str(&host)?);
    Ok(Request::from_parts(parts, body))
}

/// Why a request could not be put to the back end.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    /// The request target is no URI.
    #[error("bad request target: {0}")]
    Target(#[source] http::uri::InvalidUri),
    /// A host name no header can carry.
    #[error("{0}")]
    Header(#[from] http::header::InvalidHeaderValue),
}

/// Why the back end gave no answer; the text reaches the client in a 502, so it never names
/// an internal address.
#[derive(Debug, thiserror::Error)]
enum SendError {
    /// Re-dialling failed: the public reason.
    #[error("{0}")]
    Dial(String),
    /// The HTTP/1.1 handshake on a new connection failed.
    #[error("{0}")]
    Handshake(#[source] hyper::Error),
    /// Sending the request or reading the answer failed: the error with its causes.
    #[error("{0}")]
    Request(String),
}

/// Sends on the kept-alive back-end connection, dialling a new one when it is gone.
async fn send(inner: &Inner, req: Request<Body>) -> Result<Response<Incoming>, SendError> {
    let mut backend = inner.backend.lock().await;
    let usable = match backend.as_mut() {
        Some(sender) => sender.ready().await.is_ok(),
        None => false,
    };
    if !usable {
        // The client sees this text in a 502: the public reason, never the internal address
        // (the local log gets that).
        let io = dial_backend(&inner.ctx.permit, &inner.ctx.backend_tls)
            .await
            .map_err(|e| {
                tracing::info!(session = %inner.ctx.open.session_id, error = %e.message, "re-dialling the back end failed");
                SendError::Dial(e.public.unwrap_or_else(|| public_reason(e.code).to_owned()))
            })?;
        let target = show_target(&inner.ctx.open.host, inner.ctx.open.port);
        let io = inner.ctx.monitor.track(&target, io);
        *backend = Some(connect_backend(io).await.map_err(SendError::Handshake)?);
    }
    let Some(sender) = backend.as_mut() else {
        return Err(SendError::Request("no back-end connection".into()));
    };
    sender
        .send_request(req)
        .await
        .map_err(|e| SendError::Request(chain(&e)))
}

/// An error with its causes: hyper's own text ("connection error") says little, the cause
/// (e.g. a TLS alert: the back end wanted a client certificate) says what to fix.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Maps `Location` and `Set-Cookie` from the internal host to the virtual one.
fn map_response(
    resp: Response<Body>,
    permit: &AccessPermit,
    mappings: &[DomainMapping],
) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    if parts.status != StatusCode::SWITCHING_PROTOCOLS {
        // The back-end connection's own hop headers: whether it closes after this answer says
        // nothing about the client's connection (the next request re-dials).
        parts.headers.remove(header::CONNECTION);
        for name in HOP_BY_HOP {
            parts.headers.remove(name);
        }
    }
    if let Some(location) = parts.headers.get(header::LOCATION).cloned() {
        if let Some(mapped) = location.to_str().ok().and_then(|l| map_location(l, permit)) {
            if let Ok(v) = HeaderValue::from_str(&mapped) {
                parts.headers.insert(header::LOCATION, v);
            }
        }
    }
    let cookies: Vec<HeaderValue> = parts
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| {
            c.to_str()
                .ok()
                .and_then(|c| map_cookie_domain(c, permit, mappings))
                .and_then(|c| HeaderValue::from_str(&c).ok())
                .unwrap_or_else(|| c.clone())
        })
        .collect();
    if !cookies.is_empty() {
        parts.headers.remove(header::SET_COOKIE);
        for c in cookies {
            parts.headers.append(header::SET_COOKIE, c);
        }
    }
    Response::from_parts(parts, body)
}

/// `http(s)://<internal host>[:<internal port>]/p` → `http://<virtual host>:<port>/p`.
fn map_location(location: &str, permit: &AccessPermit) -> Option<String> {
    let uri: Uri = location.parse().ok()?;
    let host = uri.host()?;
    let internal = permit.internal_host();
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    if !host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .eq_ignore_ascii_case(internal)
        || port != permit.internal_port()
    {
        return None;
    }
    let rest = uri.path_and_query().map_or("/", |p| p.as_str());
    Some(format!(
        "http://{}{rest}",
        authority(permit.virtual_host(), permit.virtual_port())
    ))
}

/// `Domain=<internal>` → `Domain=<virtual>` in a `Set-Cookie` value: by the configured
/// domain mappings first, else the entry's internal host to its virtual host. A leading dot
/// and case are ignored when comparing.
fn map_cookie_domain(
    cookie: &str,
    permit: &AccessPermit,
    mappings: &[DomainMapping],
) -> Option<String> {
    let mut changed = false;
    let parts: Vec<String> = cookie
        .split(';')
        .map(|part| {
            let trimmed = part.trim();
            if let Some((name, value)) = trimmed.split_once('=') {
                if name.trim().eq_ignore_ascii_case("domain") {
                    let domain = value.trim().trim_start_matches('.');
                    let mapped = mappings
                        .iter()
                        .find(|m| m.internal_domain.eq_ignore_ascii_case(domain))
                        .map(|m| m.virtual_domain.as_str())
                        .or_else(|| {
                            domain
                                .eq_ignore_ascii_case(permit.internal_host())
                                .then(|| permit.virtual_host())
                        });
                    if let Some(to) = mapped {
                        changed = true;
                        return format!(" Domain={to}");
                    }
                }
            }
            part.to_owned()
        })
        .collect();
    changed.then(|| parts.join(";"))
}
