//! Per-request records of HTTP entries, for the connector's monitoring (CC-37..41,
//! sap-reference §3.9): the most recent requests, the top time consumers, how request
//! durations spread over buckets, and usage per virtual host and resource (calls, bytes,
//! last access). Kept in memory since the connector started; read through the admin socket
//! (`portcullis connector monitor`).
//!
//! A request's duration runs from receiving its head to the back end's response head; bytes
//! count the request and response bodies as they pass (a response still streaming adds its
//! bytes as they go).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How many recent requests and top time consumers are kept.
pub const KEPT: usize = 50;

/// Upper bounds of the duration buckets, in milliseconds; the last bucket is everything above.
pub const BUCKETS_MS: [u64; 9] = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// The records. Cheap to share.
#[derive(Debug, Default)]
pub struct Monitor {
    inner: Mutex<Inner>,
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
}
