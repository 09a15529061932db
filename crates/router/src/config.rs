//! What a router is started with: SAProuter's options as a value (sap-reference §1.8).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// SAProuter's default port (`-S`).
pub const DEFAULT_PORT: u16 = 3299;
/// SAProuter's default client limit (`-C`); a routed connection takes two clients.
pub const DEFAULT_MAX_CLIENTS: usize = 800;
/// SAProuter's default timeout for blocking network calls (`-W`), also the deadline for the
/// first message of a connection.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5000);

/// A router's configuration. [`RouterConfig::new`] gives SAProuter's defaults.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// Where to listen (`-H`, `-S`); port 0 picks a free port.
    pub listen: SocketAddr,
    /// The route permission table (`-R`); it must exist.
    pub table_path: PathBuf,
    /// The log file (`-G`), SAProuter's line format; `None` logs nothing.
    pub log_file: Option<PathBuf>,
    /// Largest log file in bytes (`-J`); when a line would pass it, the file is renamed to
    /// `<file>.old` and a new one begun.
    pub log_max_bytes: Option<u64>,
    /// Append to existing log and trace files instead of overwriting them (`-E`).
    pub append: bool,
    /// The trace file (`-T`); `None` traces nothing.
    pub trace_file: Option<PathBuf>,
    /// Trace level 1–3 (`-V`).
    pub trace_level: u8,
    /// Most clients at once (`-C`): every accepted connection is one, every connection the
    /// router opens another.
    pub max_clients: usize,
    /// Timeout for every blocking network call (`-W`): receiving the first message,
    /// resolving and connecting to the next hop, the next router's answer.
    pub timeout: Duration,
    /// Send error replies without release, module, location and other detail (`-Z`).
    pub hide_error_detail: bool,
    /// The password information requests must carry (`-P`); `None`: none needed.
    pub info_password: Option<String>,
    /// Allow IPv6 destinations (`-6`). Without it, only IPv4 addresses are connected to.
    pub ipv6: bool,
    /// TLS hops (the replacement for SNC).
    pub tls: Option<TlsFiles>,
    /// The router's name in error texts (`<host>: route permission denied …`).
    pub host_name: String,
}

/// The PEM files of a router's TLS identity and the CAs it trusts for peers.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// This router's certificate chain; its subject is the name peers' `K` entries use.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// CA certificates that sign the peers this router accepts and connects to.
    pub ca: PathBuf,
}

impl RouterConfig {
    /// SAProuter's defaults with the table at `table_path`, listening on all IPv4 addresses
    /// on port 3299.
    pub fn new(table_path: impl Into<PathBuf>) -> RouterConfig {
        RouterConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            table_path: table_path.into(),
            log_file: None,
            log_max_bytes: None,
            append: false,
            trace_file: None,
            trace_level: 1,
            max_clients: DEFAULT_MAX_CLIENTS,
            timeout: DEFAULT_TIMEOUT,
            hide_error_detail: true,
            info_password: None,
            ipv6: false,
            tls: None,
            host_name: "saprouter".to_owned(),
        }
    }
}
