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
