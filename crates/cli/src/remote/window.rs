//! `portcullis window …`: open a service connection now or reserve it for later, edit,
//! close, list. The rules (default 8 hours, at most 20 days, no overlaps) are the hub's; its
//! refusals are printed as it words them.

use std::collections::HashMap;

use anyhow::{bail, Result};
use clap::Subcommand;
use portcullis_domain::window::WindowState;
use time::{OffsetDateTime, UtcOffset};

use super::{fields, parse_time, span, when, ServiceRef};
use crate::output::{OutputArgs, Table};
use portcullis_client::requests::{EditWindow, OpenWindow};
use portcullis_client::views::{ServiceConnection, Window};
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

/// Time left (open), time until it opens (reserved), or `-`.
fn left(w: &Window, now: OffsetDateTime) -> String {
    match w.state {
        WindowState::Open => span(w.end_at - now),
        WindowState::Reserved => format!("opens in {}", span(w.start_at - now)),
        _ => "-".into(),
    }
}

/// When it ended or ends: closed early, or its end.
fn end(w: &Window) -> OffsetDateTime {
    w.closed_at.map_or(w.end_at, |c| c.min(w.end_at))
}

/// Who opened it, marked when it was an engineer's independent opening.
fn opened_by(w: &Window) -> String {
    if w.independent {
        format!("{} (independent)", w.opened_by)
    } else {
        w.opened_by.clone()
    }
}

fn engineers(w: &Window) -> String {
    if w.engineers.is_empty() {
        "any".into()
    } else {
        w.engineers.join(",")
    }
}

/// Windows as a table; `services` names their service connections when known.
fn windows_table(rows: &[Window], services: &HashMap<i64, &ServiceConnection>) -> Table {
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
            ("STATE", w.state.as_str().to_string()),
            ("START", when(w.start_at)),
            ("END", when(end(w))),
            ("LEFT", left(w, now)),
            ("CONTACT", w.contact.clone()),
            ("ENGINEERS", engineers(w)),
            ("OPENED BY", opened_by(w)),
        ]
    }))
    .empty("no windows")
}

fn window_fields(w: &Window) -> String {
    let now = OffsetDateTime::now_utc();
    let mut f = vec![
        ("WINDOW", w.id.to_string()),
        ("CONNECTION", w.service_connection_id.to_string()),
        ("STATE", w.state.as_str().to_string()),
        ("START", when(w.start_at)),
        ("END", when(end(w))),
        ("LEFT", left(w, now)),
        ("CONTACT", w.contact.clone()),
        ("ENGINEERS", engineers(w)),
        ("OPENED BY", opened_by(w)),
    ];
    if let Some(by) = &w.closed_by {
        f.push(("CLOSED BY", by.clone()));
    }
    fields(&f)
}

fn print_one(w: &Window, out: OutputArgs) -> Result<()> {
    out.print_answer(w, window_fields)
}

/// `t` in UTC to the second, as the hub is sent times.
fn to_second(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t)
}

/// The body of an open or reserve request.
fn open_body(
    contact: Option<String>,
    start: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    hours: Option<u32>,
    engineers: Vec<String>,
) -> OpenWindow {
    OpenWindow {
        contact: contact.unwrap_or_default(),
        start: start.map(to_second),
        end: until.map(to_second),
        hours,
        engineers,
    }
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
            print_one(&c.open_window(sc, &body).await?, out)
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
            print_one(&c.open_window(sc, &body).await?, out)
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
            let b = EditWindow {
                start: start.map(to_second),
                end: until.map(to_second),
                contact,
                engineers: (any_engineer || !engineers.is_empty()).then_some(engineers),
            };
            if b.start.is_none() && b.end.is_none() && b.contact.is_none() && b.engineers.is_none()
            {
                bail!("nothing to change: give --until, --start, --contact, --engineer or --any-engineer");
            }
            print_one(&c.edit_window(id, &b).await?, out)
        }
        WindowCmd::Close { id, out } => print_one(&c.close_window(id).await?, out),
        WindowCmd::List { service, all, out } => list(c, &service, all, out).await,
    }
}

async fn list(c: &ApiClient, service: &ServiceRef, all: bool, out: OutputArgs) -> Result<()> {
    // The service connections, to name each window's: the company's, or the one given by id.
    let services: Vec<ServiceConnection> = match (&service.company, service.id) {
        (Some(co), _) => c.list_service_connections(co).await?,
        (None, Some(id)) => vec![c.get_service_connection(id).await?],
        (None, None) => Vec::new(),
    };
    let by_id: HashMap<i64, &ServiceConnection> = services.iter().map(|s| (s.id, s)).collect();
    let mut rows: Vec<Window> = Vec::new();
    if service.given() {
        let sc = service.resolve(c).await?;
        rows.extend(c.list_windows(sc).await?);
    } else if let Some(co) = &service.company {
        if all {
            for s in &services {
                rows.extend(c.list_windows(s.id).await?);
            }
        } else {
            rows.extend(c.list_company_windows(co).await?);
        }
    } else {
        bail!("name a company (--company) or a service connection (its id, or --company, --system and --type)");
    }
    if !all {
        rows.retain(|w| w.state != WindowState::Closed);
    }
    out.print_answer(&rows, |rows| windows_table(rows, &by_id).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(state: WindowState, start: OffsetDateTime, end: OffsetDateTime) -> Window {
        Window {
            id: 1,
            company_id: 3,
            service_connection_id: 2,
            start_at: start,
            end_at: end,
            closed_at: None,
            closed_by: None,
            contact: "Ann".into(),
            opened_by: "admin".into(),
            engineers: vec![],
            independent: false,
            created_at: start,
            updated_at: start,
            state,
        }
    }

    #[test]
    fn left_counts_to_the_end_or_to_the_start() {
        let now = OffsetDateTime::now_utc();
        let h = time::Duration::hours;
        let open = row(
            WindowState::Open,
            now,
            now + h(8) - time::Duration::seconds(30),
        );
        assert_eq!(left(&open, now), "7h 59m");
        let reserved = row(WindowState::Reserved, now + h(24), now + h(32));
        assert_eq!(left(&reserved, now), "opens in 1d 0h 0m");
        assert_eq!(left(&row(WindowState::Closed, now, now), now), "-");
    }

    #[test]
    fn open_body_sends_only_what_was_given() {
        let body = |b: OpenWindow| serde_json::to_value(b).unwrap();
        let b = open_body(Some("Ann".into()), None, None, Some(2), vec!["eve".into()]);
        assert_eq!(
            body(b),
            json!({"contact": "Ann", "hours": 2, "engineers": ["eve"]})
        );
        // An engineer's independent opening leaves the contact (and the engineers: any) to
        // the hub.
        let b = open_body(None, None, None, None, vec![]);
        assert_eq!(body(b), json!({}));
        // Times go in UTC, to the second.
        let start = parse_time("2025-03-01T10:00:00.123+02:00").unwrap();
        let b = open_body(Some("Ann".into()), Some(start), None, None, vec![]);
        assert_eq!(
            body(b),
            json!({"contact": "Ann", "start": "2025-03-01T08:00:00Z"})
        );
    }
}
