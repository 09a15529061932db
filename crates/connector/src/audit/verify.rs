//! Checking a whole log: every line parses, `seq` counts up from 0, each `prev_hash` is the
//! previous `hash` and each `hash` is right; an incomplete last line is told apart.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{AuditError, AuditRecord, GENESIS_HASH};

/// What [`verify_report`] found in an intact log.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    /// Records checked.
    pub records: u64,
    /// The `audit.repaired` records: torn tails the connector set aside at a start.
    pub repairs: Vec<AuditRecord>,
    /// The `audit.resumed` records: times writing failed and came back.
    pub resumptions: Vec<AuditRecord>,
    /// The `audit.cleaned` header the log starts with, after a retention cleanup.
    pub cleaned: Option<AuditRecord>,
}

/// Checks every line of an audit log. Returns the number of records.
///
/// Errors: [`AuditError::TornTail`] when only the last line is incomplete (no `\n`: a write cut
/// short), [`AuditError::ChainBroken`] or [`AuditError::Corrupt`] for a complete line that is
/// not the record the chain expects (edited, inserted, removed, reordered).
pub fn verify_file(path: &Path) -> Result<u64, AuditError> {
    verify_report(path).map(|v| v.records)
}

/// [`verify_file`], also listing the repairs and resumptions the log records.
pub fn verify_report(path: &Path) -> Result<Verified, AuditError> {
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    check(path, BufReader::new(file), true)
}

/// Verifies the first `limit` bytes (which end at a line end). Returns the number of records.
pub(crate) fn verify_prefix(path: &Path, limit: u64) -> Result<u64, AuditError> {
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    check(path, BufReader::new(file.take(limit)), false).map(|v| v.records)
}

fn check(path: &Path, mut input: impl BufRead, torn_ok: bool) -> Result<Verified, AuditError> {
    let mut prev = GENESIS_HASH.to_owned();
    let mut next_seq = 0u64;
    let mut out = Verified::default();
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|source| AuditError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            return Ok(out);
        }
        line_no += 1;
        if torn_ok && line.last() != Some(&b'\n') {
            return Err(AuditError::TornTail {
                path: path.to_path_buf(),
                line: line_no,
                bytes: line.len() as u64,
                records: out.records,
            });
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord = serde_json::from_str(&text).map_err(|e| AuditError::Corrupt {
            path: path.to_path_buf(),
            line: line_no,
            reason: e.to_string(),
        })?;
        let broken = |reason| AuditError::ChainBroken {
            path: path.to_path_buf(),
            line: line_no,
            reason,
        };
        // A cleaned log starts with its `audit.cleaned` header (see `cleanup`): its own hash
        // holds, and the chain goes on from the last removed record it names.
        if out.records == 0 && rec.action == super::cleanup::CLEANED && rec.prev_hash == prev {
            if rec.compute_hash() != rec.hash {
                return Err(broken("the record does not match its hash"));
            }
            let Some(from) = rec.detail["continues_from"].as_str().map(str::to_owned) else {
                return Err(broken("the cleanup record names no hash to continue from"));
            };
            prev = from;
            next_seq = rec.seq.saturating_add(1);
            out.records += 1;
            out.cleaned = Some(rec);
            continue;
        }
        if rec.seq != next_seq {
            return Err(broken("sequence number out of order"));
        }
        if rec.prev_hash != prev {
            return Err(broken("prev_hash is not the previous record's hash"));
        }
        if rec.compute_hash() != rec.hash {
            return Err(broken("the record does not match its hash"));
        }
        prev.clone_from(&rec.hash);
        next_seq = next_seq.saturating_add(1);
        out.records += 1;
        match rec.action.as_str() {
            "audit.repaired" => out.repairs.push(rec),
            "audit.resumed" => out.resumptions.push(rec),
            _ => {}
        }
    }
}

/// For an `audit.repaired` record of the log at `log`: whether the file it names is beside
/// the log and holds the bytes it set aside (`None`: the file is gone or unreadable).
pub fn set_aside_matches(log: &Path, repaired: &AuditRecord) -> Option<bool> {
    use sha2::{Digest, Sha256};
    let name = repaired.detail["file"].as_str()?;
    // Only a plain file name beside the log, never a path the record could point elsewhere.
    if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return None;
    }
    let bytes = std::fs::read(log.with_file_name(name)).ok()?;
    Some(hex::encode(Sha256::digest(&bytes)) == repaired.detail["sha256"].as_str()?)
}

/// Reads every record of an audit log without verifying the chain (for tools and tests).
pub fn read_records(path: &Path) -> Result<Vec<AuditRecord>, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| AuditError::Corrupt {
                path: path.to_path_buf(),
                line: i as u64 + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}
