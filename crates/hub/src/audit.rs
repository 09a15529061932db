//! Writing audit events: to the hash-chained store and to the log.
//!
//! One writer task owns the appends. Callers queue events on a bounded channel; the writer
//! takes everything queued and appends it in one transaction (one `fsync` for the group), so
//! a hub opening hundreds of sessions a second spends one disk flush per group, not two per
//! session. The queue keeps the callers' order, and a full queue makes callers wait rather
//! than drop anything.
//!
//! A *change* (a system created, a window closed, a token revoked) does not come here: its
//! event is committed in the change's own store transaction ([`portcullis_store::StoreTx`]),
//! so a change never exists without its event or an event without its change, and the
//! caller answers only after that commit; [`Auditor::committed`] then logs those events.
//!
//! Two ways in, for events that are not a stored change:
//! * [`Auditor::record`] waits until the event is committed: refusals and actions that change
//!   nothing stored (a one-time link handed out), whose record must exist before the caller
//!   answers.
//! * [`Auditor::submit`] only queues: session start and end, on the data path. The event is
//!   logged at once and committed with the next group (within milliseconds); a graceful stop
//!   commits everything queued ([`Auditor::flush`]). A crash can lose the last group, which
//!   the log still shows. Why, and what it costs: `docs/adr/0003-audit-group-commit.md`.
//!
//! A failed write here is logged at error level but does not fail the session or refusal it
//! records (the log line has it); a failed write of a change's transaction fails the change.

use std::sync::Arc;

use portcullis_store::{AuditEvent, Id, NewAuditEvent, Store};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// Events waiting for the writer before callers wait for room.
const QUEUE: usize = 8192;

/// Most events appended in one transaction.
const MAX_GROUP: usize = 512;

/// Appends audit events (cheap to clone; clones share the writer).
#[derive(Debug, Clone)]
pub struct Auditor {
    tx: mpsc::Sender<Job>,
    /// Counts commits (see [`Auditor::subscribe`]).
    commits: tokio::sync::watch::Sender<u64>,
    /// Counts sessions from the events, and times the commits.
    metrics: Arc<crate::metrics::Metrics>,
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Company concerned, if any.
    pub company_id: Option<Id>,
    /// Who acted (`token:name#id`, `connector:<id>`, `hub`).
    pub actor: &'a str,
    /// What happened.
    pub action: crate::audit_action::AuditAction,
    /// What it happened to.
    pub target: &'a str,
    /// `ok`, `refused`, `error` …
    pub outcome: &'a str,
    /// Anything else, as JSON.
    pub detail: serde_json::Value,
}

/// A queued event (or, with `event: None`, a flush marker), and whom to tell once committed.
#[derive(Debug)]
struct Job {
    event: Option<NewAuditEvent>,
    done: Option<oneshot::Sender<()>>,
}

impl Auditor {
    /// Starts the writer task on the current runtime, appending into `store`. The task ends
    /// when the last clone of the returned `Auditor` is dropped, after committing the queue.
    pub fn start(store: Arc<dyn Store>) -> Self {
        Auditor::with_metrics(store, Arc::default())
    }

    /// As [`Auditor::start`], counting into `metrics` ([`crate::metrics::Metrics::observe`]).
    pub fn with_metrics(store: Arc<dyn Store>, metrics: Arc<crate::metrics::Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (commits, _) = tokio::sync::watch::channel(0);
        tokio::spawn(writer(store, rx, commits.clone(), metrics.clone()));
        Auditor {
            tx,
            commits,
            metrics,
        }
    }

    /// Whether the writer task still takes events.
    pub fn running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Events queued and not yet taken by the writer.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Bumped after every commit of the writer: for waiting until an event is readable (tests,
    /// a portal's live view) without polling the store.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Records an event and waits until it is committed (or its write failed and was logged).
    pub async fn record(&self, e: Event<'_>) {
        let (done, committed) = oneshot::channel();
        if self.enqueue(e, Some(done)).await {
            let _ = committed.await;
        }
    }

    /// Records a prepared event and waits until it is committed (or its write failed and was
    /// logged).
    pub async fn record_event(&self, e: NewAuditEvent) {
        log(&e);
        self.metrics.observe(&e);
        let (done, committed) = oneshot::channel();
        let job = Job {
            event: Some(e),
            done: Some(done),
        };
        if self.tx.send(job).await.is_ok() {
            let _ = committed.await;
        }
    }

    /// Logs events that a change committed in its own transaction (with the audit events
    /// of the same action) and tells subscribers, as if the writer had committed them.
    pub fn committed(&self, events: &[AuditEvent]) {
        for e in events {
            tracing::info!(
                target: "audit",
                seq = e.seq,
                action = %e.action,
                actor = %e.actor,
                target_ = %e.target,
                outcome = %e.outcome,
                detail = %e.detail,
            );
        }
        if !events.is_empty() {
            self.commits.send_modify(|c| *c += 1);
        }
    }

    /// Queues an event without waiting for the commit (it waits only while the queue is full).
    pub async fn submit(&self, e: Event<'_>) {
        self.enqueue(e, None).await;
    }

    /// Waits until everything queued before this call is committed.
    pub async fn flush(&self) {
        let (done, committed) = oneshot::channel();
        let job = Job {
            event: None,
            done: Some(done),
        };
        if self.tx.send(job).await.is_ok() {
            let _ = committed.await;
        }
    }

    async fn enqueue(&self, e: Event<'_>, done: Option<oneshot::Sender<()>>) -> bool {
        let event = NewAuditEvent {
            at: OffsetDateTime::now_utc(),
            company_id: e.company_id,
            actor: e.actor.into(),
            action: e.action.code().into(),
            target: e.target.into(),
            outcome: e.outcome.into(),
            detail: e.detail,
        };
        log(&event);
        self.metrics.observe(&event);
        let job = Job {
            event: Some(event),
            done,
        };
        match self.tx.send(job).await {
            Ok(()) => true,
            Err(_) => {
                tracing::error!(
                    action = e.action.code(),
                    "audit writer has stopped; event not stored"
                );
                false
            }
        }
    }
}

/// The log line of an event, written when it is queued.
fn log(e: &NewAuditEvent) {
    tracing::info!(
        target: "audit",
        action = %e.action,
        actor = %e.actor,
        target_ = %e.target,
        outcome = %e.outcome,
        detail = %e.detail,
    );
}

/// Takes whatever is queued (at least one job, at most [`MAX_GROUP`] events), appends it in
/// one transaction, tells the waiters, repeats until every sender is gone.
async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Job>,
    commits: tokio::sync::watch::Sender<u64>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        let mut events = Vec::with_capacity(jobs.len());
        let mut waiters = Vec::new();
        for job in jobs.drain(..) {
            events.extend(job.event);
            waiters.extend(job.done);
        }
        let n = events.len();
        let first_action = events.first().map(|e| e.action.clone()).unwrap_or_default();
        let began = std::time::Instant::now();
        let result = store.append_audit_batch(events).await;
        metrics.audit_committed(began.elapsed(), result.is_ok());
        if let Err(err) = result {
            tracing::error!(error = %err, events = n, first_action, "audit write failed");
        }
        commits.send_modify(|c| *c += 1);
        for w in waiters {
            let _ = w.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::{AuditFilter, SqliteStore};

    fn ev(i: usize) -> Event<'static> {
        Event {
            company_id: None,
            actor: "hub",
            action: crate::audit_action::AuditAction::AuditVerified,
            target: "t",
            outcome: "ok",
            detail: serde_json::json!({ "i": i }),
        }
    }

    async fn stored(store: &dyn Store) -> Vec<u64> {
        let all = store
            .list_audit(&AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        all.iter()
            .map(|e| e.detail["i"].as_u64().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn submitted_events_keep_their_order_and_flush_commits_them() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        let audit = Auditor::start(store.clone());
        // Interleave the two ways in from concurrent tasks: each task's own order must hold.
        let mut tasks = Vec::new();
        for t in 0..4 {
            let audit = audit.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    let e = ev(t * 1000 + i);
                    if i % 7 == 0 {
                        audit.record(e).await;
                    } else {
                        audit.submit(e).await;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        audit.flush().await;
        let got = stored(store.as_ref()).await;
        assert_eq!(got.len(), 200, "every event stored");
        for t in 0..4u64 {
            let mine: Vec<u64> = got.iter().copied().filter(|i| i / 1000 == t).collect();
            let want: Vec<u64> = (0..50).map(|i| t * 1000 + i).collect();
            assert_eq!(mine, want, "task {t}'s events in order");
        }
        assert_eq!(store.verify_audit_chain().await.unwrap(), 200);
    }

    #[tokio::test]
    async fn record_returns_after_the_commit() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        let audit = Auditor::start(store.clone());
        audit.record(ev(7)).await;
        assert_eq!(stored(store.as_ref()).await, vec![7]);
    }
}
