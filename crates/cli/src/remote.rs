//! The remote-connection REST API from the command line: `portcullis user …`, `system …`,
//! `connection-type …`, `connection …`, `window …`, `grant …`, `summary` and
//! `route-password`.
//!
//! Every verb is one or a few calls to the hub's API (`docs/remote-connections.md`). Tables are
//! for people; `--json` prints what the hub answered, unchanged, so scripts see the API's own
//! field names. Names people type (a company's name, a SID, a connection type's key, a user's
//! login) are resolved to ids through the list calls, so nobody has to look ids up first.
//!
//! # Layout
//! - this file: the command groups, the shared helpers (times, durations, the service
//!   connection a verb is about).
//! - `remote/user.rs`: `portcullis user create|list|authorize|disable|token`.
//! - `remote/system.rs`: `portcullis system …`, with client-side grouping.
//! - `remote/conntype.rs`: `portcullis connection-type list|create|delete`.
//! - `remote/connection.rs`: `portcullis connection create|list|show|delete`.
//! - `remote/window.rs`: `portcullis window open|reserve|edit|close|list`.
//! - `remote/grant.rs`: `portcullis grant create|list|revoke` and `portcullis summary`.
//! - `remote/route_password.rs`: `portcullis route-password`.
//! - `web-link` (here): a one-time link that opens an HTTP service connection in a browser.

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::audit::HubOpts;
use crate::output::{sanitize, OutputArgs};
use portcullis_client::requests::ServiceQuery;
use portcullis_client::views::ServiceConnection;
use portcullis_client::ApiClient;

pub mod connection;
pub mod conntype;
pub mod grant;
pub mod route_password;
pub mod system;
pub mod user;
pub mod window;

/// The remote-connection command groups, each a top-level subcommand of `portcullis`.
#[derive(Debug, Subcommand)]
pub enum RemoteCmd {
    /// Users of a company (or of the vendor), their authorizations and tokens.
    User {
        #[command(flatten)]
        hub: HubOpts,
        #[command(subcommand)]
        cmd: user::UserCmd,
    },
    /// A company's managed systems: create, list (filter, sort, group), change, favourites.
    System {
        #[command(flatten)]
        hub: HubOpts,
        #[command(subcommand)]
        cmd: system::SystemCmd,
    },
    /// Connection types: the catalogue and a company's own.
    ConnectionType {
        #[command(flatten)]
        hub: HubOpts,
        #[command(subcommand)]
        cmd: conntype::TypeCmd,
    },
    /// Service connections: a connection type set up for a system, through a connector.
    Connection {
        #[command(flatten)]
        hub: HubOpts,
        #[command(subcommand)]
        cmd: connection::ConnectionCmd,
    },
    /// Windows: when a service connection is open to the vendor's engineers.
    Window {
        #[command(flatten)]
        hub: HubOpts,
        #[command(subcommand)]
        cmd: window::WindowCmd,
    },
    /// Standing grants: a technical user may reach a service connection without windows.
    Grant {
        #[command(flatten)]
        hub: HubOpts,
        #[command(subcommand)]
        cmd: grant::GrantCmd,
    },
    /// A company's figures: systems, service connections, open connections, reservations.
    Summary {
        #[command(flatten)]
        hub: HubOpts,
        /// Company id or name.
        #[arg(long)]
        company: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// A route password for yourself (shown once): a short-lived password to type as the hub's
    /// `/W/` password in an SAP route string. It opens sessions (route strings, SOCKS5, HTTP
    /// proxy) exactly where your API token does; the REST API refuses it.
    RoutePassword {
        #[command(flatten)]
        hub: HubOpts,
        /// Lifetime in minutes, 1 to 720 (default: 60).
        #[arg(long, value_name = "N")]
        ttl_minutes: Option<i64>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// A one-time link (valid two minutes) that opens an HTTP service connection in your
    /// browser through the hub's web entry, while you may reach it (an open window).
    WebLink {
        #[command(flatten)]
        hub: HubOpts,
        #[command(flatten)]
        service: ServiceRef,
        #[command(flatten)]
        out: OutputArgs,
    },
}

impl RemoteCmd {
    /// The group's name as typed, for error messages.
    pub fn name(&self) -> &'static str {
        match self {
            RemoteCmd::User { .. } => "user",
            RemoteCmd::System { .. } => "system",
            RemoteCmd::ConnectionType { .. } => "connection-type",
            RemoteCmd::Connection { .. } => "connection",
            RemoteCmd::Window { .. } => "window",
            RemoteCmd::Grant { .. } => "grant",
            RemoteCmd::Summary { .. } => "summary",
            RemoteCmd::RoutePassword { .. } => "route-password",
            RemoteCmd::WebLink { .. } => "web-link",
        }
    }
}

/// Runs one verb against the hub.
pub async fn run(cmd: RemoteCmd) -> Result<()> {
    match cmd {
        RemoteCmd::User { hub, cmd } => user::run(&hub.client()?, cmd).await,
        RemoteCmd::System { hub, cmd } => system::run(&hub.client()?, cmd).await,
        RemoteCmd::ConnectionType { hub, cmd } => conntype::run(&hub.client()?, cmd).await,
        RemoteCmd::Connection { hub, cmd } => connection::run(&hub.client()?, cmd).await,
        RemoteCmd::Window { hub, cmd } => window::run(&hub.client()?, cmd).await,
        RemoteCmd::Grant { hub, cmd } => grant::run(&hub.client()?, cmd).await,
        RemoteCmd::Summary { hub, company, out } => {
            grant::summary(&hub.client()?, &company, out).await
        }
        RemoteCmd::RoutePassword {
            hub,
            ttl_minutes,
            out,
        } => route_password::run(&hub.client()?, ttl_minutes, out).await,
        RemoteCmd::WebLink { hub, service, out } => {
            let c = hub.client()?;
            let id = service.resolve(&c).await?;
            let link = c.web_link(id).await?;
            out.print_answer(&link, |l| {
                format!(
                    "{}\n\nOpen it in your browser within {} seconds; it works once ({}).",
                    l.url, l.expires_in_secs, l.service
                )
            })
        }
    }
}

// ── shared helpers ─────────────────────────────────────────────────────────────────────

/// `t` in UTC, RFC 3339, to the second: `2025-03-01T08:00:00Z`.
pub fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// `d` for people, to the minute, rounded down: `7h 59m`, `2d 3h 0m`; `0h 0m` at or below 0.
pub fn span(d: Duration) -> String {
    let mins = d.whole_minutes().max(0);
    let (days, hours, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    if days > 0 {
        format!("{days}d {hours}h {m}m")
    } else {
        format!("{hours}h {m}m")
    }
}

/// Parses an RFC 3339 time given on the command line (`2025-03-01T08:00:00Z`).
pub fn parse_time(s: &str) -> std::result::Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2025-03-01T08:00:00Z: {e}"))
}

/// Aligned `name  value` lines for one record.
pub(crate) fn fields(rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = String::new();
    for (k, v) in rows {
        s.push_str(&format!("{k:<w$}  {}\n", sanitize(v)));
    }
    s
}

/// `Some` as text, `None` as `-`.
pub(crate) fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Which service connection a verb is about: its id, or company, SID and connection type.
#[derive(Debug, Clone, Args)]
pub struct ServiceRef {
    /// Service connection id (or give --company, --system and --type).
    #[arg(value_name = "CONNECTION_ID")]
    pub id: Option<i64>,
    /// Company id or name.
    #[arg(long)]
    pub company: Option<String>,
    /// The system's SID.
    #[arg(long, value_name = "SID")]
    pub system: Option<String>,
    /// Connection type key, e.g. `ssh` or `r3_support`.
    #[arg(long = "type", value_name = "KEY")]
    pub connection_type: Option<String>,
}

impl ServiceRef {
    /// Whether a service connection was named at all.
    pub fn given(&self) -> bool {
        self.id.is_some() || self.system.is_some() || self.connection_type.is_some()
    }

    /// The service connection's id, looked up through the company's list when named.
    pub async fn resolve(&self, c: &ApiClient) -> Result<i64> {
        if let Some(id) = self.id {
            return Ok(id);
        }
        let (Some(company), Some(sid), Some(key)) =
            (&self.company, &self.system, &self.connection_type)
        else {
            bail!("name the service connection: its id, or --company, --system and --type");
        };
        let query = ServiceQuery {
            connection_type: Some(key.clone()),
            ..ServiceQuery::default()
        };
        let rows = c.list_service_connections_where(company, &query).await?;
        let found: Vec<&ServiceConnection> = rows
            .iter()
            .filter(|r| r.sid.eq_ignore_ascii_case(sid))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.id),
            [] => Err(anyhow!(
                "company {company} has no {key} service connection for system {sid} \
                 (see `portcullis connection list --company {company}`)"
            )),
            many => Err(anyhow!(
                "company {company} has {} {key} service connections for system {sid} (ids {}); give the id",
                many.len(),
                many.iter()
                    .map(|r| r.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_people_write_them() {
        assert_eq!(
            span(Duration::minutes(479) + Duration::seconds(59)),
            "7h 59m"
        );
        assert_eq!(span(Duration::days(20) + Duration::minutes(1)), "20d 0h 1m");
        assert_eq!(span(Duration::seconds(-5)), "0h 0m");
    }

    #[test]
    fn times_print_in_utc_to_the_second() {
        let t = parse_time("2025-03-01T10:00:00.123+02:00").unwrap();
        assert_eq!(when(t), "2025-03-01T08:00:00Z");
        assert!(parse_time("tomorrow").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn fields_align() {
        assert_eq!(
            fields(&[("ID", "7".into()), ("STATE", "open".into())]),
            "ID     7\nSTATE  open\n"
        );
    }
}
