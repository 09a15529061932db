//! The connector's Prometheus metrics and health probes on the admin listener.
//!
//! - `GET /metrics`: for a connector user with [`Permit::ViewMonitoring`] (HTTP basic auth or
//!   an API token, as every API call; a Monitoring user's token is what a scraper holds).
//! - `GET /healthz`: 200 while the process answers. No credentials.
//! - `GET /readyz`: 200 when the tunnel is up and the audit log can be written, else 503 with
//!   the reason. No credentials: a probe (systemd, a container runtime, a load balancer)
//!   holds none, and the answer says no more than whether support can get through.
//!
//! Every value is read at the scrape from the same operations the status, monitoring and
//! sessions pages call; nothing is counted twice. Label values are bounded by the
//! configuration: virtual hosts and entries are what the access list names.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::api::{ApiError, ApiUser};
use super::roles::{self, Permit};
use super::state::Admin;

/// The routes (merged into the admin router; not part of `/api/v1`).
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// One sample: labels and value.
type Samples = Vec<(Vec<(&'static str, String)>, f64)>;

/// One metric family read at a scrape.
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    counter: bool,
    samples: Samples,
}

/// Everything a scrape reads, encoded by [`Collector::encode`].
#[derive(Debug, Default)]
struct Snapshot(Vec<Family>);

impl Snapshot {
    fn gauge(&mut self, name: &'static str, help: &'static str, unit: Option<Unit>, s: Samples) {
        self.0.push(Family {
            name,
            help,
            unit,
            counter: false,
            samples: s,
        });
    }

    fn counter(&mut self, name: &'static str, help: &'static str, unit: Option<Unit>, s: Samples) {
        self.0.push(Family {
            name,
            help,
            unit,
            counter: true,
            samples: s,
        });
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let kind = if f.counter {
                ConstCounter::new(0u64).metric_type()
            } else {
                ConstGauge::new(0i64).metric_type()
            };
            let mut family = encoder.encode_descriptor(f.name, f.help, f.unit.as_ref(), kind)?;
            if let [(labels, value)] = f.samples.as_slice() {
                if labels.is_empty() {
                    value_of(f.counter, *value, family)?;
                    continue;
                }
            }
            for (labels, value) in &f.samples {
                let labels: Vec<(String, String)> = labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect();
                value_of(f.counter, *value, family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Encodes one value: whole numbers as integers (`1`, not `1.0`).
fn value_of(
    counter: bool,
    v: f64,
    m: prometheus_client::encoding::MetricEncoder<'_>,
) -> Result<(), std::fmt::Error> {
    let whole = v.fract() == 0.0 && v.abs() < 9.0e15;
    match (counter, whole) {
        (true, true) => ConstCounter::new(v as u64).encode(m),
        (true, false) => ConstCounter::new(v).encode(m),
        (false, true) => ConstGauge::new(v as i64).encode(m),
        (false, false) => ConstGauge::new(v).encode(m),
    }
}

fn one(v: f64) -> Samples {
    vec![(Vec::new(), v)]
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Unix seconds of an RFC 3339 time.
fn unix(rfc3339: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some(t.unix_timestamp() as f64)
}

/// Reads the connector now.
fn snapshot(st: &Admin) -> Snapshot {
    let shared = &st.shared;
    let status = crate::ops::status(shared);
    let mut s = Snapshot::default();
    s.gauge(
        "portcullis_connector_build_info",
        "The connector's version",
        None,
        vec![(vec![("version", status.version.clone())], 1.0)],
    );
    s.gauge(
        "portcullis_connector_tunnel_up",
        "Whether the tunnel to the hub is up",
        None,
        one(flag(status.tunnel == "connected")),
    );
    s.counter(
        "portcullis_connector_tunnel_connects",
        "Tunnels established since the start",
        None,
        one(status.connects as f64),
    );
    s.counter(
        "portcullis_connector_tunnel_reconnects",
        "Tunnels re-established after the first",
        None,
        one(status.reconnects as f64),
    );
    if let Some(ms) = status.heartbeat_rtt_ms {
        s.gauge(
            "portcullis_connector_heartbeat_rtt",
            "Round trip of the last heartbeat the hub acknowledged",
            Some(Unit::Seconds),
            one(ms as f64 / 1000.0),
        );
    }
    s.gauge(
        "portcullis_connector_audit_writable",
        "Whether the audit log can be written (new sessions are refused while not)",
        None,
        one(flag(!status.audit.failing)),
    );
    s.counter(
        "portcullis_connector_audit_lost_records",
        "Audit records that could not be written during the present failure",
        None,
        one(status.audit.lost_records as f64),
    );
    let mut expiry = Vec::new();
    if let Some(t) = status.certificate_not_after.as_deref().and_then(unix) {
        expiry.push((vec![("certificate", "client".to_owned())], t));
    }
    if let Some(t) = super::ui_cert::current(st).and_then(|v| unix(&v.not_after)) {
        expiry.push((vec![("certificate", "ui".to_owned())], t));
    }
    s.gauge(
        "portcullis_connector_certificate_expiry_timestamp",
        "When a certificate of the connector expires, Unix time",
        Some(Unit::Seconds),
        expiry,
    );
    let live = crate::ops::live::sessions(shared);
    s.gauge(
        "portcullis_connector_sessions_live",
        "Sessions relaying now",
        None,
        one(live.len() as f64),
    );
    usage(&mut s, st);
    hardware(&mut s, st);
    let reach: Samples = shared
        .reach
        .all()
        .into_iter()
        .map(|r| (vec![("entry", r.entry)], flag(r.reachable)))
        .collect();
    s.gauge(
        "portcullis_connector_entry_reachable",
        "Whether the last reachability check of an access entry passed",
        None,
        reach,
    );
    s
}

/// HTTP usage per virtual host (the resources summed: their number is the admin's to grow,
/// not a scraper's to carry) and back-end connections.
fn usage(s: &mut Snapshot, st: &Admin) {
    let mut by_host: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for u in crate::ops::monitoring::usage(&st.shared) {
        let e = by_host.entry(u.virtual_host).or_default();
        e.0 += u.calls;
        e.1 += u.bytes_received;
        e.2 += u.bytes_sent;
    }
    let host = |h: &str| vec![("virtual_host", h.to_owned())];
    s.counter(
        "portcullis_connector_http_requests",
        "HTTP requests through the connector, by virtual host (since the last usage reset)",
        None,
        by_host.iter().map(|(h, v)| (host(h), v.0 as f64)).collect(),
    );
    let mut bytes = Samples::new();
    for (h, v) in &by_host {
        bytes.push((
            vec![
                ("virtual_host", h.clone()),
                ("direction", "received".into()),
            ],
            v.1 as f64,
        ));
        bytes.push((
            vec![("virtual_host", h.clone()), ("direction", "sent".into())],
            v.2 as f64,
        ));
    }
    s.counter(
        "portcullis_connector_http_body",
        "HTTP body bytes through the connector, by virtual host and direction",
        Some(Unit::Bytes),
        bytes,
    );
    let conns = crate::ops::monitoring::connections(&st.shared);
    s.gauge(
        "portcullis_connector_backend_connections_open",
        "Back-end connections open now, by virtual host",
        None,
        conns
            .iter()
            .map(|c| (host(&c.virtual_host), c.open as f64))
            .collect(),
    );
    s.counter(
        "portcullis_connector_backend_connections_opened",
        "Back-end connections opened, by virtual host (since the last reset)",
        None,
        conns
            .iter()
            .map(|c| (host(&c.virtual_host), c.opened as f64))
            .collect(),
    );
}

/// The latest hardware samples.
fn hardware(s: &mut Snapshot, st: &Admin) {
    let view = crate::ops::monitoring::hardware(&st.shared, None);
    if let Some(p) = view.cpu_memory.last() {
        s.gauge(
            "portcullis_connector_cpu_busy",
            "Share of CPU time busy (all cores), at the last sample",
            Some(Unit::Other("ratio".into())),
            one(f64::from(p.cpu_permille) / 1000.0),
        );
        s.gauge(
            "portcullis_connector_memory_used",
            "Physical memory in use, at the last sample",
            Some(Unit::Bytes),
            one(p.memory_used as f64),
        );
    }
    if let Some(d) = view.disk.last() {
        s.gauge(
            "portcullis_connector_disk_free",
            "Free space of the data directory's file system, at the last sample",
            Some(Unit::Bytes),
            one(d.disk_free as f64),
        );
    }
}

/// `GET /metrics`.
async fn metrics(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewMonitoring)?;
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot(&st)));
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        tracing::error!(error = %e, "encoding the metrics failed");
    }
    let (content_type, body) = portcullis_webui::openmetrics::negotiate(&headers, text);
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /healthz`.
async fn healthz() -> Response {
    plain(StatusCode::OK, "ok\n".into())
}

/// `GET /readyz`.
async fn readyz(State(st): State<Admin>) -> Response {
    let status = crate::ops::status(&st.shared);
    if status.tunnel != "connected" {
        let why = status.last_error.unwrap_or_default();
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the tunnel is {}: {why}\n", status.tunnel),
        );
    }
    if status.audit.failing {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit log cannot be written: new sessions are refused\n".into(),
        );
    }
    plain(StatusCode::OK, "ready\n".into())
}
