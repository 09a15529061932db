//! The monitoring operations (CC-36..43): the hardware history of a span, the HTTP records,
//! usage statistics, back-end connections, and the resets. The admin socket calls them; the
//! admin web UI and the REST API call them too (one implementation).
//!
//! A reset is a change: it is written to the audit log (`monitoring.reset`: what, who) first,
//! and refused when that cannot be written ([`OpError::Audit`]); a usage reset is saved to
//! `usage.json` at once, so a restart does not bring the old figures back.

use std::time::Duration;

use crate::audit::{AuditAction, AuditEvent};
use crate::monitor::connections::BackendConnections;
use crate::monitor::history::{HardwareView, KEEP};
pub use crate::monitor::ResetWhat;
use crate::monitor::{sampler, Usage};
use crate::shared::{LocalCaller, Shared};
use crate::windows::now_ms;

use portcullis_proto::MAX_TEXT_LEN;

use super::{CloseRequestError, OpError};

/// The span shown when none is asked for: the last hour.
pub const DEFAULT_SPAN: Duration = Duration::from_secs(3600);

/// The hardware history of the last `span` (at most 24 hours; longer is cut to 24 hours).
pub(crate) fn hardware(shared: &Shared, span: Option<Duration>) -> HardwareView {
    let span = span.unwrap_or(DEFAULT_SPAN).min(KEEP);
    let now = now_ms();
    let since = now.saturating_sub(i64::try_from(span.as_millis()).unwrap_or(i64::MAX));
    shared.monitor.hardware(now, since)
}

/// Usage per virtual host and resource, since the last reset (kept across restarts).
pub(crate) fn usage(shared: &Shared) -> Vec<Usage> {
    shared.monitor.view().usage
}

/// The alerts, newest first, and the deliveries not yet made.
pub(crate) fn alerts(shared: &Shared) -> crate::alerts::AlertsView {
    shared.alerts.view()
}

/// Back-end connections per virtual host.
pub(crate) fn connections(shared: &Shared) -> Vec<BackendConnections> {
    shared.monitor.connections()
}

/// Resets `what` for `caller`, audited first.
pub(crate) async fn reset(
    shared: &Shared,
    what: ResetWhat,
    caller: &LocalCaller,
) -> Result<(), OpError> {
    let printable = !caller.by.chars().any(char::is_control);
    if caller.by.trim().is_empty() || caller.by.len() > MAX_TEXT_LEN || !printable {
        return Err(CloseRequestError::By.into());
    }
    shared
        .audit
        .record(AuditEvent::new(
            AuditAction::MonitoringReset,
            "ok",
            serde_json::json!({
                "what": what.as_str(),
                "by": caller.by,
                "via": caller.via,
                "uid": caller.uid,
                "pid": caller.pid,
            }),
        ))
        .map_err(|e| OpError::Audit(e.to_string()))?;
    let m = &shared.monitor;
    match what {
        ResetWhat::Usage => {
            m.reset_usage();
            sampler::save(m, false).await;
        }
        ResetWhat::Performance => m.reset_performance(),
        ResetWhat::TopTimeConsumers => m.reset_top(),
        ResetWhat::Connections => m.reset_connections(),
    }
    Ok(())
}
