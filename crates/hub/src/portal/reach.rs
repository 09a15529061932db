//! The support engineer's side: what he can reach now (on the home page), how to connect to
//! each ([`ReachRow`]), what he may open for himself ([`IndependentRow`]), a route password
//! for himself, and a one-time browser link for an HTTP service. Which windows admit him is
//! [`crate::ops::windows::reachable_now`]'s to decide, what he may open
//! [`crate::ops::windows::openable_now`]'s;
//! the route password and the link are the operations `POST /api/v1/route-passwords` and
//! `POST /api/v1/service-connections/{id}/web-link` call.

use askama::Template;
use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_domain::conntype::ConnProtocol;
use portcullis_store::Id;
use serde::Deserialize;

use super::render::{self, when, Chrome};
use super::session::Posted;
use crate::entry::http_proxy::status_for;
use crate::entry::web::LOGIN_PATH;
use crate::ops::web_links::{self, WebLinkError};
use crate::ops::windows::{self, Openable, Reachable};
use crate::ops::{access, tokens, OpError};
use crate::state::{HubState, State};

/// What the placeholder for a route password reads in a route string.
pub const ROUTE_PASSWORD_PLACEHOLDER: &str = "<route password>";

/// One service connection the engineer reaches now, as the home page shows it.
#[derive(Debug)]
pub struct ReachRow {
    /// Service connection id.
    pub id: Id,
    /// Customer company.
    pub company: String,
    /// System SID.
    pub sid: String,
    /// Connection type name.
    pub connection_type: String,
    /// `<entry host>:<port>`.
    pub entry: String,
    /// When the window closes, for people.
    pub until: String,
    /// The `portcullis connect` command line.
    pub connect: String,
    /// The SAP route string with a placeholder for the password (NI types, NI entry on).
    pub route: Option<String>,
    /// Whether a browser link can be asked for (HTTP type, web entry on).
    pub web: bool,
}

/// A local port to suggest for `--listen`: the service's own when it needs no privilege.
fn local_port(port: u16) -> u16 {
    if port >= 1024 {
        port
    } else {
        10000 + port
    }
}

/// The route string to `host:port` through the hub's NI entry, with `password` in `/W/`.
pub fn route_string(st: &HubState, password: &str, host: &str, port: u16) -> Option<String> {
    let (ni_host, ni_port) = st.ni_entry()?;
    Some(format!(
        "/H/{ni_host}/S/{ni_port}/W/{password}/H/{host}/S/{port}"
    ))
}

impl ReachRow {
    fn new(st: &HubState, r: Reachable) -> ReachRow {
        let host = r.service.entry_host.clone();
        let port = r.service.service.virtual_port;
        ReachRow {
            id: r.service.service.id,
            company: r.company,
            sid: r.service.sid,
            connection_type: r.service.connection_type_name,
            entry: format!("{host}:{port}"),
            until: when(r.window.end_at),
            connect: format!(
                "portcullis connect --hub {} --ca hub-ca.pem --token <your API token> \
                 {host}:{port} --listen 127.0.0.1:{}",
                st.api_url(),
                local_port(port)
            ),
            route: (r.protocol == ConnProtocol::Ni)
                .then(|| route_string(st, ROUTE_PASSWORD_PLACEHOLDER, &host, port))
                .flatten(),
            web: r.protocol == ConnProtocol::Http && st.web_origins.is_some(),
        }
    }
}

/// What the engineer reaches now, ready to show.
pub async fn rows(st: &State, s: &super::session::Signed) -> Result<Vec<ReachRow>, OpError> {
    Ok(windows::reachable_now(st, &s.principal)
        .await?
        .into_iter()
        .map(|r| ReachRow::new(st, r))
        .collect())
}

/// A service connection the engineer may open for himself (independent opening), as the
/// home page shows it.
#[derive(Debug)]
pub struct IndependentRow {
    /// Service connection id.
    pub id: Id,
    /// Customer company.
    pub company: String,
    /// System SID.
    pub sid: String,
    /// Connection type name.
    pub connection_type: String,
    /// `<entry host>:<port>`.
    pub entry: String,
    /// The window open on it now: its id and end, for people.
    pub open: Option<(Id, String)>,
    /// Whether that window is his own independent opening (he may close it).
    pub own: bool,
}

impl IndependentRow {
    fn new(o: Openable) -> IndependentRow {
        IndependentRow {
            id: o.service.service.id,
            company: o.company,
            entry: format!(
                "{}:{}",
                o.service.entry_host, o.service.service.virtual_port
            ),
            sid: o.service.sid,
            connection_type: o.service.connection_type_name,
            open: o.open.map(|w| (w.id, when(w.end_at))),
            own: o.own,
        }
    }
}

/// What the engineer may open for himself, ready to show.
pub async fn independent_rows(
    st: &State,
    s: &super::session::Signed,
) -> Result<Vec<IndependentRow>, OpError> {
    Ok(windows::openable_now(st, &s.principal)
        .await?
        .into_iter()
        .map(IndependentRow::new)
        .collect())
}

/// The Content-Security-Policy of a page whose forms may lead to the web entry's origins
/// (the browser-link buttons answer with a redirect there, which `form-action` must allow).
pub fn csp_with_web(st: &HubState) -> Option<HeaderValue> {
    let o = st.web_origins.as_ref()?;
    let origin = if o.port == 443 {
        format!("https://*.{}", o.domain)
    } else {
        format!("https://*.{}:{}", o.domain, o.port)
    };
    let csp = super::CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    HeaderValue::from_str(&csp).ok()
}

/// The route password form: which service connection's route string to show with it.
#[derive(Debug, Deserialize)]
pub struct RoutePasswordForm {
    #[serde(default)]
    service: Option<Id>,
}

#[derive(Template)]
#[template(path = "portal/route_password.html")]
struct RoutePasswordPage {
    chrome: Chrome,
    password: String,
    until: String,
    /// The service connection and its ready route string.
    route: Option<(String, String)>,
}

/// `POST /route-password`: a route password for the signed-in user, shown once.
pub async fn route_password(
    AxState(st): AxState<State>,
    posted: Posted<RoutePasswordForm>,
) -> Response {
    let s = &posted.signed;
    let permit = match tokens::route_password_permit(&s.principal) {
        Ok(p) => p,
        Err(e) => return render::op_error(&e),
    };
    let issued = match tokens::create_route_password(&st, s.caller(), &permit, None).await {
        Ok(i) => i,
        Err(e) => return render::op_error(&e),
    };
    let password = issued.token.token.expose().to_string();
    let route = match posted.form.service {
        Some(id) => match rows(&st, s).await {
            Ok(list) => list.into_iter().find(|r| r.id == id).and_then(|r| {
                let (host, port) = r.entry.rsplit_once(':')?;
                let port = port.parse().ok()?;
                route_string(&st, &password, host, port).map(|rs| (r.entry.clone(), rs))
            }),
            Err(e) => return render::op_error(&e),
        },
        None => None,
    };
    render::page(
        StatusCode::CREATED,
        &RoutePasswordPage {
            chrome: s.chrome("home"),
            password,
            until: when(issued.expires_at),
            route,
        },
    )
}

/// The browser-link form has no fields but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /service-connections/{id}/web-link`: a one-time link to the HTTP service, and the
/// browser sent there.
pub async fn web_link(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    let (sc, permit) = match access::service(&st, &s.principal, id, Op::OpenSession).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    match web_links::create(&st, s.caller(), &permit, sc).await {
        Ok(link) => {
            let url = format!(
                "{}{LOGIN_PATH}#ticket={}",
                link.origin,
                link.ticket.expose()
            );
            let mut r = Redirect::to(&url).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let text = render::sentence(&e.to_string());
            match e {
                WebLinkError::Op(e) => render::op_error(&e),
                WebLinkError::WebEntryOff | WebLinkError::Busy => {
                    render::message(StatusCode::SERVICE_UNAVAILABLE, &text)
                }
                WebLinkError::NotHttp(_) => render::message(StatusCode::BAD_REQUEST, &text),
                WebLinkError::Refused(e) => {
                    render::message(status_for(&e), &render::sentence(&e.client_message()))
                }
            }
        }
    }
}
