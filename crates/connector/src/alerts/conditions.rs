//! From what the connector sees now ([`Observation`]) to the conditions that hold
//! ([`Condition`]), by the thresholds of `[alerts]`. Pure: the watcher gathers the
//! observation, this decides, so every rule is tested without a clock or a socket.

use std::time::Duration;

use crate::config::{AlertsConfig, Category};
use crate::monitor::history::{CpuMemory, Disk, Point};
use crate::reach::Reachability;

/// One condition that holds now. Its `key` names it across checks: the same key at the next
/// check is the same condition (no new alert), a key gone is a recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// `tunnel`, `cpu`, `disk`, `certificate:<which>`, `backend:<entry>`, `audit`.
    pub key: String,
    /// Its category.
    pub category: Category,
    /// What is wrong, for people.
    pub message: String,
    /// What it is about (the hub address, the file system, the entry …).
    pub entity: String,
}

/// A certificate whose private key the connector holds.
#[derive(Debug, Clone)]
pub struct HeldCertificate {
    /// Which: `client` (the tunnel identity), `system` (the system certificate).
    pub which: &'static str,
    /// Its subject, for the message.
    pub subject: String,
    /// When it expires, unix ms.
    pub not_after_ms: i64,
}

/// What the connector sees at one check.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Now, unix ms.
    pub now_ms: i64,
    /// Since when the tunnel has been down (`None` while it is up).
    pub tunnel_down_since_ms: Option<i64>,
    /// The hub's address, for the message.
    pub hub: String,
    /// Why the tunnel is down, as far as known.
    pub tunnel_error: Option<String>,
    /// CPU and memory samples, oldest first.
    pub cpu: Vec<Point<CpuMemory>>,
    /// The CPU sampling interval (a gap longer than two intervals breaks a run).
    pub cpu_interval: Duration,
    /// The latest disk sample.
    pub disk: Option<Disk>,
    /// The data directory, for the message.
    pub data_dir: String,
    /// Certificates with their keys here.
    pub certificates: Vec<HeldCertificate>,
    /// The last reachability check of each access entry.
    pub backends: Vec<Reachability>,
    /// Why the audit log cannot be written (`None` while it can).
    pub audit_error: Option<String>,
}

const DAY_MS: i64 = 86_400_000;

/// The conditions that hold in `o` by `c`'s thresholds, in category order.
pub fn evaluate(o: &Observation, c: &AlertsConfig) -> Vec<Condition> {
    let mut out = Vec::new();
    if let Some(since) = o.tunnel_down_since_ms {
        let down = o.now_ms.saturating_sub(since);
        if down >= c.tunnel_tolerance.as_millis() as i64 {
            out.push(Condition {
                key: "tunnel".into(),
                category: Category::Tunnel,
                message: format!(
                    "the tunnel to the hub has been down for {} s{}",
                    down / 1000,
                    o.tunnel_error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
                entity: o.hub.clone(),
            });
        }
    }
    if let Some(secs) = cpu_above(o, c) {
        out.push(Condition {
            key: "cpu".into(),
            category: Category::Cpu,
            message: format!(
                "the CPU load has been above {} % for {secs} s",
                c.cpu_load_percent
            ),
            entity: "cpu".into(),
        });
    }
    if let Some(d) = &o.disk {
        let threshold = c.free_disk_mb.saturating_mul(1_000_000);
        if d.disk_free < threshold {
            out.push(Condition {
                key: "disk".into(),
                category: Category::Disk,
                message: format!(
                    "free disk space is {} MB, below {} MB",
                    d.disk_free / 1_000_000,
                    c.free_disk_mb
                ),
                entity: o.data_dir.clone(),
            });
        }
    }
    for cert in &o.certificates {
        let left = cert.not_after_ms - o.now_ms;
        if left < i64::from(c.certificate_validity_days) * DAY_MS {
            let message = if left <= 0 {
                format!("the {} certificate has expired", cert.which)
            } else {
                format!(
                    "the {} certificate expires in {} days (within {})",
                    cert.which,
                    left / DAY_MS,
                    c.certificate_validity_days
                )
            };
            out.push(Condition {
                key: format!("certificate:{}", cert.which),
                category: Category::Certificate,
                message,
                entity: cert.subject.clone(),
            });
        }
    }
    for b in o.backends.iter().filter(|b| !b.reachable) {
        out.push(Condition {
            key: format!("backend:{}", b.entry),
            category: Category::Backend,
            message: format!(
                "the back end {} of entry {} does not answer: {}",
                b.internal, b.entry, b.detail
            ),
            entity: b.entry.clone(),
        });
    }
    if let Some(e) = &o.audit_error {
        out.push(Condition {
            key: "audit".into(),
            category: Category::Audit,
            message: format!("the audit log cannot be written, sessions are refused: {e}"),
            entity: o.data_dir.clone(),
        });
    }
    out
}

/// How long (s) the CPU load has stayed above the threshold, when that is longer than the
/// tolerance: every sample in the run up to the latest is above it, the run has no gap, and
/// it started at least the tolerance before the latest sample.
fn cpu_above(o: &Observation, c: &AlertsConfig) -> Option<i64> {
    let limit = u16::from(c.cpu_load_percent) * 10;
    let max_gap = (o.cpu_interval.as_millis() as i64).max(1) * 2 + 1000;
    let last = o.cpu.last()?;
    let mut start = last.t_ms;
    for (p, next) in o.cpu.iter().rev().zip(o.cpu.iter().rev().skip(1)) {
        if next.value.cpu_permille <= limit || p.run_start || p.t_ms - next.t_ms > max_gap {
            break;
        }
        start = next.t_ms;
    }
    if last.value.cpu_permille <= limit {
        return None;
    }
    let lasted = last.t_ms - start;
    (lasted >= c.cpu_tolerance.as_millis() as i64).then_some(lasted / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(points: &[(i64, u16)]) -> Vec<Point<CpuMemory>> {
        points
            .iter()
            .map(|&(t, permille)| Point {
                t_ms: t,
                run_start: false,
                value: CpuMemory {
                    cpu_permille: permille,
                    memory_total: 1,
                    memory_available: 1,
                },
            })
            .collect()
    }

    fn keys(o: &Observation, c: &AlertsConfig) -> Vec<String> {
        evaluate(o, c).into_iter().map(|c| c.key).collect()
    }

    #[test]
    fn the_tunnel_counts_only_after_its_tolerance() {
        let c = AlertsConfig::default();
        let mut o = Observation {
            now_ms: 100_000,
            tunnel_down_since_ms: Some(80_000),
            ..Default::default()
        };
        assert!(keys(&o, &c).is_empty(), "20 s down is within 30 s");
        o.tunnel_down_since_ms = Some(60_000);
        assert_eq!(keys(&o, &c), ["tunnel"]);
        o.tunnel_down_since_ms = None;
        assert!(keys(&o, &c).is_empty());
    }

    #[test]
    fn cpu_must_stay_above_for_the_tolerance_without_a_gap() {
        let c = AlertsConfig {
            cpu_tolerance: Duration::from_secs(30),
            ..Default::default()
        };
        let mut o = Observation {
            cpu_interval: Duration::from_secs(15),
            ..Default::default()
        };
        o.cpu = cpu(&[(0, 950), (15_000, 950), (30_000, 950)]);
        assert_eq!(keys(&o, &c), ["cpu"]);
        o.cpu = cpu(&[(0, 500), (15_000, 950), (30_000, 950)]);
        assert!(keys(&o, &c).is_empty(), "above for only 15 s");
        o.cpu = cpu(&[(0, 950), (15_000, 950), (30_000, 900)]);
        assert!(keys(&o, &c).is_empty(), "exactly 90 % is not above");
        o.cpu = cpu(&[(0, 950), (60_000, 950)]);
        assert!(keys(&o, &c).is_empty(), "a gap breaks the run");
    }

    #[test]
    fn disk_certificates_backends_and_audit() {
        let c = AlertsConfig::default();
        let o = Observation {
            now_ms: 0,
            disk: Some(Disk {
                disk_total: 1 << 40,
                disk_free: 99_000_000,
            }),
            certificates: vec![
                HeldCertificate {
                    which: "client",
                    subject: "CN=a".into(),
                    not_after_ms: 29 * DAY_MS,
                },
                HeldCertificate {
                    which: "system",
                    subject: "CN=b".into(),
                    not_after_ms: 31 * DAY_MS,
                },
            ],
            backends: vec![
                Reachability {
                    entry: "erp".into(),
                    internal: "10.0.0.1:443".into(),
                    protocol: "https".into(),
                    reachable: false,
                    detail: "connection refused".into(),
                    millis: 1,
                },
                Reachability {
                    entry: "crm".into(),
                    internal: "10.0.0.2:443".into(),
                    protocol: "https".into(),
                    reachable: true,
                    detail: "HTTP 200".into(),
                    millis: 1,
                },
            ],
            audit_error: Some("No space left on device".into()),
            ..Default::default()
        };
        assert_eq!(
            keys(&o, &c),
            ["disk", "certificate:client", "backend:erp", "audit"]
        );
        let more_disk = Observation {
            disk: Some(Disk {
                disk_total: 1 << 40,
                disk_free: 100_000_000,
            }),
            ..o
        };
        assert!(!keys(&more_disk, &c).contains(&"disk".to_owned()));
    }
}
