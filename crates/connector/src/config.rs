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

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_domain::access::{
    AccessControlList, AccessEntry, AclError, BackendType, EntryOptions, HostInHeader, PathPolicy,
    Protocol, Resource,
};
use portcullis_domain::secret;
use portcullis_domain::target::{HostPorts, TargetError};

use crate::backend_tls::BackendTlsConfig;
use portcullis_proto::{frame, Message, MAX_FRAME_LEN, MAX_INVENTORY};
use portcullis_transport::backoff::{BackoffConfig, BackoffConfigError};
use portcullis_transport::proxy::{HttpProxy, Secret};
use serde::Deserialize;

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
        }
    }

    /// Reads and validates a configuration file. Relative paths in it resolve against the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &base_dir_of(path))
    }

    /// Parses and validates TOML text; relative paths resolve against `base_dir`.
    pub fn from_toml_str(text: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text)?;
        Self::try_from(Based { raw, base_dir })
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

const EXAMPLE: &str = r#"# Portcullis connector configuration.
#
# The connector dials OUT to the hub (TLS 1.3, mutual authentication) and exposes only the
# internal systems listed below. Nothing listens for inbound connections.
#
# This file is re-read while the connector runs: changes to the [[access]] list take effect
# within a second (new streams are checked against the new list, live sessions the new list
# no longer allows are cut, and the hub is told the new inventory). Other settings need a
# restart.

# Where the identity (from `portcullis connector enroll`), the audit log, the admin socket
# (connector.sock, for `portcullis connector windows` and `close-window`) and the window closes
# the hub has not confirmed yet (closed-windows.json) live. Relative paths resolve against
# this file's directory. Keep the full path under about 90 characters:
# a Unix socket's address cannot be longer.
data_dir = "./connector-data"

# The hub's tunnel address is learned at enrolment. Override it only when the connector must
# reach the hub under another address (the TLS server name stays the enrolled one).
# hub_tunnel = "hub.vendor.example:8444"

# Outbound HTTP CONNECT proxy, for the tunnel only (internal systems are dialled directly).
# Basic authentication travels in clear to the proxy: use a proxy-only credential.
# [proxy]
# address = "proxy.corp.example:3128"
# username = "svc-portcullis"
# password_env = "PORTCULLIS_PROXY_PASSWORD"   # or: password = "..."

# Per-stream window of the tunnel, KiB: what one stream may have in flight from the hub. More
# for long round trips to the hub (1024 KiB carries about 160 Mbit/s per stream at 50 ms),
# less to keep interactive sessions quick beside bulk transfers. 64..=16384.
stream_window_kib = 1024

# Reconnect back-off: jittered, exponential from initial_ms up to max_ms; it starts over once
# a tunnel stayed up for stable_after_secs.
[reconnect]
initial_ms = 100
max_ms = 30000
stable_after_secs = 60

# Access control: only what is listed here is reachable, everything else is refused.
# `virtual` is what the hub and its users see, `internal` what the connector dials.
# A virtual port range maps one to one onto the internal range starting at the given port.
[[access]]
name = "erp"
virtual = "erp.internal:3200-3299"  # virtual host and port(s): the unique key
internal = "10.0.0.5:3200"          # a range maps one to one from its first port
protocol = "ni"                     # http, https, tcp, tcp_tls, ldap, ldaps, ni
backend_type = "abapSys"            # abapSys, netweaverGW, hana, applServerJava, netweaverCE,
                                    # BC, PI, otherSAPsys, nonSAPsys (default); limits the protocol
system_id = "PRD"                   # optional, for people
description = "ERP production, SAP GUI dispatchers"
# host_in_header = "virtual"        # http/https: "virtual" (default) or "internal" + X-Forwarded-Host
# system_certificate = false        # https/tcp_tls/ldaps: log on with the system certificate
# case_insensitive_paths = false    # http/https: the back end ignores the case of paths (IIS):
                                    # resources then compare in lowercase

# TLS to back ends (https, tcp_tls, ldaps entries). The connector trusts no back end until
# its CA is in the trust store; a TLS entry is refused with that reason meanwhile.
# [backend_tls]
# trust_store = ["certs/erp-ca.pem"]          # CA certificates (PEM) back-end chains must reach
# system_certificate = "certs/system.pem"     # the connector's client certificate (PEM chain) ...
# system_certificate_key = "certs/system.key" # ... and its key, shown where an entry says so;
#   `portcullis connector system-certificate generate|import` writes both (import: from .p12)
# trust_all = false                           # accept any back-end certificate: never in production

[[access]]
name = "erp-db"
virtual = "erp-db.internal:5432"
internal = "10.0.0.6:5432"
"#;

// ---------------------------------------------------------------------------------------------
// Raw (as written) → validated

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    data_dir: Option<PathBuf>,
    #[serde(default)]
    hub_tunnel: Option<String>,
    #[serde(default)]
    proxy: Option<RawProxy>,
    #[serde(default)]
    reconnect: Option<RawReconnect>,
    #[serde(default)]
    stream_window_kib: Option<u32>,
    #[serde(default)]
    access: Vec<RawAccess>,
    #[serde(default)]
    backend_tls: Option<RawBackendTls>,
    #[serde(default)]
    domain_mapping: Vec<RawDomainMapping>,
}

/// `[[domain_mapping]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomainMapping {
    #[serde(rename = "virtual")]
    virtual_domain: String,
    internal: String,
}

fn domain_mappings(raw: Vec<RawDomainMapping>) -> Result<Vec<DomainMapping>, ConfigError> {
    let mut out: Vec<DomainMapping> = Vec::new();
    for m in raw {
        let clean = |d: &str| d.trim().trim_start_matches('.').to_ascii_lowercase();
        let (v, i) = (clean(&m.virtual_domain), clean(&m.internal));
        let valid = |d: &str| {
            !d.is_empty()
                && d.len() <= 253
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        };
        if !valid(&v) || !valid(&i) {
            return Err(field(
                "domain_mapping",
                format!(
                    "{:?} → {:?}: domains of letters, digits, '.' and '-'",
                    m.internal, m.virtual_domain
                ),
            ));
        }
        if out.iter().any(|o| o.internal_domain == i) {
            return Err(field("domain_mapping", format!("{i:?} is mapped twice")));
        }
        out.push(DomainMapping {
            virtual_domain: v,
            internal_domain: i,
        });
    }
    Ok(out)
}

/// `[backend_tls]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackendTls {
    #[serde(default)]
    trust_all: bool,
    #[serde(default)]
    trust_store: Vec<PathBuf>,
    #[serde(default)]
    system_certificate: Option<PathBuf>,
    #[serde(default)]
    system_certificate_key: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    address: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default, deserialize_with = "masked")]
    password: Option<secret::Secret<String>>,
    #[serde(default)]
    password_env: Option<String>,
}

/// Reads an optional secret string, masked from then on.
fn masked<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<secret::Secret<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(secret::Secret::new))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReconnect {
    #[serde(default)]
    initial_ms: Option<u64>,
    #[serde(default)]
    max_ms: Option<u64>,
    #[serde(default)]
    stable_after_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    name: String,
    #[serde(rename = "virtual")]
    virtual_target: String,
    internal: String,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    backend_type: Option<String>,
    #[serde(default)]
    host_in_header: Option<String>,
    #[serde(default)]
    system_certificate: bool,
    #[serde(default)]
    case_insensitive_paths: bool,
    #[serde(default)]
    system_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    resources: Vec<RawResource>,
}

/// `[[access.resources]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    path: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    websocket_upgrade: bool,
    #[serde(default)]
    description: Option<String>,
}

fn yes() -> bool {
    true
}

fn resource(r: RawResource) -> Result<Resource, String> {
    let policy = match r.policy.as_deref().map(str::trim) {
        None | Some("path_only") => PathPolicy::PathOnly,
        Some("path_and_sub_paths") => PathPolicy::PathAndSubPaths,
        Some(other) => {
            return Err(format!(
                "`policy` {other:?}: \"path_only\" or \"path_and_sub_paths\""
            ))
        }
    };
    let mut resource = Resource::new(&r.path, policy).map_err(|e| format!("`path` {e}"))?;
    resource.active = r.active;
    resource.websocket_upgrade = r.websocket_upgrade;
    resource.description = r.description.unwrap_or_default();
    Ok(resource)
}

struct Based<'a> {
    raw: RawConfig,
    base_dir: &'a Path,
}

impl TryFrom<Based<'_>> for ConnectorConfig {
    type Error = ConfigError;

    fn try_from(b: Based<'_>) -> Result<Self, ConfigError> {
        let raw = b.raw;
        let data_dir = raw
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        if data_dir.as_os_str().is_empty() {
            return Err(field("data_dir", "must not be empty"));
        }
        let data_dir = if data_dir.is_absolute() {
            data_dir
        } else {
            b.base_dir.join(data_dir)
        };
        let hub_tunnel = raw
            .hub_tunnel
            .as_deref()
            .map(HostPort::parse)
            .transpose()
            .map_err(|e| field("hub_tunnel", e.to_string()))?;
        let proxy = raw.proxy.map(HttpProxy::try_from).transpose()?;
        let reconnect = backoff(raw.reconnect)?;
        let mux = portcullis_transport::tunnel::MuxSettings::with_stream_window_kib(
            raw.stream_window_kib.unwrap_or(1024),
        )
        .map_err(|e| field("stream_window_kib", e))?;
        let access = access_list(raw.access)?;
        check_inventory(&access)?;
        let tls = raw.backend_tls.unwrap_or_default();
        let system_certificate = match (tls.system_certificate, tls.system_certificate_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some((b.base_dir.join(cert), b.base_dir.join(key))),
            _ => {
                return Err(field(
                    "backend_tls.system_certificate",
                    "give both `system_certificate` (PEM chain) and `system_certificate_key`",
                ))
            }
        };
        let backend_tls = BackendTlsConfig {
            trust_all: tls.trust_all,
            trust_store: tls
                .trust_store
                .into_iter()
                .map(|p| b.base_dir.join(p))
                .collect(),
            system_certificate,
        };
        Ok(ConnectorConfig {
            data_dir,
            hub_tunnel,
            proxy,
            reconnect,
            mux,
            access,
            backend_tls,
            domain_mappings: domain_mappings(raw.domain_mapping)?,
        })
    }
}

fn field(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        reason: reason.into(),
    }
}

impl TryFrom<RawProxy> for HttpProxy {
    type Error = ConfigError;

    fn try_from(raw: RawProxy) -> Result<Self, ConfigError> {
        HostPort::parse(&raw.address).map_err(|e| field("proxy.address", e.to_string()))?;
        if let Some(u) = &raw.username {
            if u.is_empty() || u.contains(':') || u.chars().any(char::is_control) {
                return Err(field(
                    "proxy.username",
                    "must be non-empty, without `:` or control characters",
                ));
            }
        }
        let password = match (raw.password, raw.password_env) {
            (Some(_), Some(_)) => {
                return Err(field(
                    "proxy.password",
                    "set either `password` or `password_env`, not both",
                ))
            }
            (Some(p), None) => Some(Secret::new(p.into_inner())),
            (None, Some(var)) => match std::env::var(&var) {
                Ok(p) => Some(Secret::new(p)),
                Err(_) => {
                    return Err(field(
                        "proxy.password_env",
                        format!("environment variable {var:?} is not set (or not UTF-8)"),
                    ))
                }
            },
            (None, None) => None,
        };
        if password.is_some() && raw.username.is_none() {
            return Err(field("proxy.password", "a password needs a `username`"));
        }
        Ok(HttpProxy {
            addr: raw.address.trim().to_owned(),
            username: raw.username,
            password,
        })
    }
}

fn backoff(raw: Option<RawReconnect>) -> Result<BackoffConfig, ConfigError> {
    let mut c = BackoffConfig::default();
    if let Some(r) = raw {
        if let Some(ms) = r.initial_ms {
            c.initial = Duration::from_millis(ms);
        }
        if let Some(ms) = r.max_ms {
            c.max = Duration::from_millis(ms);
        }
        if let Some(s) = r.stable_after_secs {
            c.stable_after = Duration::from_secs(s);
        }
    }
    c.validate()?;
    Ok(c)
}

fn access_list(raw: Vec<RawAccess>) -> Result<AccessControlList, ConfigError> {
    if raw.len() > MAX_INVENTORY {
        return Err(field(
            "access",
            format!("at most {MAX_INVENTORY} entries (the hub's inventory limit)"),
        ));
    }
    let mut entries = Vec::with_capacity(raw.len());
    for (i, a) in raw.into_iter().enumerate() {
        entries.push(access_entry(i, a)?);
    }
    Ok(AccessControlList::new(entries)?)
}

/// The length of the `Inventory` frame that announces `acl` to the hub, as its length prefix
/// counts it (kind byte and body). It must not exceed [`MAX_FRAME_LEN`].
pub fn inventory_frame_len(acl: &AccessControlList) -> usize {
    let inventory = crate::acl::inventory(acl);
    // `frame::encode` debug-asserts on oversized frames, so the body is measured first with
    // the serializer the encoder uses, and only a frame that fits is actually encoded.
    let mut counter = ByteCounter(0);
    if serde_json::to_writer(&mut counter, &inventory).is_err() {
        return usize::MAX;
    }
    let measured = counter.0 + 1;
    if measured > MAX_FRAME_LEN as usize {
        return measured;
    }
    frame::encode_to_vec(&Message::Inventory(inventory)).len() - 4
}

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

/// An `io::Write` that only counts.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn access_entry(index: usize, a: RawAccess) -> Result<AccessEntry, ConfigError> {
    let name = a.name.trim();
    let label = if name.is_empty() || name.len() > MAX_ENTRY_NAME_LEN {
        format!("#{}", index + 1)
    } else {
        name.to_owned()
    };
    let bad = |reason: String| ConfigError::Entry {
        entry: label.clone(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("`name` must not be empty".into()));
    }
    if name.len() > MAX_ENTRY_NAME_LEN || name.chars().any(char::is_control) {
        return Err(bad(format!(
            "`name` must be at most {MAX_ENTRY_NAME_LEN} bytes without control characters"
        )));
    }
    let protocol = match a.protocol.as_deref() {
        None => Protocol::Tcp,
        Some(p) => p
            .parse::<Protocol>()
            .map_err(|e| bad(format!("`protocol`: {e}")))?,
    };
    let options = EntryOptions {
        backend_type: match a.backend_type.as_deref() {
            None => BackendType::default(),
            Some(t) => t.parse().map_err(|e| bad(format!("`backend_type`: {e}")))?,
        },
        host_in_header: match a.host_in_header.as_deref() {
            None => HostInHeader::default(),
            Some(h) => h
                .parse()
                .map_err(|e| bad(format!("`host_in_header`: {e}")))?,
        },
        system_certificate: a.system_certificate,
        case_insensitive_paths: a.case_insensitive_paths,
        system_id: a.system_id.map(|s| s.trim().to_owned()),
        description: a.description.unwrap_or_default().trim().to_owned(),
        resources: a
            .resources
            .into_iter()
            .map(resource)
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("[[access.resources]] {e}")))?,
    };
    let entry = AccessEntry::with_options(name, &a.virtual_target, &a.internal, protocol, options);
    let entry = entry.map_err(|e| match e {
        AclError::Target { source, .. } => bad(source.to_string()),
        AclError::Field { field, reason, .. } => bad(format!("`{field}`: {reason}")),
        AclError::RangeMismatch(_) => bad(
            "`internal` port range must be as long as the `virtual` one (or a single start port)"
                .into(),
        ),
        other => bad(other.to_string()),
    })?;
    Ok(entry)
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

    #[test]
    fn the_raw_proxy_table_masks_its_password() {
        let raw: RawProxy =
            toml::from_str("address = \"p:3128\"\nusername = \"u\"\npassword = \"hunter2\"")
                .unwrap();
        let shown = format!("{raw:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("p:3128"),
            "{shown}"
        );
    }
}
