//! Reading the connector's audit log for the admin UI and the REST API (CC-47..52): a page of
//! records matching a filter (newest first), the chain check, and an export of the matching
//! records as JSON lines.
//!
//! The log can be large: it is read as a stream, line by line, never whole. A page keeps at
//! most `offset + limit` matching records in memory (both capped), an export sends lines as it
//! reads them. Both stop at the length the writer had reached when they began, so a record
//! being appended meanwhile is never seen half.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::audit::{AuditError, AuditRecord};
use crate::shared::Shared;

/// The most records one page holds.
pub const MAX_LIMIT: usize = 500;
/// The farthest a page may start from the newest match.
pub const MAX_OFFSET: usize = 100_000;
/// Records per page when none is asked for.
pub const DEFAULT_LIMIT: usize = 50;

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// A time that is neither RFC 3339, `YYYY-MM-DDTHH:MM` (UTC) nor `YYYY-MM-DD`.
    #[error("{0} must be a time like 2026-12-07T19:46Z, 2026-12-07T19:46 (UTC) or 2026-12-07")]
    Time(&'static str),
    /// `limit` or `offset` out of range.
    #[error("limit must be 1..={MAX_LIMIT} and offset at most {MAX_OFFSET}")]
    Range,
}

/// Which records: all given parts must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// At or before.
    pub to: Option<OffsetDateTime>,
    /// The action name, exactly (`session.refused`).
    pub action: Option<String>,
    /// The outcome, exactly (`refused`).
    pub outcome: Option<String>,
    /// Text found (ignoring case) in the principal, the target, the session id or the
    /// details (the admin user, `by`).
    pub text: Option<String>,
}

fn blank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A time as a filter gives it; `end` makes a bare date or minute mean its end.
fn parse_time(s: &str, what: &'static str, end: bool) -> Result<OffsetDateTime, FilterError> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let bad = || FilterError::Time(what);
    let minute =
        time::format_description::parse_borrowed::<2>("[year]-[month]-[day]T[hour]:[minute]")
            .map_err(|_| bad())?;
    if let Ok(t) = time::PrimitiveDateTime::parse(s, &minute) {
        let t = t.assume_utc();
        return Ok(if end {
            t + time::Duration::seconds(59)
        } else {
            t
        });
    }
    let day =
        time::format_description::parse_borrowed::<2>("[year]-[month]-[day]").map_err(|_| bad())?;
    let d = time::Date::parse(s, &day).map_err(|_| bad())?;
    let t = d.midnight().assume_utc();
    Ok(if end {
        t + time::Duration::days(1) - time::Duration::nanoseconds(1)
    } else {
        t
    })
}

impl AuditFilter {
    /// A filter from the text fields of a form or a query (blank fields are left out).
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        action: Option<&str>,
        outcome: Option<&str>,
        text: Option<&str>,
    ) -> Result<AuditFilter, FilterError> {
        Ok(AuditFilter {
            from: blank(from)
                .map(|s| parse_time(s, "from", false))
                .transpose()?,
            to: blank(to).map(|s| parse_time(s, "to", true)).transpose()?,
            action: blank(action).map(str::to_owned),
            outcome: blank(outcome).map(str::to_owned),
            text: blank(text).map(str::to_lowercase),
        })
    }

    /// Whether `r` passes.
    pub fn matches(&self, r: &AuditRecord) -> bool {
        if self.action.as_deref().is_some_and(|a| a != r.action)
            || self.outcome.as_deref().is_some_and(|o| o != r.outcome)
        {
            return false;
        }
        if self.from.is_some() || self.to.is_some() {
            let Ok(at) = OffsetDateTime::parse(&r.at, &Rfc3339) else {
                return false;
            };
            if self.from.is_some_and(|f| at < f) || self.to.is_some_and(|t| at > t) {
                return false;
            }
        }
        match &self.text {
            None => true,
            Some(q) => {
                let has =
                    |s: &Option<String>| s.as_deref().is_some_and(|s| s.to_lowercase().contains(q));
                has(&r.principal)
                    || has(&r.target)
                    || has(&r.session_id)
                    || r.detail.to_string().to_lowercase().contains(q)
            }
        }
    }
}

/// One page of matching records, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Matching records in the whole log.
    pub total: u64,
    /// Where the page starts, counted from the newest match.
    pub offset: usize,
    /// The most records asked for.
    pub limit: usize,
    /// Newest first.
    pub records: Vec<AuditRecord>,
}

fn open(path: &Path, len: u64) -> Result<impl BufRead, AuditError> {
    let f = File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufReader::new(f.take(len)))
}

/// Calls `each` with every record (and its line) in the first `len` bytes of `path`; lines
/// that are no record are passed over (the chain check reports them).
pub(crate) fn scan(
    path: &Path,
    len: u64,
    mut each: impl FnMut(&AuditRecord, &[u8]) -> bool,
) -> Result<(), AuditError> {
    let mut input = open(path, len)?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|source| AuditError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            return Ok(());
        }
        if let Ok(r) = serde_json::from_slice::<AuditRecord>(&line) {
            if !each(&r, &line) {
                return Ok(());
            }
        }
    }
}

/// The page of records matching `filter`, `offset` records from the newest match.
pub(crate) fn query(
    shared: &Shared,
    filter: &AuditFilter,
    limit: usize,
    offset: usize,
) -> Result<AuditPage, super::OpError> {
    if limit == 0 || limit > MAX_LIMIT || offset > MAX_OFFSET {
        return Err(super::OpError::AuditFilter(FilterError::Range));
    }
    let keep = offset + limit;
    let mut last = std::collections::VecDeque::with_capacity(keep.min(1024));
    let mut total = 0u64;
    scan(shared.audit.path(), shared.audit.written_len(), |r, _| {
        if filter.matches(r) {
            total += 1;
            if last.len() == keep {
                last.pop_front();
            }
            last.push_back(r.clone());
        }
        true
    })
    .map_err(|e| super::OpError::AuditRead(e.to_string()))?;
    let records = last.into_iter().rev().skip(offset).take(limit).collect();
    Ok(AuditPage {
        total,
        offset,
        limit,
        records,
    })
}

/// What the chain check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChainCheck {
    /// The chain is intact.
    pub ok: bool,
    /// Records verified (before the break, when it is broken).
    pub records: u64,
    /// The first bad line (1-based), when it is broken.
    pub line: Option<u64>,
    /// What was found, a sentence.
    pub message: String,
}

/// Checks the hash chain of the log as far as it is written now.
pub(crate) fn verify(shared: &Shared) -> ChainCheck {
    let path = shared.audit.path();
    match crate::audit::verify::verify_prefix(path, shared.audit.written_len()) {
        Ok(n) => ChainCheck {
            ok: true,
            records: n,
            line: None,
            message: format!("The hash chain is intact: {n} records verified."),
        },
        Err(e) => {
            let line = match &e {
                AuditError::ChainBroken { line, .. }
                | AuditError::Corrupt { line, .. }
                | AuditError::TornTail { line, .. } => Some(*line),
                _ => None,
            };
            ChainCheck {
                ok: false,
                records: line.map_or(0, |l| l.saturating_sub(1)),
                line,
                message: e.to_string(),
            }
        }
    }
}

/// Sends the lines of the records matching `filter` (oldest first), as they are, in chunks,
/// until the receiver is gone. Runs on a blocking thread.
pub(crate) fn export(
    shared: &Shared,
    filter: AuditFilter,
    tx: tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) {
    const CHUNK: usize = 64 * 1024;
    let mut buf = Vec::with_capacity(CHUNK);
    let r = scan(
        shared.audit.path(),
        shared.audit.written_len(),
        |r, line| {
            if filter.matches(r) {
                buf.extend_from_slice(line);
                if buf.len() >= CHUNK {
                    let chunk = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK));
                    return tx.blocking_send(Ok(chunk)).is_ok();
                }
            }
            true
        },
    );
    let _ = match r {
        Ok(()) if buf.is_empty() => return,
        Ok(()) => tx.blocking_send(Ok(buf)),
        Err(e) => tx.blocking_send(Err(std::io::Error::other(e.to_string()))),
    };
}
