//! The connector's configuration file: parsed once, into validated types, before anything runs.
//!
//! The TOML is first read into `Raw*` structs (`deny_unknown_fields`, so a misspelt key is an
//! error instead of a silently ignored setting), then converted with `TryFrom` into
//! [`ConnectorConfig`], whose access control list, proxy and back-off are already checked.
//! Errors name the field or the `[[access]]` entry at fault.
//!
//! Relative paths resolve against the directory of the configuration file, not the working
//! directory, so `portcullis connector --config /etc/portcullis/connector.toml` behaves the
//! same whoever starts it from wherever.
//!
//! # Layout
//! - this file: the validated types ([`ConnectorConfig`], [`HostPort`], [`DomainMapping`]),
//!   [`ConfigError`], [`data_dir_of`] and the inventory size check;
//! - `parse`: the `Raw*` structs, [`ConnectorConfig::load`] / [`ConnectorConfig::from_toml_str`]
//!   and the conversion entry by entry;
//! - `config/example.toml`: the text of [`example`].

use std::fmt;
use std::path::{Path, PathBuf};

use portcullis_domain::access::{AccessControlList, AclError};
use portcullis_domain::target::{HostPorts, TargetError};

use portcullis_proto::MAX_FRAME_LEN;
use portcullis_transport::backoff::{BackoffConfig, BackoffConfigError};
use portcullis_transport::proxy::HttpProxy;
use serde::Deserialize;

pub use crate::acl::inventory_frame_len;
use crate::backend_tls::BackendTlsConfig;

mod alerts;
mod audit;
mod ldap;
mod monitoring;
mod parse;

pub(crate) use alerts::RawAlerts;
pub use alerts::{AlertsConfig, Category, EmailConfig, SmtpSecurity, WebhookConfig};
pub(crate) use audit::RawAudit;
pub use ldap::{LdapConfig, RoleGroups, UserLookup};
pub use monitoring::MonitoringConfig;
pub(crate) use monitoring::RawMonitoring;

/// When the client certificate is renewed by default: at two thirds of its life.
pub const DEFAULT_RENEW_AT_PERCENT: u8 = 67;

/// Longest access control entry name, in bytes. Names show up in logs, audit records and the
/// hub's inventory, so they are kept short and printable.
pub const MAX_ENTRY_NAME_LEN: usize = 128;

/// Default data directory, relative to the configuration file.
pub const DEFAULT_DATA_DIR: &str = "connector-data";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key, or a value of the wrong type. The message
    /// names the key and its line.
    #[error("configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// A field has a value outside what it accepts.
    #[error("configuration field `{field}`: {reason}")]
    Field {
        /// Dotted path of the field, e.g. `proxy.address`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An `[[access]]` entry is invalid (bad target, range mismatch, unknown protocol …).
    #[error("[[access]] entry {entry:?}: {reason}")]
    Entry {
        /// The entry's name (or its position, `#3`, when it has no usable name).
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// The entries are invalid together (duplicate names, overlapping virtual targets).
    #[error("[[access]]: {0}")]
    Acl(#[from] AclError),
    /// `[reconnect]` is inconsistent.
    #[error("[reconnect]: {0}")]
    Reconnect(#[from] BackoffConfigError),
    /// The `[[access]]` list is valid entry by entry, but the inventory announcing it to the
    /// hub would not fit in one protocol frame: the hub would refuse it and the tunnel would
    /// never come up.
    #[error(
        "[[access]]: the inventory for these entries is {len} bytes on the wire, more than \
         the protocol's frame limit of {max} bytes (use shorter names or virtual hosts, or \
         fewer entries)"
    )]
    InventoryTooLarge {
        /// The inventory frame's length (kind byte and body, as its length prefix counts).
        len: usize,
        /// [`MAX_FRAME_LEN`].
        max: u32,
    },
}

/// A cookie domain a back end sets, and the one the client gets instead (CC-25,
/// `[[domain_mapping]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainMapping {
    /// What the client sees.
    pub virtual_domain: String,
    /// What the back end writes.
    pub internal_domain: String,
}

/// Why a `host:port` string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostPortError {
    /// Not `host:port` at all.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A port range where one port is meant.
    #[error("{0:?}: expected a single port, not a range")]
    Range(String),
}

/// A `host:port` the connector dials (the hub's tunnel endpoint, a proxy).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or IP literal (IPv6 without brackets), lower-cased.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl HostPort {
    /// Parses `host:port` or `[v6]:port` (a single port, not a range).
    pub fn parse(s: &str) -> Result<HostPort, HostPortError> {
        let hp = HostPorts::parse(s)?;
        if hp.first != hp.last {
            return Err(HostPortError::Range(s.trim().to_owned()));
        }
        Ok(HostPort {
            host: hp.host,
            port: hp.first,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The validated connector configuration.
///
/// Fields are public so that embedders and test builders can construct one without TOML;
/// each field's type carries its own validation (the ACL is checked by
/// [`AccessControlList::new`], back-off values are clamped by `Backoff::new`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorConfig {
    /// Where the identity (`identity/`), the audit log (`audit.log`), the admin socket
    /// (`connector.sock`) and the unconfirmed local window closes (`closed-windows.json`)
    /// live. Absolute after loading from a file.
    pub data_dir: PathBuf,
    /// Overrides the tunnel address learned at enrolment (e.g. a different DNS name inside
    /// the customer network). The TLS server name stays the enrolled one.
    pub hub_tunnel: Option<HostPort>,
    /// Outbound HTTP CONNECT proxy for the tunnel only; internal targets are always dialled
    /// directly. `Debug` masks the password.
    pub proxy: Option<HttpProxy>,
    /// Reconnect back-off.
    pub reconnect: BackoffConfig,
    /// Multiplexer settings for the tunnel (the per-stream window, `stream_window_kib`, is
    /// configurable: what one stream may have in flight from the hub).
    pub mux: portcullis_transport::tunnel::MuxSettings,
    /// What the hub may reach. Empty means nothing (default deny).
    pub access: AccessControlList,
    /// TLS to back ends (`[backend_tls]`): trust store, trust all, system certificate.
    pub backend_tls: BackendTlsConfig,
    /// Cookie domain mappings for HTTP entries (`[[domain_mapping]]`).
    pub domain_mappings: Vec<DomainMapping>,
    /// Hardware sampling intervals (`[monitoring]`).
    pub monitoring: MonitoringConfig,
    /// What the audit log records and keeps (`[audit]`).
    pub audit: crate::audit::policy::AuditSettings,
    /// The admin UI and REST API (`[admin]`).
    pub admin: AdminConfig,
    /// What is watched and where alerts go (`[alerts]`).
    pub alerts: AlertsConfig,
    /// When the client certificate is renewed over the tunnel, percent of its life
    /// (`[certificate] renew_at_percent`, 10..=90, default 67: two thirds).
    pub renew_certificate_at_percent: u8,
}

/// `[admin]`: where the admin UI and REST API listen (HTTPS), how long strangers may take,
/// and how long a signed-in browser stays signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// The address; `None` turns the UI and API off. A configuration file without
    /// `[admin] listen` gets [`AdminConfig::DEFAULT_LISTEN`]; one built in code
    /// ([`ConnectorConfig::new`]) has it off.
    pub listen: Option<std::net::SocketAddr>,
    /// Deadline from accept until the first request head (TLS included): `preauth_timeout_secs`.
    pub preauth_timeout: std::time::Duration,
    /// Connections before their first request, at once: `max_preauth`.
    pub max_preauth: usize,
    /// Of those, what one source (an IPv4 address or an IPv6 /64) may hold:
    /// `max_preauth_per_source`.
    pub max_preauth_per_source: usize,
    /// A browser session unused this long ends: `idle_timeout_minutes`.
    pub idle_timeout: std::time::Duration,
    /// A browser session ends this long after logon, used or not: `absolute_timeout_hours`.
    pub absolute_timeout: std::time::Duration,
    /// The LDAP user store (`[admin.ldap]`); `None`: the file store only.
    pub ldap: Option<LdapConfig>,
    /// CA certificates (PEM) of the client certificates a user may log on with
    /// (`client_ca_file`); `None`: no certificate logon.
    pub client_ca_file: Option<PathBuf>,
}

impl AdminConfig {
    /// `listen` of a configuration file that does not set it.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:8443";

    /// The defaults, listening on `listen`.
    pub fn new(listen: Option<std::net::SocketAddr>) -> AdminConfig {
        use std::time::Duration;
        AdminConfig {
            listen,
            preauth_timeout: Duration::from_secs(10),
            max_preauth: 64,
            max_preauth_per_source: 16,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            ldap: None,
            client_ca_file: None,
        }
    }
}

impl ConnectorConfig {
    /// A configuration with defaults and an empty access control list.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ConnectorConfig {
            data_dir: data_dir.into(),
            hub_tunnel: None,
            proxy: None,
            reconnect: BackoffConfig::default(),
            mux: Default::default(),
            access: AccessControlList::default(),
            backend_tls: BackendTlsConfig::default(),
            domain_mappings: Vec::new(),
            monitoring: Default::default(),
            audit: Default::default(),
            admin: AdminConfig::new(None),
            alerts: AlertsConfig::default(),
            renew_certificate_at_percent: DEFAULT_RENEW_AT_PERCENT,
        }
    }
}

/// A `ConfigError::Field`.
pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        reason: reason.into(),
    }
}

/// Only the data directory of a configuration file, resolved as [`ConnectorConfig::load`]
/// resolves it. For local admin commands (`portcullis connector windows`), which must work
/// where the rest of the file would not load, e.g. without the proxy password's variable.
pub fn data_dir_of(path: &Path) -> Result<PathBuf, ConfigError> {
    #[derive(Deserialize)]
    struct JustDataDir {
        data_dir: Option<PathBuf>,
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let raw: JustDataDir = toml::from_str(&text)?;
    let data_dir = raw
        .data_dir
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    if data_dir.as_os_str().is_empty() {
        return Err(field("data_dir", "must not be empty"));
    }
    Ok(if data_dir.is_absolute() {
        data_dir
    } else {
        base_dir_of(path).join(data_dir)
    })
}

/// The directory relative paths in `path` resolve against.
pub(crate) fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A fully commented example configuration that parses as is (`portcullis config example
/// connector` prints it).
pub fn example() -> &'static str {
    EXAMPLE
}

const EXAMPLE: &str = include_str!("config/example.toml");

/// Refuses an access list whose inventory cannot be sent in one frame.
pub(crate) fn check_inventory(acl: &AccessControlList) -> Result<(), ConfigError> {
    let len = inventory_frame_len(acl);
    if len > MAX_FRAME_LEN as usize {
        return Err(ConfigError::InventoryTooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(())
}

/// The access control list of a TOML text, for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn test_acl(text: &str) -> AccessControlList {
    ConnectorConfig::from_toml_str(text, Path::new("/"))
        .expect("valid")
        .access
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_data_dir_resolves_against_the_file() {
        let c = ConnectorConfig::from_toml_str("data_dir = \"d\"", Path::new("/etc/pc")).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/etc/pc/d"));
        let c = ConnectorConfig::from_toml_str("data_dir = \"/var/d\"", Path::new("/etc")).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/d"));
        assert_eq!(base_dir_of(Path::new("c.toml")), PathBuf::from("."));
    }

    #[test]
    fn proxy_password_is_masked() {
        let c = ConnectorConfig::from_toml_str(
            "[proxy]\naddress = \"p:3128\"\nusername = \"u\"\npassword = \"hunter2\"",
            Path::new("/"),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(
            c.proxy.unwrap().password.unwrap().expose(),
            "hunter2",
            "the secret itself is kept"
        );
    }
}
