//! Retention cleanup (CC-51): records older than the retention are removed and the log is
//! rewritten so that its chain still verifies.
//!
//! The new file starts with one `audit.cleaned` record, a header that stands in for the
//! records removed: it carries the `seq` of the last removed record and `prev_hash` = 64 zeros
//! (it starts the file), and its `detail` names how many records were removed, the time range
//! they covered (`from`, `to`), the hash of the last removed record (`continues_from`, which
//! the first kept record's `prev_hash` names) and who ran the cleanup. [`verify_file`]
//! accepts such a header as the first line only, checks its own hash, and continues the chain
//! from `continues_from`: removing more lines, editing the header or a kept record, all break
//! it. A header of an earlier cleanup is replaced (its count is carried in `removed_before`).
//!
//! # The writer
//!
//! The kept records are copied to `audit.log.cleaning` beside the log without holding the
//! writer's lock (records are only ever appended, never changed in place). Then, under the
//! writer's lock, the records appended meanwhile are copied too, the copy is synced and
//! renamed over the log, and the writer continues on the new file: no record is lost or
//! written to the old file after the swap.
//!
//! [`verify_file`]: super::verify_file

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{now_rfc3339, AuditError, AuditLog, AuditRecord, GENESIS_HASH};

/// The action name of a cleanup header.
pub const CLEANED: &str = "audit.cleaned";

/// What a cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Cleaned {
    /// Records removed.
    pub removed: u64,
    /// The time of the oldest record removed.
    pub from: Option<String>,
    /// The time of the newest record removed.
    pub to: Option<String>,
    /// The hash of the last record removed: the kept chain continues from it.
    pub continues_from: Option<String>,
}

/// What the first pass found: the records to remove.
struct Plan {
    /// Bytes of the old file to drop (the removed records and an old header).
    cut: u64,
    cleaned: Cleaned,
    last_seq: u64,
    removed_before: u64,
}

fn plan(path: &std::path::Path, len: u64, cutoff: OffsetDateTime) -> Result<Plan, AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut input = BufReader::new(file.take(len));
    let mut p = Plan {
        cut: 0,
        cleaned: Cleaned::default(),
        last_seq: 0,
        removed_before: 0,
    };
    let mut offset = 0u64;
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line).map_err(io)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        offset += n as u64;
        let Ok(rec) = serde_json::from_slice::<AuditRecord>(&line) else {
            break;
        };
        if std::mem::take(&mut first) && rec.action == CLEANED {
            p.removed_before = rec.detail["removed"].as_u64().unwrap_or(0)
                + rec.detail["removed_before"].as_u64().unwrap_or(0);
            p.cut = offset;
            continue;
        }
        match OffsetDateTime::parse(&rec.at, &Rfc3339) {
            Ok(at) if at < cutoff => {}
            _ => break,
        }
        let c = &mut p.cleaned;
        c.removed += 1;
        if c.from.is_none() {
            c.from = Some(rec.at.clone());
        }
        c.to = Some(rec.at);
        c.continues_from = Some(rec.hash);
        p.last_seq = rec.seq;
        p.cut = offset;
    }
    Ok(p)
}

/// Copies `from[start..end)` to the end of `to`.
fn copy_range(from: &mut File, start: u64, end: u64, to: &mut File) -> std::io::Result<()> {
    from.seek(SeekFrom::Start(start))?;
    let n = std::io::copy(&mut from.take(end.saturating_sub(start)), to)?;
    if n != end.saturating_sub(start) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the audit log is shorter than its writer says",
        ));
    }
    Ok(())
}

impl AuditLog {
    /// Removes the records older than `cutoff` (by `by`, through `via`) and rewrites the log
    /// starting with an `audit.cleaned` header (see the module). Nothing older: nothing
    /// changes (`removed: 0`).
    pub fn cleanup(
        &self,
        cutoff: OffsetDateTime,
        by: &str,
        via: &str,
    ) -> Result<Cleaned, AuditError> {
        let path = self.path.clone();
        let io = |source| AuditError::Io {
            path: path.clone(),
            source,
        };
        let len0 = self.written_len();
        let p = plan(&path, len0, cutoff)?;
        if p.cleaned.removed == 0 {
            return Ok(p.cleaned);
        }
        let c = &p.cleaned;
        let mut header = AuditRecord {
            seq: p.last_seq,
            at: now_rfc3339(),
            action: CLEANED.to_owned(),
            session_id: None,
            principal: Some(by.to_owned()),
            target: None,
            outcome: "ok".to_owned(),
            detail: serde_json::json!({
                "removed": c.removed,
                "from": c.from,
                "to": c.to,
                "continues_from": c.continues_from,
                "removed_before": p.removed_before,
                "older_than": cutoff.format(&Rfc3339).unwrap_or_default(),
                "by": by,
                "via": via,
            }),
            prev_hash: GENESIS_HASH.to_owned(),
            hash: String::new(),
        };
        header.hash = header.compute_hash();
        let mut line = serde_json::to_vec(&header).unwrap_or_default();
        line.push(b'\n');

        let tmp_path = path.with_file_name(format!(
            "{}.cleaning",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("audit.log")
        ));
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut tmp = opts.open(&tmp_path).map_err(io)?;
        let mut old = File::open(&path).map_err(io)?;
        let copied = tmp
            .write_all(&line)
            .and_then(|()| copy_range(&mut old, p.cut, len0, &mut tmp));
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&tmp_path);
            return Err(io(e));
        }
        // The swap: under the writer's lock, nothing is appended to the old file after the
        // last copy.
        let mut tail = self.lock();
        let swapped = (|| {
            copy_range(&mut old, len0, tail.len, &mut tmp)?;
            tmp.sync_all()?;
            std::fs::rename(&tmp_path, &path)?;
            let mut append = OpenOptions::new();
            append.read(true).append(true);
            let file = append.open(&path)?;
            let new_len = file.metadata()?.len();
            Ok::<_, std::io::Error>((file, new_len))
        })();
        match swapped {
            Ok((file, new_len)) => {
                tail.file = file;
                tail.len = new_len;
                tail.dirty = false;
                drop(tail);
                if let Some(dir) = path.parent() {
                    if let Ok(d) = File::open(dir) {
                        let _ = d.sync_all();
                    }
                }
                tracing::info!(
                    removed = c.removed, from = ?c.from, to = ?c.to, by, via,
                    "audit log cleaned: records older than the retention removed"
                );
                Ok(p.cleaned)
            }
            Err(e) => {
                drop(tail);
                let _ = std::fs::remove_file(&tmp_path);
                Err(io(e))
            }
        }
    }
}
