//! The web entry (`listen.web`, HTTPS): an HTTP service connection in a browser.
//!
//! * Every service connection has its own origin, `https://sc<id>.<web domain>:<port>/`
//!   ([`crate::web::WebOrigins`]), served with a wildcard certificate from the hub's CA; a
//!   request for any other host name gets 404.
//! * `/_portcullis/login` redeems a one-time ticket from the API, POSTed by the login page
//!   (the link carries it in its fragment, never in a query; see [`super::web_pages`]), for a
//!   web-session cookie `__Host-portcullis_web` of that origin, and redirects to the
//!   service's landing path. A ticket opens only the service of the origin it is used on.
//! * Every other request needs that cookie, for a session of this origin's service. The first
//!   request on a browser connection opens a session through `session::open` (window, two
//!   keys, audit, entry `web`) after re-reading the engineer's token; later requests on the
//!   connection reuse it, as a keep-alive connection would. A closed window cuts the session:
//!   the next request opens a new one and is refused with the reason.
//! * A request target without a single meaning (`/a/%2e%2e%2fb`, `/..`, a NUL, …;
//!   [`portcullis_domain::http_path`]) is refused with 400; the others go to the connector
//!   with their canonical path, in origin form with `Host` set to the virtual host (the
//!   connector applies its resources, host header and redirect mapping); our cookie is taken
//!   out of `Cookie`. Answers come back with a `Location` on the virtual host made relative,
//!   a `Location` off the service's origin refused with 502 ([`super::web_pages::redirect`]),
//!   and `Set-Cookie` without `Domain` (so cookies bind to the service's origin).
//! * `POST /_portcullis/logout` with the session's CSRF token ends the web session; `GET`
//!   shows the form.
//! * A page the browser navigates to gets a banner (company, system, the window's end, a
//!   sign-out link) right after its `<body>` tag, styled by `/_portcullis/banner.css`
//!   ([`super::web_banner`]): for those requests the service is asked for an uncompressed
//!   answer (`Accept-Encoding: identity`), since only an uncompressed page can be edited.
//!   The window's end is read again for every page, so an extended window shows its new end
//!   on the next page, and a closed one cuts the session as before.
//!
//! WebSocket upgrades are not carried through the web entry (use the HTTP proxy entry).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use portcullis_domain::http_path::parse_target;

use super::listener::PreauthSlot;

use crate::audit::Event;
use crate::audit_action::AuditAction;
use crate::session;
use crate::state::State;
use crate::web::{Binding, WebOrigins, COOKIE, SESSION_TTL};

use super::web_banner;
use super::web_pages::{self, Redirect};
/// Defined beside the pages that use them (so the pages need nothing from this module), and
/// part of the entry's interface: the API builds links with [`LOGIN_PATH`].
pub use super::web_pages::{Resp, LOGIN_PATH, LOGOUT_PATH};

/// The session a browser connection goes through, and whose cookie opened it.
struct Upstream {
    cookie: String,
    sender: SendRequest<Incoming>,
    /// The window that permits the session (`None`: a standing grant), for the banner.
    window: Option<i64>,
}

type Slot = Arc<Mutex<Option<PreauthSlot>>>;

fn page(status: StatusCode, text: &str) -> Resp {
    let mut r = Response::new(
        Full::new(Bytes::from(format!("{text}\n")))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status.is_client_error() || status.is_server_error() {
        // A refused request ends the connection: nobody holds a pre-auth slot (or a browser
        // connection) by sending requests that are turned away.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    portcullis_webui::cookies::get(headers, name)
}

/// The `Cookie` headers without cookie `name`; `None` when nothing is left.
fn cookies_without(headers: &HeaderMap, name: &str) -> Option<HeaderValue> {
    let rest: Vec<&str> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.split_once('=').map_or(*c, |(k, _)| k) != name)
        .collect();
    (!rest.is_empty())
        .then(|| HeaderValue::from_str(&rest.join("; ")).ok())
        .flatten()
}

/// `Set-Cookie` without its `Domain` attribute (a host-only cookie of the web entry); `None`
/// drops it (a back end may not set the web entry's own cookie).
fn map_set_cookie(v: &HeaderValue) -> Option<HeaderValue> {
    let text = v.to_str().ok()?;
    let mut parts = text.split(';');
    let first = parts.next()?.trim();
    if first.split_once('=').map(|(k, _)| k.trim()) == Some(COOKIE) {
        return None;
    }
    let kept: Vec<&str> = std::iter::once(first)
        .chain(
            parts
                .map(str::trim)
                .filter(|a| !a.to_ascii_lowercase().starts_with("domain")),
        )
        .collect();
    HeaderValue::from_str(&kept.join("; ")).ok()
}

const HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The ticket in what a person pasted: the ticket itself, `ticket=…`, or the whole link.
fn pasted_ticket(field: &str) -> &str {
    let field = field.trim();
    field
        .rsplit_once("ticket=")
        .map_or(field, |(_, t)| t)
        .trim()
}

async fn login(
    state: &State,
    peer: SocketAddr,
    req: Request<Incoming>,
    service: i64,
    origins: &WebOrigins,
    query: Option<&str>,
    slot: &Slot,
) -> Resp {
    match *req.method() {
        Method::GET | Method::HEAD => {
            let exposed = query
                .unwrap_or("")
                .split('&')
                .filter_map(|kv| kv.strip_prefix("ticket="))
                .collect::<Vec<_>>();
            if exposed.is_empty() {
                return web_pages::login_form(&origins.host(service));
            }
            // A ticket in a URL lands in logs and history: spend it, open nothing.
            for t in exposed {
                if let Some((s, _)) = state.web.redeem(t) {
                    state.web.end(&s);
                }
            }
            return page(
                StatusCode::BAD_REQUEST,
                "A ticket is never accepted in a URL query (logs keep those); that ticket is \
                 spent now. Ask for a new link: it carries the ticket after '#', and the page \
                 it opens sends it in a form.",
            );
        }
        Method::POST => {}
        _ => return page(StatusCode::METHOD_NOT_ALLOWED, "GET or POST"),
    }
    let own = origins.origin(service);
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        if origin.as_bytes() != own.as_bytes() {
            return page(
                StatusCode::FORBIDDEN,
                "The ticket was sent from another site's page.",
            );
        }
    }
    let body = match http_body_util::Limited::new(req.into_body(), web_pages::MAX_FORM)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."),
    };
    let field = web_pages::form_field(&body, "ticket").unwrap_or_default();
    let Some((secret, b)) = state.web.redeem(pasted_ticket(&field)) else {
        return page(
            StatusCode::FORBIDDEN,
            "This link is not valid: it was used already, it is older than two minutes, or \
             the hub restarted. Ask for a new one (portcullis web-link).",
        );
    };
    if b.service_connection_id != service {
        state.web.end(&secret);
        return page(
            StatusCode::FORBIDDEN,
            "This link belongs to another service connection: open it as it is.",
        );
    }
    // A valid one-time ticket authenticates the browser: the pre-auth slot is free again.
    drop(slot.lock().unwrap_or_else(|e| e.into_inner()).take());
    let actor = match crate::auth::reverify(state.store.as_ref(), &b.token_public_id).await {
        Ok(p) => p.label(),
        Err(_) => {
            state.web.end(&secret);
            return page(
                StatusCode::FORBIDDEN,
                "The token behind this link is no longer valid.",
            );
        }
    };
    state
        .audit
        .record(Event {
            company_id: Some(b.company_id),
            actor: &actor,
            action: AuditAction::WebLogin,
            target: &b.label,
            outcome: "ok",
            detail: serde_json::json!({"service_connection": b.service_connection_id, "from": peer.to_string()}),
        })
        .await;
    let mut r = page(StatusCode::SEE_OTHER, &format!("Opening {}", b.label));
    let set = format!(
        "{COOKIE}={secret}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    if let (Ok(c), Ok(l)) = (
        HeaderValue::from_str(&set),
        HeaderValue::from_str(&b.landing),
    ) {
        r.headers_mut().insert(header::SET_COOKIE, c);
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// `GET /_portcullis/logout` shows the form, `POST` with the session's CSRF token ends the
/// session.
async fn logout(state: &State, req: Request<Incoming>, secret: Option<String>) -> Resp {
    let session = secret.and_then(|s| state.web.session(&s).map(|b| (s, b)));
    match (req.method().clone(), session) {
        (Method::GET | Method::HEAD, Some((s, b))) => {
            web_pages::logout_form(&b.label, &web_pages::csrf_token(&s))
        }
        (Method::GET | Method::HEAD, None) => {
            page(StatusCode::OK, "You are not signed in to this service.")
        }
        (Method::POST, Some((s, _))) => {
            let body = http_body_util::Limited::new(req.into_body(), web_pages::MAX_FORM)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let given = web_pages::form_field(&body, "csrf").unwrap_or_default();
            if !web_pages::csrf_ok(&given, &s) {
                return page(
                    StatusCode::FORBIDDEN,
                    "Sign-out needs the form's CSRF token: use the button on \
                     /_portcullis/logout.",
                );
            }
            state.web.end(&s);
            let mut r = page(StatusCode::OK, "Signed out of the web session.");
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        (Method::POST, None) => page(StatusCode::FORBIDDEN, "No web session to sign out of."),
        _ => page(StatusCode::METHOD_NOT_ALLOWED, "GET or POST"),
    }
}

/// Opens the session for `b` (the token re-read, then `session::open`) and an HTTP/1.1
/// client over it; with the window that permits the session.
async fn open_upstream(
    state: &State,
    peer: SocketAddr,
    b: &Binding,
) -> Result<(SendRequest<Incoming>, Option<i64>), Resp> {
    let principal = crate::auth::reverify(state.store.as_ref(), &b.token_public_id)
        .await
        .map_err(|_| {
            page(
                StatusCode::UNAUTHORIZED,
                "The token behind this web session is no longer valid (revoked, expired, or its \
                 user disabled).",
            )
        })?;
    let session = session::open(state, &principal, "web", peer, b.target.clone())
        .await
        .map_err(|e| {
            page(
                crate::entry::http_proxy::status_for(&e),
                &format!("{}: {}", b.label, e.client_message()),
            )
        })?;
    let window = session.window_id();
    let (front, back) = tokio::io::duplex(64 * 1024);
    let st = state.clone();
    state
        .tasks
        .spawn(async move { session.relay(&st, back).await });
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(front))
        .await
        .map_err(|e| page(StatusCode::BAD_GATEWAY, &e.to_string()))?;
    state.tasks.spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(%peer, error = %e, "web entry: upstream ended");
        }
    });
    Ok((sender, window))
}

async fn serve(
    state: State,
    peer: SocketAddr,
    req: Request<Incoming>,
    slot: Slot,
    upstream: Arc<tokio::sync::Mutex<Option<Upstream>>>,
) -> Resp {
    // One meaning for the path, decided where the connector decides it: a target without
    // one is refused here, and only the canonical form travels on (the connector still
    // checks it against the entry's resources).
    let target = match parse_target(req.uri().to_string().as_bytes()) {
        Ok(t) => t,
        Err(e) => return page(StatusCode::BAD_REQUEST, &format!("Bad request target: {e}")),
    };
    let Some(origins) = state.web_origins.clone() else {
        return page(StatusCode::NOT_FOUND, "The web entry is off.");
    };
    // The service is the origin's: the Host header (or an absolute-form target's authority).
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        });
    let Some(service) = host.as_deref().and_then(|h| origins.service_of(h)) else {
        return page(
            StatusCode::NOT_FOUND,
            "This is the hub's web entry: every service connection has an address of its own. \
             Open the link `portcullis web-link` gives you.",
        );
    };
    if target.path() == web_banner::CSS_PATH {
        return web_banner::stylesheet(req.method());
    }
    if target.path() == LOGIN_PATH {
        return login(&state, peer, req, service, &origins, target.query(), &slot).await;
    }
    let secret = cookie(req.headers(), COOKIE);
    if target.path() == LOGOUT_PATH {
        return logout(&state, req, secret).await;
    }
    let session = secret.and_then(|s| state.web.session(&s).map(|b| (s, b)));
    let Some((secret, b)) = session.filter(|(_, b)| b.service_connection_id == service) else {
        return page(
            StatusCode::UNAUTHORIZED,
            "No web session: open the link `portcullis web-link` (or POST \
             /api/v1/service-connections/{id}/web-link) gives you.",
        );
    };
    drop(slot.lock().unwrap_or_else(|e| e.into_inner()).take());
    let mut up = upstream.lock().await;
    let reuse = up
        .as_ref()
        .is_some_and(|u| u.cookie == secret && !u.sender.is_closed());
    if !reuse {
        match open_upstream(&state, peer, &b).await {
            Ok((sender, window)) => {
                *up = Some(Upstream {
                    cookie: secret,
                    sender,
                    window,
                })
            }
            Err(page) => {
                *up = None;
                return page;
            }
        }
    }
    let Some(u) = up.as_mut() else {
        return page(StatusCode::BAD_GATEWAY, "no session");
    };
    let (mut parts, body) = req.into_parts();
    parts.uri = match target.origin_form().parse() {
        Ok(u) => u,
        Err(_) => return page(StatusCode::BAD_REQUEST, "Bad request target"),
    };
    for h in HOP {
        parts.headers.remove(h);
    }
    match cookies_without(&parts.headers, COOKIE) {
        Some(v) => parts.headers.insert(header::COOKIE, v),
        None => parts.headers.remove(header::COOKIE),
    };
    if let Ok(v) = HeaderValue::from_str(&b.authority) {
        parts.headers.insert(header::HOST, v);
    }
    // A page that may get the banner is asked for uncompressed: only then can it be edited
    // (the entry does not decompress and recompress). Other requests keep what the browser
    // accepts, so scripts, styles and data still travel compressed.
    let banner = web_banner::wanted(&parts.method, &parts.headers);
    if banner {
        parts.headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
    let window = u.window;
    parts.version = http::Version::HTTP_11;
    let answer = match u.sender.ready().await {
        Ok(()) => {
            u.sender
                .send_request(Request::from_parts(parts, body))
                .await
        }
        Err(e) => Err(e),
    };
    let resp = match answer {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(%peer, error = %e, "web entry: request through the session failed");
            *up = None;
            return page(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "{}: the system behind the connector did not answer",
                    b.label
                ),
            );
        }
    };
    let (mut parts, body) = resp.into_parts();
    for h in HOP {
        parts.headers.remove(h);
    }
    if let Some(location) = parts.headers.get(header::LOCATION) {
        let text = location.to_str().unwrap_or("\u{fffd}");
        match web_pages::redirect(text, &b.authority) {
            Redirect::Keep => {}
            Redirect::Path(p) => match HeaderValue::from_str(&p) {
                Ok(v) => {
                    parts.headers.insert(header::LOCATION, v);
                }
                Err(_) => {
                    parts.headers.remove(header::LOCATION);
                }
            },
            Redirect::Refuse => {
                tracing::info!(%peer, service, location = %text.escape_debug(), "web entry: redirect off the service's origin refused");
                return page(
                    StatusCode::BAD_GATEWAY,
                    &format!(
                        "{} redirected to \"{}\", outside its own origin; Portcullis keeps a \
                         service on its own origin, so the redirect is not followed.",
                        b.label,
                        text.escape_debug()
                    ),
                );
            }
        }
    }
    let cookies: Vec<HeaderValue> = parts
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(map_set_cookie)
        .collect();
    parts.headers.remove(header::SET_COOKIE);
    for c in cookies {
        parts.headers.append(header::SET_COOKIE, c);
    }
    if !(banner && web_banner::editable(parts.status, &parts.headers)) {
        return Response::from_parts(parts, body.boxed());
    }
    // The session's request is answered: the next request on this connection may go on.
    drop(up);
    match web_banner::with_banner(&state, &b, window, parts, body).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(%peer, error = %e, "web entry: reading a page through the session failed");
            page(
                StatusCode::BAD_GATEWAY,
                &format!("{}: the page broke off while it was read", b.label),
            )
        }
    }
}

/// Handles one browser connection: TLS within the pre-auth deadline, then HTTP/1.1 with
/// keep-alive.
pub async fn handle(
    state: State,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    permit: PreauthSlot,
) {
    let Some(tls) =
        crate::entry::listener::tls_within_deadline(&state, &acceptor, tcp, peer, &permit, "web")
            .await
    else {
        return;
    };
    let slot: Slot = Arc::new(Mutex::new(Some(permit)));
    let upstream = Arc::new(tokio::sync::Mutex::new(None));
    let (st, svc_slot) = (state.clone(), slot.clone());
    let svc = hyper::service::service_fn(move |req| {
        let (st, slot, up) = (st.clone(), svc_slot.clone(), upstream.clone());
        async move { Ok::<_, Infallible>(serve(st, peer, req, slot, up).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(state.config.preauth_timeout)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(tls), svc);
    let cut = state.shutdown.clone();
    tokio::select! {
        r = conn => if let Err(e) = r {
            tracing::debug!(%peer, error = %e, "web entry connection ended");
        },
        _ = cut.cancelled() => {}
    }
    drop(slot.lock().unwrap_or_else(|e| e.into_inner()).take());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn our_cookie_is_read_and_never_forwarded() {
        let h = headers(&["a=1; __Host-portcullis_web=s3cret", "b=2"]);
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("s3cret"));
        assert_eq!(cookies_without(&h, COOKIE).unwrap(), "a=1; b=2");
        assert_eq!(
            cookies_without(&headers(&["__Host-portcullis_web=x"]), COOKIE),
            None
        );
        assert_eq!(cookie(&headers(&["a=1"]), COOKIE), None);
    }

    #[test]
    fn back_end_cookies_lose_their_domain_and_cannot_be_ours() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(
            map_set_cookie(&v("sid=abc; Domain=erp.internal; Path=/; HttpOnly")).unwrap(),
            "sid=abc; Path=/; HttpOnly"
        );
        assert_eq!(
            map_set_cookie(&v("__Host-portcullis_web=evil; Path=/")),
            None
        );
    }
}
