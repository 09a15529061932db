//! Hub configuration: parsed once into validated types before anything binds.
//!
//! Layering (lowest first): built-in defaults → the TOML file → environment and command-line
//! flags (the `cli` crate applies those to [`RawHubConfig`] before validation).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_proto::version::VersionPolicy;
use serde::Deserialize;

/// Why a configuration was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML did not parse or has unknown fields.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A field has an invalid value.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as written in the file.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The `[tokens]` section is invalid.
    #[error(transparent)]
    Tokens(#[from] crate::token_policy::TokenPolicyError),
    /// The `[tls]` section is invalid.
    #[error(transparent)]
    Tls(#[from] crate::operator_tls::TlsConfigError),
    /// The `[portal]` section is invalid.
    #[error(transparent)]
    Portal(#[from] crate::signin::PortalPolicyError),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The file's shape. Every field is optional; defaults fill the gaps.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHubConfig {
    /// Directory for the database, the CA and certificates.
    pub data_dir: Option<PathBuf>,
    /// Names and IP addresses the hub's certificate is valid for; the first is the name
    /// connectors verify.
    pub server_names: Option<Vec<String>>,
    /// Listen addresses.
    #[serde(default)]
    pub listen: RawListen,
    /// Connector policy.
    #[serde(default)]
    pub connectors: RawConnectors,
    /// Limits on unauthenticated work.
    #[serde(default)]
    pub limits: RawLimits,
    /// API token lifetimes.
    #[serde(default)]
    pub tokens: crate::token_policy::RawTokens,
    /// Portal sign-in sessions.
    #[serde(default)]
    pub portal: crate::signin::RawPortal,
    /// The operator's certificates for the browser-facing listeners.
    #[serde(default)]
    pub tls: crate::operator_tls::RawTls,
}

/// `[listen]`
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    /// REST API and portal over HTTPS, and `portcullis connect`.
    pub api: Option<String>,
    /// The connectors' tunnel endpoint (TLS 1.3, mutual auth).
    pub tunnel: Option<String>,
    /// SOCKS5 entry for cloud applications; empty string disables it.
    pub socks5: Option<String>,
    /// HTTP CONNECT proxy entry; empty string disables it.
    pub http_proxy: Option<String>,
    /// NI entry for SAP route strings (SAP GUI, niping, pysap); empty string disables it.
    pub ni: Option<String>,
    /// Web entry: HTTP service connections in a browser, over HTTPS. Off unless given.
    pub web: Option<String>,
    /// Prometheus `/metrics`, `/healthz` and `/readyz`, plain HTTP. Off unless given.
    pub metrics: Option<String>,
    /// The domain under which every service connection gets its own origin
    /// (`sc<id>.<web_domain>`); default `web.<server_names[0]>`.
    pub web_domain: Option<String>,
    /// The web entry's port in the links the API hands out, when it differs from the bound
    /// port (behind a reverse proxy).
    pub advertised_web_port: Option<u16>,
    /// The tunnel address told to connectors at enrolment, when it differs from `tunnel`
    /// (behind NAT or a load balancer).
    pub advertised_tunnel: Option<String>,
}

/// `[connectors]`
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnectors {
    /// Oldest connector version accepted.
    pub min_version: Option<String>,
    /// Connectors below this version are accepted with a warning.
    pub warn_below: Option<String>,
    /// Date from which `warn_below` becomes the minimum (ISO 8601), shown in warnings.
    pub sunset_date: Option<String>,
    /// Heartbeat interval on tunnels, milliseconds.
    pub heartbeat_interval_ms: Option<u64>,
    /// Receive window per stream on tunnels, KiB (what one stream may have in flight from a
    /// connector).
    pub stream_window_kib: Option<u32>,
    /// Lifetime of enreither enrolment tokens, seconds.
    pub enrollment_token_ttl_secs: Option<u64>,
    /// Lifetime of the client certificates connectors get at enrolment and renewal, seconds.
    pub certificate_lifetime_secs: Option<u64>,
}

/// `[limits]`
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Deadline for every phase before a client is authenticated, seconds.
    pub preauth_timeout_secs: Option<u64>,
    /// Most connections allowed in pre-authentication phases at once, per listener.
    pub max_preauth: Option<usize>,
    /// Most of those one source may hold (an IPv4 address, or an IPv6 /64).
    pub max_preauth_per_source: Option<usize>,
    /// Deadline for the TLS handshake on the API, the web entry and the tunnel, seconds
    /// (within the pre-auth deadline).
    pub tls_handshake_timeout_secs: Option<u64>,
    /// Most live sessions one API token may hold at once.
    pub max_sessions_per_token: Option<usize>,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Directory for the database, CA and certificates.
    pub data_dir: PathBuf,
    /// Where the store lives: SQLite in the data directory (the only backend so far).
    pub store: portcullis_store::StoreConfig,
    /// Names in the server certificate; `server_names[0]` is what connectors verify.
    pub server_names: Vec<String>,
    /// API listen address.
    pub api: SocketAddr,
    /// Tunnel listen address.
    pub tunnel: SocketAddr,
    /// SOCKS5 listen address, if enabled.
    pub socks5: Option<SocketAddr>,
    /// HTTP proxy listen address, if enabled.
    pub http_proxy: Option<SocketAddr>,
    /// NI entry listen address, if enabled.
    pub ni: Option<SocketAddr>,
    /// Web entry listen address, if enabled.
    pub web: Option<SocketAddr>,
    /// Metrics and health listen address, if enabled.
    pub metrics: Option<SocketAddr>,
    /// The domain of the web entry's origins: service connection `id` is
    /// `https://sc<id>.<web_domain>:<port>/`.
    pub web_domain: String,
    /// The web entry's port in links, when not the bound port.
    pub advertised_web_port: Option<u16>,
    /// Tunnel address for enrolment answers; `None` = the bound tunnel address.
    pub advertised_tunnel: Option<String>,
    /// Version policy for connectors.
    pub version_policy: VersionPolicy,
    /// Heartbeat interval.
    pub heartbeat_interval: Duration,
    /// Multiplexer settings for tunnels (the per-stream window is configurable).
    pub tunnel_mux: portcullis_transport::tunnel::MuxSettings,
    /// Enrolment token lifetime.
    /// Lifetime of connectors' client certificates (`certificate_lifetime_secs`).
    pub connector_certificate_lifetime: Duration,
    pub enrollment_token_ttl: Duration,
    /// Deadline for pre-auth phases.
    pub preauth_timeout: Duration,
    /// Pre-auth concurrency cap per listener.
    pub max_preauth: usize,
    /// Pre-auth connections one source (IPv4 address, IPv6 /64) may hold per listener; a
    /// newcomer from a source below it displaces the heaviest source's oldest connection when
    /// the listener is full (`portcullis_transport::preauth`).
    pub max_preauth_per_source: usize,
    /// Deadline for TLS handshakes (never longer than `preauth_timeout`).
    pub tls_handshake_timeout: Duration,
    /// Live sessions per API token.
    pub max_sessions_per_token: usize,
    /// API token lifetimes (`[tokens]`).
    pub tokens: crate::token_policy::TokenPolicy,
    /// Portal session timeouts (`[portal]`).
    pub portal: crate::signin::PortalPolicy,
    /// The operator's certificates (`[tls]`).
    pub tls: crate::operator_tls::TlsFiles,
}

/// `[limits] max_preauth_per_source` when not given (or `max_preauth`, if smaller).
pub const DEFAULT_MAX_PREAUTH_PER_SOURCE: usize = 32;

/// `[limits] tls_handshake_timeout_secs` when not given (or `preauth_timeout_secs`, if smaller).
pub const DEFAULT_TLS_HANDSHAKE_SECS: u64 = 5;

/// A commented example configuration with every setting at its default.
pub const EXAMPLE: &str = r#"# Portcullis hub configuration. Every setting is optional; shown are the defaults.
# Each can also be given as a command-line flag or environment variable (see `portcullis hub --help`).

# Database (SQLite), CA and certificates live here. Keep it private: it holds the CA key.
data_dir = "./portcullis-hub"

# Names and IPs in the hub's certificate. Connectors verify the first one.
server_names = ["localhost", "127.0.0.1"]

[listen]
api = "127.0.0.1:8443"          # REST API (/api/v1), OpenAPI, `portcullis connect`; HTTPS
tunnel = "127.0.0.1:8444"       # connectors dial this; TLS 1.3 with client certificates only
socks5 = "127.0.0.1:1080"       # cloud apps: user = location ID, password = API token; "" disables
http_proxy = "127.0.0.1:3128"   # HTTP CONNECT with Proxy-Authorization; "" disables
ni = "127.0.0.1:3299"           # SAP route strings /H/<hub>/S/3299/W/<token>/H/<service connection>/S/<port>; "" disables
# web = "127.0.0.1:8445"        # HTTP service connections in a browser (HTTPS, one-time links); off unless set
# metrics = "127.0.0.1:9464"    # Prometheus /metrics, /healthz, /readyz (plain HTTP); off unless set
# web_domain = "web.hub.example.com"   # each service connection is https://sc<id>.<web_domain>:<port>/
#                                      # (default web.<server_names[0]>; DNS: *.<web_domain>)
# advertised_web_port = 443            # the web entry's port in links, if not the bound one
# advertised_tunnel = "hub.example.com:443"   # what enrolment tells connectors, if not `tunnel`

[connectors]
min_version = "0.0.0"           # older connectors are refused with a message naming this version
# warn_below = "0.2.0"          # connectors below this are accepted with a warning ...
# sunset_date = "2027-06-30"    # ... that names this date
heartbeat_interval_ms = 5000    # three missed heartbeats end a tunnel
stream_window_kib = 1024        # per-stream window from connectors: more for long WAN round
                                # trips (1024 KiB = ~160 Mbit/s per stream at 50 ms), less to keep
                                # interactive streams quick beside bulk ones (64..=16384)
enrollment_token_ttl_secs = 900 # one-time enrolment tokens expire after 15 minutes
certificate_lifetime_secs = 31536000  # connectors' certificates: a year; they renew at 2/3

[limits]
# Every listener (API, tunnel, entries) lets a connection in as a stranger only while it holds a
# pre-auth slot, from accept until the client has authenticated.
preauth_timeout_secs = 10       # deadline for the whole pre-auth phase (TLS, SOCKS5, proxy, NI, hello)
tls_handshake_timeout_secs = 5  # the TLS handshake on API, web entry and tunnel: a part of the above
max_preauth = 256               # connections in pre-auth phases at once, per listener
max_preauth_per_source = 32     # of those, what one source may hold (an IPv4 address or an IPv6 /64;
                                # default 32 or max_preauth if smaller). When a listener is full,
                                # a newcomer from a source holding fewer ends the oldest pre-auth
                                # connection of the source holding most, instead of being refused.
max_sessions_per_token = 1000   # live sessions one API token may hold at once

[tokens]
# Every API token the API creates expires. A token may not mint tokens: an admin of the
# user's company (a vendor admin for vendor users) creates them, within these limits.
default_lifetime_days = 90      # when the request names no lifetime ("expires_in_secs" left out or null)
max_lifetime_days = 365         # longer "expires_in_secs" is refused (400 expiry_above_max)
allow_unlimited = false         # true: an admin may ask for a token that never expires with
                                # "no_expiry": true (CLI --no-expiry); never the default

[portal]
# The web portal on the API listener (https://<api>/). A signed-in browser must sign in again
# after either timeout.
idle_timeout_minutes = 30       # without a request (1..=1440)
absolute_timeout_hours = 12     # after signing in, used or not (1..=168)

[tls]
# Browsers meet the API/portal and the web entry: give them a certificate they trust (PEM chain,
# leaf first, and its key) instead of one from the hub's private CA. The tunnel keeps the hub CA.
# The files are checked for renewals and reloaded without a restart; a renewal that does not
# load leaves the current certificate in use (and is logged).
# api_certificate = "/etc/portcullis/portal-chain.pem"
# api_private_key = "/etc/portcullis/portal-key.pem"
# web_certificate = "/etc/portcullis/web-wildcard-chain.pem"   # for *.<web_domain>
# web_private_key = "/etc/portcullis/web-wildcard-key.pem"
reload_check_secs = 30          # how often the files are checked (1..=86400)
"#;

impl RawHubConfig {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<RawHubConfig, ConfigError> {
        Ok(toml::from_str(text)?)
    }

    /// Reads and parses a file; relative `data_dir` resolves against the file's directory.
    pub fn load(path: &Path) -> Result<RawHubConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let mut raw = RawHubConfig::from_toml(&text)?;
        if let (Some(d), Some(base)) = (&raw.data_dir, path.parent()) {
            if d.is_relative() {
                raw.data_dir = Some(base.join(d));
            }
        }
        Ok(raw)
    }
}

fn addr(field: &'static str, v: Option<&str>, default: &str) -> Result<SocketAddr, ConfigError> {
    v.unwrap_or(default)
        .parse()
        .map_err(|e| invalid(field, format!("{e} (expected ip:port)")))
}

/// The web entry's domain: as configured (a DNS name of at least two labels, so that
/// clients accept the wildcard `*.<domain>`), or `web.<server_names[0]>`.
fn web_domain(configured: Option<&str>, server_names: &[String]) -> Result<String, ConfigError> {
    let domain = match configured {
        Some(d) => d.trim().trim_end_matches('.').to_ascii_lowercase(),
        None => format!("web.{}", server_names[0].to_ascii_lowercase()),
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let ok = labels.len() >= 2
        && domain.len() <= 200
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && !labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return Err(invalid(
            "listen.web_domain",
            "must be a DNS name of at least two labels (e.g. web.hub.example.com); the \
             default web.<server_names[0]> needs server_names[0] to be a name, not an address",
        ));
    }
    Ok(domain)
}

fn optional_addr(
    field: &'static str,
    v: Option<&str>,
    default: &str,
) -> Result<Option<SocketAddr>, ConfigError> {
    match v.unwrap_or(default) {
        "" => Ok(None),
        s => addr(field, Some(s), default).map(Some),
    }
}

fn version(field: &'static str, v: &str) -> Result<semver::Version, ConfigError> {
    semver::Version::parse(v).map_err(|e| invalid(field, format!("{e} (expected x.y.z)")))
}

impl HubConfig {
    /// The data directory and the files the hub keeps in it.
    pub fn dir(&self) -> crate::data_dir::HubDataDir {
        crate::data_dir::HubDataDir::new(&self.data_dir)
    }
}

impl TryFrom<RawHubConfig> for HubConfig {
    type Error = ConfigError;

    fn try_from(raw: RawHubConfig) -> Result<HubConfig, ConfigError> {
        let server_names = raw
            .server_names
            .unwrap_or_else(|| vec!["localhost".into(), "127.0.0.1".into()]);
        if server_names.is_empty() {
            return Err(invalid("server_names", "must name at least one host"));
        }
        let c = &raw.connectors;
        let minimum = version(
            "connectors.min_version",
            c.min_version.as_deref().unwrap_or("0.0.0"),
        )?;
        let warn_below = c
            .warn_below
            .as_deref()
            .map(|v| version("connectors.warn_below", v))
            .transpose()?;
        if let Some(w) = &warn_below {
            if *w < minimum {
                return Err(invalid(
                    "connectors.warn_below",
                    "must not be below min_version",
                ));
            }
        }
        let heartbeat = c.heartbeat_interval_ms.unwrap_or(5000);
        if !(50..=600_000).contains(&heartbeat) {
            return Err(invalid(
                "connectors.heartbeat_interval_ms",
                "must be 50..=600000",
            ));
        }
        let tunnel_mux = portcullis_transport::tunnel::MuxSettings::with_stream_window_kib(
            c.stream_window_kib.unwrap_or(1024),
        )
        .map_err(|e| invalid("connectors.stream_window_kib", e))?;
        let cert_life = c.certificate_lifetime_secs.unwrap_or(365 * 86_400);
        if !(5..=10 * 366 * 86_400).contains(&cert_life) {
            return Err(invalid(
                "connectors.certificate_lifetime_secs",
                "must be 5..=316224000 (ten years); short ones are for tests",
            ));
        }
        let ttl = c.enrollment_token_ttl_secs.unwrap_or(900);
        if !(1..=7 * 86_400).contains(&ttl) {
            return Err(invalid(
                "connectors.enrollment_token_ttl_secs",
                "must be 1..=604800",
            ));
        }
        let preauth = raw.limits.preauth_timeout_secs.unwrap_or(10);
        if !(1..=300).contains(&preauth) {
            return Err(invalid("limits.preauth_timeout_secs", "must be 1..=300"));
        }
        let max_preauth = raw.limits.max_preauth.unwrap_or(256);
        if max_preauth == 0 {
            return Err(invalid("limits.max_preauth", "must be at least 1"));
        }
        let per_source = raw
            .limits
            .max_preauth_per_source
            .unwrap_or(DEFAULT_MAX_PREAUTH_PER_SOURCE.min(max_preauth));
        if !(1..=max_preauth).contains(&per_source) {
            return Err(invalid(
                "limits.max_preauth_per_source",
                format!("must be 1..=max_preauth ({max_preauth})"),
            ));
        }
        let tls_handshake = raw
            .limits
            .tls_handshake_timeout_secs
            .unwrap_or(DEFAULT_TLS_HANDSHAKE_SECS.min(preauth));
        if !(1..=preauth).contains(&tls_handshake) {
            return Err(invalid(
                "limits.tls_handshake_timeout_secs",
                format!("must be 1..=preauth_timeout_secs ({preauth})"),
            ));
        }
        let max_sessions = raw.limits.max_sessions_per_token.unwrap_or(1000);
        if max_sessions == 0 {
            return Err(invalid(
                "limits.max_sessions_per_token",
                "must be at least 1",
            ));
        }
        let l = &raw.listen;
        // Checked only when the web entry is on: an address as server_names[0] is fine
        // without it.
        let web_domain = match l.web.as_deref() {
            None | Some("") => String::new(),
            Some(_) => web_domain(l.web_domain.as_deref(), &server_names)?,
        };
        let data_dir = raw
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./portcullis-hub"));
        Ok(HubConfig {
            store: crate::data_dir::HubDataDir::new(&data_dir).default_store(),
            data_dir,
            server_names,
            api: addr("listen.api", l.api.as_deref(), "127.0.0.1:8443")?,
            tunnel: addr("listen.tunnel", l.tunnel.as_deref(), "127.0.0.1:8444")?,
            socks5: optional_addr("listen.socks5", l.socks5.as_deref(), "127.0.0.1:1080")?,
            http_proxy: optional_addr(
                "listen.http_proxy",
                l.http_proxy.as_deref(),
                "127.0.0.1:3128",
            )?,
            ni: optional_addr("listen.ni", l.ni.as_deref(), "127.0.0.1:3299")?,
            web: match l.web.as_deref() {
                None | Some("") => None,
                Some(a) => Some(addr("listen.web", Some(a), "127.0.0.1:8445")?),
            },
            metrics: match l.metrics.as_deref() {
                None | Some("") => None,
                Some(a) => Some(addr("listen.metrics", Some(a), "127.0.0.1:9464")?),
            },
            web_domain,
            advertised_web_port: l.advertised_web_port.filter(|p| *p != 0),
            advertised_tunnel: l.advertised_tunnel.clone(),
            version_policy: VersionPolicy {
                minimum,
                warn_below,
                sunset_date: c.sunset_date.clone(),
            },
            heartbeat_interval: Duration::from_millis(heartbeat),
            tunnel_mux,
            enrollment_token_ttl: Duration::from_secs(ttl),
            connector_certificate_lifetime: Duration::from_secs(cert_life),
            preauth_timeout: Duration::from_secs(preauth),
            max_preauth,
            max_preauth_per_source: per_source,
            tls_handshake_timeout: Duration::from_secs(tls_handshake),
            max_sessions_per_token: max_sessions,
            tokens: crate::token_policy::TokenPolicy::try_from(&raw.tokens)?,
            portal: crate::signin::PortalPolicy::try_from(&raw.portal)?,
            tls: crate::operator_tls::TlsFiles::try_from(&raw.tls)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_to_the_defaults() {
        let ex = HubConfig::try_from(RawHubConfig::from_toml(EXAMPLE).unwrap()).unwrap();
        let def = HubConfig::try_from(RawHubConfig::default()).unwrap();
        assert_eq!(format!("{ex:?}"), format!("{def:?}"));
        assert_eq!(def.socks5, Some("127.0.0.1:1080".parse().unwrap()));
    }

    #[test]
    fn errors_name_the_field() {
        let e = RawHubConfig::from_toml("[listen]\napi = 1\nbogus = 2").unwrap_err();
        assert!(
            e.to_string().contains("api") || e.to_string().contains("bogus"),
            "{e}"
        );
        let e = RawHubConfig::from_toml("[listen]\nbogus = \"x\"").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let raw = RawHubConfig::from_toml("[connectors]\nmin_version = \"one\"").unwrap();
        let e = HubConfig::try_from(raw).unwrap_err();
        assert!(e.to_string().starts_with("connectors.min_version"), "{e}");
        let raw = RawHubConfig::from_toml("[tokens]\nmax_lifetime_days = 0").unwrap();
        let e = HubConfig::try_from(raw).unwrap_err();
        assert_eq!(e.to_string(), "tokens.max_lifetime_days: must be 1..=3650");
        let raw = RawHubConfig::from_toml("[listen]\nsocks5 = \"\"").unwrap();
        assert_eq!(HubConfig::try_from(raw).unwrap().socks5, None);
    }

    #[test]
    fn preauth_limits_default_sensibly_and_are_checked() {
        let def = HubConfig::try_from(RawHubConfig::default()).unwrap();
        assert_eq!(def.max_preauth_per_source, 32);
        assert_eq!(def.tls_handshake_timeout, Duration::from_secs(5));
        // Smaller global limits pull the defaults down with them.
        let raw =
            RawHubConfig::from_toml("[limits]\nmax_preauth = 8\npreauth_timeout_secs = 3").unwrap();
        let c = HubConfig::try_from(raw).unwrap();
        assert_eq!(c.max_preauth_per_source, 8);
        assert_eq!(c.tls_handshake_timeout, Duration::from_secs(3));
        for bad in [
            "[limits]\nmax_preauth_per_source = 0",
            "[limits]\nmax_preauth = 8\nmax_preauth_per_source = 9",
        ] {
            let e = HubConfig::try_from(RawHubConfig::from_toml(bad).unwrap()).unwrap_err();
            assert!(
                e.to_string().starts_with("limits.max_preauth_per_source"),
                "{e}"
            );
        }
        for bad in [
            "[limits]\ntls_handshake_timeout_secs = 0",
            "[limits]\ntls_handshake_timeout_secs = 11",
        ] {
            let e = HubConfig::try_from(RawHubConfig::from_toml(bad).unwrap()).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("limits.tls_handshake_timeout_secs"),
                "{e}"
            );
        }
    }

    #[test]
    fn the_stream_window_is_configurable_within_bounds() {
        let def = HubConfig::try_from(RawHubConfig::default()).unwrap();
        assert_eq!(def.tunnel_mux.stream_window, 1 << 20);
        let raw = RawHubConfig::from_toml("[connectors]\nstream_window_kib = 128").unwrap();
        assert_eq!(
            HubConfig::try_from(raw).unwrap().tunnel_mux.stream_window,
            128 * 1024
        );
        let raw = RawHubConfig::from_toml("[connectors]\nstream_window_kib = 32").unwrap();
        let e = HubConfig::try_from(raw).unwrap_err().to_string();
        assert!(e.starts_with("connectors.stream_window_kib"), "{e}");
    }
}
