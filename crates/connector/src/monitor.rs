//! The connector's monitoring (CC-36..43, sap-reference §3.9).
//!
//! This file: per-request records of HTTP entries: the most recent requests, the top time
//! consumers, how request durations spread over buckets (kept in memory since the connector
//! started or the last reset), and usage per virtual host and resource (calls, bytes, last
//! access; kept across restarts in `data_dir/usage.json`). Read through the admin socket
//! (`portcullis connector monitor`). Besides:
//! - [`hardware`]: reading CPU, memory and disk, and the `[monitoring]` settings;
//! - [`history`]: 24 hours of hardware samples and the gap rule;
//! - `store`: the files `hardware-history.json` and `usage.json`;
//! - `sampler`: the task that samples and saves;
//! - [`connections`]: back-end connections per virtual host (open, peak);
//! - [`chart`]: a time series as an accessible SVG string.
//!
//! A request's duration runs from receiving its head to the back end's response head; bytes
//! count the request and response bodies as they pass (a response still streaming adds its
//! bytes as they go).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub mod chart;
pub mod connections;
pub mod hardware;
pub mod history;
pub(crate) mod sampler;
pub(crate) mod store;

use crate::config::MonitoringConfig;
use connections::{BackendConnections, Connections, Tracked};
use history::{CpuMemory, Disk, HardwareView, History};

/// How many recent requests and top time consumers are kept.
pub const KEPT: usize = 50;

/// Upper bounds of the duration buckets, in milliseconds; the last bucket is everything above.
pub const BUCKETS_MS: [u64; 9] = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/// What a reset empties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResetWhat {
    /// Usage per virtual host and resource (and its file).
    Usage,
    /// Duration buckets, most recent requests and top time consumers (SAP's *Delete All*).
    Performance,
    /// The top time consumers only.
    TopTimeConsumers,
    /// Back-end connection peaks and counts (fall to what is open now).
    Connections,
}

impl ResetWhat {
    /// The name used on the wire, in the CLI and in the audit record.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetWhat::Usage => "usage",
            ResetWhat::Performance => "performance",
            ResetWhat::TopTimeConsumers => "top_time_consumers",
            ResetWhat::Connections => "connections",
        }
    }

    /// The reset of that name ([`ResetWhat::as_str`]), for the admin UI and the REST API.
    pub fn parse(s: &str) -> Option<ResetWhat> {
        [
            ResetWhat::Usage,
            ResetWhat::Performance,
            ResetWhat::TopTimeConsumers,
            ResetWhat::Connections,
        ]
        .into_iter()
        .find(|w| w.as_str() == s)
    }
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestRecord {
    /// When it arrived (RFC 3339, UTC).
    pub at: String,
    /// The access entry.
    pub entry: String,
    /// The virtual `host:port`.
    pub virtual_host: String,
    /// Method.
    pub method: String,
    /// Path (without the query).
    pub path: String,
    /// The resource that allowed it, empty when refused.
    pub resource: String,
    /// The status sent to the client.
    pub status: u16,
    /// Milliseconds to the response head.
    pub millis: u64,
}

/// Usage of one resource of one virtual host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// The virtual `host:port`.
    pub virtual_host: String,
    /// The resource path.
    pub resource: String,
    /// Requests.
    pub calls: u64,
    /// Request body bytes received.
    pub bytes_received: u64,
    /// Response body bytes sent.
    pub bytes_sent: u64,
    /// Last request (RFC 3339, UTC).
    pub last_access: String,
}

/// What `portcullis connector monitor` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorView {
    /// Newest first.
    pub recent: Vec<RequestRecord>,
    /// Slowest first.
    pub top_time_consumers: Vec<RequestRecord>,
    /// `(upper bound in ms, or 0 for "above the last", count)`.
    pub duration_buckets: Vec<(u64, u64)>,
    /// By virtual host, then resource.
    pub usage: Vec<Usage>,
}

/// (virtual host, resource).
type UsageKey = (String, String);

#[derive(Debug, Default)]
struct Inner {
    recent: VecDeque<RequestRecord>,
    top: Vec<RequestRecord>,
    buckets: [u64; BUCKETS_MS.len() + 1],
    usage: BTreeMap<UsageKey, (Usage, Arc<AtomicU64>, Arc<AtomicU64>)>,
}

/// The hardware history and the intervals it was sampled with.
#[derive(Debug, Default)]
struct Hardware {
    history: History,
    config: MonitoringConfig,
    /// Where the history and the usage are saved (set at start).
    files: Option<sampler::Files>,
}

/// The records. Cheap to share.
#[derive(Debug, Default)]
pub struct Monitor {
    inner: Mutex<Inner>,
    hardware: Mutex<Hardware>,
    connections: Arc<Connections>,
    /// Held while the monitoring files are written.
    save_lock: Mutex<()>,
}

/// Counters a request's bodies add their bytes to.
#[derive(Debug, Clone)]
pub(crate) struct ByteCounters {
    pub received: Arc<AtomicU64>,
    pub sent: Arc<AtomicU64>,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Monitor {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The byte counters of `resource` on `virtual_host`, for an allowed request's bodies.
    pub(crate) fn counters(&self, virtual_host: &str, resource: &str) -> ByteCounters {
        let mut inner = self.lock();
        let (_, received, sent) = inner
            .usage
            .entry((virtual_host.to_owned(), resource.to_owned()))
            .or_insert_with(|| {
                (
                    Usage {
                        virtual_host: virtual_host.to_owned(),
                        resource: resource.to_owned(),
                        ..Usage::default()
                    },
                    Arc::default(),
                    Arc::default(),
                )
            });
        ByteCounters {
            received: received.clone(),
            sent: sent.clone(),
        }
    }

    /// Records a request once its response head is known; `resource` is the one that
    /// allowed it (none for a refusal).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        entry: &str,
        virtual_host: &str,
        method: &str,
        path: &str,
        resource: Option<&str>,
        status: u16,
        took: Duration,
    ) {
        let at = now();
        let millis = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let record = RequestRecord {
            at: at.clone(),
            entry: entry.to_owned(),
            virtual_host: virtual_host.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            resource: resource.unwrap_or_default().to_owned(),
            status,
            millis,
        };
        let mut inner = self.lock();
        if inner.recent.len() == KEPT {
            inner.recent.pop_back();
        }
        inner.recent.push_front(record.clone());
        let slot = BUCKETS_MS
            .iter()
            .position(|bound| millis < *bound)
            .unwrap_or(BUCKETS_MS.len());
        if let Some(b) = inner.buckets.get_mut(slot) {
            *b += 1;
        }
        let slower = inner.top.len() < KEPT || inner.top.last().is_some_and(|t| t.millis < millis);
        if slower {
            let at_index = inner.top.partition_point(|t| t.millis >= millis);
            inner.top.insert(at_index, record);
            inner.top.truncate(KEPT);
        }
        let Some(resource) = resource else { return };
        drop(inner);
        self.counters(virtual_host, resource);
        let mut inner = self.lock();
        if let Some((usage, _, _)) = inner
            .usage
            .get_mut(&(virtual_host.to_owned(), resource.to_owned()))
        {
            usage.calls += 1;
            usage.last_access = at;
        }
    }

    /// Takes over what the last run left: the hardware history and the usage statistics.
    pub(crate) fn restore(
        &self,
        history: History,
        usage: Vec<Usage>,
        config: MonitoringConfig,
        files: sampler::Files,
    ) {
        {
            let mut hw = self.hw();
            hw.history = history;
            hw.config = config;
            hw.files = Some(files);
        }
        let mut inner = self.lock();
        for u in usage {
            let key = (u.virtual_host.clone(), u.resource.clone());
            let received = Arc::new(AtomicU64::new(u.bytes_received));
            let sent = Arc::new(AtomicU64::new(u.bytes_sent));
            inner.usage.insert(key, (u, received, sent));
        }
    }

    fn hw(&self) -> std::sync::MutexGuard<'_, Hardware> {
        self.hardware.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a CPU and memory sample.
    pub(crate) fn push_cpu_memory(&self, t_ms: i64, run_start: bool, sample: CpuMemory) {
        self.hw().history.cpu_memory.push(t_ms, run_start, sample);
    }

    /// Adds a disk sample.
    pub(crate) fn push_disk(&self, t_ms: i64, run_start: bool, sample: Disk) {
        self.hw().history.disk.push(t_ms, run_start, sample);
    }

    /// Where the monitoring files are saved, once set.
    pub(crate) fn files(&self) -> Option<sampler::Files> {
        self.hw().files.clone()
    }

    /// How often CPU and memory are sampled.
    pub(crate) fn interval(&self) -> Duration {
        self.hw().config.interval
    }

    /// Whether health reports carry internal addresses and probe details.
    pub(crate) fn report_internal_details(&self) -> bool {
        self.hw().config.report_internal_details
    }

    /// How often the health report goes to the hub.
    pub(crate) fn report_interval(&self) -> Duration {
        self.hw().config.report_interval
    }

    /// A copy of the hardware history (for saving).
    pub(crate) fn history(&self) -> History {
        self.hw().history.clone()
    }

    /// The hardware history from `since_ms` to `now_ms`.
    pub fn hardware(&self, now_ms: i64, since_ms: i64) -> HardwareView {
        let hw = self.hw();
        hw.history.view(
            now_ms,
            since_ms,
            hw.config.interval,
            hw.config.disk_interval,
        )
    }

    /// Counts `io`, a connection to the back end of `virtual_host`, while it exists.
    pub(crate) fn track(
        &self,
        virtual_host: &str,
        io: Box<dyn crate::backend::BackendIo>,
    ) -> Box<dyn crate::backend::BackendIo> {
        Box::new(Tracked::new(io, self.connections.opened(virtual_host)))
    }

    /// Back-end connections per virtual host.
    pub fn connections(&self) -> Vec<BackendConnections> {
        self.connections.view()
    }

    /// Empties the usage statistics.
    pub(crate) fn reset_usage(&self) {
        self.lock().usage.clear();
    }

    /// Empties the duration buckets, the most recent requests and the top time consumers
    /// (SAP's *Delete All* of the performance overview).
    pub(crate) fn reset_performance(&self) {
        let mut inner = self.lock();
        inner.recent.clear();
        inner.top.clear();
        inner.buckets = Default::default();
    }

    /// Empties the top time consumers only.
    pub(crate) fn reset_top(&self) {
        self.lock().top.clear();
    }

    /// Peaks of back-end connections fall to what is open now.
    pub(crate) fn reset_connections(&self) {
        self.connections.reset();
    }

    /// The records now.
    pub fn view(&self) -> MonitorView {
        let inner = self.lock();
        let mut buckets: Vec<(u64, u64)> = BUCKETS_MS
            .iter()
            .zip(inner.buckets.iter())
            .map(|(b, n)| (*b, *n))
            .collect();
        buckets.push((0, inner.buckets.last().copied().unwrap_or_default()));
        MonitorView {
            recent: inner.recent.iter().cloned().collect(),
            top_time_consumers: inner.top.clone(),
            duration_buckets: buckets,
            usage: inner
                .usage
                .values()
                .map(|(u, received, sent)| Usage {
                    bytes_received: received.load(Ordering::Relaxed),
                    bytes_sent: sent.load(Ordering::Relaxed),
                    ..u.clone()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_the_slowest_and_the_buckets() {
        let m = Monitor::default();
        for i in 0..60u64 {
            m.record(
                "web",
                "web:80",
                "GET",
                &format!("/p{i}"),
                Some("/"),
                200,
                Duration::from_millis(i * 100),
            );
        }
        m.record(
            "web",
            "web:80",
            "GET",
            "/no",
            None,
            403,
            Duration::from_millis(1),
        );
        let v = m.view();
        assert_eq!(v.recent.len(), KEPT);
        assert_eq!(v.recent[0].path, "/no");
        assert_eq!(v.recent[1].path, "/p59");
        assert_eq!(v.top_time_consumers.len(), KEPT);
        assert_eq!(v.top_time_consumers[0].path, "/p59");
        assert!(v
            .top_time_consumers
            .windows(2)
            .all(|w| w[0].millis >= w[1].millis));
        let total: u64 = v.duration_buckets.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 61);
        // 0 ms and 1 ms fall in "< 10 ms"; 5900 ms in "above 5000".
        assert_eq!(v.duration_buckets[0], (10, 2));
        assert_eq!(v.duration_buckets.last().copied(), Some((0, 10)));
        assert_eq!(v.usage.len(), 1);
        assert_eq!(v.usage[0].calls, 60, "refused requests use no resource");
    }

    #[test]
    fn bytes_count_as_bodies_pass() {
        let m = Monitor::default();
        let c = m.counters("web:80", "/up");
        m.record(
            "web",
            "web:80",
            "POST",
            "/up",
            Some("/up"),
            200,
            Duration::ZERO,
        );
        c.received.fetch_add(100, Ordering::Relaxed);
        c.sent.fetch_add(7, Ordering::Relaxed);
        let u = &m.view().usage[0];
        assert_eq!((u.bytes_received, u.bytes_sent, u.calls), (100, 7, 1));
    }

    #[test]
    fn usage_is_restored_and_resets_empty_what_they_name() {
        let m = Monitor::default();
        let kept = Usage {
            virtual_host: "web:80".into(),
            resource: "/app".into(),
            calls: 7,
            bytes_received: 70,
            bytes_sent: 700,
            last_access: "2026-12-07T10:00:00Z".into(),
        };
        m.restore(
            History::default(),
            vec![kept.clone()],
            MonitoringConfig::default(),
            sampler::Files::new(std::path::Path::new("/nonexistent")),
        );
        assert_eq!(m.view().usage, vec![kept]);
        // Counting goes on from the restored figures.
        let c = m.counters("web:80", "/app");
        c.sent.fetch_add(1, Ordering::Relaxed);
        m.record(
            "web",
            "web:80",
            "GET",
            "/app",
            Some("/app"),
            200,
            Duration::from_millis(30),
        );
        let u = &m.view().usage[0];
        assert_eq!((u.calls, u.bytes_sent), (8, 701));

        m.reset_top();
        let v = m.view();
        assert!(v.top_time_consumers.is_empty());
        assert_eq!(v.recent.len(), 1, "top only");
        m.reset_performance();
        let v = m.view();
        assert!(v.recent.is_empty());
        assert!(v.duration_buckets.iter().all(|(_, n)| *n == 0));
        assert_eq!(v.usage.len(), 1, "performance only");
        m.reset_usage();
        assert!(m.view().usage.is_empty());
    }
}
