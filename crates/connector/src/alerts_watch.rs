//! The alert watcher (see [`crate::alerts`]): every `check_interval` it gathers what the
//! connector sees, brings the alert book in line and makes the deliveries that are due. Apart
//! from `alerts` so that the book, which the shared state holds, does not depend on it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::alerts::conditions::{self, HeldCertificate, Observation};
use crate::alerts::{book, deliver, now_ms, Alerts, Watched};
use crate::config::{AlertsConfig, Category};
use crate::shared::Shared;
use crate::status::State;

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "connector".to_owned())
}

/// The watcher: checks, updates the book, delivers, until `scope` ends.
pub(crate) async fn run(shared: Arc<Shared>, data_dir: PathBuf, scope: CancellationToken) {
    let alerts = &shared.alerts;
    let mut watched = alerts.watched.subscribe();
    let mut status = shared.status.subscribe();
    // A tunnel alert still active from before the restart: the tunnel has been down since
    // then (as far as anyone knows), so it is neither resolved nor raised again meanwhile.
    let started = now_ms();
    let earlier = alerts
        .book()
        .alerts
        .iter()
        .find(|a| a.key == "tunnel" && a.status == book::AlertStatus::Active)
        .map(|a| a.raised_ms);
    let mut down_since = Some(earlier.map_or(started, |r| r.min(started)));
    let mut probed = false;
    // The first probe comes one interval after the start, not at once: a probe is a real
    // connection (a TLS handshake, a `HEAD /`) that a back end sees and may count, and a
    // reload that changes the list checks its entries anyway.
    let mut backends_checked = Instant::now();
    let host = host_name();
    loop {
        let w = watched.borrow_and_update().clone();
        let st = status.borrow_and_update().clone();
        down_since = match st.state {
            State::Connected => None,
            _ => down_since.or(Some(now_ms())),
        };
        if backends_checked.elapsed() >= w.alerts.backend_interval {
            let acl = shared.acl.borrow().acl.clone();
            let results = crate::reach::check_all(&acl, None, &shared.backend_tls.current()).await;
            shared.reach.keep(&results);
            backends_checked = Instant::now();
            probed = true;
        }
        let observation = observe(&shared, &w, &st, down_since, &data_dir);
        let holding = conditions::evaluate(&observation, &w.alerts);
        {
            let mut b = alerts.book();
            // Back ends are unknown until their first probe (a reload's check counts too).
            let unknown: &[Category] = if probed || !shared.reach.all().is_empty() {
                &[]
            } else {
                &[Category::Backend]
            };
            let changed = b.update_known(&holding, &w.alerts, observation.now_ms, unknown);
            if b.forget_unconfigured(&w.alerts) || changed {
                alerts.save(&b);
            }
        }
        let from = deliver::Sender {
            location: st.location.clone(),
            host: host.clone(),
        };
        deliver_due(alerts, &w.alerts, &from, &scope).await;

        let next_due = alerts.book().pending.iter().map(|d| d.next_ms).min();
        let mut wait = w.alerts.check_interval;
        if let Some(due) = next_due {
            wait = wait.min(Duration::from_millis(
                due.saturating_sub(now_ms()).max(0) as u64
            ));
        }
        tokio::select! {
            _ = scope.cancelled() => return,
            _ = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
            _ = watched.changed() => {}
        }
    }
}

/// Makes the deliveries that are due, oldest first, until one channel fails (the others are
/// tried too) or `scope` ends. The book is saved after each.
async fn deliver_due(
    alerts: &Alerts,
    config: &AlertsConfig,
    from: &deliver::Sender,
    scope: &CancellationToken,
) {
    let mut failed_channels: Vec<String> = Vec::new();
    loop {
        let now = now_ms();
        let next = alerts.book().next_due(now, &failed_channels);
        let Some(d) = next else { return };
        let result = tokio::select! {
            _ = scope.cancelled() => return,
            r = deliver::send(&d, config, from) => r,
        };
        let mut b = alerts.book();
        let Some(i) = b
            .pending
            .iter()
            .position(|p| p.alert.id == d.alert.id && p.event == d.event && p.channel == d.channel)
        else {
            continue;
        };
        match result {
            Ok(()) => {
                tracing::info!(alert = d.alert.id, channel = %d.channel, "alert delivered");
                b.pending.remove(i);
            }
            Err(e) => {
                tracing::warn!(alert = d.alert.id, channel = %d.channel, error = %e, "alert delivery failed; it is retried");
                b.failed(i, e, now_ms());
                // Keep the order per channel: nothing newer goes out before this one.
                failed_channels.push(d.channel.clone());
            }
        }
        alerts.save(&b);
    }
}

/// Gathers what the connector sees now.
fn observe(
    shared: &Shared,
    w: &Watched,
    st: &crate::status::Status,
    down_since: Option<i64>,
    data_dir: &Path,
) -> Observation {
    let history = shared.monitor.history();
    let mut certificates = Vec::new();
    if let Some(not_after_ms) = st.certificate_not_after_ms {
        certificates.push(HeldCertificate {
            which: "client",
            subject: st.location.clone().unwrap_or_default(),
            not_after_ms,
        });
    }
    if let Some(chain) = &w.system_certificate {
        if let Some(view) = std::fs::read(chain)
            .ok()
            .and_then(|pem| crate::system_cert::describe(&pem))
        {
            let not_after = time::OffsetDateTime::parse(
                &view.not_after,
                &time::format_description::well_known::Rfc3339,
            );
            if let Ok(t) = not_after {
                certificates.push(HeldCertificate {
                    which: "system",
                    subject: view.subject,
                    not_after_ms: (t.unix_timestamp_nanos() / 1_000_000) as i64,
                });
            }
        }
    }
    let entries: Vec<String> = shared
        .acl
        .borrow()
        .acl
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    Observation {
        now_ms: now_ms(),
        tunnel_down_since_ms: down_since,
        hub: st.hub_addr.clone().unwrap_or_default(),
        tunnel_error: st.last_error.clone(),
        cpu: history.cpu_memory.points().cloned().collect(),
        cpu_interval: shared.monitor.interval(),
        disk: history.disk.last().map(|p| p.value),
        data_dir: data_dir.display().to_string(),
        certificates,
        backends: shared
            .reach
            .all()
            .into_iter()
            .filter(|r| entries.contains(&r.entry))
            .collect(),
        audit_error: st.audit_error.clone(),
    }
}
