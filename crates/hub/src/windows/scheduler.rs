//! The window scheduler: cuts the sessions of windows whose end passed, audits reservations
//! opening and windows expiring, and tells the connectors.

use std::collections::HashMap;
use std::time::Duration;

use portcullis_domain::window::WindowState;
use portcullis_store::{Id, Window};
use time::OffsetDateTime;

use super::{cut, push, service_label, view};
use crate::audit::Event;
use crate::audit_action::AuditAction;
use crate::state::State;

/// Longest the scheduler sleeps without looking at the clock again (wall-clock jumps).
const SCHEDULER_MAX_SLEEP: Duration = Duration::from_secs(30);

/// Runs until the hub shuts down: cuts sessions of windows whose end passed, audits
/// reservations opening and windows expiring, and tells the connectors.
pub fn spawn_scheduler(state: State) {
    let shutdown = state.shutdown.clone();
    let tracker = state.tunnels.clone();
    tracker.spawn(async move {
        let mut seen: HashMap<Id, Window> = HashMap::new();
        let mut announced_open: std::collections::HashSet<Id> = Default::default();
        loop {
            let now = OffsetDateTime::now_utc();
            let live = match state.store.list_live_windows(None, now).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "window scheduler: store failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            let live_ids: std::collections::HashSet<Id> = live.iter().map(|w| w.id).collect();
            // Windows that were live and are no longer: expired (or closed, which the closer
            // already handled, or deleted with their service connection).
            let gone: Vec<Window> = seen
                .values()
                .filter(|w| !live_ids.contains(&w.id))
                .cloned()
                .collect();
            for w in gone {
                seen.remove(&w.id);
                announced_open.remove(&w.id);
                expire(&state, w, now).await;
            }
            let mut next = now + time::Duration::seconds(SCHEDULER_MAX_SLEEP.as_secs() as i64);
            for w in live {
                if w.state(now) == WindowState::Open
                    && w.start_at > w.created_at
                    && announced_open.insert(w.id)
                {
                    announce_opened(&state, &w).await;
                }
                if w.start_at > now {
                    next = next.min(w.start_at);
                }
                next = next.min(w.end_at);
                seen.insert(w.id, w);
            }
            let wait = (next - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
            let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = state.windows.changed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
}

/// A window left the live set: if by its end (not closed early, still stored), cut and audit.
async fn expire(state: &State, w: Window, now: OffsetDateTime) {
    let Ok(Some(current)) = state.store.get_window(w.id).await else {
        cut(state, w.id);
        return;
    };
    cut(state, w.id);
    if current.closed_at.is_some() || current.end_at > now {
        return;
    }
    if let Ok(Some(sc)) = state
        .store
        .get_service_connection(w.service_connection_id)
        .await
    {
        {
            let _g = state.windows.push_lock.lock().await;
            push(state, &current, &sc).await;
        }
        let label = service_label(state, &sc).await;
        state
            .audit
            .record(Event {
                company_id: Some(sc.company_id),
                actor: "hub",
                action: AuditAction::WindowExpired,
                target: &label,
                outcome: "ok",
                detail: serde_json::json!({"window": view(&current)}),
            })
            .await;
    }
}

async fn announce_opened(state: &State, w: &Window) {
    if let Ok(Some(sc)) = state
        .store
        .get_service_connection(w.service_connection_id)
        .await
    {
        let label = service_label(state, &sc).await;
        state
            .audit
            .record(Event {
                company_id: Some(sc.company_id),
                actor: "hub",
                action: AuditAction::WindowReservationOpened,
                target: &label,
                outcome: "ok",
                detail: serde_json::json!({"window": view(w)}),
            })
            .await;
    }
}
