//! From TOML text to a validated [`ConnectorConfig`]: the `Raw*` structs the text is read
//! into (`deny_unknown_fields`, so a misspelt key is an error) and their conversion, field by
//! field and entry by entry, with errors that name what is at fault.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_domain::access::{
    AccessControlList, AccessEntry, AclError, BackendType, EntryOptions, HostInHeader, PathPolicy,
    Protocol, Resource,
};
use portcullis_domain::secret;
use portcullis_proto::MAX_INVENTORY;
use portcullis_transport::backoff::BackoffConfig;
use portcullis_transport::proxy::{HttpProxy, Secret};
use serde::Deserialize;

use crate::backend_tls::BackendTlsConfig;

use super::{
    base_dir_of, check_inventory, field, AdminConfig, ConfigError, ConnectorConfig, DomainMapping,
    HostPort, DEFAULT_DATA_DIR, MAX_ENTRY_NAME_LEN,
};

impl ConnectorConfig {
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

/// `[certificate]`: the client certificate's renewal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCertificate {
    renew_at_percent: Option<u8>,
}

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
    #[serde(default)]
    monitoring: Option<super::RawMonitoring>,
    #[serde(default)]
    audit: Option<super::RawAudit>,
    #[serde(default)]
    alerts: Option<super::RawAlerts>,
    #[serde(default)]
    certificate: Option<RawCertificate>,
    admin: Option<RawAdmin>,
}

/// `[admin]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    preauth_timeout_secs: Option<u64>,
    #[serde(default)]
    max_preauth: Option<usize>,
    #[serde(default)]
    max_preauth_per_source: Option<usize>,
    #[serde(default)]
    idle_timeout_minutes: Option<u64>,
    #[serde(default)]
    absolute_timeout_hours: Option<u64>,
    #[serde(default)]
    ldap: Option<super::ldap::RawLdap>,
    #[serde(default)]
    client_ca_file: Option<std::path::PathBuf>,
}

/// `value` when it lies in `range`, else an error naming `name` and the range.
fn within<T: PartialOrd + std::fmt::Display + Copy>(
    name: &'static str,
    value: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(field(
            name,
            format!("{v} is outside {}..={}", range.start(), range.end()),
        ))
    }
}

/// `[admin]`: `listen` absent means the default address, `""` turns the UI off; the limits
/// and timeouts within their bounds.
fn admin(raw: Option<RawAdmin>, base: &std::path::Path) -> Result<AdminConfig, ConfigError> {
    use std::time::Duration;
    let raw = raw.unwrap_or_default();
    let d = AdminConfig::new(None);
    let listen = raw
        .listen
        .unwrap_or_else(|| AdminConfig::DEFAULT_LISTEN.to_owned());
    let listen = if listen.trim().is_empty() {
        None
    } else {
        Some(listen.trim().parse::<std::net::SocketAddr>().map_err(|_| {
            field(
                "admin.listen",
                format!("{listen:?} is not an address such as \"127.0.0.1:8443\" (\"\" turns the admin UI off)"),
            )
        })?)
    };
    let max_preauth = within(
        "admin.max_preauth",
        raw.max_preauth,
        d.max_preauth,
        1..=65536,
    )?;
    let per_source = within(
        "admin.max_preauth_per_source",
        raw.max_preauth_per_source,
        d.max_preauth_per_source.min(max_preauth),
        1..=max_preauth,
    )?;
    Ok(AdminConfig {
        listen,
        preauth_timeout: Duration::from_secs(within(
            "admin.preauth_timeout_secs",
            raw.preauth_timeout_secs,
            d.preauth_timeout.as_secs(),
            1..=300,
        )?),
        max_preauth,
        max_preauth_per_source: per_source,
        idle_timeout: Duration::from_secs(
            60 * within(
                "admin.idle_timeout_minutes",
                raw.idle_timeout_minutes,
                d.idle_timeout.as_secs() / 60,
                1..=1440,
            )?,
        ),
        absolute_timeout: Duration::from_secs(
            3600 * within(
                "admin.absolute_timeout_hours",
                raw.absolute_timeout_hours,
                d.absolute_timeout.as_secs() / 3600,
                1..=168,
            )?,
        ),
        ldap: raw.ldap.map(|l| super::ldap::ldap(l, base)).transpose()?,
        client_ca_file: raw.client_ca_file.map(|p| base.join(p)),
    })
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
            monitoring: raw.monitoring.unwrap_or_default().try_into()?,
            audit: raw.audit.unwrap_or_default().try_into()?,
            admin: admin(raw.admin, b.base_dir)?,
            alerts: super::alerts::alerts(raw.alerts.unwrap_or_default(), b.base_dir)?,
            renew_certificate_at_percent: match raw.certificate.and_then(|c| c.renew_at_percent) {
                None => super::DEFAULT_RENEW_AT_PERCENT,
                Some(p @ 10..=90) => p,
                Some(_) => {
                    return Err(field(
                        "certificate.renew_at_percent",
                        "must be 10..=90 (percent of the certificate's life)",
                    ))
                }
            },
        })
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

/// Entry names the admin UI and REST API use for their own pages and calls under `/access/`
/// (the wizard, export, import, check): an entry of that name could not be reached by name.
pub const RESERVED_ENTRY_NAMES: [&str; 4] = ["new", "export", "import", "check"];

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
    if RESERVED_ENTRY_NAMES.contains(&name) {
        return Err(bad(format!(
            "`name` {name:?} is reserved: the admin UI and API use it for a page \
             (/access/{name}); choose another"
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

#[cfg(test)]
mod tests {
    use super::*;

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
