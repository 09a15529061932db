//! Health reports (SB-05, issue #17 part 6): the latest snapshot each connector sent over its
//! tunnel (version, uptime, CPU, memory, disk, active alerts, each entry's reachability), kept
//! in memory with the time it came, and shown with the connector in the API, the CLI and the
//! portal's Connectors page. A report outlives its tunnel (the page says how old it is); a hub
//! restart forgets them until the next report, which comes within the connector's interval.

use std::collections::HashMap;
use std::sync::Mutex;

use portcullis_proto::HealthReport;
use serde::Serialize;
use time::OffsetDateTime;

/// A report and when it came.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    /// When the hub received it (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The report.
    #[serde(flatten)]
    pub report: ReportView,
}

/// [`HealthReport`] as the hub shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// The connector's software version.
    pub software_version: String,
    /// Seconds since the connector started.
    pub uptime_secs: u64,
    /// CPU busy, per mille.
    pub cpu_permille: Option<u16>,
    /// Memory, bytes.
    pub memory_total: Option<u64>,
    /// Memory available, bytes.
    pub memory_available: Option<u64>,
    /// The data directory's file system, bytes.
    pub disk_total: Option<u64>,
    /// Free there, bytes.
    pub disk_free: Option<u64>,
    /// Alerts active at the connector.
    pub active_alerts: u32,
    /// Each entry's reachability.
    pub entries: Vec<EntryView>,
}

/// One entry's reachability.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// The entry's name.
    pub name: String,
    /// The internal `host:port`.
    pub internal: String,
    /// Whether its last check passed.
    pub reachable: bool,
    /// What was seen.
    pub detail: String,
}

impl From<HealthReport> for ReportView {
    fn from(r: HealthReport) -> Self {
        ReportView {
            software_version: r.software_version,
            uptime_secs: r.uptime_secs,
            cpu_permille: r.cpu_permille,
            memory_total: r.memory_total,
            memory_available: r.memory_available,
            disk_total: r.disk_total,
            disk_free: r.disk_free,
            active_alerts: r.active_alerts,
            entries: r
                .entries
                .into_iter()
                .map(|e| EntryView {
                    name: e.name,
                    internal: e.internal,
                    reachable: e.reachable,
                    detail: e.detail,
                })
                .collect(),
        }
    }
}

/// The latest report per connector id.
#[derive(Debug, Default)]
pub struct Reports(Mutex<HashMap<i64, Received>>);

impl Reports {
    /// Keeps `report` as connector `id`'s latest.
    pub fn record(&self, id: i64, report: HealthReport) {
        let r = Received {
            received_at: OffsetDateTime::now_utc(),
            report: report.into(),
        };
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, r);
    }

    /// Connector `id`'s latest report.
    pub fn of(&self, id: i64) -> Option<Received> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }
}

/// A report in one line, for the portal: `CPU 12 %, memory 41 % used, 63.2 GB free; 2 of 2
/// back ends reachable; up 3 h (reported 2026-12-08 03:01 UTC)`.
pub fn summary(h: &Received) -> String {
    let r = &h.report;
    let mut parts = Vec::new();
    if let Some(p) = r.cpu_permille {
        parts.push(format!("CPU {} %", p / 10));
    }
    if let (Some(t), Some(a)) = (r.memory_total, r.memory_available) {
        let used = (u128::from(t - a.min(t)) * 100).checked_div(u128::from(t));
        if let Some(used) = used {
            parts.push(format!("memory {used} % used"));
        }
    }
    if let Some(f) = r.disk_free {
        parts.push(format!("{:.1} GB free", f as f64 / 1e9));
    }
    let mut line = parts.join(", ");
    if !r.entries.is_empty() {
        let up = r.entries.iter().filter(|e| e.reachable).count();
        line.push_str(&format!(
            "; {up} of {} back ends reachable",
            r.entries.len()
        ));
    }
    if r.active_alerts > 0 {
        line.push_str(&format!("; {} active alerts", r.active_alerts));
    }
    line.push_str(&format!(
        "; up {} (reported {})",
        uptime(r.uptime_secs),
        portcullis_webui::time_text::when(h.received_at)
    ));
    line
}

/// What the connector at `location` last saw of the back end behind `virtual_host:port`
/// (its entry found through the tunnel's inventory in `registry`), for the system page.
pub fn backend_line(
    registry: &crate::registry::Registry,
    reports: &Reports,
    company_id: i64,
    location: &str,
    virtual_host: &str,
    port: u16,
) -> Option<String> {
    let tunnel = registry.get(company_id, location)?;
    let name = tunnel
        .inventory
        .read()
        .ok()?
        .iter()
        .find(|t| {
            t.virtual_host.eq_ignore_ascii_case(virtual_host)
                && (t.port_start..=t.port_end).contains(&port)
        })?
        .name
        .clone();
    let h = reports.of(tunnel.connector_id)?;
    let e = h.report.entries.iter().find(|e| e.name == name)?;
    let at = portcullis_webui::time_text::when(h.received_at);
    // The probe's words only when the connector sends them (`report_internal_details`).
    Some(match (e.reachable, e.detail.is_empty()) {
        (true, true) => format!("The connector reaches the back end (checked before {at})."),
        (true, false) => format!(
            "The connector reaches the back end ({}; checked before {at}).",
            e.detail
        ),
        (false, true) => {
            format!("The connector does not reach the back end (checked before {at}).")
        }
        (false, false) => format!(
            "The connector does not reach the back end: {} (checked before {at}).",
            e.detail
        ),
    })
}

/// `secs` for people: `45 s`, `12 min`, `3 h`, `4 d`.
fn uptime(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} d", secs / 86_400),
    }
}
