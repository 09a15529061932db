//! Finding and setting aside a torn tail when the log is opened.
//!
//! A torn tail is what a crash or a full disk leaves: a last line without its `\n`, or a last
//! line that is not a valid record (it does not parse, or its hash is wrong) while every line
//! before it verifies. It is not an edit, and it must not stop the chain for ever; neither may
//! it disappear without a trace. So [`set_aside`] copies the bytes into
//! `audit.log.torn-<UTC time>` (mode 0600, synced), cuts the log back to the last whole
//! record, and hands back the `audit.repaired` event that names the file, the byte count and
//! the bytes' SHA-256.
//!
//! Opening a large log reads only its end (backwards in growing chunks); the whole chain is
//! verified only when the end is torn, before anything is moved: a tail behind damage further
//! up is not a torn write, and such a log is left as it is (opening it fails).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{AuditAction, AuditError, AuditEvent, AuditRecord};

/// What [`scan`] found at the end of the log.
#[derive(Debug)]
pub(crate) struct Scan {
    /// Length of the file up to the end of the last whole record (after a repair).
    pub good_len: u64,
    /// The last whole record, if any.
    pub last: Option<AuditRecord>,
    /// Bytes after `good_len` to set aside.
    pub torn: Option<Torn>,
}

/// A torn tail.
#[derive(Debug)]
pub(crate) struct Torn {
    /// Where it starts in the file.
    pub offset: u64,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Why it is not a record.
    pub reason: String,
}

/// Largest torn tail set aside; a longer bad last line is not a torn write of one record.
const MAX_TORN: u64 = 16 << 20;

/// Reads the end of the log: the last whole record and a torn tail after it, if any.
pub(crate) fn scan(path: &Path, file: &mut File) -> Result<Scan, AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    if len == 0 {
        return Ok(Scan {
            good_len: 0,
            last: None,
            torn: None,
        });
    }
    let last_byte = read_at(file, len - 1, 1).map_err(io)?;
    let (good_len, reason) = if last_byte != [b'\n'] {
        // An incomplete last line: everything after the last `\n`.
        let start = newline_before(file, len).map_err(io)?.map_or(0, |p| p + 1);
        (start, "incomplete last line (no end of line)".to_owned())
    } else {
        match last_record(file, len).map_err(io)? {
            Last::Empty => {
                return Ok(Scan {
                    good_len: len,
                    last: None,
                    torn: None,
                })
            }
            Last::Good(rec) => {
                return Ok(Scan {
                    good_len: len,
                    last: Some(*rec),
                    torn: None,
                })
            }
            Last::Bad { start, reason } => (start, reason),
        }
    };
    // Only a tail behind a chain that verifies is torn; damage further up is not repaired
    // (nothing is moved) and the log is not continued.
    super::verify::verify_prefix(path, good_len)?;
    let last = match last_record(file, good_len).map_err(io)? {
        Last::Good(rec) => Some(*rec),
        Last::Empty => None,
        Last::Bad { reason, .. } => {
            return Err(AuditError::Corrupt {
                path: path.to_path_buf(),
                line: 0,
                reason,
            })
        }
    };
    Ok(Scan {
        good_len,
        last,
        torn: Some(torn(file, good_len, len, reason).map_err(io)?),
    })
}

fn torn(file: &mut File, offset: u64, len: u64, reason: String) -> std::io::Result<Torn> {
    if len - offset > MAX_TORN {
        return Err(std::io::Error::other(format!(
            "the incomplete last line is {} bytes long, more than one record can be",
            len - offset
        )));
    }
    Ok(Torn {
        offset,
        bytes: read_at(file, offset, (len - offset) as usize)?,
        reason,
    })
}

/// Copies the torn tail into a file of its own, cuts the log back to `good_len`, and returns
/// the `audit.repaired` event to append.
pub(crate) fn set_aside(
    path: &Path,
    file: &mut File,
    good_len: u64,
    torn: &Torn,
) -> Result<AuditEvent, AuditError> {
    let aside = write_aside(path, &torn.bytes)?;
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    file.set_len(good_len).map_err(io)?;
    file.sync_all().map_err(io)?;
    let name = aside
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(AuditEvent::new(
        AuditAction::Repaired,
        "repaired",
        serde_json::json!({
            "file": name,
            "bytes": torn.bytes.len(),
            "sha256": hex::encode(Sha256::digest(&torn.bytes)),
            "offset": torn.offset,
            "reason": torn.reason,
        }),
    ))
}

/// `audit.log.torn-<YYYYMMDDTHHMMSSZ>[-n]` beside the log, mode 0600, synced.
fn write_aside(path: &Path, bytes: &[u8]) -> Result<PathBuf, AuditError> {
    let t = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| super::AUDIT_FILE.to_owned());
    let mut last_err = None;
    for n in 0..100u32 {
        let name = match n {
            0 => format!("{base}.torn-{stamp}"),
            n => format!("{base}.torn-{stamp}-{n}"),
        };
        let aside = path.with_file_name(name);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(&aside) {
            Ok(mut f) => {
                let written = f.write_all(bytes).and_then(|()| f.sync_all());
                if let Err(source) = written {
                    let _ = std::fs::remove_file(&aside);
                    return Err(AuditError::Io {
                        path: aside,
                        source,
                    });
                }
                return Ok(aside);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(source) => {
                return Err(AuditError::Io {
                    path: aside,
                    source,
                })
            }
        }
    }
    Err(AuditError::Io {
        path: path.to_path_buf(),
        source: last_err.unwrap_or_else(|| std::io::Error::other("no free name")),
    })
}

enum Last {
    Empty,
    Good(Box<AuditRecord>),
    Bad { start: u64, reason: String },
}

/// The last non-empty line of the first `end` bytes (which end at a line end or at 0).
fn last_record(file: &mut File, end: u64) -> std::io::Result<Last> {
    // Skip trailing line ends.
    let mut stop = end;
    while stop > 0 && read_at(file, stop - 1, 1)? == [b'\n'] {
        stop -= 1;
    }
    if stop == 0 {
        return Ok(Last::Empty);
    }
    let start = newline_before(file, stop)?.map_or(0, |p| p + 1);
    if stop - start > MAX_TORN {
        return Ok(Last::Bad {
            start,
            reason: format!("a line of {} bytes", stop - start),
        });
    }
    let bytes = read_at(file, start, (stop - start) as usize)?;
    let bad = |reason: String| Ok(Last::Bad { start, reason });
    let rec: AuditRecord = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return bad(format!("not an audit record: {e}")),
    };
    if rec.compute_hash() != rec.hash {
        return bad("the record does not match its hash".into());
    }
    Ok(Last::Good(Box::new(rec)))
}

/// Position of the last `\n` before `before`, reading backwards in growing chunks.
fn newline_before(file: &mut File, before: u64) -> std::io::Result<Option<u64>> {
    let mut hi = before;
    let mut chunk = 8 * 1024u64;
    while hi > 0 {
        let lo = hi.saturating_sub(chunk);
        let buf = read_at(file, lo, (hi - lo) as usize)?;
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
        chunk = chunk.saturating_mul(2).min(1 << 20);
    }
    Ok(None)
}

fn read_at(file: &mut File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0; len];
    file.read_exact(&mut buf)?;
    Ok(buf)
}
