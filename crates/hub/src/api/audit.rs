//! Checking and exporting the hash-chained audit log: `GET /audit/verify` and
//! `GET /audit/export`.
//!
//! The store keeps every audit event chained to the one before (the rule:
//! [`portcullis_store::audit`]). Verifying re-walks that chain inside the hub; exporting hands
//! the events, with their hashes, to someone who does not have to trust the hub's database any
//! more: a copy held by a second party is what shows a later rewrite of the whole chain.
//!
//! # The export format (JSON Lines, version 1; `docs/audit.md` is the user-facing spec)
//!
//! 1. One [`ExportHeader`] line: `{"portcullis_audit_export":1, …, "filter":{…}}`.
//! 2. One line per stored event, in `seq` order: exactly the fields the hash covers, in the
//!    hashed order (`seq`, `at_ms`, `company_id`, `actor`, `action`, `target`, `outcome`,
//!    `detail` with sorted keys), then `prev_hash` and `hash` ([`ExportedEvent`]).
//! 3. One [`ExportEnd`] line: how many events were written and the last `seq` and `hash`, so
//!    a file cut short in transit or on disk is told from a complete one.
//!
//! The body is streamed one store page ([`MAX_AUDIT_LIMIT`] events) at a time, so an export
//! of any size holds one page in memory. If reading the store fails half-way, the response
//! is aborted (no end line, no clean end of the chunked body) rather than ended cleanly.
//!
//! Both calls are audited themselves (`audit.verified`, `audit.exported`).
//!
//! # Layout
//! - this file: who may read what, the two handlers, the paging body.
//! - `audit/format.rs`: the line types (re-exported here), shared with verifiers.

use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::extract::State as AxState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use portcullis_domain::authz::{authorize, Op};
use portcullis_store::{AuditEvent, AuditFilter, Company, Id, Store, StoreError, MAX_AUDIT_LIMIT};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::Query;
use super::remote::{company_permit, permit};
use super::{ApiErr, Authed};
use crate::audit::Event;
use crate::auth::Principal;
use crate::state::State;

mod format;
use format::{event_line, push_line};
pub use format::{
    ExportEnd, ExportFilter, ExportHeader, ExportedEvent, EXPORT_FORMAT_VERSION, NDJSON,
};

// ── who may read what ──────────────────────────────────────────────────────────────────────
//
// The only authorization in this module, shared with `GET /audit`: the domain's
// `authorize(actor, Op::ReadAudit, None)` for the whole log and
// `authorize(actor, Op::ReadAudit, Some(company))` for one company's events (vendor admins,
// auditors, a company's administrator).

/// Whether `p` may read every company's audit events and check the chain as a whole.
fn may_read_all_audit(p: &Principal) -> bool {
    authorize(&p.actor(), Op::ReadAudit, None).is_ok()
}

/// Whose events a request reads.
#[derive(Debug)]
pub(super) enum Scope {
    /// Every event: the whole chain.
    All,
    /// One company's events.
    Company(Company),
}

impl Scope {
    /// The company whose events are read; `None`: every event.
    pub(super) fn company_id(&self) -> Option<Id> {
        match self {
            Scope::All => None,
            Scope::Company(c) => Some(c.id),
        }
    }
}

/// The events `p` asks for with `company` (id or name): a named company must be one whose
/// audit `p` may read (another tenant's is "not found"); without one, a vendor-wide reader
/// gets everything and a company's reader his own company.
pub(super) async fn audit_scope(
    st: &State,
    p: &Principal,
    company: Option<&str>,
) -> Result<Scope, ApiErr> {
    match company {
        Some(key) => {
            let (c, _permit) = company_permit(st, p, key, Op::ReadAudit).await?;
            Ok(Scope::Company(c))
        }
        None if may_read_all_audit(p) => Ok(Scope::All),
        None => {
            let id = p.company_id.ok_or_else(ApiErr::forbidden)?;
            let _permit = permit(p, Op::ReadAudit, id, "company")?;
            let c = st
                .store
                .get_company(id)
                .await?
                .ok_or_else(|| ApiErr::not_found("company"))?;
            Ok(Scope::Company(c))
        }
    }
}

// ── verify ─────────────────────────────────────────────────────────────────────────────────

/// The answer of `GET /audit/verify`: `{"ok":true,"events":N}` or
/// `{"ok":false,"first_bad_seq":S,"events_before":K}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Whether every stored event follows from the one before.
    pub ok: bool,
    /// Events checked (intact chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// `seq` of the first event whose `seq`, `prev_hash` or `hash` does not follow from its
    /// predecessor (broken chain only). Everything from here on is untrustworthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
    /// How many events, `seq` 1 up to this number, verify before the break (broken chain only).
    /// `first_bad_seq - events_before - 1` events right before the break are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_before: Option<u64>,
}

/// Checks the whole chain (vendor-wide readers only). HTTP 200 whatever the outcome: the
/// answer is a report, and a broken chain is not the client's fault.
pub async fn verify(
    AxState(st): AxState<State>,
    Authed(p): Authed,
) -> Result<Json<VerifyReport>, ApiErr> {
    if !may_read_all_audit(&p) {
        return Err(ApiErr::forbidden());
    }
    let report = match st.store.verify_audit_chain().await {
        Ok(n) => VerifyReport {
            ok: true,
            events: Some(n),
            first_bad_seq: None,
            events_before: None,
        },
        Err(StoreError::AuditChainBroken { seq }) => {
            tracing::error!(first_bad_seq = seq, "audit chain verification failed");
            VerifyReport {
                ok: false,
                events: None,
                first_bad_seq: Some(seq),
                events_before: Some(intact_prefix(st.store.as_ref(), seq).await?),
            }
        }
        Err(e) => return Err(e.into()),
    };
    st.audit
        .record(Event {
            company_id: None,
            actor: &p.label(),
            action: crate::audit_action::AuditAction::AuditVerified,
            target: "audit_log",
            outcome: if report.ok { "ok" } else { "broken" },
            detail: serde_json::to_value(&report).unwrap_or_default(),
        })
        .await;
    Ok(Json(report))
}

/// How many events precede `first_bad`, the seq at which verification stopped.
///
/// The verifier accepted `seq` 1, 2, …, k in order and stopped at the next stored row,
/// `first_bad`; so the rows below `first_bad` are exactly 1..=k, and whether row `m` exists is
/// true up to k and false from k + 1 to `first_bad - 1`. A binary search over single-row
/// reads finds k without loading the log (and without parsing any row from `first_bad` on,
/// which may be corrupt: a corrupt row read counts as "not below the break").
async fn intact_prefix(store: &dyn Store, first_bad: i64) -> Result<u64, ApiErr> {
    let (mut yes, mut no) = (0i64, first_bad.max(1));
    while no - yes > 1 {
        let mid = yes + (no - yes) / 2;
        let f = AuditFilter {
            after_seq: Some(mid - 1),
            limit: 1,
            ..AuditFilter::default()
        };
        let present = match store.list_audit(&f).await {
            Ok(rows) => rows.first().is_some_and(|e| e.seq == mid),
            Err(StoreError::Corrupt { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        if present {
            yes = mid;
        } else {
            no = mid;
        }
    }
    Ok(yes as u64)
}

// ── export ─────────────────────────────────────────────────────────────────────────────────

/// `GET /audit/export` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Company id or name; without it, everything for a vendor-wide reader, one's own company
    /// for a company's auditor or administrator.
    pub company: Option<String>,
    /// Only actions starting with this.
    pub action: Option<String>,
    /// First `seq` to export (default 1).
    pub from_seq: Option<i64>,
    /// Last `seq` to export (default: up to the newest event when the export reaches it).
    pub to_seq: Option<i64>,
}

/// Streams the events `p` may read, filtered by `q`, as JSON Lines.
pub async fn export(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiErr> {
    let scope = audit_scope(&st, &p, q.company.as_deref()).await?;
    let from_seq = q.from_seq.unwrap_or(1);
    if from_seq < 1 {
        return Err(ApiErr::bad_request(
            "invalid_query",
            "from_seq must be >= 1",
        ));
    }
    if q.to_seq.is_some_and(|t| t < from_seq) {
        return Err(ApiErr::bad_request(
            "invalid_query",
            "to_seq must not be below from_seq",
        ));
    }
    let filter = ExportFilter {
        company_id: scope.company_id(),
        company: match &scope {
            Scope::Company(c) => Some(c.name.clone()),
            Scope::All => None,
        },
        action: q.action.filter(|a| !a.is_empty()),
        from_seq,
        to_seq: q.to_seq,
    };
    let header = ExportHeader {
        portcullis_audit_export: EXPORT_FORMAT_VERSION,
        hub: st.config.server_names.first().cloned().unwrap_or_default(),
        hub_ca_fingerprint: st.pki.ca.fingerprint_hex().to_string(),
        hub_version: env!("CARGO_PKG_VERSION").to_string(),
        exported_at: OffsetDateTime::now_utc(),
        exported_by: p.label(),
        filter: filter.clone(),
    };
    // Who read what is on the record before the first byte leaves; how far the reader got is
    // the end line's business.
    st.audit
        .record(Event {
            company_id: filter.company_id,
            actor: &p.label(),
            action: crate::audit_action::AuditAction::AuditExported,
            target: "audit_log",
            outcome: "ok",
            detail: serde_json::json!({ "filter": &filter }),
        })
        .await;
    let pages = Pages {
        store: st.store.clone(),
        filter: AuditFilter {
            company_id: filter.company_id,
            action_prefix: filter.action.clone(),
            after_seq: Some(from_seq - 1),
            limit: MAX_AUDIT_LIMIT,
        },
        to_seq: filter.to_seq,
        header: Some(header),
        events: 0,
        last: None,
        done: false,
    };
    let body = futures_util::stream::unfold(pages, |mut pages| async move {
        let chunk = pages.next_chunk().await?;
        Some((chunk, pages))
    });
    let name = match &scope {
        Scope::All => "portcullis-audit.jsonl".to_string(),
        Scope::Company(c) => format!("portcullis-audit-{}.jsonl", c.name),
    };
    Ok((
        [
            (header::CONTENT_TYPE, NDJSON.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        HttpBody::from_stream(body),
    )
        .into_response())
}

/// The export body, produced one store page at a time.
struct Pages {
    store: Arc<dyn Store>,
    /// The next page's query (`after_seq` advances).
    filter: AuditFilter,
    to_seq: Option<i64>,
    /// Still to be sent first.
    header: Option<ExportHeader>,
    events: u64,
    /// Last event written: `(seq, hash)`.
    last: Option<(i64, String)>,
    done: bool,
}

impl Pages {
    /// The next piece of the body; `None` once the end line is out or after an error.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        if let Some(h) = self.header.take() {
            push_line(&mut buf, &h);
        }
        let page: Vec<AuditEvent> = match self.store.list_audit(&self.filter).await {
            Ok(p) => p,
            Err(e) => {
                self.done = true;
                // Logged with an id; the client sees a body that ends without its end line.
                let _ = ApiErr::internal(&e);
                return Some(Err(std::io::Error::other("audit export failed")));
            }
        };
        let full_page = page.len() >= self.filter.effective_limit() as usize;
        let mut past_end = false;
        for e in &page {
            if self.to_seq.is_some_and(|t| e.seq > t) {
                past_end = true;
                break;
            }
            buf.extend_from_slice(event_line(e.hash_input(), &e.prev_hash, &e.hash).as_bytes());
            buf.push(b'\n');
            self.events += 1;
            self.last = Some((e.seq, e.hash.clone()));
        }
        match page.last() {
            Some(last) if full_page && !past_end => self.filter.after_seq = Some(last.seq),
            _ => {
                push_line(
                    &mut buf,
                    &ExportEnd {
                        portcullis_audit_export_end: EXPORT_FORMAT_VERSION,
                        events: self.events,
                        last_seq: self.last.as_ref().map(|l| l.0),
                        last_hash: self.last.as_ref().map(|l| l.1.clone()),
                    },
                );
                self.done = true;
            }
        }
        Some(Ok(Bytes::from(buf)))
    }
}

#[cfg(test)]
mod tests;
