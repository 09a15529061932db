//! Checking and exporting the hash-chained audit log over HTTP: `GET /audit/verify` and
//! `GET /audit/export` (who may read what, the report and the export's header are
//! [`crate::ops::audit`]'s).
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
//! # Layout
//! - this file: the two handlers and the paging body.
//! - `ops/audit/format.rs`: the line types (re-exported here), shared with verifiers.

use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use portcullis_domain::authz::Op;
use portcullis_store::{AuditEvent, AuditFilter, Store, MAX_AUDIT_LIMIT};
use serde::Deserialize;

use super::extract::Query;
use super::{ApiErr, Authed};
use crate::ops::audit::format::{event_line, push_line};
use crate::ops::{self, Caller};
use crate::state::State;

pub use crate::ops::audit::format::{
    ExportEnd, ExportFilter, ExportHeader, ExportedEvent, EXPORT_FORMAT_VERSION, NDJSON,
};
pub use crate::ops::audit::VerifyReport;

/// Checks the whole chain (vendor-wide readers only). HTTP 200 whatever the outcome: the
/// answer is a report, and a broken chain is not the client's fault.
pub async fn verify(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<std::net::SocketAddr>,
) -> Result<Json<VerifyReport>, ApiErr> {
    let permit = ops::access::vendor_permit(&p, Op::ReadAudit)?;
    let by = Caller {
        principal: &p,
        from,
    };
    Ok(Json(ops::audit::verify(&st, by, &permit).await?))
}

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
    ConnectInfo(from): ConnectInfo<std::net::SocketAddr>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiErr> {
    let (scope, permit) = ops::audit::scope(&st, &p, q.company.as_deref()).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let req = ops::audit::ExportRequest {
        action: q.action,
        from_seq: q.from_seq,
        to_seq: q.to_seq,
    };
    let export = ops::audit::export(&st, by, &permit, &scope, req).await?;
    Ok(export_response(&st, export))
}

/// The response that streams `export` (decided on and recorded by [`ops::audit::export`]):
/// the API's `GET /audit/export` and the portal's `/audit/export.jsonl`.
pub(crate) fn export_response(st: &State, export: ops::audit::Export) -> Response {
    let filter = &export.header.filter;
    let pages = Pages {
        store: st.store.clone(),
        filter: AuditFilter {
            company_id: filter.company_id,
            action_prefix: filter.action.clone(),
            after_seq: Some(filter.from_seq - 1),
            limit: MAX_AUDIT_LIMIT,
            ..AuditFilter::default()
        },
        to_seq: filter.to_seq,
        header: Some(export.header),
        events: 0,
        last: None,
        done: false,
    };
    let body = futures_util::stream::unfold(pages, |mut pages| async move {
        let chunk = pages.next_chunk().await?;
        Some((chunk, pages))
    });
    (
        [
            (header::CONTENT_TYPE, NDJSON.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", export.file_name),
            ),
        ],
        HttpBody::from_stream(body),
    )
        .into_response()
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
