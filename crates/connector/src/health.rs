//! The health report the connector sends its hub (SB-05, issue #17 part 6): version, uptime,
//! the last CPU, memory and disk samples, active alerts and each access entry's last
//! reachability check, every `[monitoring] report_interval_ms` (and once when the control
//! channel comes up), to a hub that names [`FEATURE_HEALTH`] in its welcome (an older hub
//! would end the tunnel on an unknown message). The hub keeps the latest and shows it with
//! the connector. Internal addresses and the probes' words (which name internal hosts) are
//! sent only with `[monitoring] report_internal_details = true`.

use portcullis_proto::{
    frame, EntryHealth, HealthReport, Message, Welcome, FEATURE_HEALTH, MAX_FRAME_LEN,
};

use crate::shared::Shared;

/// Longest reachability detail sent (the rest is cut).
const MAX_DETAIL: usize = 200;

/// Whether the hub of `welcome` takes health reports.
pub(crate) fn offered(welcome: &Welcome) -> bool {
    welcome.features.iter().any(|f| f == FEATURE_HEALTH)
}

/// The report now. It always fits one frame: details are cut to [`MAX_DETAIL`] bytes, and if
/// the entries still do not fit (a list near the inventory limit), they are left out.
pub(crate) fn report(shared: &Shared) -> HealthReport {
    let history = shared.monitor.history();
    let cpu = history.cpu_memory.last().map(|p| p.value);
    let disk = history.disk.last().map(|p| p.value);
    let names: Vec<String> = shared
        .acl
        .borrow()
        .acl
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    let details = shared.monitor.report_internal_details();
    let entries = shared
        .reach
        .all()
        .into_iter()
        .filter(|r| names.contains(&r.entry))
        .map(|r| EntryHealth {
            name: r.entry,
            internal: if details { r.internal } else { String::new() },
            reachable: r.reachable,
            detail: if details {
                cut(r.detail)
            } else {
                String::new()
            },
        })
        .collect();
    let active_alerts = shared.alerts.active_count();
    let mut report = HealthReport {
        software_version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_secs: shared.started.elapsed().as_secs(),
        cpu_permille: cpu.map(|c| c.cpu_permille.min(1000)),
        memory_total: cpu.map(|c| c.memory_total),
        memory_available: cpu.map(|c| c.memory_available),
        disk_total: disk.map(|d| d.disk_total),
        disk_free: disk.map(|d| d.disk_free),
        active_alerts: u32::try_from(active_alerts).unwrap_or(u32::MAX),
        entries,
    };
    let len = frame::encode_to_vec(&Message::HealthReport(report.clone())).len();
    if len > MAX_FRAME_LEN as usize {
        tracing::warn!(
            bytes = len,
            "the health report's entries do not fit one frame; sent without them"
        );
        report.entries.clear();
    }
    report
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_DETAIL {
        let mut end = MAX_DETAIL;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}
