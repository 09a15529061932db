//! The offline check of an export: every line's hash recomputed with the store's rule, links
//! followed wherever two events are consecutive, and the file's own structure (header, end
//! line, filter) held to what it claims.

use std::io::BufRead;

use portcullis_hub::api::audit::{
    ExportEnd, ExportFilter, ExportHeader, ExportedEvent, EXPORT_FORMAT_VERSION,
};
use portcullis_store::GENESIS_HASH;
use serde::Serialize;

/// What an intact export holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Event lines.
    pub events: u64,
    /// `seq` of the first event line.
    pub first_seq: Option<i64>,
    /// `seq` of the last event line.
    pub last_seq: Option<i64>,
    /// `hash` of the last event line: the value to keep elsewhere.
    pub last_hash: Option<String>,
    /// Links checked: events whose `prev_hash` was compared with the event before (or with
    /// the genesis hash for `seq` 1).
    pub links_checked: u64,
    /// Places where `seq` jumps (normal in a filtered export: the events between belong to
    /// others); the link across a gap cannot be checked from the file.
    pub gaps: u64,
    /// The header, if the file has one.
    pub header: Option<ExportHeader>,
    /// Whether the file has both its header and its end line.
    pub complete: bool,
}

/// The first line of an export that fails, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {problem}", .seq.map(|s| format!(" (seq {s})")).unwrap_or_default())]
pub struct BadLine {
    /// 1-based line number in the file.
    pub line: u64,
    /// The event's `seq`, when the line has one.
    pub seq: Option<i64>,
    /// What is wrong.
    pub problem: Problem,
}

/// Why a line of an export fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The line could not be read (I/O, not UTF-8).
    #[error("cannot read the line: {0}")]
    Unreadable(String),
    /// The line is not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an event line (a field missing, unknown or of the wrong type).
    #[error("not an audit event line: {0}")]
    NotAnEvent(String),
    /// The line is an event but not written the way the hub writes it (a duplicate key,
    /// other escaping, other number format), so what it shows is not exactly what is hashed.
    #[error("not in the form the hub writes (duplicate key, other escaping or spacing): what it shows is not exactly what its hash covers")]
    NotCanonical,
    /// The header is malformed.
    #[error("not a valid export header: {0}")]
    BadHeader(String),
    /// A header anywhere but on the first line.
    #[error("an export header after the first line")]
    HeaderNotFirst,
    /// A format version this verifier does not know.
    #[error("export format version {0} is not supported (this verifier reads version 1)")]
    UnsupportedVersion(u32),
    /// `seq` does not increase.
    #[error("seq out of order: it follows seq {previous}")]
    SeqOutOfOrder {
        /// The `seq` of the event line before.
        previous: i64,
    },
    /// The event's fields do not give its `hash`.
    #[error("hash mismatch: the event's fields do not give its hash (the event was changed)")]
    HashMismatch,
    /// `prev_hash` of `seq` 1 is not the genesis hash.
    #[error("broken link: seq 1's prev_hash is not the genesis hash")]
    NotGenesis,
    /// `prev_hash` is not the `hash` of the event line before, whose `seq` is one less.
    #[error("broken link: prev_hash is not the hash of seq {previous} (one of the two was changed or replaced)")]
    BrokenLink {
        /// The `seq` of the event line before.
        previous: i64,
    },
    /// The header says every event from `from_seq` on is in the file, but some are not.
    #[error("events seq {from}..={to} are missing from an unfiltered export (deleted)")]
    MissingEvents {
        /// First missing `seq`.
        from: i64,
        /// Last missing `seq`.
        to: i64,
    },
    /// The event does not match the header's filter.
    #[error("the event is outside the export's filter ({0})")]
    OutsideFilter(String),
    /// The end line is malformed or does not agree with the event lines.
    #[error("the end line does not agree with the events: {0}")]
    BadEnd(String),
    /// Something after the end line.
    #[error("a line after the end line")]
    AfterEnd,
    /// A header but no end line: the file was cut short.
    #[error("the file ends without its end line: the export is incomplete (cut short)")]
    Truncated,
}

impl Problem {
    /// A stable snake_case code for `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Unreadable(_) => "unreadable",
            Problem::NotJson(_) => "not_json",
            Problem::NotAnEvent(_) => "not_an_event",
            Problem::NotCanonical => "not_canonical",
            Problem::BadHeader(_) => "bad_header",
            Problem::HeaderNotFirst => "header_not_first",
            Problem::UnsupportedVersion(_) => "unsupported_version",
            Problem::SeqOutOfOrder { .. } => "seq_out_of_order",
            Problem::HashMismatch => "hash_mismatch",
            Problem::NotGenesis | Problem::BrokenLink { .. } => "broken_link",
            Problem::MissingEvents { .. } => "missing_events",
            Problem::OutsideFilter(_) => "outside_filter",
            Problem::BadEnd(_) => "bad_end",
            Problem::AfterEnd => "after_end",
            Problem::Truncated => "truncated",
        }
    }
}

/// Checks an export line by line (format: `docs/audit.md`) and stops at the first bad line.
///
/// Every event line must parse, be written exactly as the hub writes it, have a `seq` above
/// the line before, and hash to its `hash`. Where two event lines have consecutive `seq`s, the
/// second's `prev_hash` must be the first's `hash` (`seq` 1's must be the genesis hash). When
/// the header says the export is unfiltered, `seq`s must run without gaps from `from_seq`.
/// With a header there must be an end line, and it must agree with the events. Blank lines
/// are ignored; a file without a header is read as bare event lines (gaps allowed).
pub fn verify_export(reader: impl BufRead) -> Result<ExportSummary, BadLine> {
    let mut sum = ExportSummary::default();
    let mut prev: Option<(i64, String)> = None;
    let mut end_line: Option<u64> = None;
    let mut seen_content = false;
    let mut line_no = 0u64;
    let bad = |line: u64, seq: Option<i64>, problem: Problem| BadLine { line, seq, problem };
    for line in reader.lines() {
        line_no += 1;
        let text = line.map_err(|e| bad(line_no, None, Problem::Unreadable(e.to_string())))?;
        let text = text.strip_suffix('\r').unwrap_or(&text);
        if text.trim().is_empty() {
            continue;
        }
        if end_line.is_some() {
            return Err(bad(line_no, None, Problem::AfterEnd));
        }
        let first = !seen_content;
        seen_content = true;
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad(line_no, None, Problem::NotJson(e.to_string())))?;
        let seq_hint = value.get("seq").and_then(serde_json::Value::as_i64);
        if value.get("portcullis_audit_export").is_some() {
            if !first {
                return Err(bad(line_no, None, Problem::HeaderNotFirst));
            }
            let h: ExportHeader = serde_json::from_value(value)
                .map_err(|e| bad(line_no, None, Problem::BadHeader(e.to_string())))?;
            if h.portcullis_audit_export != EXPORT_FORMAT_VERSION {
                return Err(bad(
                    line_no,
                    None,
                    Problem::UnsupportedVersion(h.portcullis_audit_export),
                ));
            }
            sum.header = Some(h);
            continue;
        }
        if value.get("portcullis_audit_export_end").is_some() {
            let e: ExportEnd = serde_json::from_value(value)
                .map_err(|e| bad(line_no, None, Problem::BadEnd(e.to_string())))?;
            check_end(&e, &sum).map_err(|why| bad(line_no, None, Problem::BadEnd(why)))?;
            end_line = Some(line_no);
            continue;
        }
        // Parsed from the text, not from `value`: a duplicate key is an error here.
        let e: ExportedEvent = serde_json::from_str(text)
            .map_err(|e| bad(line_no, seq_hint, Problem::NotAnEvent(e.to_string())))?;
        let at = |problem| bad(line_no, Some(e.seq), problem);
        if e.to_line() != text {
            return Err(at(Problem::NotCanonical));
        }
        let filter = sum.header.as_ref().map(|h| &h.filter);
        if let Some(f) = filter {
            check_filter(&e, f).map_err(|why| at(Problem::OutsideFilter(why)))?;
        }
        let unfiltered = filter.filter(|f| f.is_unfiltered());
        match &prev {
            Some((p, _)) if e.seq <= *p => {
                return Err(at(Problem::SeqOutOfOrder { previous: *p }));
            }
            Some((p, _)) if e.seq > p + 1 && unfiltered.is_some() => {
                return Err(at(Problem::MissingEvents {
                    from: p + 1,
                    to: e.seq - 1,
                }));
            }
            None => {
                if let Some(f) = unfiltered.filter(|f| e.seq > f.from_seq) {
                    return Err(at(Problem::MissingEvents {
                        from: f.from_seq,
                        to: e.seq - 1,
                    }));
                }
            }
            _ => {}
        }
        if !e.hash_is_valid() {
            return Err(at(Problem::HashMismatch));
        }
        match &prev {
            Some((p, h)) if e.seq == p + 1 => {
                if e.prev_hash != *h {
                    return Err(at(Problem::BrokenLink { previous: *p }));
                }
                sum.links_checked += 1;
            }
            Some(_) => sum.gaps += 1,
            None if e.seq == 1 => {
                if e.prev_hash != GENESIS_HASH {
                    return Err(at(Problem::NotGenesis));
                }
                sum.links_checked += 1;
            }
            None => {}
        }
        sum.events += 1;
        sum.first_seq.get_or_insert(e.seq);
        sum.last_seq = Some(e.seq);
        sum.last_hash = Some(e.hash.clone());
        prev = Some((e.seq, e.hash));
    }
    if sum.header.is_some() && end_line.is_none() {
        return Err(bad(line_no + 1, None, Problem::Truncated));
    }
    sum.complete = sum.header.is_some() && end_line.is_some();
    Ok(sum)
}

fn check_filter(e: &ExportedEvent, f: &ExportFilter) -> Result<(), String> {
    if f.company_id.is_some() && e.company_id != f.company_id {
        return Err(format!(
            "company {:?}, the export is of company {:?}",
            e.company_id, f.company_id
        ));
    }
    if let Some(a) = &f.action {
        if !e.action.starts_with(a.as_str()) {
            return Err(format!("action {:?} does not start with {a:?}", e.action));
        }
    }
    if e.seq < f.from_seq || f.to_seq.is_some_and(|t| e.seq > t) {
        return Err(format!(
            "seq outside {}..={}",
            f.from_seq,
            f.to_seq.map_or(String::new(), |t| t.to_string())
        ));
    }
    Ok(())
}

fn check_end(e: &ExportEnd, sum: &ExportSummary) -> Result<(), String> {
    if e.portcullis_audit_export_end != EXPORT_FORMAT_VERSION {
        return Err(format!("version {}", e.portcullis_audit_export_end));
    }
    if e.events != sum.events {
        return Err(format!(
            "it counts {} events, the file holds {}",
            e.events, sum.events
        ));
    }
    if e.last_seq != sum.last_seq || e.last_hash != sum.last_hash {
        return Err(format!(
            "it names the last event seq {:?}, the file ends with seq {:?} or another hash",
            e.last_seq, sum.last_seq
        ));
    }
    Ok(())
}
