//! The hub's Prometheus metrics (`/metrics` on `[listen] metrics`), with `/healthz` and
//! `/readyz` beside them ([`http`]).
//!
//! Counted where the facts are decided once: a session's start, end (with its cause and
//! fault) and refusal are counted from the audit events the session code records anyway
//! ([`Metrics::observe`]), so every entry point is counted the same way and the metric cannot
//! disagree with the audit log. What is a state, not an event (tunnels up, live sessions, the
//! audit queue, certificate expiry), is read at each scrape.
//!
//! Names and units follow Prometheus' conventions (`portcullis_hub_…`, `_total` for
//! counters, `_seconds` and `_bytes` base units). Label values come from the code's own
//! closed sets (entry names, [`EndCause`] and refusal codes); anything else is counted as
//! `other`, so no client can grow the label space.

pub mod http;

use std::sync::Arc;
use std::time::Duration;

use portcullis_domain::cause::EndCause;
use portcullis_store::NewAuditEvent;
use portcullis_transport::preauth::PreauthGate;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::audit_action::AuditAction;

/// Entry points a session comes through (the `entry` field of session records).
const ENTRIES: &[&str] = &["socks5", "http_proxy", "connect", "ni", "web"];

/// Labels of a session counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EntryLabels {
    entry: String,
}

/// Labels of an ended session.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabels {
    entry: String,
    cause: String,
    /// `client`, `hub`, `connector`, `backend`, or `none` for a normal end.
    fault: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    /// `to_backend` (client → back end) or `to_client`.
    direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertLabels {
    certificate: String,
}

/// The hub's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    started: Family<EntryLabels, Counter>,
    ended: Family<EndLabels, Counter>,
    bytes: Family<DirectionLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
    live: Gauge,
    tunnels: Gauge,
    tunnel_connects: Counter,
    tunnel_disconnects: Counter,
    audit_queue: Gauge,
    audit_commit: Histogram,
    audit_failures: Counter,
    store_read: Histogram,
    store_failures: Counter,
    cert_expiry: Family<CertLabels, Gauge>,
    preauth_held: Family<ListenerLabels, Gauge>,
    preauth_refused: Family<ListenerLabels, Counter>,
    preauth_displaced: Family<ListenerLabels, Counter>,
    /// The listeners' pre-auth gates, read at each scrape.
    gates: std::sync::Mutex<Vec<Arc<PreauthGate>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// The hub's metrics, registered, all zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        // A gauge of 1 rather than OpenMetrics' info type: Prometheus' own text parser (and
        // promtool) know only the classic types.
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register("portcullis_hub_build_info", "The hub's version", build);
        let r = registry.sub_registry_with_prefix("portcullis_hub");
        let m = Metrics {
            started: Family::default(),
            ended: Family::default(),
            bytes: Family::default(),
            refused: Family::default(),
            live: Gauge::default(),
            tunnels: Gauge::default(),
            tunnel_connects: Counter::default(),
            tunnel_disconnects: Counter::default(),
            audit_queue: Gauge::default(),
            audit_commit: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            audit_failures: Counter::default(),
            store_read: Histogram::new(exponential_buckets(0.0001, 2.0, 14)),
            store_failures: Counter::default(),
            cert_expiry: Family::default(),
            preauth_held: Family::default(),
            preauth_refused: Family::default(),
            preauth_displaced: Family::default(),
            gates: std::sync::Mutex::default(),
            registry: Registry::default(),
        };
        r.register(
            "sessions_started",
            "Sessions opened to a connector, by entry point",
            m.started.clone(),
        );
        r.register(
            "sessions_ended",
            "Sessions ended, by entry point, end cause and fault",
            m.ended.clone(),
        );
        r.register_with_unit(
            "session",
            "Bytes relayed by ended sessions, by direction",
            Unit::Bytes,
            m.bytes.clone(),
        );
        r.register(
            "sessions_refused",
            "Session requests refused before a stream was opened, by reason",
            m.refused.clone(),
        );
        r.register("sessions_live", "Sessions relaying now", m.live.clone());
        r.register(
            "tunnels_connected",
            "Connector tunnels up now",
            m.tunnels.clone(),
        );
        r.register(
            "tunnel_connects",
            "Connector tunnels established (a handshake that passed)",
            m.tunnel_connects.clone(),
        );
        r.register(
            "tunnel_disconnects",
            "Connector tunnels that ended",
            m.tunnel_disconnects.clone(),
        );
        r.register(
            "audit_queue_depth",
            "Audit events queued and not yet committed",
            m.audit_queue.clone(),
        );
        r.register_with_unit(
            "audit_commit_duration",
            "Time to commit one group of audit events",
            Unit::Seconds,
            m.audit_commit.clone(),
        );
        r.register(
            "audit_write_failures",
            "Groups of audit events whose commit failed",
            m.audit_failures.clone(),
        );
        r.register_with_unit(
            "store_read_duration",
            "Time of the store probe read (each scrape and readiness check)",
            Unit::Seconds,
            m.store_read.clone(),
        );
        r.register(
            "store_read_failures",
            "Store probe reads that failed or timed out",
            m.store_failures.clone(),
        );
        r.register(
            "preauth_connections",
            "Connections that have not authenticated yet, by listener",
            m.preauth_held.clone(),
        );
        r.register(
            "preauth_refused",
            "Connections refused at accept by the pre-auth caps, by listener",
            m.preauth_refused.clone(),
        );
        r.register(
            "preauth_displaced",
            "Unauthenticated connections displaced by a newcomer from a lighter source, by listener",
            m.preauth_displaced.clone(),
        );
        r.register_with_unit(
            "certificate_expiry_timestamp",
            "When a certificate of the hub expires, Unix time",
            Unit::Seconds,
            m.cert_expiry.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts what an audit event says about sessions (see the module docs).
    pub fn observe(&self, e: &NewAuditEvent) {
        let detail = &e.detail;
        let entry = || EntryLabels {
            entry: closed(detail["entry"].as_str(), ENTRIES),
        };
        if e.action == AuditAction::SessionStart.code() {
            self.started.get_or_create(&entry()).inc();
        } else if e.action == AuditAction::SessionEnd.code() {
            let cause: Option<EndCause> = serde_json::from_value(detail["cause"].clone()).ok();
            let labels = EndLabels {
                entry: entry().entry,
                cause: cause.map_or("other", |c| c.code()).to_owned(),
                fault: cause
                    .and_then(|c| c.fault())
                    .map_or("none", |f| f.code())
                    .to_owned(),
            };
            self.ended.get_or_create(&labels).inc();
            for (field, direction) in [("bytes_up", "to_backend"), ("bytes_down", "to_client")] {
                let n = detail[field].as_u64().unwrap_or(0);
                self.bytes
                    .get_or_create(&DirectionLabels {
                        direction: direction.to_owned(),
                    })
                    .inc_by(n);
            }
        } else if e.action == AuditAction::TunnelConnected.code() {
            self.tunnel_connects.inc();
        } else if e.action == AuditAction::TunnelDisconnected.code() {
            self.tunnel_disconnects.inc();
        } else if e.action == AuditAction::SessionRefused.code() {
            let reason = detail["code"]
                .as_str()
                .filter(|c| is_code(c))
                .unwrap_or("other");
            self.refused
                .get_or_create(&ReasonLabels {
                    reason: reason.to_owned(),
                })
                .inc();
        }
    }

    /// One group of audit events committed (or failed) after `took`.
    pub fn audit_committed(&self, took: Duration, ok: bool) {
        self.audit_commit.observe(took.as_secs_f64());
        if !ok {
            self.audit_failures.inc();
        }
    }

    /// Reads `gate` at every scrape (each listener's accept loop registers its own).
    pub fn watch_gate(&self, gate: Arc<PreauthGate>) {
        self.gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(gate);
    }

    fn read_gates(&self) {
        let gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        for g in gates.iter() {
            let l = ListenerLabels {
                listener: g.name().to_owned(),
            };
            self.preauth_held.get_or_create(&l).set(gauge(g.held()));
            let (refused, displaced) = g.refused_and_displaced();
            // Counters only grow: add what grew since the last scrape.
            let r = self.preauth_refused.get_or_create(&l);
            r.inc_by(refused.saturating_sub(r.get()));
            let d = self.preauth_displaced.get_or_create(&l);
            d.inc_by(displaced.saturating_sub(d.get()));
        }
    }

    /// One probe read of the store took `took`.
    pub fn store_probed(&self, took: Duration, ok: bool) {
        self.store_read.observe(took.as_secs_f64());
        if !ok {
            self.store_failures.inc();
        }
    }

    /// Sets what is read at a scrape, then encodes everything as OpenMetrics text.
    pub fn encode(&self, now: &Scrape) -> String {
        self.live.set(gauge(now.live_sessions));
        self.tunnels.set(gauge(now.tunnels));
        self.audit_queue.set(gauge(now.audit_queue));
        self.read_gates();
        for (name, at) in &now.certificates {
            self.cert_expiry
                .get_or_create(&CertLabels {
                    certificate: (*name).to_owned(),
                })
                .set(*at);
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        out
    }
}

/// What a scrape reads from the running hub.
#[derive(Debug, Default)]
pub struct Scrape {
    /// Sessions relaying now.
    pub live_sessions: usize,
    /// Tunnels up now.
    pub tunnels: usize,
    /// Audit events queued, not committed.
    pub audit_queue: usize,
    /// Certificates by name (`server`, `ca`) and their expiry, Unix seconds.
    pub certificates: Vec<(&'static str, i64)>,
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `value` if it is one of `known`, else `other`.
fn closed(value: Option<&str>, known: &[&str]) -> String {
    value
        .filter(|v| known.contains(v))
        .unwrap_or("other")
        .to_owned()
}

/// A refusal code as the code writes them: short snake_case.
fn is_code(s: &str) -> bool {
    (1..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: AuditAction, detail: serde_json::Value) -> NewAuditEvent {
        NewAuditEvent {
            at: time::OffsetDateTime::now_utc(),
            company_id: None,
            actor: "t".into(),
            action: action.code().into(),
            target: "x".into(),
            outcome: "ok".into(),
            detail,
        }
    }

    #[test]
    fn session_events_are_counted_with_closed_labels() {
        let m = Metrics::new();
        m.observe(&event(
            AuditAction::SessionStart,
            serde_json::json!({"entry": "socks5"}),
        ));
        m.observe(&event(
            AuditAction::SessionEnd,
            serde_json::json!({"entry": "socks5", "cause": "backend_error", "bytes_up": 10, "bytes_down": 32}),
        ));
        // A value no code writes is `other`, whatever a client managed to put there.
        m.observe(&event(
            AuditAction::SessionEnd,
            serde_json::json!({"entry": "evil\"}", "cause": "made-up"}),
        ));
        m.observe(&event(
            AuditAction::SessionRefused,
            serde_json::json!({"code": "no_window"}),
        ));
        m.observe(&event(AuditAction::TunnelConnected, serde_json::json!({})));
        m.observe(&event(
            AuditAction::SessionRefused,
            serde_json::json!({"code": "Not A Code {}"}),
        ));
        let text = m.encode(&Scrape {
            tunnels: 2,
            certificates: vec![("server", 1_900_000_000)],
            ..Scrape::default()
        });
        for line in [
            "portcullis_hub_sessions_started_total{entry=\"socks5\"} 1",
            "portcullis_hub_sessions_ended_total{entry=\"socks5\",cause=\"backend_error\",fault=\"backend\"} 1",
            "portcullis_hub_sessions_ended_total{entry=\"other\",cause=\"other\",fault=\"none\"} 1",
            "portcullis_hub_session_bytes_total{direction=\"to_backend\"} 10",
            "portcullis_hub_session_bytes_total{direction=\"to_client\"} 32",
            "portcullis_hub_sessions_refused_total{reason=\"no_window\"} 1",
            "portcullis_hub_sessions_refused_total{reason=\"other\"} 1",
            "portcullis_hub_tunnels_connected 2",
            "portcullis_hub_tunnel_connects_total 1",
            "portcullis_hub_tunnel_disconnects_total 0",
            "portcullis_hub_certificate_expiry_timestamp_seconds{certificate=\"server\"} 1900000000",
            "portcullis_hub_build_info{version=\"",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
