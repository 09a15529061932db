//! The agent: keeps a tunnel to the hub up and serves the streams it carries.
//!
//! The loop dials the hub (directly or through the configured HTTP CONNECT proxy), runs TLS
//! 1.3 with the enrolled client certificate against the pinned hub CA, and does the tunnel
//! handshake. A tunnel that ends is re-established with jittered exponential back-off that
//! resets once a tunnel stayed up for the stable period. A rejection that retrying cannot
//! fix (too old, revoked, unknown) stops the agent with [`ConnectorError::Rejected`].
//!
//! At start, after the admin socket proved no other connector uses the `data_dir`, the window
//! closes made at the connector that the hub had not confirmed when the last run ended are read
//! back from `data_dir/closed-windows.json`: those windows stay closed and the hub is told
//! again. A missing file is normal; an unusable one is set aside with a warning, never fatal.
//!
//! Progress is published on a `watch` channel of [`Status`]: tests and the admin UI wait on
//! it instead of sleeping.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_proto::{Hello, Reject, RejectCode, Welcome};
use portcullis_transport::backoff::{Backoff, BackoffConfig};
use portcullis_transport::proxy::{self, HttpProxy, ProxyError};
use portcullis_transport::tunnel::{connector_handshake, ConnectorMux, MuxSettings, TunnelError};
use rustls_pki_types::ServerName;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::acl::AclSnapshot;
use crate::audit::{AuditAction, AuditError, AuditEvent, AuditLog};
use crate::config::{check_inventory, ConfigError, ConnectorConfig, HostPort};
use crate::identity::{Enrollment, Identity, IdentityError};
use crate::shared::Shared;
pub use crate::status::{State, Status};
use crate::tunnel::{self, TunnelCtx, TunnelEnd, CUT_WAIT, DRAIN_GRACE};

/// Deadline for each phase of establishing a tunnel (TCP/proxy, TLS, handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the agent stopped (other than shutdown).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// No usable identity: not enrolled, or the files are damaged.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The audit log cannot be opened.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The configuration is unusable (checks a configuration built in code, not loaded from
    /// a file, may have skipped, such as the inventory's size).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The back-end TLS files (trust store, system certificate) are unusable.
    #[error(transparent)]
    BackendTls(#[from] crate::backend_tls::BackendTlsError),
    /// The tunnel address (configured or enrolled) or the server name is unusable.
    #[error("tunnel address: {0}")]
    TunnelAddress(String),
    /// The local admin socket cannot be created (another connector runs with the same
    /// `data_dir`, the path is too long for a socket, permissions …).
    #[error(transparent)]
    LocalSocket(#[from] crate::local::LocalSocketError),
    /// The admin UI cannot start (its address is taken, its certificate or user store is
    /// unusable).
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    /// The hub refused this connector in a way retrying cannot fix (too old, revoked,
    /// unknown), or revoked it on a live tunnel.
    #[error("the hub refused this connector ({:?}): {}{}", .0.code, .0.message,
        .0.minimum_version.as_deref().map(|v| format!(" (minimum version {v})")).unwrap_or_default())]
    Rejected(Reject),
}

/// A connector started with [`spawn`].
#[derive(Debug)]
pub struct RunningConnector {
    /// Live status.
    pub status: watch::Receiver<Status>,
    /// The agent's task; its result is [`run`]'s.
    pub join: JoinHandle<Result<(), ConnectorError>>,
}

/// Starts [`run`] on a new task.
pub fn spawn(
    config: ConnectorConfig,
    config_path: Option<PathBuf>,
    shutdown: CancellationToken,
) -> RunningConnector {
    let (tx, rx) = watch::channel(Status::default());
    RunningConnector {
        status: rx,
        join: tokio::spawn(run(config, config_path, shutdown, tx)),
    }
}

/// Runs the agent until `shutdown` is cancelled (then returns `Ok` after draining sessions)
/// or a fatal error. With `config_path`, the file is watched and `[[access]]` changes are
/// applied live.
pub async fn run(
    config: ConnectorConfig,
    config_path: Option<PathBuf>,
    shutdown: CancellationToken,
    status: watch::Sender<Status>,
) -> Result<(), ConnectorError> {
    let result = run_inner(config, config_path, &shutdown, &status).await;
    status.send_modify(|s| {
        s.state = match &result {
            Err(ConnectorError::Rejected(_)) => State::Rejected,
            _ => State::Stopped,
        };
        if let Err(e) = &result {
            s.last_error = Some(e.to_string());
        }
    });
    if let Err(e) = &result {
        tracing::error!(error = %e, "connector stopped");
    } else {
        tracing::info!("connector stopped");
    }
    result
}

/// Where and how to reach the hub.
struct Dialer {
    addr: HostPort,
    server_name: ServerName<'static>,
    proxy: Option<HttpProxy>,
    hello: Hello,
    /// Multiplexer settings (the configured per-stream window).
    mux: MuxSettings,
}

async fn run_inner(
    config: ConnectorConfig,
    config_path: Option<PathBuf>,
    shutdown: &CancellationToken,
    status: &watch::Sender<Status>,
) -> Result<(), ConnectorError> {
    let (dialer, shared, enrollment) = prepare(&config, config_path.as_ref(), status)?;
    // Created before anything runs, removed when this function returns (the guard).
    let (local_listener, _local_guard) = crate::local::bind(&config.data_dir)?;
    // Only now, with the socket proving no other connector uses this `data_dir`, and before
    // the admin socket or a tunnel can change the outbox: closes the last run left unconfirmed.
    shared.restore_closes(crate::outbox::load(&config.data_dir));
    // Likewise the monitoring history and usage the last run left.
    crate::monitor::sampler::restore(
        &shared.monitor,
        crate::monitor::sampler::Files::new(&config.data_dir),
        config.monitoring,
    );
    // Background tasks (the reloader, the window timer, the admin socket) stop whenever this
    // function returns.
    let scope = shutdown.child_token();
    let _scope_guard = scope.clone().drop_guard();
    tokio::spawn(crate::live::expire_windows(
        shared.live.clone(),
        scope.clone(),
    ));
    tokio::spawn(crate::local::serve(
        local_listener,
        shared.clone(),
        scope.clone(),
    ));
    tokio::spawn(retry_audit(shared.audit.clone(), scope.clone()));
    tokio::spawn(crate::ops::audit_settings::daily(
        shared.clone(),
        scope.clone(),
    ));
    let sampler = tokio::spawn(crate::monitor::sampler::run(
        shared.monitor.clone(),
        config.data_dir.clone(),
        config.monitoring,
        scope.clone(),
    ));
    tokio::spawn(crate::alerts_watch::run(
        shared.clone(),
        config.data_dir.clone(),
        scope.clone(),
    ));
    if let Some(listen) = config.admin.listen {
        let bound = crate::admin::bind(&config.data_dir, listen, config.admin.clone()).await?;
        let addr = bound.local_addr();
        status.send_modify(|s| s.admin_addr = addr);
        tokio::spawn(crate::admin::serve(bound, shared.clone(), scope.clone()));
    }
    if let Some(path) = config_path {
        tokio::spawn(crate::reload::watch(
            path,
            config.clone(),
            shared.clone(),
            scope.clone(),
        ));
    }
    let sessions = TaskTracker::new();
    let shutdown_cut = CancellationToken::new();
    tracing::info!(
        hub = %dialer.addr, server_name = %enrollment.tunnel_server_name,
        location = %enrollment.location, proxy = dialer.proxy.as_ref().map(|p| p.addr.as_str()),
        entries = config.access.entries().len(), "connector starting"
    );

    let outcome = reconnect(
        &dialer,
        &shared,
        status,
        shutdown,
        &sessions,
        &shutdown_cut,
        config.reconnect,
    )
    .await;
    // Sessions of a tunnel that was lost are cut already; this only waits for their records.
    sessions.close();
    if tokio::time::timeout(DRAIN_GRACE, sessions.wait())
        .await
        .is_err()
    {
        shutdown_cut.cancel();
        let _ = tokio::time::timeout(CUT_WAIT, sessions.wait()).await;
    }
    shutdown_cut.cancel();
    // The sampler saves the monitoring files once more; a restart right after reads them.
    scope.cancel();
    let _ = tokio::time::timeout(CUT_WAIT, sampler).await;
    outcome
}

/// The first phase of [`run`]: checks the list, loads the identity, opens the audit log,
/// loads the back-end TLS material and builds how to reach the hub and the shared state.
fn prepare(
    config: &ConnectorConfig,
    config_path: Option<&PathBuf>,
    status: &watch::Sender<Status>,
) -> Result<(Dialer, Arc<Shared>, Enrollment), ConnectorError> {
    // A list loaded from a file was checked already; one built in code may not have been,
    // and its inventory could never be sent (the tunnel would flap forever).
    check_inventory(&config.access)?;
    let mut identity = Identity::load(&config.data_dir)?;
    // Checked here so a broken identity stops the start with its reason. A key that does not
    // fit its certificate after a crash in the middle of promoting a renewed pair is mended
    // from `renewed.json`, which is removed only after both files were written.
    if let Err(e) = identity.tls_client_config() {
        let mended = crate::renewal::candidates(&config.data_dir, &identity)
            .into_iter()
            .find(|(renewed, id)| *renewed && id.tls_client_config().is_ok());
        let Some((_, renewed)) = mended else {
            return Err(e.into());
        };
        tracing::warn!(error = %e, "the identity files do not fit together; finishing the interrupted promotion of the renewed certificate");
        crate::renewal::promote(&config.data_dir, &renewed)?;
        identity = renewed;
    }
    let addr = match &config.hub_tunnel {
        Some(a) => a.clone(),
        None => HostPort::parse(&identity.enrollment.tunnel_addr).map_err(|e| {
            ConnectorError::TunnelAddress(format!("enrollment.json tunnel_addr: {e}"))
        })?,
    };
    let server_name = ServerName::try_from(identity.enrollment.tunnel_server_name.clone())
        .map_err(|_| {
            ConnectorError::TunnelAddress(format!(
                "enrollment.json tunnel_server_name {:?} is not a valid TLS server name",
                identity.enrollment.tunnel_server_name
            ))
        })?;
    let audit = Arc::new(AuditLog::open(
        &crate::data_dir::ConnectorDataDir::new(&config.data_dir).audit_log(),
    )?);
    audit.set_settings(config.audit.clone());
    {
        let status = status.clone();
        audit.on_health_change(move |h| {
            let error = h.failing.then(|| h.error.clone().unwrap_or_default());
            status.send_if_modified(|s| {
                let changed = s.audit_error != error;
                s.audit_error.clone_from(&error);
                changed
            });
        });
    }
    if config.access.entries().is_empty() {
        tracing::warn!("no [[access]] entries: every stream will be refused");
    }
    let backend_tls = crate::backend_tls::BackendTls::load(&config.backend_tls)?;
    if backend_tls.trusts_all() {
        tracing::warn!(
            "[backend_tls] trust_all is on: every back-end certificate is accepted; \
             not for production"
        );
        audit.record_or_log(AuditEvent::new(
            AuditAction::TrustAllBackends,
            "warning",
            json!({ "message": "trust_all is on: every back-end TLS certificate is accepted" }),
        ));
    }
    let not_after = identity.certificate_not_after_ms();
    status.send_modify(|s| {
        s.hub_addr = Some(addr.to_string());
        s.location = Some(identity.enrollment.location.clone());
        s.certificate_not_after_ms = not_after;
    });
    let dialer = Dialer {
        addr,
        server_name,
        proxy: config.proxy.clone(),
        mux: config.mux.clone(),
        hello: Hello {
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
            location: identity.enrollment.location.clone(),
            hostname: local_hostname(),
        },
    };
    let (acl_tx, _) = watch::channel(AclSnapshot {
        generation: 0,
        acl: Arc::new(config.access.clone()),
    });
    let shared = Arc::new(Shared {
        started: Instant::now(),
        identity: Mutex::new(identity.clone()),
        data_dir: config.data_dir.clone(),
        renew_at_percent: config.renew_certificate_at_percent,
        alerts: crate::alerts::Alerts::load(&config.data_dir, crate::alerts::Watched::of(config)),
        reach: Default::default(),
        backend_tls: Arc::new(crate::backend_tls::LiveBackendTls::new(backend_tls)),
        monitor: Default::default(),
        domain_mappings: Arc::new(crate::shared::LiveDomainMappings::new(
            config.domain_mappings.clone(),
        )),
        config_path: config_path.cloned(),
        edit_lock: Default::default(),
        audit,
        status: status.clone(),
        acl: acl_tx,
        live: Default::default(),
        control_live: AtomicBool::new(false),
        outbox: Default::default(),
        outbox_path: crate::outbox::path(&config.data_dir),
        outbox_ready: Default::default(),
    });
    Ok((dialer, shared, identity.enrollment))
}

/// The agent's main phase: establishes the tunnel, serves it until it ends, and again after
/// back-off, until `shutdown` or a rejection retrying cannot fix.
async fn reconnect(
    dialer: &Dialer,
    shared: &Arc<Shared>,
    status: &watch::Sender<Status>,
    shutdown: &CancellationToken,
    sessions: &TaskTracker,
    shutdown_cut: &CancellationToken,
    reconnect: BackoffConfig,
) -> Result<(), ConnectorError> {
    let mut backoff = Backoff::new(reconnect);
    loop {
        status.send_modify(|s| {
            s.state = State::Connecting;
            s.connected_since_ms = None;
            s.heartbeat_rtt_ms = None;
        });
        let attempt = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            r = connect(dialer, shared) => r,
        };
        match attempt {
            Ok((welcome, mux)) => {
                backoff.on_connected(Instant::now());
                on_welcome(&welcome, shared, dialer);
                let ctx = TunnelCtx {
                    shared,
                    sessions,
                    shutdown_cut,
                    shutdown,
                };
                let end = tunnel::serve(&welcome, mux, ctx).await;
                backoff.on_disconnected(Instant::now());
                let reason = end.to_string();
                shared.audit.record_or_log(AuditEvent::new(
                    AuditAction::TunnelDisconnected,
                    match end {
                        TunnelEnd::Shutdown => "shutdown",
                        _ => "lost",
                    },
                    json!({ "reason": reason }),
                ));
                match end {
                    TunnelEnd::Shutdown => break Ok(()),
                    TunnelEnd::Revoked(g) => {
                        break Err(ConnectorError::Rejected(Reject {
                            code: RejectCode::Revoked,
                            message: g.message,
                            minimum_version: None,
                        }));
                    }
                    _ => {
                        tracing::warn!(reason = %reason, "tunnel ended; reconnecting");
                        status.send_modify(|s| {
                            s.state = State::Connecting;
                            s.last_error = Some(reason);
                        });
                    }
                }
            }
            Err(ConnectError::Tunnel(TunnelError::Rejected(r))) => {
                tracing::error!(
                    code = ?r.code, minimum_version = r.minimum_version.as_deref(),
                    "the hub rejected this connector: {}", r.message
                );
                let fatal = matches!(
                    r.code,
                    RejectCode::ClientTooOld | RejectCode::Revoked | RejectCode::UnknownConnector
                );
                status.send_modify(|s| {
                    s.state = State::Rejected;
                    s.last_error = Some(format!("rejected ({:?}): {}", r.code, r.message));
                });
                if fatal {
                    break Err(ConnectorError::Rejected(r));
                }
            }
            Err(e) => {
                tracing::warn!(hub = %dialer.addr, error = %e, "cannot establish the tunnel");
                status.send_modify(|s| s.last_error = Some(e.to_string()));
            }
        }
        let delay = backoff.next_delay();
        tracing::debug!(
            ?delay,
            attempt = backoff.attempt(),
            "waiting before reconnecting"
        );
        tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

fn on_welcome(welcome: &Welcome, shared: &Shared, dialer: &Dialer) {
    if let Some(w) = &welcome.warning {
        tracing::warn!(
            minimum_version = %w.minimum_version, sunset_date = w.sunset_date.as_deref(),
            "the hub warns that this connector version will be refused: {}", w.message
        );
    }
    tracing::info!(hub = %dialer.addr, hub_version = %welcome.hub_version, "tunnel established");
    shared.audit.record_or_log(AuditEvent::new(
        AuditAction::TunnelConnected,
        "ok",
        json!({
            "hub": dialer.addr.to_string(),
            "hub_version": welcome.hub_version,
            "via_proxy": dialer.proxy.is_some(),
        }),
    ));
    shared.status.send_modify(|s| {
        s.state = State::Connected;
        s.connects += 1;
        s.connected_since_ms = Some(crate::windows::now_ms());
        s.hub_version = Some(welcome.hub_version.clone());
        s.warning = welcome.warning.clone();
    });
}

/// First delay between attempts to write an audit log that could not be written.
pub const AUDIT_RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest delay between them.
pub const AUDIT_RETRY_MAX: Duration = Duration::from_secs(30);

/// While the audit log cannot be written, tries again with exponential back-off (every
/// session attempt tries too), so the connector recovers without a restart and its status
/// says so even when no session comes.
async fn retry_audit(audit: Arc<AuditLog>, stop: CancellationToken) {
    let mut delay = AUDIT_RETRY_MIN;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = match audit.retry() {
            Ok(_) => AUDIT_RETRY_MIN,
            Err(_) => (delay * 2).min(AUDIT_RETRY_MAX),
        };
    }
}

/// Why one attempt to establish the tunnel failed.
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    /// TCP or the proxy failed.
    #[error(transparent)]
    Dial(#[from] ProxyError),
    /// TLS failed (wrong hub certificate, our certificate refused …).
    #[error("TLS handshake with the hub failed: {0}")]
    Tls(std::io::Error),
    /// TLS did not finish in time.
    #[error("TLS handshake timed out after {CONNECT_TIMEOUT:?}")]
    TlsTimeout,
    /// The tunnel handshake failed or the hub rejected us.
    #[error("tunnel handshake: {0}")]
    Tunnel(#[from] TunnelError),
}

/// Dials, runs TLS and the tunnel handshake.
type Established = (Welcome, ConnectorMux<TlsStream<TcpStream>>);

/// Connects with the renewed certificate when there is one, else (or when the hub does not
/// take it) with the one in use; whichever the hub accepts is the identity from then on
/// (see [`crate::renewal`]).
async fn connect(d: &Dialer, shared: &Shared) -> Result<Established, ConnectError> {
    let current = shared.identity();
    let candidates = crate::renewal::candidates(&shared.data_dir, &current);
    let several = candidates.len() > 1;
    let mut last = None;
    for (renewed, identity) in candidates {
        let tls = match identity.tls_client_config() {
            Ok(c) => TlsConnector::from(c),
            Err(e) => {
                tracing::error!(error = %e, renewed, "an identity does not load; skipped");
                last = Some(ConnectError::Tls(std::io::Error::other(e.to_string())));
                continue;
            }
        };
        match connect_with(d, &tls).await {
            Ok(done) => {
                if renewed {
                    match crate::renewal::promote(&shared.data_dir, &identity) {
                        Ok(()) => tracing::info!("the renewed client certificate is in use"),
                        Err(e) => {
                            tracing::error!(error = %e, "the renewed certificate connected but could not replace client.pem; it is tried first again next time")
                        }
                    }
                } else if several {
                    tracing::warn!("the hub took the certificate in use, not the renewed one: it never put that in force; it is dropped and renewal asked again");
                    crate::renewal::drop_renewed(&shared.data_dir);
                }
                let not_after = identity.certificate_not_after_ms();
                shared
                    .status
                    .send_modify(|s| s.certificate_not_after_ms = not_after);
                *shared.identity.lock().unwrap_or_else(|p| p.into_inner()) = identity;
                return Ok(done);
            }
            // The hub does not know the renewed certificate (it never put it in force): the
            // one in use is tried. Any other failure (the hub unreachable, busy, a timeout)
            // says nothing about which certificate the hub holds, and trying the old one could
            // only end in a rejection taken as final: wait and try the renewed one again.
            Err(ConnectError::Tunnel(TunnelError::Rejected(r)))
                if renewed && r.code == RejectCode::UnknownConnector =>
            {
                tracing::warn!(
                    "the hub does not know the renewed certificate; trying the one in use"
                );
                last = Some(ConnectError::Tunnel(TunnelError::Rejected(r)));
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(ConnectError::Tls(std::io::Error::other(
        "no identity to connect with",
    ))))
}

/// Dials, runs TLS with `tls` and the tunnel handshake.
async fn connect_with(d: &Dialer, tls: &TlsConnector) -> Result<Established, ConnectError> {
    let tcp = proxy::dial(&d.addr.host, d.addr.port, d.proxy.as_ref(), CONNECT_TIMEOUT).await?;
    portcullis_transport::sockopt::tune_tunnel_socket(&tcp);
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(d.server_name.clone(), tcp))
        .await
        .map_err(|_| ConnectError::TlsTimeout)?
        .map_err(ConnectError::Tls)?;
    Ok(connector_handshake(tls, d.hello.clone(), &d.mux, CONNECT_TIMEOUT).await?)
}

/// This machine's host name, for the hub's records (`HOSTNAME`, else `/etc/hostname`).
pub(crate) fn local_hostname() -> Option<String> {
    let name = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())?;
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 253
        && !name.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| name.to_owned())
}
