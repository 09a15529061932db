//! The Monitoring pages (CC-36..43, sap-reference §3.9): hardware charts of the last hour,
//! six hours or day (`/monitoring/hardware`), performance (duration buckets, most recent
//! requests, top time consumers), usage per virtual host and resource, and back-end
//! connections, each with its reset (Administrator only, audited by the reset operation).
//!
//! The charts are `monitor::chart::render`'s SVG, embedded as it is: it carries classes only
//! (styled by `base.css`), so the strict CSP holds. Pages parse, ask [`roles::permit`], call
//! `crate::ops::monitoring` and render.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::pages::{denied, sentence, Empty};
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::monitor::chart::{self, Chart, ChartPoint};
use crate::monitor::connections::BackendConnections;
use crate::monitor::history::HardwareView;
use crate::monitor::{MonitorView, RequestRecord, ResetWhat, Usage};

/// The Monitoring routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route(
            "/monitoring",
            get(|| async { Redirect::to("/monitoring/hardware") }),
        )
        .route("/monitoring/hardware", get(hardware))
        .route("/monitoring/performance", get(performance))
        .route("/monitoring/usage", get(usage))
        .route("/monitoring/connections", get(connections))
        .route("/monitoring/alerts", get(super::alerts_page::alerts))
        .route("/monitoring/reset/{what}", post(reset))
}

/// The spans a hardware page offers: `(query value, label, length)`.
pub const SPANS: [(&str, &str, Duration); 3] = [
    ("1h", "Last hour", Duration::from_secs(3600)),
    ("6h", "Last 6 hours", Duration::from_secs(6 * 3600)),
    ("24h", "Last 24 hours", Duration::from_secs(24 * 3600)),
];

/// The span named `s` (`1h`, `6h`, `24h`); `None` for anything else.
pub fn span(s: &str) -> Option<Duration> {
    SPANS.iter().find(|(k, _, _)| *k == s).map(|(_, _, d)| *d)
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One chart and the value it shows now.
#[derive(Debug)]
pub struct Drawn {
    /// The SVG (escaped by `chart::render`).
    pub svg: String,
    /// The name.
    pub title: &'static str,
    /// The latest value, as text.
    pub now: String,
}

/// CPU, memory and disk charts of `v`.
pub fn charts(v: &HardwareView) -> Vec<Drawn> {
    let cm = |f: &dyn Fn(&crate::monitor::history::HardwarePoint) -> f64| -> Vec<ChartPoint> {
        v.cpu_memory
            .iter()
            .map(|p| ChartPoint {
                t_ms: p.t_ms,
                value: f(p),
                gap_before: p.gap_before,
            })
            .collect()
    };
    let cpu = cm(&|p| f64::from(p.cpu_permille) / 10.0);
    let mem = cm(&|p| p.memory_used as f64 / GIB);
    let mem_total = v
        .cpu_memory
        .last()
        .map_or(0.0, |p| p.memory_total as f64 / GIB);
    let disk: Vec<ChartPoint> = v
        .disk
        .iter()
        .map(|p| ChartPoint {
            t_ms: p.t_ms,
            value: p.disk_total.saturating_sub(p.disk_free) as f64 / GIB,
            gap_before: p.gap_before,
        })
        .collect();
    let disk_total = v.disk.last().map_or(0.0, |p| p.disk_total as f64 / GIB);
    let one = |id, title, desc, unit, y_max, points: &[ChartPoint], now: String| Drawn {
        svg: chart::render(&Chart {
            id,
            title,
            desc,
            unit,
            from_ms: v.since_ms,
            to_ms: v.now_ms,
            y_max,
            points,
        }),
        title,
        now,
    };
    let last = |p: &[ChartPoint], unit: &str| {
        p.last().map_or_else(
            || "no sample yet".into(),
            |p| format!("{:.1} {unit}", p.value),
        )
    };
    vec![
        one(
            "cpu",
            "CPU",
            "CPU use of the connector's machine, in percent.",
            "%",
            100.0,
            &cpu,
            last(&cpu, "%"),
        ),
        one(
            "memory",
            "Memory",
            "Memory in use on the connector's machine.",
            "GiB",
            mem_total,
            &mem,
            format!("{} of {mem_total:.1} GiB", last(&mem, "GiB")),
        ),
        one(
            "disk",
            "Disk",
            "Disk space in use where the connector keeps its data.",
            "GiB",
            disk_total,
            &disk,
            format!("{} of {disk_total:.1} GiB", last(&disk, "GiB")),
        ),
    ]
}

#[derive(Template)]
#[template(path = "admin/monitoring_hardware.html")]
struct HardwarePage {
    chrome: Chrome,
    span: &'static str,
    spans: &'static [(&'static str, &'static str, Duration)],
    charts: Vec<Drawn>,
    interval_ms: u64,
}

/// `?span=1h|6h|24h`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SpanQuery {
    /// `1h` (default), `6h` or `24h`.
    pub span: Option<String>,
}

/// `GET /monitoring/hardware`.
pub async fn hardware(State(st): State<Admin>, s: Signed, Query(q): Query<SpanQuery>) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewMonitoring) {
        return denied(&s, &e);
    }
    let key = q.span.as_deref().unwrap_or("1h");
    let Some((key, _, d)) = SPANS.iter().find(|(k, _, _)| *k == key) else {
        return render::message_for(
            s.chrome("monitoring-hardware"),
            StatusCode::BAD_REQUEST,
            "The span must be 1h, 6h or 24h.",
        );
    };
    let v = crate::ops::monitoring::hardware(&st.shared, Some(*d));
    render::page(
        StatusCode::OK,
        &HardwarePage {
            chrome: s.chrome("monitoring-hardware"),
            span: key,
            spans: &SPANS,
            charts: charts(&v),
            interval_ms: v.interval_ms,
        },
    )
}

/// `?reset=<what>` after a reset.
#[derive(Debug, Deserialize)]
pub struct ResetQuery {
    reset: Option<String>,
}

fn notice(q: &ResetQuery) -> Option<String> {
    q.reset
        .as_deref()
        .and_then(ResetWhat::parse)
        .map(|w| format!("Reset: {}.", w.as_str().replace('_', " ")))
}

#[derive(Template)]
#[template(path = "admin/monitoring_performance.html")]
struct PerformancePage {
    chrome: Chrome,
    can_reset: bool,
    notice: Option<String>,
    buckets: Vec<(String, u64)>,
    most: u64,
    recent: Vec<RequestRecord>,
    top: Vec<RequestRecord>,
}

impl PerformancePage {
    fn when(&self, t: &str) -> String {
        render::when(t)
    }
}

/// The duration buckets as labelled counts (`≤ 10 ms`, …, `> 5000 ms`).
pub fn bucket_rows(v: &MonitorView) -> Vec<(String, u64)> {
    let mut prev = None;
    v.duration_buckets
        .iter()
        .map(|(upper, n)| {
            let label = match (*upper, prev) {
                (0, Some(p)) => format!("over {p} ms"),
                (0, None) => "any".into(),
                (u, _) => format!("up to {u} ms"),
            };
            if *upper > 0 {
                prev = Some(*upper);
            }
            (label, *n)
        })
        .collect()
}

/// `GET /monitoring/performance`.
pub async fn performance(
    State(st): State<Admin>,
    s: Signed,
    Query(q): Query<ResetQuery>,
) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewMonitoring) {
        return denied(&s, &e);
    }
    let v = crate::ops::monitor(&st.shared);
    let buckets = bucket_rows(&v);
    render::page(
        StatusCode::OK,
        &PerformancePage {
            can_reset: roles::may(&s.actor, Permit::ResetMonitoring),
            chrome: s.chrome("monitoring-performance"),
            notice: notice(&q),
            most: buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1),
            buckets,
            recent: v.recent,
            top: v.top_time_consumers,
        },
    )
}

#[derive(Template)]
#[template(path = "admin/monitoring_usage.html")]
struct UsagePage {
    chrome: Chrome,
    can_reset: bool,
    notice: Option<String>,
    usage: Vec<Usage>,
}

impl UsagePage {
    fn when(&self, t: &str) -> String {
        render::when(t)
    }
}

/// `GET /monitoring/usage`.
pub async fn usage(State(st): State<Admin>, s: Signed, Query(q): Query<ResetQuery>) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewMonitoring) {
        return denied(&s, &e);
    }
    render::page(
        StatusCode::OK,
        &UsagePage {
            can_reset: roles::may(&s.actor, Permit::ResetMonitoring),
            chrome: s.chrome("monitoring-usage"),
            notice: notice(&q),
            usage: crate::ops::monitoring::usage(&st.shared),
        },
    )
}

#[derive(Template)]
#[template(path = "admin/monitoring_connections.html")]
struct ConnectionsPage {
    chrome: Chrome,
    can_reset: bool,
    notice: Option<String>,
    connections: Vec<BackendConnections>,
}

/// `GET /monitoring/connections`.
pub async fn connections(
    State(st): State<Admin>,
    s: Signed,
    Query(q): Query<ResetQuery>,
) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewMonitoring) {
        return denied(&s, &e);
    }
    render::page(
        StatusCode::OK,
        &ConnectionsPage {
            can_reset: roles::may(&s.actor, Permit::ResetMonitoring),
            chrome: s.chrome("monitoring-connections"),
            notice: notice(&q),
            connections: crate::ops::monitoring::connections(&st.shared),
        },
    )
}

/// `POST /monitoring/reset/{what}`: the reset operation, by this user; back to its page.
pub async fn reset(
    State(st): State<Admin>,
    Path(what): Path<String>,
    p: Posted<Empty>,
) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::ResetMonitoring) {
        return denied(&s, &e);
    }
    let Some(what) = ResetWhat::parse(&what) else {
        return render::not_found();
    };
    let caller = s.caller();
    match crate::ops::monitoring::reset(&st.shared, what, &caller).await {
        Ok(()) => {
            let page = match what {
                ResetWhat::Usage => "usage",
                ResetWhat::Connections => "connections",
                _ => "performance",
            };
            Redirect::to(&format!("/monitoring/{page}?reset={}", what.as_str())).into_response()
        }
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            render::message_for(s.chrome(""), status, &sentence(&e.to_string()))
        }
    }
}
