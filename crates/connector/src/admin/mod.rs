//! The admin UI and REST API: HTTPS on `[admin] listen` (default `127.0.0.1:8443`, off with
//! `listen = ""`), a self-signed certificate made at the first start.
//!
//! Server-rendered pages (askama templates under `crates/connector/templates/admin/`) that work
//! without JavaScript, the assets and security headers of `portcullis-webui` (the same as the
//! hub's portal: strict CSP, no framing, no caching). Pages and API calls ask the one permit
//! check ([`roles::permit`]) and call the operations the admin socket calls (`crate::ops`):
//! one implementation, three doors.
//!
//! # Layout
//! - this file: binding, the router, the accept loop.
//! - [`state`]: [`Admin`], what the handlers share (and their audit records).
//! - [`cert`]: the UI's self-signed certificate.
//! - [`users`]: the file user store and the initial `Administrator`.
//! - [`roles`]: roles, permits and the one check.
//! - [`session`]: the signed-in browser (cookie, CSRF); [`sessions`]: the live sessions.
//! - [`logon_text`]: the logon-screen text; [`settings_page`]: its settings page.
//! - [`tokens_page`]: the user's own API tokens.
//! - [`pages`]: the pages; [`users_page`]: the Users page; [`render`]: templates into responses.
//! - [`api`]: the REST API under `/api/v1`.
//! - [`access_page`], [`api_access`]: the access control pages and API (list, wizard, edit,
//!   resources, import/export, checks).

pub mod access_io_page;
pub mod access_page;
pub mod access_resources_page;
pub mod access_wizard_page;
pub mod api;
pub mod api_access;
pub mod cert;
pub mod logon_text;
pub mod pages;
pub mod render;
pub mod roles;
pub mod session;
pub mod sessions;
pub mod settings_page;
pub mod state;
pub mod tokens_page;
pub mod users;
pub mod users_page;

pub use state::Admin;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::data_dir::ConnectorDataDir;
use crate::shared::Shared;

/// The REST API's routes (what `openapi.json` must describe).
pub const API_ROUTES: &[&str] = &[
    "/api/v1/status",
    "/api/v1/windows",
    "/api/v1/windows/{id}/close",
    "/api/v1/openapi.json",
    "/api/v1/access",
    "/api/v1/access/export",
    "/api/v1/access/import",
    "/api/v1/access/check",
    "/api/v1/access/{name}",
    "/api/v1/access/{name}/resources",
    "/api/v1/access/{name}/resources/{index}",
];

/// Time a client has to finish TLS and send its first request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the admin listener could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The address cannot be bound.
    #[error("the admin UI cannot listen on {addr}: {source} (set [admin] listen to another address, or \"\" to turn the UI off)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The UI certificate.
    #[error(transparent)]
    Cert(#[from] cert::UiCertError),
    /// The user store.
    #[error("the admin UI's user store: {0}")]
    Users(#[from] users::UserError),
}

/// A bound admin listener, ready to [`serve`].
pub(crate) struct Bound {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    users: users::UserStore,
    logon_text: logon_text::LogonText,
}

/// Prepares the admin listener: the certificate (made at the first start), the user store
/// (with the initial `Administrator` at the first start), the socket.
pub(crate) async fn bind(
    data_dir: &std::path::Path,
    listen: SocketAddr,
) -> Result<Bound, AdminError> {
    let dir = ConnectorDataDir::new(data_dir);
    let (cert_pem, key_pem) = cert::load_or_make(&dir, listen)?;
    let tls = cert::server_config(&dir, &cert_pem, &key_pem)?;
    let users = users::UserStore::open(&dir)?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| AdminError::Bind {
            addr: listen,
            source,
        })?;
    Ok(Bound {
        listener,
        acceptor: TlsAcceptor::from(tls),
        users,
        logon_text: logon_text::LogonText::load(&dir),
    })
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl Bound {
    /// Where it listens.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }
}

/// The admin UI's and API's routes.
pub fn router(st: Admin) -> Router {
    Router::new()
        .route("/", get(pages::hub))
        .route(
            "/signin",
            get(pages::signin_form).post(pages::signin_submit),
        )
        .route("/signout", post(pages::sign_out))
        .route(
            "/password",
            get(pages::password_form).post(pages::password_submit),
        )
        .route("/windows", get(pages::windows))
        .route("/windows/{id}/close", post(pages::close_window))
        .route("/users", get(users_page::list).post(users_page::create))
        .route("/tokens", get(tokens_page::list).post(tokens_page::create))
        .route("/tokens/revoke", post(tokens_page::revoke))
        .route("/users/reset", post(users_page::reset))
        .route("/users/disable", post(users_page::disable))
        .route("/users/enable", post(users_page::enable))
        .route(
            "/settings/logon-text",
            get(settings_page::form).post(settings_page::save),
        )
        .route("/assets/{file}", get(pages::asset))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/windows", get(api::windows))
        .route("/api/v1/windows/{id}/close", post(api::close_window))
        .route("/api/v1/openapi.json", get(api::openapi))
        .merge(access_page::routes().merge(api_access::routes()))
        .route("/api/{*rest}", axum::routing::any(api::not_found))
        .fallback(pages::fallback)
        .layer(axum::middleware::from_fn(
            portcullis_webui::headers::security_headers,
        ))
        .with_state(st)
}

/// Serves the admin UI until `stop`.
pub(crate) async fn serve(bound: Bound, shared: Arc<Shared>, stop: CancellationToken) {
    let addr = bound.local_addr();
    tracing::info!(addr = ?addr, "admin UI and REST API listening (https)");
    let st = Admin::new(shared, bound.users, bound.logon_text);
    let app = router(st);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            r = bound.listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "admin UI: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (acceptor, app, stop) = (bound.acceptor.clone(), app.clone(), stop.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "admin UI: TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(req)
                },
            );
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .header_read_timeout(HANDSHAKE_TIMEOUT)
                .timer(hyper_util::rt::TokioTimer::new());
            let conn = builder.serve_connection(TokioIo::new(tls), svc);
            tokio::select! {
                r = conn => if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "admin UI connection ended");
                },
                _ = stop.cancelled() => {}
            }
        });
    }
}
