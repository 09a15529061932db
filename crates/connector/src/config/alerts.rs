//! `[alerts]`: what the connector watches, when a condition becomes an alert, and where alerts
//! are sent (CC-44..46, sap-reference §3.10; the watcher is [`crate::alerts`]).
//!
//! The thresholds and their defaults are SAP's: CPU above 90 % for more than 60 s, free disk
//! below 100 MB, certificates expiring within 30 days. Every category is watched and listed
//! always; `[alerts.notify]` only says which are sent (all by default, as SAP's flags).
//!
//! ```toml
//! [alerts]
//! cpu_load_percent = 90
//! cpu_tolerance_secs = 60
//! free_disk_mb = 100
//! certificate_validity_days = 30
//!
//! [alerts.email]
//! smtp_host = "mail.example.com"
//! smtp_port = 587
//! security = "starttls"            # or "tls" (implicit TLS, port 465) or "none"
//! user = "connector"
//! password_file = "smtp-password"  # first line is the password
//! from = "Portcullis connector <connector@example.com>"
//! to = ["basis@example.com"]
//!
//! [[alerts.webhook]]
//! url = "https://alerts.example.com/portcullis"
//! secret_file = "webhook-secret"   # signs every request (HMAC-SHA256)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_transport::proxy::Secret;
use serde::Deserialize;

use super::ldap::resolve;
use super::{field, ConfigError};

/// How often conditions are checked by default.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(10);
/// How often back ends are probed for reachability by default.
pub const DEFAULT_BACKEND_INTERVAL: Duration = Duration::from_secs(300);

/// The categories of alerts (SAP's, with the back end and the audit log as their own).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The tunnel to the hub is down (not while the connector stops on purpose).
    Tunnel,
    /// The CPU load stayed above the threshold for longer than the tolerance.
    Cpu,
    /// Free space on the data directory's file system is below the threshold.
    Disk,
    /// A certificate whose key the connector holds expires within the threshold.
    Certificate,
    /// A back end of an access entry does not answer.
    Backend,
    /// The audit log cannot be written (sessions are refused meanwhile).
    Audit,
}

impl Category {
    /// Every category, in the order they are shown.
    pub const ALL: [Category; 6] = [
        Category::Tunnel,
        Category::Cpu,
        Category::Disk,
        Category::Certificate,
        Category::Backend,
        Category::Audit,
    ];

    /// The name used in the configuration, the API and the messages.
    pub fn name(self) -> &'static str {
        match self {
            Category::Tunnel => "tunnel",
            Category::Cpu => "cpu",
            Category::Disk => "disk",
            Category::Certificate => "certificate",
            Category::Backend => "backend",
            Category::Audit => "audit",
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on the same host.
    None,
}

/// `[alerts.email]`.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    /// The SMTP server's host name (also the name its certificate must carry).
    pub smtp_host: String,
    /// Its port.
    pub smtp_port: u16,
    /// TLS or not.
    pub security: SmtpSecurity,
    /// User and password for SMTP AUTH, when the server asks for them.
    pub credentials: Option<(String, Secret<String>)>,
    /// The sender (`Name <address>` or an address).
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// A CA to trust for the server's certificate instead of the system's (PEM).
    pub ca_file: Option<PathBuf>,
}

/// One `[[alerts.webhook]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// Where alerts are POSTed (http or https).
    pub url: String,
    /// The key of the HMAC-SHA256 signature over every request.
    pub secret: Secret<String>,
    /// A CA to trust for an https server instead of the system's (PEM).
    pub ca_file: Option<PathBuf>,
}

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    /// How often conditions are checked (`check_interval_ms`).
    pub check_interval: Duration,
    /// How often back ends are probed (`backend_interval_ms`).
    pub backend_interval: Duration,
    /// The tunnel must stay down this long before it is an alert (`tunnel_tolerance_secs`):
    /// a reconnect after a hub restart is no alert.
    pub tunnel_tolerance: Duration,
    /// CPU load threshold, percent.
    pub cpu_load_percent: u8,
    /// How long the load must stay above it.
    pub cpu_tolerance: Duration,
    /// Free disk threshold, MB (10^6 bytes).
    pub free_disk_mb: u64,
    /// Certificates expiring within this many days raise an alert.
    pub certificate_validity_days: u32,
    /// The categories that are sent (all are listed).
    pub notify: Vec<Category>,
    /// E-mail, when configured.
    pub email: Option<EmailConfig>,
    /// Webhooks.
    pub webhooks: Vec<WebhookConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            check_interval: DEFAULT_CHECK_INTERVAL,
            backend_interval: DEFAULT_BACKEND_INTERVAL,
            tunnel_tolerance: Duration::from_secs(30),
            cpu_load_percent: 90,
            cpu_tolerance: Duration::from_secs(60),
            free_disk_mb: 100,
            certificate_validity_days: 30,
            notify: Category::ALL.to_vec(),
            email: None,
            webhooks: Vec::new(),
        }
    }
}

impl AlertsConfig {
    /// Whether alerts of `category` are sent.
    pub fn notifies(&self, category: Category) -> bool {
        self.notify.contains(&category)
    }
}

/// `[alerts]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    check_interval_ms: Option<u64>,
    backend_interval_ms: Option<u64>,
    tunnel_tolerance_secs: Option<u64>,
    cpu_load_percent: Option<u8>,
    cpu_tolerance_secs: Option<u64>,
    free_disk_mb: Option<u64>,
    certificate_validity_days: Option<u32>,
    notify: Option<RawNotify>,
    email: Option<RawEmail>,
    #[serde(default)]
    webhook: Vec<RawWebhook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    tunnel: Option<bool>,
    cpu: Option<bool>,
    disk: Option<bool>,
    certificate: Option<bool>,
    backend: Option<bool>,
    audit: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    smtp_host: String,
    smtp_port: Option<u16>,
    security: Option<SmtpSecurity>,
    user: Option<String>,
    password_file: Option<PathBuf>,
    from: String,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    secret_file: PathBuf,
    ca_file: Option<PathBuf>,
}

/// Checks `[alerts]`; relative paths resolve against `base` (the configuration's directory).
pub(crate) fn alerts(raw: RawAlerts, base: &Path) -> Result<AlertsConfig, ConfigError> {
    let d = AlertsConfig::default();
    let ms = |name: &'static str, v: Option<u64>, default: Duration| {
        let v = v.map_or(default, Duration::from_millis);
        if v < Duration::from_millis(100) || v > Duration::from_secs(86_400) {
            return Err(field(name, "must be 100..=86400000 ms"));
        }
        Ok(v)
    };
    let secs = |name: &'static str, v: Option<u64>, default: Duration| {
        let v = v.map_or(default, Duration::from_secs);
        if v > Duration::from_secs(86_400) {
            return Err(field(name, "must be 0..=86400 seconds"));
        }
        Ok(v)
    };
    let cpu_load_percent = raw.cpu_load_percent.unwrap_or(d.cpu_load_percent);
    if cpu_load_percent > 100 {
        return Err(field("alerts.cpu_load_percent", "must be 0..=100"));
    }
    let certificate_validity_days = raw
        .certificate_validity_days
        .unwrap_or(d.certificate_validity_days);
    if certificate_validity_days > 3650 {
        return Err(field(
            "alerts.certificate_validity_days",
            "must be 0..=3650",
        ));
    }
    let notify = match raw.notify {
        None => d.notify,
        Some(n) => {
            let on = [n.tunnel, n.cpu, n.disk, n.certificate, n.backend, n.audit];
            Category::ALL
                .into_iter()
                .zip(on)
                .filter(|(_, on)| on.unwrap_or(true))
                .map(|(c, _)| c)
                .collect()
        }
    };
    Ok(AlertsConfig {
        check_interval: ms(
            "alerts.check_interval_ms",
            raw.check_interval_ms,
            d.check_interval,
        )?,
        backend_interval: ms(
            "alerts.backend_interval_ms",
            raw.backend_interval_ms,
            d.backend_interval,
        )?,
        tunnel_tolerance: secs(
            "alerts.tunnel_tolerance_secs",
            raw.tunnel_tolerance_secs,
            d.tunnel_tolerance,
        )?,
        cpu_load_percent,
        cpu_tolerance: secs(
            "alerts.cpu_tolerance_secs",
            raw.cpu_tolerance_secs,
            d.cpu_tolerance,
        )?,
        free_disk_mb: raw.free_disk_mb.unwrap_or(d.free_disk_mb),
        certificate_validity_days,
        notify,
        email: raw.email.map(|e| email(e, base)).transpose()?,
        webhooks: raw
            .webhook
            .into_iter()
            .map(|w| webhook(w, base))
            .collect::<Result<_, _>>()?,
    })
}

fn email(raw: RawEmail, base: &Path) -> Result<EmailConfig, ConfigError> {
    if raw.smtp_host.trim().is_empty() {
        return Err(field("alerts.email.smtp_host", "must not be empty"));
    }
    if raw.to.is_empty() {
        return Err(field("alerts.email.to", "name at least one recipient"));
    }
    for a in raw.to.iter().chain(&raw.cc).chain([&raw.from]) {
        a.parse::<lettre::message::Mailbox>().map_err(|e| {
            field(
                "alerts.email",
                format!("{a:?} is not an e-mail address: {e}"),
            )
        })?;
    }
    let security = raw.security.unwrap_or(SmtpSecurity::Starttls);
    let credentials = match (raw.user, raw.password_file) {
        (None, None) => None,
        (Some(user), Some(file)) => Some((
            user,
            Secret::new(first_line(
                "alerts.email.password_file",
                &resolve(base, file),
            )?),
        )),
        _ => {
            return Err(field(
                "alerts.email",
                "user and password_file go together (both or neither)",
            ))
        }
    };
    let local = raw.smtp_host.eq_ignore_ascii_case("localhost")
        || raw
            .smtp_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if security == SmtpSecurity::None && !local {
        return Err(field(
            "alerts.email.security",
            "\"none\" only for a relay on this host (localhost, 127.0.0.1, ::1): alerts name hosts and errors; use \"starttls\" or \"tls\"",
        ));
    }
    if security == SmtpSecurity::None && credentials.is_some() {
        return Err(field(
            "alerts.email",
            "a password is sent only over TLS: use security = \"starttls\" or \"tls\", or a relay that needs no login",
        ));
    }
    Ok(EmailConfig {
        smtp_host: raw.smtp_host,
        smtp_port: raw.smtp_port.unwrap_or(match security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }),
        security,
        credentials,
        from: raw.from,
        to: raw.to,
        cc: raw.cc,
        ca_file: raw.ca_file.map(|p| resolve(base, p)),
    })
}

fn webhook(raw: RawWebhook, base: &Path) -> Result<WebhookConfig, ConfigError> {
    let uri: http::Uri = raw
        .url
        .parse()
        .map_err(|e| field("alerts.webhook.url", format!("{:?}: {e}", raw.url)))?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(field(
            "alerts.webhook.url",
            "must not hold a user or password (user@host): the request is signed with secret_file",
        ));
    }
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(field(
            "alerts.webhook.url",
            format!("{:?}: must be an http or https URL with a host", raw.url),
        ));
    }
    let secret = first_line(
        "alerts.webhook.secret_file",
        &resolve(base, raw.secret_file),
    )?;
    if secret.len() < 16 {
        return Err(field(
            "alerts.webhook.secret_file",
            "the secret must be at least 16 characters",
        ));
    }
    Ok(WebhookConfig {
        url: raw.url,
        secret: Secret::new(secret),
        ca_file: raw.ca_file.map(|p| resolve(base, p)),
    })
}

/// The first line of a secret file, without its line end; never empty.
fn first_line(name: &'static str, path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| field(name, format!("cannot read {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(field(name, format!("{} is empty", path.display())));
    }
    Ok(line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, base: &Path) -> Result<AlertsConfig, ConfigError> {
        let raw: RawAlerts = toml::from_str(text).unwrap();
        alerts(raw, base)
    }

    #[test]
    fn defaults_are_saps() {
        let c = parse("", Path::new("/")).unwrap();
        assert_eq!(c.cpu_load_percent, 90);
        assert_eq!(c.cpu_tolerance, Duration::from_secs(60));
        assert_eq!(c.free_disk_mb, 100);
        assert_eq!(c.certificate_validity_days, 30);
        assert_eq!(c.notify, Category::ALL.to_vec());
        assert!(c.email.is_none() && c.webhooks.is_empty());
    }

    #[test]
    fn switches_secrets_and_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\nignored\n").unwrap();
        std::fs::write(dir.path().join("hook"), "0123456789abcdef0123\n").unwrap();
        let c = parse(
            r#"
            notify = { cpu = false }
            [email]
            smtp_host = "127.0.0.1"
            security = "tls"
            user = "u"
            password_file = "pw"
            from = "c@example.com"
            to = ["a@example.com"]
            [[webhook]]
            url = "http://127.0.0.1:9/x"
            secret_file = "hook"
            "#,
            dir.path(),
        )
        .unwrap();
        assert!(!c.notifies(Category::Cpu) && c.notifies(Category::Tunnel));
        let e = c.email.unwrap();
        assert_eq!(e.smtp_port, 465);
        assert_eq!(e.credentials.unwrap().1.expose(), "s3cret");
        assert_eq!(c.webhooks[0].secret.expose(), "0123456789abcdef0123");

        for (text, needle) in [
            ("cpu_load_percent = 101", "cpu_load_percent"),
            ("check_interval_ms = 5", "check_interval_ms"),
            (
                "[email]\nsmtp_host = \"h\"\nfrom = \"c@example.com\"\nto = []",
                "recipient",
            ),
            (
                "[email]\nsmtp_host = \"h\"\nfrom = \"not an address\"\nto = [\"a@example.com\"]",
                "not an e-mail address",
            ),
            (
                "[email]\nsmtp_host = \"h\"\nuser = \"u\"\nfrom = \"c@example.com\"\nto = [\"a@example.com\"]",
                "both or neither",
            ),
            (
                "[email]\nsmtp_host = \"h\"\nsecurity = \"none\"\nuser = \"u\"\npassword_file = \"pw\"\nfrom = \"c@example.com\"\nto = [\"a@example.com\"]",
                "only for a relay on this host",
            ),
            (
                "[email]\nsmtp_host = \"127.0.0.1\"\nsecurity = \"none\"\nuser = \"u\"\npassword_file = \"pw\"\nfrom = \"c@example.com\"\nto = [\"a@example.com\"]",
                "only over TLS",
            ),
            (
                "[[webhook]]\nurl = \"https://u:p@h/\"\nsecret_file = \"hook\"",
                "must not hold a user",
            ),
            (
                "[[webhook]]\nurl = \"ftp://h/\"\nsecret_file = \"hook\"",
                "http or https",
            ),
            (
                "[[webhook]]\nurl = \"http://h/\"\nsecret_file = \"missing\"",
                "cannot read",
            ),
            (
                "[[webhook]]\nurl = \"http://h/\"\nsecret_file = \"pw\"",
                "at least 16",
            ),
        ] {
            let e = parse(text, dir.path()).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
