//! `portcullis window …`: open a service connection now or reserve it for later, edit,
//! close, list. The rules (default 8 hours, at most 20 days, no overlaps) are the hub's; its
//! refusals are printed as it words them.

use std::collections::HashMap;

use anyhow::{bail, Result};
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::connection::ServiceRow;
use super::{fields, parse_time, seg, span, typed, when, ServiceRef};
use crate::output::{OutputArgs, Table};
use portcullis_client::ApiClient;

/// `portcullis window …`
#[derive(Debug, Subcommand)]
pub enum WindowCmd {
    /// Opens a service connection now, until --until or for --hours (default 8 hours). A
    /// support engineer opens one for himself alone (independent opening), only on a system
    /// whose customer allows it.
    Open {
        #[command(flatten)]
        service: ServiceRef,
        /// Contact person at the customer (an engineer's independent opening may leave it out).
        #[arg(long)]
        contact: Option<String>,
        /// Hours from now (default 8; at most 20 days).
        #[arg(long, conflicts_with = "until")]
        hours: Option<u32>,
        /// End, RFC 3339 (e.g. 2025-03-01T18:00:00Z).
        #[arg(long, value_parser = parse_time)]
        until: Option<OffsetDateTime>,
        /// User name of an engineer the window admits (repeat; default: any support engineer).
        #[arg(long = "engineer", value_name = "NAME")]
        engineers: Vec<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Reserves a window in the future; it opens by itself at its start.
    Reserve {
        #[command(flatten)]
        service: ServiceRef,
        /// Start, RFC 3339, in the future.
        #[arg(long, value_parser = parse_time)]
        start: OffsetDateTime,
        /// End, RFC 3339 (default: 8 hours after the start).
        #[arg(long, value_parser = parse_time)]
        until: Option<OffsetDateTime>,
        /// Hours from the start.
        #[arg(long, conflicts_with = "until")]
        hours: Option<u32>,
        /// Contact person at the customer.
        #[arg(long)]
        contact: String,
        /// User name of an engineer the window admits (repeat; default: any support engineer).
        #[arg(long = "engineer", value_name = "NAME")]
        engineers: Vec<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Changes a window: extend or shorten it, move a reservation, change contact or engineers.
    Edit {
        /// Window id.
        id: i64,
        /// New end, RFC 3339 (at most 20 days from now, or from a reservation's start).
        #[arg(long, value_parser = parse_time)]
        until: Option<OffsetDateTime>,
        /// New start, RFC 3339 (reserved windows only).
        #[arg(long, value_parser = parse_time)]
        start: Option<OffsetDateTime>,
        /// New contact person.
        #[arg(long)]
        contact: Option<String>,
        /// The engineers it admits from now on (repeat; replaces the list).
        #[arg(long = "engineer", value_name = "NAME")]
        engineers: Vec<String>,
        /// Admit any support engineer again.
        #[arg(long, conflicts_with = "engineers")]
        any_engineer: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Closes an open or reserved window at once; live sessions through it are cut.
    Close {
        /// Window id.
        id: i64,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Lists the open and reserved windows of a company (--company) or of one service
    /// connection; --all adds the closed ones.
    List {
        #[command(flatten)]
        service: ServiceRef,
        /// Every window, closed ones included.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// What the tables show of a window.
#[derive(Debug, Deserialize)]
pub(crate) struct WindowRow {
    pub id: i64,
    pub service_connection_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub start_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub closed_by: Option<String>,
    pub contact: String,
    pub opened_by: String,
    pub engineers: Vec<String>,
    #[serde(default)]
    pub independent: bool,
    pub state: String,
}

impl WindowRow {
    /// Time left (open), time until it opens (reserved), or `-`.
    fn left(&self, now: OffsetDateTime) -> String {
        match self.state.as_str() {
            "open" => span(self.end_at - now),
            "reserved" => format!("opens in {}", span(self.start_at - now)),
            _ => "-".into(),
        }
    }

    fn end(&self) -> OffsetDateTime {
        self.closed_at.map_or(self.end_at, |c| c.min(self.end_at))
    }
}

/// Who opened it, marked when it was an engineer's independent opening.
fn opened_by(w: &WindowRow) -> String {
    if w.independent {
        format!("{} (independent)", w.opened_by)
    } else {
        w.opened_by.clone()
    }
}

fn engineers(w: &WindowRow) -> String {
    if w.engineers.is_empty() {
        "any".into()
    } else {
        w.engineers.join(",")
    }
}

/// Windows as a table; `services` names their service connections when known.
fn windows_table(rows: &[WindowRow], services: &HashMap<i64, &ServiceRow>) -> Table {
    let now = OffsetDateTime::now_utc();
    Table::from_rows(rows.iter().map(|w| {
        let svc = services.get(&w.service_connection_id);
        [
            ("ID", w.id.to_string()),
            ("CONNECTION", w.service_connection_id.to_string()),
            ("SID", svc.map_or_else(String::new, |s| s.sid.clone())),
            (
                "TYPE",
                svc.map_or_else(String::new, |s| s.connection_type.clone()),
            ),
            ("STATE", w.state.clone()),
            ("START", when(w.start_at)),
            ("END", when(w.end())),
            ("LEFT", w.left(now)),
            ("CONTACT", w.contact.clone()),
            ("ENGINEERS", engineers(w)),
            ("OPENED BY", opened_by(w)),
        ]
    }))
    .empty("no windows")
}

fn window_fields(w: &WindowRow) -> String {
    let now = OffsetDateTime::now_utc();
    let mut f = vec![
        ("WINDOW", w.id.to_string()),
        ("CONNECTION", w.service_connection_id.to_string()),
        ("STATE", w.state.clone()),
        ("START", when(w.start_at)),
        ("END", when(w.end())),
        ("LEFT", w.left(now)),
        ("CONTACT", w.contact.clone()),
        ("ENGINEERS", engineers(w)),
        ("OPENED BY", opened_by(w)),
    ];
    if let Some(by) = &w.closed_by {
        f.push(("CLOSED BY", by.clone()));
    }
    fields(&f)
}

fn print_one(v: &Value, out: OutputArgs) -> Result<()> {
    let w: WindowRow = typed(v)?;
    out.print(v, |_| window_fields(&w))
}

/// The body of an open or reserve request.
fn open_body(
    contact: Option<String>,
    start: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    hours: Option<u32>,
    engineers: Vec<String>,
) -> Value {
    let mut b = Map::new();
    if let Some(c) = contact {
        b.insert("contact".into(), c.into());
    }
    if let Some(s) = start {
        b.insert("start".into(), when(s).into());
    }
    if let Some(e) = until {
        b.insert("end".into(), when(e).into());
    }
    if let Some(h) = hours {
        b.insert("hours".into(), h.into());
    }
    b.insert("engineers".into(), engineers.into());
    Value::Object(b)
}

/// Runs one window verb.
pub async fn run(c: &ApiClient, cmd: WindowCmd) -> Result<()> {
    match cmd {
        WindowCmd::Open {
            service,
            contact,
            hours,
            until,
            engineers,
            out,
        } => {
            let sc = service.resolve(c).await?;
            let body = open_body(contact, None, until, hours, engineers);
            let v: Value = c
                .post(&format!("/api/v1/service-connections/{sc}/windows"), &body)
                .await?;
            print_one(&v, out)
        }
        WindowCmd::Reserve {
            service,
            start,
            until,
            hours,
            contact,
            engineers,
            out,
        } => {
            if start <= OffsetDateTime::now_utc() {
                bail!(
                    "a reservation starts in the future ({} has passed); to open now, use `portcullis window open`",
                    when(start)
                );
            }
            let sc = service.resolve(c).await?;
            let body = open_body(Some(contact), Some(start), until, hours, engineers);
            let v: Value = c
                .post(&format!("/api/v1/service-connections/{sc}/windows"), &body)
                .await?;
            print_one(&v, out)
        }
        WindowCmd::Edit {
            id,
            until,
            start,
            contact,
            engineers,
            any_engineer,
            out,
        } => {
            let mut b = Map::new();
            if let Some(e) = until {
                b.insert("end".into(), when(e).into());
            }
            if let Some(s) = start {
                b.insert("start".into(), when(s).into());
            }
            if let Some(ct) = contact {
                b.insert("contact".into(), ct.into());
            }
            if any_engineer || !engineers.is_empty() {
                b.insert("engineers".into(), engineers.into());
            }
            if b.is_empty() {
                bail!("nothing to change: give --until, --start, --contact, --engineer or --any-engineer");
            }
            let v: Value = c
                .patch(&format!("/api/v1/windows/{id}"), &Value::Object(b))
                .await?;
            print_one(&v, out)
        }
        WindowCmd::Close { id, out } => {
            let v: Value = c
                .post(&format!("/api/v1/windows/{id}/close"), &json!({}))
                .await?;
            print_one(&v, out)
        }
        WindowCmd::List { service, all, out } => list(c, &service, all, out).await,
    }
}

async fn list(c: &ApiClient, service: &ServiceRef, all: bool, out: OutputArgs) -> Result<()> {
    // The service connections, to name each window's: the company's, or the one given by id.
    let services: Vec<ServiceRow> = match (&service.company, service.id) {
        (Some(co), _) => typed(
            &c.get::<Value>(&format!(
                "/api/v1/companies/{}/service-connections",
                seg(co)
            ))
            .await?,
        )?,
        (None, Some(id)) => vec![typed(
            &c.get::<Value>(&format!("/api/v1/service-connections/{id}"))
                .await?,
        )?],
        (None, None) => Vec::new(),
    };
    let by_id: HashMap<i64, &ServiceRow> = services.iter().map(|s| (s.id, s)).collect();
    let mut raw: Vec<Value> = Vec::new();
    if service.given() {
        let sc = service.resolve(c).await?;
        let v: Value = c
            .get(&format!("/api/v1/service-connections/{sc}/windows"))
            .await?;
        raw.extend(v.as_array().cloned().unwrap_or_default());
    } else if let Some(co) = &service.company {
        if all {
            for s in &services {
                let v: Value = c
                    .get(&format!("/api/v1/service-connections/{}/windows", s.id))
                    .await?;
                raw.extend(v.as_array().cloned().unwrap_or_default());
            }
        } else {
            let v: Value = c
                .get(&format!("/api/v1/companies/{}/windows", seg(co)))
                .await?;
            raw.extend(v.as_array().cloned().unwrap_or_default());
        }
    } else {
        bail!("name a company (--company) or a service connection (its id, or --company, --system and --type)");
    }
    if !all {
        raw.retain(|w| w["state"] != "closed");
    }
    let raw = Value::Array(raw);
    let rows: Vec<WindowRow> = typed(&raw)?;
    out.print(&raw, |_| windows_table(&rows, &by_id).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, start: OffsetDateTime, end: OffsetDateTime) -> WindowRow {
        WindowRow {
            id: 1,
            service_connection_id: 2,
            start_at: start,
            end_at: end,
            closed_at: None,
            closed_by: None,
            contact: "Ann".into(),
            opened_by: "admin".into(),
            engineers: vec![],
            independent: false,
            state: state.into(),
        }
    }

    #[test]
    fn left_counts_to_the_end_or_to_the_start() {
        let now = OffsetDateTime::now_utc();
        let h = time::Duration::hours;
        let open = row("open", now, now + h(8) - time::Duration::seconds(30));
        assert_eq!(open.left(now), "7h 59m");
        let reserved = row("reserved", now + h(24), now + h(32));
        assert_eq!(reserved.left(now), "opens in 1d 0h 0m");
        assert_eq!(row("closed", now, now).left(now), "-");
    }

    #[test]
    fn open_body_sends_only_what_was_given() {
        let b = open_body(Some("Ann".into()), None, None, Some(2), vec!["eve".into()]);
        assert_eq!(
            b,
            json!({"contact": "Ann", "hours": 2, "engineers": ["eve"]})
        );
        // An engineer's independent opening leaves the contact to the hub.
        let b = open_body(None, None, None, None, vec![]);
        assert_eq!(b, json!({"engineers": []}));
    }
}
