//! Writing audit events: to the hash-chained store and to the log.
//!
//! A failed audit write is logged at error level but does not fail the user's action: losing
//! access because the audit disk is full would be worse than a logged gap, and the chain shows
//! the gap's absence of events, not a forged event.

use std::sync::Arc;

use portcullis_store::{Id, NewAuditEvent, Store};
use time::OffsetDateTime;

/// Appends audit events.
#[derive(Debug, Clone)]
pub struct Auditor {
    store: Arc<dyn Store>,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Company concerned, if any.
    pub company_id: Option<Id>,
    /// Who acted (`token:name#id`, `connector:<id>`, `hub`).
    pub actor: &'a str,
    /// What happened, dotted: `session.start`, `connector.revoked` …
    pub action: &'a str,
    /// What it happened to.
    pub target: &'a str,
    /// `ok`, `refused`, `error` …
    pub outcome: &'a str,
    /// Anything else, as JSON.
    pub detail: serde_json::Value,
}

impl Auditor {
    /// Audits into `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Auditor { store }
    }

    /// Records an event.
    pub async fn record(&self, e: Event<'_>) {
        tracing::info!(
            target: "audit",
            action = e.action,
            actor = e.actor,
            target_ = e.target,
            outcome = e.outcome,
            detail = %e.detail,
        );
        let res = self
            .store
            .append_audit(NewAuditEvent {
                at: OffsetDateTime::now_utc(),
                company_id: e.company_id,
                actor: e.actor.into(),
                action: e.action.into(),
                target: e.target.into(),
                outcome: e.outcome.into(),
                detail: e.detail,
            })
            .await;
        if let Err(err) = res {
            tracing::error!(error = %err, action = e.action, "audit write failed");
        }
    }
}
