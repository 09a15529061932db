//! A system's log book and the audit list: filters, paging back, the CSV download, the JSON
//! Lines export and the chain check. Who reads which events is [`ops::audit::scope`]'s and
//! [`ops::systems::logbook`]'s decision; these handlers parse, call and render.

use askama::Template;
use axum::body::Body as HttpBody;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use portcullis_domain::authz::{Op, Permit};
use portcullis_store::{AuditEvent, Id, System, MAX_AUDIT_LIMIT};
use serde::Deserialize;
use time::OffsetDateTime;

use super::csv::row as csv_row;
use super::form;
use super::render::{self, Chrome};
use super::session::{Posted, Signed};
use super::systems::NoFields;
use crate::ops::audit::{ListFilter, Scope};
use crate::ops::{self, access, OpError};
use crate::state::State;

/// Events per page unless the list asks otherwise.
const PAGE: u32 = 50;
/// The page sizes the list offers.
const PAGES: [u32; 4] = [25, 50, 100, 200];

/// One event as a table row shows it.
struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    /// The detail, compact and cut short.
    detail: String,
}

/// Longest detail a row shows (characters).
const DETAIL_CHARS: usize = 160;

fn row(e: &AuditEvent) -> Row {
    let full = e.detail.to_string();
    let detail = if full.chars().count() > DETAIL_CHARS {
        let mut d: String = full.chars().take(DETAIL_CHARS).collect();
        d.push('…');
        d
    } else {
        full
    };
    Row {
        seq: e.seq,
        at: seconds(e.at),
        actor: e.actor.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        outcome: e.outcome.clone(),
        detail,
    }
}

/// `2026-12-07 15:04:05 UTC`.
fn seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

// ── the log book ───────────────────────────────────────────────────────────────────────

#[derive(Template)]
#[template(path = "portal/logbook.html")]
struct LogbookPage {
    chrome: Chrome,
    sys: System,
    rows: Vec<Row>,
}

/// `GET /systems/{id}/logbook`: every event about the system, newest first.
pub async fn logbook(AxState(st): AxState<State>, s: Signed, Path(id): Path<Id>) -> Response {
    let (sys, permit) = match access::system(&st, &s.principal, id, Op::ReadLogBook).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let events = match ops::systems::logbook(&st, &permit, &sys).await {
        Ok(v) => v,
        Err(e) => return render::op_error(&e),
    };
    render::page(
        StatusCode::OK,
        &LogbookPage {
            chrome: s.chrome("systems"),
            rows: events.iter().rev().map(row).collect(),
            sys,
        },
    )
}

// ── the audit list ─────────────────────────────────────────────────────────────────────

/// The audit list's query string as its form sends it (empty fields are "any").
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuditQuery {
    /// Actions starting with this.
    #[serde(default)]
    action: String,
    /// Exactly this actor.
    #[serde(default)]
    actor: String,
    /// From this time (UTC, inclusive).
    #[serde(default)]
    from: String,
    /// Up to this time (UTC, exclusive).
    #[serde(default)]
    to: String,
    /// Events older than this `seq` (the "older" link).
    #[serde(default)]
    before: String,
    /// Events per page.
    #[serde(default)]
    limit: String,
}

impl AuditQuery {
    /// The query string of this query with `before` replaced (`None`: without paging, as
    /// the downloads take it).
    fn href(&self, path: &str, before: Option<i64>, limit: bool) -> String {
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let pairs: Vec<(&str, &str)> = [
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("before", before.as_str()),
            ("limit", if limit { self.limit.as_str() } else { "" }),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
        if qs.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{qs}")
        }
    }

    /// The filter this query asks for, newest first.
    fn filter(&self) -> Result<ListFilter, OpError> {
        let some = |s: &str| {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        };
        let before = match self.before.trim() {
            "" => None,
            b => Some(
                b.parse::<i64>()
                    .map_err(|_| OpError::invalid("before: an event number"))?,
            ),
        };
        let limit = match self.limit.trim() {
            "" => PAGE,
            l => l
                .parse::<u32>()
                .ok()
                .filter(|n| PAGES.contains(n))
                .ok_or_else(|| OpError::invalid("limit: 25, 50, 100 or 200 events a page"))?,
        };
        Ok(ListFilter {
            action: some(&self.action),
            actor: some(&self.actor),
            since: form::utc_time("from", &self.from)?,
            until: form::utc_time("to", &self.to)?,
            before,
            newest_first: true,
            limit: Some(limit),
            ..ListFilter::default()
        })
    }

    fn limit_is(&self, n: &u32) -> bool {
        match self.limit.trim() {
            "" => *n == PAGE,
            l => l == n.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: AuditQuery,
    /// Whose events these are, as people read it.
    whose: String,
    rows: Vec<Row>,
    /// The "older" link, when there are older events.
    older: Option<String>,
    /// The link to the newest page, when this is not it.
    newest: Option<String>,
    csv: String,
    jsonl: String,
    pages: [u32; 4],
    /// Whether the viewer may check the whole chain.
    can_verify: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// `GET /audit`
pub async fn list(AxState(st): AxState<State>, s: Signed, Query(q): Query<AuditQuery>) -> Response {
    audit_page(&st, &s, q, None, None).await
}

async fn audit_page(
    st: &State,
    s: &Signed,
    q: AuditQuery,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let (scope, permit) = match ops::audit::scope(st, &s.principal, None).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let (mut status, mut error) = match error {
        Some((status, text)) => (status, Some(text)),
        None => (StatusCode::OK, None),
    };
    let mut rows = Vec::new();
    let mut older = None;
    let listed = match q.filter() {
        Ok(mut f) => {
            let limit = f.limit.unwrap_or(PAGE) as usize;
            // One more than shown: whether there is an older page.
            f.limit = Some(limit as u32 + 1);
            ops::audit::list(st, &permit, &scope, f)
                .await
                .map(|events| (limit, events))
        }
        Err(e) => Err(e),
    };
    match listed {
        Ok((limit, mut events)) => {
            if events.len() > limit {
                events.truncate(limit);
                older = events.last().map(|e| q.href("/audit", Some(e.seq), true));
            }
            rows = events.iter().map(row).collect();
        }
        Err(e) => {
            let (st, text) = render::op_status(&e);
            if error.is_none() {
                status = st;
                error = Some(text);
            }
        }
    }
    let whose = match &scope {
        Scope::All => "Every company's events and the hub's own.".to_string(),
        Scope::Company(c) => format!("The events of {}.", c.name),
    };
    render::page(
        status,
        &AuditPage {
            chrome: s.chrome("audit"),
            whose,
            rows,
            older,
            newest: (!q.before.trim().is_empty()).then(|| q.href("/audit", None, true)),
            csv: q.href("/audit.csv", None, false),
            jsonl: {
                let a = q.action.trim();
                if a.is_empty() {
                    "/audit/export.jsonl".to_string()
                } else {
                    format!(
                        "/audit/export.jsonl?{}",
                        serde_urlencoded::to_string([("action", a)]).unwrap_or_default()
                    )
                }
            },
            pages: PAGES,
            can_verify: access::vendor_permit(&s.principal, Op::ReadAudit).is_ok(),
            q,
            notice,
            error,
        },
    )
}

// ── CSV ────────────────────────────────────────────────────────────────────────────────

const CSV_HEADER: [&str; 8] = [
    "seq",
    "time",
    "company_id",
    "actor",
    "action",
    "target",
    "outcome",
    "detail",
];

fn csv_event(out: &mut String, e: &AuditEvent) {
    let at =
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
    let company = e.company_id.map(|c| c.to_string()).unwrap_or_default();
    csv_row(
        out,
        &[
            &e.seq.to_string(),
            &at,
            &company,
            &e.actor,
            &e.action,
            &e.target,
            &e.outcome,
            &e.detail.to_string(),
        ],
    );
}

/// The CSV body, one store page at a time (newest first, as the list).
struct CsvPages {
    st: State,
    permit: Permit,
    scope: Scope,
    filter: ListFilter,
    header: bool,
    done: bool,
}

impl CsvPages {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        let mut buf = String::new();
        if std::mem::take(&mut self.header) {
            csv_row(&mut buf, &CSV_HEADER);
        }
        let page = match ops::audit::list(&self.st, &self.permit, &self.scope, self.filter.clone())
            .await
        {
            Ok(p) => p,
            Err(e) => {
                self.done = true;
                tracing::error!(error = %e, "portal: audit CSV failed");
                return Some(Err(std::io::Error::other("audit CSV failed")));
            }
        };
        for e in &page {
            csv_event(&mut buf, e);
        }
        match page.last() {
            Some(last) if page.len() >= MAX_AUDIT_LIMIT as usize => {
                self.filter.before = Some(last.seq)
            }
            _ => self.done = true,
        }
        Some(Ok(Bytes::from(buf)))
    }
}

/// `GET /audit.csv`: every event the list's filters pick (not only one page), newest first.
pub async fn csv(AxState(st): AxState<State>, s: Signed, Query(q): Query<AuditQuery>) -> Response {
    let (scope, permit) = match ops::audit::scope(&st, &s.principal, None).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let mut filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return render::op_error(&e),
    };
    filter.before = None;
    filter.limit = Some(MAX_AUDIT_LIMIT);
    let name = match &scope {
        Scope::All => "portcullis-audit.csv".to_string(),
        Scope::Company(c) => format!("portcullis-audit-{}.csv", c.name),
    };
    let pages = CsvPages {
        st,
        permit,
        scope,
        filter,
        header: true,
        done: false,
    };
    let body = futures_util::stream::unfold(pages, |mut pages| async move {
        let chunk = pages.next_chunk().await?;
        Some((chunk, pages))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        HttpBody::from_stream(body),
    )
        .into_response()
}

// ── JSON Lines export and the chain check ──────────────────────────────────────────────

/// `/audit/export.jsonl` query: the export's action filter.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    action: String,
}

/// `GET /audit/export.jsonl`: what `GET /api/v1/audit/export` streams (recorded as
/// `audit.exported`).
pub async fn export(
    AxState(st): AxState<State>,
    s: Signed,
    Query(q): Query<ExportQuery>,
) -> Response {
    let (scope, permit) = match ops::audit::scope(&st, &s.principal, None).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let req = ops::audit::ExportRequest {
        action: Some(q.action.trim().to_string()).filter(|a| !a.is_empty()),
        ..ops::audit::ExportRequest::default()
    };
    match ops::audit::export(&st, s.caller(), &permit, &scope, req).await {
        Ok(export) => crate::api::audit::export_response(&st, export),
        Err(e) => render::op_error(&e),
    }
}

/// `POST /audit/verify`: checks the whole chain (vendor-wide readers, as
/// `GET /api/v1/audit/verify`).
pub async fn verify(AxState(st): AxState<State>, posted: Posted<NoFields>) -> Response {
    let s = &posted.signed;
    let q = AuditQuery::default();
    let Ok(permit) = access::vendor_permit(&s.principal, Op::ReadAudit) else {
        let why = "Only the vendor's administrators and auditors can check the chain: it runs \
                   through every company's events, and you may read your company's only. \
                   Download the export instead; it carries each event's hashes.";
        return audit_page(&st, s, q, None, Some((StatusCode::FORBIDDEN, why.into()))).await;
    };
    match ops::audit::verify(&st, s.caller(), &permit).await {
        Ok(r) if r.ok => {
            let n = r.events.unwrap_or_default();
            let notice = format!("The chain is intact: all {n} events follow from the one before.");
            audit_page(&st, s, q, Some(notice), None).await
        }
        Ok(r) => {
            let text = format!(
                "The chain is broken at event {}: only the {} events before it verify. \
                 Everything from there on cannot be trusted.",
                r.first_bad_seq.unwrap_or_default(),
                r.events_before.unwrap_or_default()
            );
            audit_page(&st, s, q, None, Some((StatusCode::OK, text))).await
        }
        Err(e) => audit_page(&st, s, q, None, Some(render::op_status(&e))).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_keeps_its_filters_in_links() {
        let q = AuditQuery {
            action: "window.".into(),
            actor: "token:portal#3".into(),
            limit: "25".into(),
            ..AuditQuery::default()
        };
        assert_eq!(
            q.href("/audit", Some(9), true),
            "/audit?action=window.&actor=token%3Aportal%233&before=9&limit=25"
        );
        assert_eq!(
            q.href("/audit.csv", None, false),
            "/audit.csv?action=window.&actor=token%3Aportal%233"
        );
        assert!(q.filter().unwrap().newest_first);
        let bad = AuditQuery {
            limit: "7".into(),
            ..AuditQuery::default()
        };
        assert!(bad.filter().is_err());
    }
}
