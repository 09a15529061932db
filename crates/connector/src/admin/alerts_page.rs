//! The Alerts page (`/monitoring/alerts`, CC-44..46): the alerts newest first, which are
//! active, the channels they go to and what still waits to be delivered. Read-only: alerts
//! clear when their condition does (SAP's "deleting an active alert brings it back at the next
//! check" made plain). The same operation serves `GET /api/v1/monitoring/alerts` and
//! `portcullis connector monitor alerts`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::pages::denied;
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::Signed;
use super::state::Admin;
use crate::alerts::book::{AlertStatus, Event};
use crate::alerts::{rfc3339, AlertsView};

/// `ms` as `2026-12-08 03:01:22` (UTC, as the column heads say): short enough for a cell.
fn when(ms: i64) -> String {
    let t = rfc3339(ms).replacen('T', " ", 1);
    t.split('.')
        .next()
        .unwrap_or_default()
        .trim_end_matches('Z')
        .to_owned()
}

/// One alert as the page shows it.
struct Row {
    active: bool,
    category: &'static str,
    message: String,
    entity: String,
    raised: String,
    resolved: String,
}

/// One waiting delivery as the page shows it.
struct Waiting {
    alert: u64,
    event: &'static str,
    channel: String,
    attempts: u32,
    next: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin/monitoring_alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    active: usize,
    rows: Vec<Row>,
    channels: Vec<String>,
    waiting: Vec<Waiting>,
}

fn page(chrome: Chrome, v: AlertsView) -> AlertsPage {
    let rows: Vec<Row> = v
        .alerts
        .into_iter()
        .map(|a| Row {
            active: a.status == AlertStatus::Active,
            category: a.category.name(),
            message: a.message,
            entity: a.entity,
            raised: when(a.raised_ms),
            resolved: a.resolved_ms.map(when).unwrap_or_default(),
        })
        .collect();
    AlertsPage {
        chrome,
        active: rows.iter().filter(|r| r.active).count(),
        rows,
        channels: v.channels,
        waiting: v
            .pending
            .into_iter()
            .map(|d| Waiting {
                alert: d.alert.id,
                event: match d.event {
                    Event::Raised => "raised",
                    Event::Resolved => "resolved",
                },
                channel: d.channel,
                attempts: d.attempts,
                next: when(d.next_ms),
                error: d.last_error.unwrap_or_default(),
            })
            .collect(),
    }
}

/// `GET /monitoring/alerts`.
pub async fn alerts(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewMonitoring) {
        return denied(&s, &e);
    }
    render::page(
        StatusCode::OK,
        &page(
            s.chrome("monitoring-alerts"),
            crate::ops::monitoring::alerts(&st.shared),
        ),
    )
}
