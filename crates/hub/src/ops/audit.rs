//! Reading the hash-chained audit log: who may read whose events ([`scope`]), listing them,
//! verifying the whole chain, and what an export holds and who asked for it.
//!
//! The store keeps every audit event chained to the one before (the rule:
//! [`portcullis_store::audit`]). Verifying re-walks that chain inside the hub; exporting hands
//! the events, with their hashes, to someone who does not have to trust the hub's database any
//! more: a copy held by a second party is what shows a later rewrite of the whole chain.
//! [`format`](mod@format) is the export's format (JSON Lines, version 1; `docs/audit.md` is the
//! user-facing spec); the door streams the body.
//!
//! Verifying and exporting are audited themselves (`audit.verified`, `audit.exported`).
//!
//! Who may read: the domain's `authorize(actor, Op::ReadAudit, None)` for the whole log and
//! `authorize(actor, Op::ReadAudit, Some(company))` for one company's events (vendor admins,
//! auditors, a company's administrator).

pub mod format;

use portcullis_domain::authz::{Op, Permit};
use portcullis_store::{AuditEvent, AuditFilter, Company, Id, Store, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{access, check, Caller, OpError};
use crate::audit::Event;
use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::state::State;
use format::{ExportFilter, ExportHeader, EXPORT_FORMAT_VERSION};

/// Whose events a request reads.
#[derive(Debug)]
pub enum Scope {
    /// Every event: the whole chain.
    All,
    /// One company's events.
    Company(Company),
}

impl Scope {
    /// The company whose events are read; `None`: every event.
    pub fn company_id(&self) -> Option<Id> {
        match self {
            Scope::All => None,
            Scope::Company(c) => Some(c.id),
        }
    }
}

/// The events `p` asks for with `company` (id or name), and the permit to read them: a named
/// company must be one whose audit `p` may read (another tenant's is "not found"); without
/// one, a vendor-wide reader gets everything and a company's reader his own company.
pub async fn scope(
    st: &State,
    p: &Principal,
    company: Option<&str>,
) -> Result<(Scope, Permit), OpError> {
    if let Some(key) = company {
        let (c, permit) = access::company(st, p, key, Op::ReadAudit).await?;
        return Ok((Scope::Company(c), permit));
    }
    if let Ok(permit) = access::vendor_permit(p, Op::ReadAudit) {
        return Ok((Scope::All, permit));
    }
    let id = p
        .company_id
        .ok_or_else(|| OpError::forbidden("this token may not do that"))?;
    let permit = access::permit(p, Op::ReadAudit, id, "company")?;
    let c = st
        .store
        .get_company(id)
        .await?
        .ok_or(OpError::NotFound("company"))?;
    Ok((Scope::Company(c), permit))
}

/// Whether `p` may read any audit events (his company's, or every company's): whether the
/// portal offers him the audit list. [`scope`] decides which.
pub fn may_read(p: &Principal) -> bool {
    access::vendor_permit(p, Op::ReadAudit).is_ok()
        || p.company_id
            .is_some_and(|c| access::permit(p, Op::ReadAudit, c, "company").is_ok())
}

/// Which events a list asks for, within its scope.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only actions starting with this.
    pub action: Option<String>,
    /// Only events after this sequence number.
    pub after: Option<i64>,
    /// Only events before this sequence number (paging back through a newest-first list).
    pub before: Option<i64>,
    /// Only events by exactly this actor (e.g. `user:anna`).
    pub actor: Option<String>,
    /// Only events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only events before this time.
    pub until: Option<OffsetDateTime>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
    /// At most this many (100 when `None`; the store caps it).
    pub limit: Option<u32>,
}

/// The events of `scope` that `filter` picks.
pub async fn list(
    st: &State,
    permit: &Permit,
    scope: &Scope,
    filter: ListFilter,
) -> Result<Vec<AuditEvent>, OpError> {
    check(permit, Op::ReadAudit, scope.company_id())?;
    let f = AuditFilter {
        company_id: scope.company_id(),
        action_prefix: filter.action,
        after_seq: filter.after,
        before_seq: filter.before,
        actor: filter.actor,
        since: filter.since,
        until: filter.until,
        newest_first: filter.newest_first,
        limit: filter.limit.unwrap_or(100),
    };
    Ok(st.store.list_audit(&f).await?)
}

/// The outcome of checking the chain: `{"ok":true,"events":N}` or
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

/// Checks the whole chain (a vendor-wide permit). A broken chain is a report, not an error:
/// it is not the caller's fault.
pub async fn verify(st: &State, by: Caller<'_>, permit: &Permit) -> Result<VerifyReport, OpError> {
    check(permit, Op::ReadAudit, None)?;
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
            actor: &by.principal.label(),
            action: AuditAction::AuditVerified,
            target: "audit_log",
            outcome: if report.ok { "ok" } else { "broken" },
            detail: serde_json::to_value(&report).unwrap_or_default(),
        })
        .await;
    Ok(report)
}

/// How many events precede `first_bad`, the seq at which verification stopped.
///
/// The verifier accepted `seq` 1, 2, …, k in order and stopped at the next stored row,
/// `first_bad`; so the rows below `first_bad` are exactly 1..=k, and whether row `m` exists is
/// true up to k and false from k + 1 to `first_bad - 1`. A binary search over single-row
/// reads finds k without loading the log (and without parsing any row from `first_bad` on,
/// which may be corrupt: a corrupt row read counts as "not below the break").
pub(crate) async fn intact_prefix(store: &dyn Store, first_bad: i64) -> Result<u64, StoreError> {
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
            Err(e) => return Err(e),
        };
        if present {
            yes = mid;
        } else {
            no = mid;
        }
    }
    Ok(yes as u64)
}

/// The range an export asks for, within its scope.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// Only actions starting with this (empty: every action).
    pub action: Option<String>,
    /// First `seq` to export (1 when `None`).
    pub from_seq: Option<i64>,
    /// Last `seq` to export (`None`: up to the newest event when the export reaches it).
    pub to_seq: Option<i64>,
}

/// An export decided on and recorded: its header line (which holds its filter) and the name
/// its file gets.
#[derive(Debug)]
pub struct Export {
    /// The first line.
    pub header: ExportHeader,
    /// `portcullis-audit[-<company>].jsonl`.
    pub file_name: String,
}

/// Decides what an export of `scope` holds and records who asked for it, before the first
/// byte leaves (how far the reader got is the end line's business).
pub async fn export(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    scope: &Scope,
    req: ExportRequest,
) -> Result<Export, OpError> {
    check(permit, Op::ReadAudit, scope.company_id())?;
    let invalid = |message: &str| OpError::Invalid {
        code: "invalid_query",
        message: message.into(),
    };
    let from_seq = req.from_seq.unwrap_or(1);
    if from_seq < 1 {
        return Err(invalid("from_seq must be >= 1"));
    }
    if req.to_seq.is_some_and(|t| t < from_seq) {
        return Err(invalid("to_seq must not be below from_seq"));
    }
    let filter = ExportFilter {
        company_id: scope.company_id(),
        company: match scope {
            Scope::Company(c) => Some(c.name.clone()),
            Scope::All => None,
        },
        action: req.action.filter(|a| !a.is_empty()),
        from_seq,
        to_seq: req.to_seq,
    };
    let header = ExportHeader {
        portcullis_audit_export: EXPORT_FORMAT_VERSION,
        hub: st.config.server_names.first().cloned().unwrap_or_default(),
        hub_ca_fingerprint: st.pki.ca.fingerprint_hex().to_string(),
        hub_version: env!("CARGO_PKG_VERSION").to_string(),
        exported_at: OffsetDateTime::now_utc(),
        exported_by: by.principal.label(),
        filter,
    };
    st.audit
        .record(Event {
            company_id: header.filter.company_id,
            actor: &by.principal.label(),
            action: AuditAction::AuditExported,
            target: "audit_log",
            outcome: "ok",
            detail: serde_json::json!({ "filter": &header.filter }),
        })
        .await;
    let file_name = match scope {
        Scope::All => "portcullis-audit.jsonl".to_string(),
        Scope::Company(c) => format!("portcullis-audit-{}.jsonl", c.name),
    };
    Ok(Export { header, file_name })
}
