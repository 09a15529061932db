//! The hub: REST API, tunnel endpoint for connectors, entry points for engineers and cloud
//! applications, audit.
//!
//! # Layout
//! - [`config`]: configuration, parsed and validated before anything binds.
//! - [`data_dir`]: [`data_dir::HubDataDir`], every file the hub keeps, named once;
//!   [`dir_lock`]: one hub per data directory.
//! - [`backup`]: `portcullis hub backup|restore`, consistent while the hub serves.
//! - [`pki_state`]: the hub CA and server certificate in the data directory.
//! - [`auth`]: API tokens and the [`auth::Principal`] they yield.
//! - [`signin`]: portal passwords (argon2id), failed sign-ins slowed down, session timeouts.
//! - [`registry`]: live tunnels by company and location.
//! - [`tunnel_endpoint`]: connectors dial in here (mTLS, version check, heartbeats).
//! - [`target`]: what a session is asked for and why one is refused.
//! - [`resolve`]: which service connection a target names, and the [`resolve::SessionPermit`]
//!   that lets a session open.
//! - [`session`]: one client session: authorize, open a stream, relay, audit.
//! - [`entry`]: SOCKS5 and HTTP CONNECT entry points.
//! - [`api`]: the REST API and the WebSocket endpoint of `portcullis connect`.
//! - [`ops`]: the operations every door (API, portal, CLI) calls: each write with its audit
//!   event in one transaction, its effects ([`ops::Change`]) applied in one place.
//! - [`audit`]: writing audit events; [`audit_action`]: every action it records.
//! - [`state`]: what the listeners share.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod api;
pub mod audit;
pub mod audit_action;
pub mod auth;
pub mod backup;
pub mod config;
pub mod data_dir;
pub mod dir_lock;
pub mod entry;
pub mod health;
pub mod live;
pub mod metrics;
pub mod operator_tls;
pub mod ops;
pub mod pki_state;
pub mod portal;
pub mod redact;
pub mod registry;
pub mod resolve;
pub mod session;
pub mod signin;
pub mod state;
pub mod target;
pub mod token_policy;
pub mod tunnel_endpoint;
pub mod web;
pub mod windows;

use std::sync::Arc;
use std::time::Duration;

use portcullis_store::{Role, Store};
use portcullis_transport::tls;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{HubConfig, RawHubConfig};
pub use state::{BoundAddrs, State};

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The data directory or a file in it could not be created or secured.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another hub runs on the data directory (it holds the directory's lock).
    #[error(
        "another hub is running on the data directory {} (it holds {}); stop it, or give this hub another data directory",
        path.display(),
        lock.display()
    )]
    AlreadyRunning {
        /// The data directory.
        path: std::path::PathBuf,
        /// Its lock file.
        lock: std::path::PathBuf,
    },
    /// The first admin token could not be written to its file.
    #[error(transparent)]
    AdminTokenFile(pki_state::PkiStateError),
    /// A listener that was bound could not say its own address.
    #[error("cannot read a listener's local address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The database.
    #[error("database: {0}")]
    Store(#[from] portcullis_store::StoreError),
    /// Certificates.
    #[error("certificates: {0}")]
    Pki(#[from] pki_state::PkiStateError),
    /// An operator's certificate (`[tls]`) could not be loaded.
    #[error("operator certificate: {0}")]
    OperatorCert(#[from] operator_tls::OperatorCertError),
    /// The key that seals stored secrets could not be loaded or made.
    #[error("secrets key: {0}")]
    Sealer(#[from] signin::sealer::SealerError),
    /// TLS configuration.
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    /// A listener could not bind.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// Where.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Name of the file holding the first vendor-admin token, created on first start (mode 0600).
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// A started hub.
#[derive(Debug)]
pub struct RunningHub {
    /// Where it listens.
    pub addrs: BoundAddrs,
    /// Shared state (store, registry …), for embedding and tests.
    pub state: State,
    /// Cancel to stop accepting; then [`RunningHub::stopped`] drains.
    pub shutdown: CancellationToken,
    hard_stop: CancellationToken,
    listeners: Vec<JoinHandle<()>>,
    /// Held while the hub runs: a second hub on the same data directory is refused.
    _lock: dir_lock::DataDirLock,
}

async fn bind(what: &'static str, addr: std::net::SocketAddr) -> Result<TcpListener, HubError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HubError::Bind { what, addr, source })
}

/// Prepares the data directory (mode 0700) and opens the store the configuration names,
/// applying pending migrations: what [`start`] is then given.
pub async fn open_store(config: &HubConfig) -> Result<Arc<dyn Store>, HubError> {
    let dir = config.dir();
    pki_state::private_dir(dir.root()).map_err(|source| HubError::Io {
        path: dir.root().into(),
        source,
    })?;
    Ok(portcullis_store::open(&config.store).await?)
}

/// Creates certificates and the first admin token as needed, binds every listener, and
/// starts serving on `store` (from [`open_store`], or any other [`Store`]). Returns once
/// everything is listening.
pub async fn start(config: HubConfig, store: Arc<dyn Store>) -> Result<RunningHub, HubError> {
    let dir = config.dir();
    pki_state::private_dir(dir.root()).map_err(|source| HubError::Io {
        path: dir.root().into(),
        source,
    })?;
    let lock = dir_lock::DataDirLock::acquire(&dir)
        .map_err(|source| HubError::Io {
            path: dir.lock_file(),
            source,
        })?
        .ok_or_else(|| HubError::AlreadyRunning {
            path: dir.root().into(),
            lock: dir.lock_file(),
        })?;
    let pki = pki_state::load_or_create(&dir, &config.server_names)?;
    let sealer = signin::sealer::Sealer::load_or_create(&dir.secrets_key())?;
    bootstrap_admin(store.as_ref(), &config).await?;
    store
        .ensure_catalogue(&portcullis_domain::conntype::catalogue())
        .await?;

    let api_l = bind("api", config.api).await?;
    let tunnel_l = bind("tunnel", config.tunnel).await?;
    let socks_l = match config.socks5 {
        Some(a) => Some(bind("socks5", a).await?),
        None => None,
    };
    let http_l = match config.http_proxy {
        Some(a) => Some(bind("http_proxy", a).await?),
        None => None,
    };
    let ni_l = match config.ni {
        Some(a) => Some(bind("ni", a).await?),
        None => None,
    };
    let web_l = match config.web {
        Some(a) => Some(bind("web", a).await?),
        None => None,
    };
    let metrics_l = match config.metrics {
        Some(a) => Some(bind("metrics", a).await?),
        None => None,
    };
    let local = |l: &TcpListener| l.local_addr().map_err(HubError::LocalAddr);
    let addrs = BoundAddrs {
        api: local(&api_l)?,
        tunnel: local(&tunnel_l)?,
        socks5: socks_l.as_ref().map(local).transpose()?,
        http_proxy: http_l.as_ref().map(local).transpose()?,
        ni: ni_l.as_ref().map(local).transpose()?,
        web: web_l.as_ref().map(local).transpose()?,
        metrics: metrics_l.as_ref().map(local).transpose()?,
    };
    let tunnel_tls = tls::tunnel_server_config(
        pki.server_chain.clone(),
        pki.server_key.clone_key(),
        pki.ca.cert_der().clone(),
    )?;
    let operator_certs = operator_tls::OperatorCerts {
        api: match config.tls.api.clone() {
            Some(files) => {
                let hub = operator_tls::hub_certificate(
                    pki.server_chain.clone(),
                    pki.server_key.clone_key(),
                )?;
                Some(operator_tls::ReloadingCert::load(files, Some(hub))?)
            }
            None => None,
        },
        web: config
            .tls
            .web
            .clone()
            .map(|files| operator_tls::ReloadingCert::load(files, None))
            .transpose()?,
    };
    let api_tls = match &operator_certs.api {
        Some(c) => tls::api_server_config_with_resolver(c.clone())?,
        None => tls::api_server_config(pki.server_chain.clone(), pki.server_key.clone_key())?,
    };
    let advertised_tunnel = config.advertised_tunnel.clone().unwrap_or_else(|| {
        // A wildcard bind address is no address to dial: advertise the certificate's name.
        if addrs.tunnel.ip().is_unspecified() {
            format!("{}:{}", config.server_names[0], addrs.tunnel.port())
        } else {
            addrs.tunnel.to_string()
        }
    });
    let web_origins = addrs.web.map(|a| web::WebOrigins {
        domain: config.web_domain.clone(),
        port: config.advertised_web_port.unwrap_or(a.port()),
    });
    let shutdown = CancellationToken::new();
    let hard_stop = CancellationToken::new();
    let metrics = Arc::new(metrics::Metrics::new());
    let state: State = Arc::new(state::HubState {
        audit: audit::Auditor::with_metrics(store.clone(), metrics.clone()),
        metrics,
        tokens: auth::TokenCache::default(),
        health: Default::default(),
        signin_throttle: signin::throttle::SignInThrottle::default(),
        pending_signins: signin::pending::PendingSignIns::default(),
        oidc: signin::oidc::Oidc::default(),
        sealer,
        live: live::LiveSessions::default(),
        operator_certs: operator_certs.clone(),
        windows: windows::WindowHub::default(),
        resolved: resolve::ResolveCache::default(),
        store,
        pki,
        registry: registry::Registry::default(),
        advertised_tunnel,
        addrs,
        web_origins,
        web: Default::default(),
        accept_stop: shutdown.clone(),
        shutdown: hard_stop.clone(),
        tasks: TaskTracker::new(),
        tunnels: TaskTracker::new(),
        config,
    });
    windows::spawn_scheduler(state.clone());
    let mut listeners = vec![
        tokio::spawn(tunnel_endpoint::serve(
            state.clone(),
            tunnel_l,
            TlsAcceptor::from(tunnel_tls),
        )),
        tokio::spawn(api::server::serve(
            state.clone(),
            api_l,
            TlsAcceptor::from(api_tls.clone()),
            api::router(state.clone()),
        )),
    ];
    if let Some(l) = metrics_l {
        // Not among the listeners a stop aborts: probes get 503 from /readyz during the grace
        // period; it ends at the hard stop.
        tokio::spawn(metrics::http::serve(state.clone(), l));
    }
    if let Some(l) = socks_l {
        listeners.push(tokio::spawn(entry::listener::accept_loop(
            state.clone(),
            l,
            "socks5",
            entry::socks5_server::handle,
        )));
    }
    if let Some(l) = http_l {
        listeners.push(tokio::spawn(entry::listener::accept_loop(
            state.clone(),
            l,
            "http_proxy",
            entry::http_proxy::handle,
        )));
    }
    if let Some(l) = ni_l {
        listeners.push(tokio::spawn(entry::listener::accept_loop(
            state.clone(),
            l,
            "ni",
            entry::ni::handle,
        )));
    }
    for cert in [&operator_certs.api, &operator_certs.web]
        .into_iter()
        .flatten()
    {
        tokio::spawn(
            cert.clone()
                .watch(state.config.tls.reload_check, state.shutdown.clone()),
        );
    }
    if let Some(l) = web_l {
        // A wildcard certificate for the services' origins, speaking HTTP/1.1 only (the web
        // entry serves HTTP/1.1).
        let mut web_tls = match &state.operator_certs.web {
            Some(c) => (*tls::api_server_config_with_resolver(c.clone())?).clone(),
            None => {
                let (chain, key) =
                    pki_state::web_certificate(&state.pki.ca, &state.config.web_domain)?;
                (*tls::api_server_config(chain, key)?).clone()
            }
        };
        web_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(web_tls));
        listeners.push(tokio::spawn(entry::listener::accept_loop(
            state.clone(),
            l,
            "web",
            move |st, tcp, peer, permit| {
                entry::web::handle(st, acceptor.clone(), tcp, peer, permit)
            },
        )));
    }
    tracing::info!(api = %addrs.api, tunnel = %addrs.tunnel, socks5 = ?addrs.socks5,
        http_proxy = ?addrs.http_proxy, ni = ?addrs.ni, web = ?addrs.web, metrics = ?addrs.metrics,
        "hub listening");
    Ok(RunningHub {
        addrs,
        state,
        shutdown,
        hard_stop,
        listeners,
        _lock: lock,
    })
}

impl RunningHub {
    /// Stops accepting, lets sessions finish for up to `grace`, then cuts what is left.
    pub async fn stop(self, grace: Duration) {
        self.shutdown.cancel();
        for l in &self.listeners {
            l.abort();
        }
        self.state.tasks.close();
        if tokio::time::timeout(grace, self.state.tasks.wait())
            .await
            .is_err()
        {
            tracing::info!("grace period over: cutting remaining tunnels and sessions");
        }
        self.hard_stop.cancel();
        self.state.tunnels.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            self.state.tasks.wait().await;
            self.state.tunnels.wait().await;
        })
        .await;
        // Session records are committed in groups: commit what is queued before exiting.
        if tokio::time::timeout(Duration::from_secs(10), self.state.audit.flush())
            .await
            .is_err()
        {
            tracing::error!("audit queue not committed within 10 s of shutdown");
        }
    }

    /// Runs until `signal` completes, then stops with `grace`.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>, grace: Duration) {
        signal.await;
        tracing::info!("shutting down");
        self.stop(grace).await;
    }
}

/// Creates the first vendor-admin token on first start and writes it to
/// `data_dir/admin.token` (0600). It is never printed to the log.
async fn bootstrap_admin(store: &dyn Store, config: &HubConfig) -> Result<(), HubError> {
    if store.get_setting("bootstrap_admin").await?.is_some() {
        return Ok(());
    }
    let existing = store.find_user_by_name("admin").await?;
    let mut tx = store.begin().await?;
    let user = match existing {
        Some(u) => u,
        None => {
            accounts::create_user(
                &mut *tx,
                None,
                Some("admin"),
                "Bootstrap administrator",
                Role::VendorAdmin,
                Default::default(),
            )
            .await?
        }
    };
    let issued = accounts::issue_token(&mut *tx, user.id, "bootstrap-admin", None).await?;
    tx.audit(portcullis_store::NewAuditEvent {
        at: time::OffsetDateTime::now_utc(),
        company_id: None,
        actor: "hub".into(),
        action: crate::audit_action::AuditAction::TokenCreated.code().into(),
        target: issued.row.name.clone(),
        outcome: "ok".into(),
        detail: serde_json::json!({"token_id": issued.row.id, "bootstrap": true}),
    })
    .await?;
    // The file first: a token is stored only once its holder (the file) has it.
    let path = config.dir().admin_token();
    pki_state::write_file(&path, issued.token.expose()).map_err(HubError::AdminTokenFile)?;
    tx.commit().await?;
    store.put_setting("bootstrap_admin", "created").await?;
    tracing::info!(path = %path.display(), "created the first vendor-admin token");
    Ok(())
}
