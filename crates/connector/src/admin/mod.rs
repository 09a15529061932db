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
//! - [`cert`]: the UI's self-signed certificate; [`client_cert`]: logon with a client
//!   certificate.
//! - [`logon`]: who may log on (file store, directory), for the logon form and the API;
//!   [`ldap`]: the LDAP user store.
//! - [`cert`]: the UI's self-signed certificate, served through a swappable [`cert::LiveUiCert`];
//!   [`ui_cert`]: its replacement, and [`ui_cert_page`] its page and API.
//! - [`multipart`]: uploads (file inputs), CSRF checked.
//! - [`trust_page`]: the back-end trust store and `trust_all`; [`security_page`]: the security
//!   status; [`system_cert_page`]: the system certificate; [`api_trust`]: their REST API;
//!   [`domain_mappings_page`]: the cookie domain mappings (page and API).
//! - [`users`]: the file user store and the initial `Administrator`.
//! - [`roles`]: roles, permits and the one check.
//! - [`session`]: the signed-in browser (cookie, CSRF); [`sessions`]: the live sessions.
//! - [`logon_text`]: the logon-screen text; [`settings_page`]: its settings page.
//! - [`tokens_page`]: the user's own API tokens.
//! - [`pages`]: the pages; [`users_page`]: the Users page; [`render`]: templates into responses.
//! - [`api`]: the REST API under `/api/v1`.
//! - [`monitoring_page`], [`live_page`], [`audit_page`], [`audit_settings_page`],
//!   [`api_monitoring`], [`api_audit`]: monitoring, live sessions, the audit log and settings.
//! - [`access_page`], [`api_access`]: the access control pages and API (list, wizard, edit,
//!   resources, import/export, checks).

pub mod access_io_page;
pub mod access_page;
pub mod access_resources_page;
pub mod access_wizard_page;
pub mod alerts_page;
pub mod api;
pub mod api_access;
pub mod api_audit;
pub mod api_backup;
pub mod api_domains;
pub mod api_me;
pub mod api_monitoring;
pub mod api_trust;
pub mod api_users;
pub mod audit_page;
pub mod audit_settings_page;
pub mod backup_page;
pub mod cert;
pub mod client_cert;
pub mod domain_mappings_page;
pub mod ldap;
pub mod live_page;
pub mod logon;
pub mod logon_text;
pub mod metrics;
pub mod monitoring_page;
pub mod multipart;
pub mod openapi;
pub mod pages;
pub mod render;
pub mod roles;
pub mod security_page;
pub mod session;
pub mod sessions;
pub mod settings_page;
pub mod state;
pub mod system_cert_page;
pub mod tokens_page;
pub mod trust_page;
pub mod ui_cert;
pub mod ui_cert_page;
pub mod users;
pub mod users_page;

pub use state::Admin;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use portcullis_transport::preauth::{Caps, PreauthGate};
use portcullis_webui::serve::{Deadlines, Site};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::AdminConfig;
use crate::data_dir::ConnectorDataDir;
use crate::shared::Shared;

/// Longest TLS handshake (within the pre-auth deadline), and longest wait for the rest of a
/// request head once it has begun.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// The CA file of the certificate logon.
    #[error(transparent)]
    ClientCa(#[from] client_cert::ClientCaError),
    /// The LDAP user store's settings.
    #[error(transparent)]
    Ldap(#[from] ldap::LdapSetupError),
}

/// A bound admin listener, ready to [`serve`].
pub(crate) struct Bound {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ui_cert: Arc<cert::LiveUiCert>,
    dir: ConnectorDataDir,
    users: users::UserStore,
    logon_text: logon_text::LogonText,
    directory: Option<ldap::Directory>,
    config: AdminConfig,
}

/// Prepares the admin listener: the certificate (made at the first start), the user store
/// (with the initial `Administrator` at the first start), the socket.
pub(crate) async fn bind(
    data_dir: &std::path::Path,
    listen: SocketAddr,
    config: AdminConfig,
) -> Result<Bound, AdminError> {
    let dir = ConnectorDataDir::new(data_dir);
    let (cert_pem, key_pem) = cert::load_or_make(&dir, listen)?;
    let clients = client_cert::verifier(config.client_ca_file.as_deref())?;
    let (tls, ui_cert) = cert::server_config(&dir, &cert_pem, &key_pem, clients)?;
    let users = users::UserStore::open(&dir)?;
    let directory = config.ldap.clone().map(ldap::Directory::new).transpose()?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| AdminError::Bind {
            addr: listen,
            source,
        })?;
    Ok(Bound {
        listener,
        acceptor: TlsAcceptor::from(tls),
        ui_cert,
        users,
        logon_text: logon_text::LogonText::load(&dir),
        directory,
        config,
        dir,
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
        .route("/signin/certificate", post(client_cert::sign_in))
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
        .merge(trust_page::routes())
        .merge(security_page::routes())
        .merge(ui_cert_page::routes())
        .merge(system_cert_page::routes())
        .merge(domain_mappings_page::routes())
        .route("/assets/{file}", get(pages::asset))
        .merge(monitor_routes())
        .merge(access_page::routes())
        .merge(openapi::api().0)
        .merge(metrics::routes())
        .merge(backup_page::routes())
        .route("/api/{*rest}", axum::routing::any(api::not_found))
        .fallback(pages::fallback)
        .layer(axum::middleware::from_fn(
            portcullis_webui::headers::security_headers,
        ))
        .with_state(st)
}

/// The monitoring, live sessions and audit pages (one merge in [`router`]).
fn monitor_routes() -> Router<Admin> {
    monitoring_page::routes()
        .merge(live_page::routes())
        .merge(audit_page::routes())
        .merge(audit_settings_page::routes())
}

/// Serves the admin UI until `stop`. Every connection holds a pre-auth slot of the
/// listener's gate (`[admin] max_preauth`, `max_preauth_per_source`) from accept until its
/// first request head, within `preauth_timeout_secs`: a flood of silent or slow strangers is
/// refused or displaced, and cannot lock the administrators out.
pub(crate) async fn serve(bound: Bound, shared: Arc<Shared>, stop: CancellationToken) {
    let addr = bound.local_addr();
    tracing::info!(addr = ?addr, "admin UI and REST API listening (https)");
    let config = bound.config;
    let listen = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let ui = state::UiTls {
        live: bound.ui_cert.clone(),
        dir: bound.dir.clone(),
        listen,
    };
    let st = Admin::new(
        shared,
        bound.users,
        bound.logon_text,
        &config,
        bound.directory,
        ui,
    );
    let app = router(st);
    let gate = PreauthGate::new(
        "admin",
        Caps {
            global: config.max_preauth,
            per_source: config.max_preauth_per_source,
        },
    );
    let site = Site {
        name: "admin",
        acceptor: bound.acceptor,
        router: app,
        deadlines: Deadlines {
            tls_handshake: HANDSHAKE_TIMEOUT,
            header_read: HANDSHAKE_TIMEOUT,
        },
        shutdown: stop.clone(),
    };
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
        let Ok(slot) = gate.enter(peer, Instant::now() + config.preauth_timeout) else {
            // Closed at once: a refused stranger costs nothing more.
            continue;
        };
        let site = site.clone();
        let ended = slot.ended();
        tokio::spawn(async move {
            tokio::select! {
                () = site.connection(tcp, peer, slot) => {}
                why = ended => tracing::debug!(%peer, "admin UI: unauthenticated connection ended: {why}"),
            }
        });
    }
}
