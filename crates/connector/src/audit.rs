//! The connector's own audit log: append-only, hash-chained JSON lines in `data_dir/audit.log`.
//!
//! The customer keeps a record of every stream the vendor asked for that does not depend on
//! the vendor's hub. Each line is one [`AuditRecord`]:
//!
//! ```text
//! {"seq":0,"at":"2026-…Z","action":"session.refused","session_id":"…","principal":"…",
//!  "target":"db.internal:5432","outcome":"refused","detail":{…},"prev_hash":"000…0","hash":"…"}
//! ```
//!
//! `hash = hex(sha256(prev_hash + "\n" + JSON of the line without "hash"))`, and each line's
//! `prev_hash` is the previous line's `hash` (64 zeros for the first line). Editing, removing
//! or reordering a line breaks the chain at that line, which [`verify_file`] reports. (Anyone
//! who can rewrite the whole file can rewrite the whole chain; shipping lines off the machine
//! is what defends against that.)
//!
//! Writes take a small `std::sync::Mutex` around a buffered file and flush each line: one
//! short `write` syscall, so holding it inside async code does not stall the runtime.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name under `data_dir`.
pub const AUDIT_FILE: &str = "audit.log";
/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditAction {
    /// A stream was refused (no window or grant, its window is closed, unknown, not open or
    /// for another target, no entry allows it, or the internal system could not be reached).
    SessionRefused,
    /// A stream was connected to an internal system.
    SessionStart,
    /// A connected stream ended (bytes, duration, who ended it).
    SessionEnd,
    /// The tunnel to the hub came up.
    TunnelConnected,
    /// The tunnel to the hub went down.
    TunnelDisconnected,
    /// A new access control list took effect.
    AclReloaded,
    /// A window closed in the connector's view: by the hub (`closed_by: "hub"`) or by a
    /// customer admin at the connector (`closed_by: "connector"`, with `by` and `reason`).
    WindowClosed,
    /// An HTTP request was refused by the entry's resources (entry, method, path, reason).
    HttpDenied,
    /// The connector started with `[backend_tls] trust_all` on.
    TrustAllBackends,
    /// An entry's reachability check after a reload (reachable or not, and what was seen).
    Reachability,
    /// The `[[access]]` list was edited through the admin socket (import, remove).
    AccessEdited,
    /// A changed `[backend_tls]` (trust store, trust all, system certificate) took effect.
    BackendTlsReloaded,
    /// The trust store was edited through the admin socket (a certificate added or removed).
    TrustStoreEdited,
}

impl AuditAction {
    /// The name written to the log.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SessionRefused => "session.refused",
            AuditAction::SessionStart => "session.start",
            AuditAction::SessionEnd => "session.end",
            AuditAction::TunnelConnected => "tunnel.connected",
            AuditAction::TunnelDisconnected => "tunnel.disconnected",
            AuditAction::AclReloaded => "acl.reloaded",
            AuditAction::WindowClosed => "window.closed",
            AuditAction::HttpDenied => "http.denied",
            AuditAction::TrustAllBackends => "backend_tls.trust_all",
            AuditAction::Reachability => "access.reachability",
            AuditAction::AccessEdited => "access.edited",
            AuditAction::BackendTlsReloaded => "backend_tls.reloaded",
            AuditAction::TrustStoreEdited => "trust_store.edited",
        }
    }
}

/// One audit event before it is chained.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// What happened.
    pub action: AuditAction,
    /// The hub's session id, for session events.
    pub session_id: Option<String>,
    /// Who asked, as the hub reported it.
    pub principal: Option<String>,
    /// The virtual `host:port` asked for.
    pub target: Option<String>,
    /// Short result: `ok`, `refused`, `closed`, `error`, `cut` …
    pub outcome: String,
    /// Structured extra facts (a JSON object).
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// An event without session fields.
    pub fn new(action: AuditAction, outcome: &str, detail: serde_json::Value) -> Self {
        AuditEvent {
            action,
            session_id: None,
            principal: None,
            target: None,
            outcome: outcome.to_owned(),
            detail,
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The action name (see [`AuditAction::as_str`]).
    pub action: String,
    /// Session id, for session events.
    pub session_id: Option<String>,
    /// Principal, for session events.
    pub principal: Option<String>,
    /// Virtual target, for session events.
    pub target: Option<String>,
    /// Short result.
    pub outcome: String,
    /// Extra facts.
    pub detail: serde_json::Value,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The hashed part of a record: every field but `hash`, in the same order.
#[derive(Serialize)]
struct Unhashed<'a> {
    seq: u64,
    at: &'a str,
    action: &'a str,
    session_id: &'a Option<String>,
    principal: &'a Option<String>,
    target: &'a Option<String>,
    outcome: &'a str,
    detail: &'a serde_json::Value,
    prev_hash: &'a str,
}

impl AuditRecord {
    /// The hash this record should carry.
    pub fn compute_hash(&self) -> String {
        let body = Unhashed {
            seq: self.seq,
            at: &self.at,
            action: &self.action,
            session_id: &self.session_id,
            principal: &self.principal,
            target: &self.target,
            outcome: &self.outcome,
            detail: &self.detail,
            prev_hash: &self.prev_hash,
        };
        // Serialising plain strings, integers and a JSON value cannot fail.
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(b"\n");
        h.update(&json);
        hex::encode(h.finalize())
    }
}

/// Why the audit log could not be opened, written or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file operation failed.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a record (torn write, manual edit).
    #[error("audit log {path}, line {line}: not an audit record: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0: the last line of a log too large to count cheaply).
        line: u64,
        /// The parser's complaint.
        reason: String,
    },
    /// A line's hash, `prev_hash` or `seq` does not continue the chain.
    #[error("audit log {path}, line {line}: hash chain broken ({reason})")]
    ChainBroken {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Which check failed.
        reason: &'static str,
    },
}

struct Tail {
    out: BufWriter<File>,
    next_seq: u64,
    prev_hash: String,
}

/// An open audit log, appending.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    tail: Mutex<Tail>,
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail")
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (or creates) `path` and resumes its chain from the last line.
    ///
    /// A last line that is not a complete record (a torn write after a crash) is an error:
    /// continuing would hide it. Move the file aside to start a new chain.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut opts = OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(path).map_err(io)?;
        let (next_seq, prev_hash) = match last_line(&mut file).map_err(io)? {
            None => (0, GENESIS_HASH.to_owned()),
            Some((line_no, text)) => {
                let rec: AuditRecord =
                    serde_json::from_str(&text).map_err(|e| AuditError::Corrupt {
                        path: path.to_path_buf(),
                        line: line_no,
                        reason: e.to_string(),
                    })?;
                (rec.seq.saturating_add(1), rec.hash)
            }
        };
        Ok(AuditLog {
            path: path.to_path_buf(),
            tail: Mutex::new(Tail {
                out: BufWriter::new(file),
                next_seq,
                prev_hash,
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and flushes it. Returns the record written.
    pub fn record(&self, event: AuditEvent) -> Result<AuditRecord, AuditError> {
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        // A poisoned lock only means another writer panicked between lines; the tail state
        // is updated after a successful write, so it is still consistent.
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let mut rec = AuditRecord {
            seq: tail.next_seq,
            at,
            action: event.action.as_str().to_owned(),
            session_id: event.session_id,
            principal: event.principal,
            target: event.target,
            outcome: event.outcome,
            detail: event.detail,
            prev_hash: tail.prev_hash.clone(),
            hash: String::new(),
        };
        rec.hash = rec.compute_hash();
        let mut line = serde_json::to_vec(&rec).unwrap_or_default();
        line.push(b'\n');
        let io = |source| AuditError::Io {
            path: self.path.clone(),
            source,
        };
        tail.out.write_all(&line).map_err(io)?;
        tail.out.flush().map_err(io)?;
        tail.next_seq += 1;
        tail.prev_hash.clone_from(&rec.hash);
        Ok(rec)
    }

    /// Like [`AuditLog::record`], but a failure is logged instead of returned (for events
    /// whose caller cannot do anything better).
    pub(crate) fn record_or_log(&self, event: AuditEvent) {
        if let Err(e) = self.record(event) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }
}

/// Finds the last non-empty line of `file` by reading backwards in growing chunks, so opening
/// a large log does not read all of it. Its 1-based number is returned when the whole file
/// was read, 0 otherwise (it only serves error messages).
fn last_line(file: &mut File) -> std::io::Result<Option<(u64, String)>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut chunk = 8 * 1024u64;
    loop {
        let start = len.saturating_sub(chunk);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        Read::take(&mut *file, len - start).read_to_end(&mut buf)?;
        let trimmed_end = buf
            .iter()
            .rposition(|b| *b != b'\n' && *b != b'\r')
            .map(|i| i + 1);
        let Some(end) = trimmed_end else {
            if start == 0 {
                return Ok(None);
            }
            chunk = chunk.saturating_mul(4);
            continue;
        };
        if let Some(nl) = buf[..end].iter().rposition(|b| *b == b'\n') {
            let text = String::from_utf8_lossy(&buf[nl + 1..end]).into_owned();
            let line_no = if start == 0 {
                buf[..=nl].iter().filter(|b| **b == b'\n').count() as u64 + 1
            } else {
                0
            };
            return Ok(Some((line_no, text)));
        }
        if start == 0 {
            return Ok(Some((1, String::from_utf8_lossy(&buf[..end]).into_owned())));
        }
        chunk = chunk.saturating_mul(4);
    }
}

/// Checks every line of an audit log: each parses, `seq` counts up from 0, each `prev_hash`
/// is the previous `hash` and each `hash` is right. Returns the number of records.
pub fn verify_file(path: &Path) -> Result<u64, AuditError> {
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut prev = GENESIS_HASH.to_owned();
    let mut count = 0u64;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: AuditRecord = serde_json::from_str(&line).map_err(|e| AuditError::Corrupt {
            path: path.to_path_buf(),
            line: line_no,
            reason: e.to_string(),
        })?;
        let broken = |reason| AuditError::ChainBroken {
            path: path.to_path_buf(),
            line: line_no,
            reason,
        };
        if rec.seq != count {
            return Err(broken("sequence number out of order"));
        }
        if rec.prev_hash != prev {
            return Err(broken("prev_hash is not the previous record's hash"));
        }
        if rec.compute_hash() != rec.hash {
            return Err(broken("the record does not match its hash"));
        }
        prev = rec.hash;
        count += 1;
    }
    Ok(count)
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
