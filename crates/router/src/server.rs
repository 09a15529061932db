//! The router process: listen, admit clients, hand each connection to [`crate::session`].
//!
//! [`Router::bind`] does everything that can fail before the first client (load and resolve
//! the table, open the log and trace files, load the TLS identity, bind the port), so a
//! misconfigured router refuses to start with a message instead of failing its first client.
//! [`Router::run`] then serves until `saprouter -s`, the end of a soft shutdown (`-p`) or the
//! caller's shutdown token.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis_ni::rterr::ReturnCode;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clients::{ClientTable, EndReason};
use crate::config::RouterConfig;
use crate::logfile::{LogFile, Trace};
use crate::table::{RouteTable, TableError};
use crate::tls::{RouterTls, TlsSetupError};

/// Connections answered with "too many clients" at once; beyond this they are dropped
/// without an answer, so a flood cannot grow memory while the table is full.
const MAX_OVERFLOW_ANSWERS: usize = 64;

/// How long the accept loop pauses after a failed `accept`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How long `run` waits for connections to wind down after a stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why a router could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The route permission table is missing or invalid.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The log or trace file cannot be written.
    #[error("cannot open {what} {path}: {source}")]
    File {
        /// "log file" or "trace file".
        what: &'static str,
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// The port cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// State every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: RouterConfig,
    table: RwLock<Arc<RouteTable>>,
    pub(crate) clients: ClientTable,
    log: Option<LogFile>,
    pub(crate) trace: Trace,
    pub(crate) tls: Option<RouterTls>,
    hide_detail: AtomicBool,
    soft: AtomicBool,
    /// Cancelled by `-s` or the caller: everything ends.
    pub(crate) stop: CancellationToken,
    /// Notified when a soft shutdown starts, so `run` stops accepting.
    soft_started: tokio::sync::Notify,
    pub(crate) started: u64,
    pub(crate) port: u16,
    overflow: Arc<Semaphore>,
}

/// A bound router, ready to [`run`](Router::run).
#[derive(Debug)]
pub struct Router {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// Loads the table and attaches addresses to its host names (resolved through the system
/// resolver, each within `timeout`; a name that does not resolve matches no source).
pub(crate) async fn load_table(
    path: &std::path::Path,
    timeout: Duration,
) -> Result<RouteTable, TableError> {
    let mut table = RouteTable::load(path)?;
    let mut resolved = std::collections::HashMap::new();
    for name in table.host_names() {
        let lookup = tokio::net::lookup_host((name, 0));
        let addrs: Vec<IpAddr> = match tokio::time::timeout(timeout, lookup).await {
            Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
            _ => Vec::new(),
        };
        resolved.insert(name.to_ascii_lowercase(), addrs);
    }
    table.resolve_hosts(|name| {
        resolved
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    });
    Ok(table)
}

impl Router {
    /// Loads everything and binds the port; see the module docs.
    pub async fn bind(config: RouterConfig) -> Result<Router, StartError> {
        let table = load_table(&config.table_path, config.timeout).await?;
        let file_error = |what: &'static str, path: &std::path::Path| {
            let path = path.display().to_string();
            move |source| StartError::File { what, path, source }
        };
        let log = match &config.log_file {
            Some(path) => Some(
                LogFile::open(path, config.append, config.log_max_bytes)
                    .map_err(file_error("log file", path))?,
            ),
            None => None,
        };
        let trace = match &config.trace_file {
            Some(path) => Trace::open(Some(path), config.append, config.trace_level)
                .map_err(file_error("trace file", path))?,
            None => Trace::none(),
        };
        let tls = config.tls.as_ref().map(RouterTls::load).transpose()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(config.listen.port());
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let shared = Arc::new(Shared {
            clients: ClientTable::new(config.max_clients),
            hide_detail: AtomicBool::new(config.hide_error_detail),
            table: RwLock::new(Arc::new(table)),
            log,
            trace,
            tls,
            soft: AtomicBool::new(false),
            stop: CancellationToken::new(),
            soft_started: tokio::sync::Notify::new(),
            started,
            port,
            overflow: Arc::new(Semaphore::new(MAX_OVERFLOW_ANSWERS)),
            config,
        });
        shared.log_line("READ ROUTTAB", &shared.table_summary());
        shared.trace.write(
            1,
            format!(
                "SAProuter (Portcullis {}) on port {port}, {}",
                env!("CARGO_PKG_VERSION"),
                shared.table_summary()
            ),
        );
        Ok(Router { listener, shared })
    }

    /// The address the router listens on (with the port picked when bound to port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `-s`, a finished soft shutdown, or `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let Router { listener, shared } = self;
        let tasks = TaskTracker::new();
        let mut count = shared.clients.subscribe();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = shared.stop.cancelled() => break,
                _ = shared.soft_started.notified() => {}
                _ = count.changed() => {}
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let _ = tcp.set_nodelay(true);
                        tasks.spawn(crate::session::handle(shared.clone(), tcp, peer));
                    }
                    Err(e) => {
                        shared.trace.write(1, format!("accept failed: {e}"));
                        tracing::warn!(error = %e, "router: accept failed");
                        // Typically "too many open files": pause instead of spinning.
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = shared.stop.cancelled() => break,
                            _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        }
                    }
                },
            }
            // Soft shutdown (`-p`): routes are refused from now on, administration still
            // works; the router ends when its last client has gone.
            if shared.is_soft() && shared.clients.is_empty() {
                break;
            }
        }
        shared.stop.cancel();
        shared.clients.stop_all(EndReason::Shutdown);
        tasks.close();
        let _ = tokio::time::timeout(STOP_GRACE, tasks.wait()).await;
        shared.trace.write(1, "router stopped");
    }
}

impl Shared {
    pub(crate) fn table(&self) -> Arc<RouteTable> {
        self.table.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn table_summary(&self) -> String {
        format!(
            "{} ({} entries)",
            self.config.table_path.display(),
            self.table().len()
        )
    }

    /// `-n`: loads the table again. The old one stays in force when the new one is invalid;
    /// connections already routed are never re-checked.
    pub(crate) async fn reload(&self) -> Result<usize, TableError> {
        match load_table(&self.config.table_path, self.config.timeout).await {
            Ok(table) => {
                let len = table.len();
                *self.table.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
                self.log_line("READ ROUTTAB", &self.table_summary());
                self.trace
                    .write(1, format!("route table reloaded: {len} entries"));
                Ok(len)
            }
            Err(e) => {
                self.trace
                    .write(1, format!("route table not reloaded, old one kept: {e}"));
                Err(e)
            }
        }
    }

    /// Writes a log line; a router that cannot log goes into soft shutdown, as SAProuter does.
    pub(crate) fn log_line(&self, action: &str, details: &str) {
        let Some(log) = &self.log else { return };
        if let Err(e) = log.write(action, details) {
            tracing::error!(error = %e, "router: cannot write the log file; soft shutdown");
            self.trace
                .write(1, format!("cannot write the log file ({e}): soft shutdown"));
            self.soft_shutdown();
        }
    }

    pub(crate) fn soft_shutdown(&self) {
        if !self.soft.swap(true, Ordering::SeqCst) {
            self.soft_started.notify_one();
        }
    }

    pub(crate) fn is_soft(&self) -> bool {
        self.soft.load(Ordering::SeqCst)
    }

    pub(crate) fn hide_detail(&self, hide: bool) {
        self.hide_detail.store(hide, Ordering::Relaxed);
    }

    pub(crate) fn overflow(&self) -> &Arc<Semaphore> {
        &self.overflow
    }

    /// An `NI_RTERR` error message with this router's detail (unless hidden).
    pub(crate) fn error_message(&self, code: ReturnCode, text: &str, detail: &str) -> Vec<u8> {
        crate::handshake::error_payload(
            code,
            text,
            detail,
            &self.config.host_name,
            self.hide_detail.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk under the log file: the router stops taking routes (soft shutdown) and
    /// ends once its clients are gone, as SAProuter does when it cannot log.
    #[tokio::test]
    async fn a_log_that_cannot_be_written_means_soft_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("saprouttab");
        std::fs::write(&table, "P * * *\n").unwrap();
        let mut config = RouterConfig::new(&table);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.log_file = Some(dir.path().join("log"));
        let router = Router::bind(config).await.unwrap();
        let addr = router.local_addr().unwrap();
        let shared = router.shared.clone();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        shared.log.as_ref().unwrap().replace_file(full);
        let run = tokio::spawn(router.run(CancellationToken::new()));

        let route = portcullis_ni::RouteString::parse("/H/127.0.0.1/S/1/H/127.0.0.1/S/3200")
            .unwrap()
            .to_request(portcullis_ni::TalkMode::Msg, 40);
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let answer = crate::client::request_route(&mut tcp, &route).await;
        let Err(crate::client::ClientError::Refused(refusal)) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(refusal.code(), Some(ReturnCode::Shutdown), "{refusal}");
        assert!(shared.is_soft());
        drop(tcp);
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the router ends once its clients are gone")
            .unwrap();
    }

    #[tokio::test]
    async fn a_log_file_that_cannot_be_opened_refuses_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("saprouttab");
        std::fs::write(&table, "P * * *\n").unwrap();
        let mut config = RouterConfig::new(&table);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.log_file = Some("/dev/full".into());
        let err = Router::bind(config).await.unwrap_err();
        assert!(err.to_string().contains("log file /dev/full"), "{err}");
    }
}
