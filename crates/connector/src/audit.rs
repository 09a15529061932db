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
//! # Whole records or none
//!
//! Writes take a small `std::sync::Mutex` around the file and hand each record to the kernel
//! as one `write` of the whole line with its `\n` (no user-space buffer that could keep half a
//! line for later), so holding it inside async code does not stall the runtime. When a write
//! fails or comes up short (a full disk, an I/O error), the file is cut back to the length it
//! had before ([`File::set_len`]): no torn record stays behind, and the chain goes on from the
//! last record that is whole. Lines are not `fsync`ed one by one; a crash of the machine can
//! therefore still leave an incomplete last line, which the next start repairs (below).
//!
//! # A torn tail after a crash
//!
//! At start ([`AuditLog::open`], see [`repair`]), a last line without its `\n`, or a last line
//! that is not a valid record while every line before it verifies, is moved into a file of its
//! own (`audit.log.torn-<UTC time>`, mode 0600), the log is cut back to the last whole record,
//! and an `audit.repaired` record names the file, the number of bytes and their SHA-256. The
//! chain then continues and verifies; nothing was thrown away. [`verify_file`] tells an
//! incomplete last line ([`AuditError::TornTail`]) from an edited record
//! ([`AuditError::ChainBroken`], [`AuditError::Corrupt`]).
//!
//! # When the log cannot be written
//!
//! A failed write is remembered ([`AuditLog::health`]); the session code refuses every new
//! session whose start cannot be recorded (fail closed). Every later write is a retry, and
//! [`AuditLog::retry`] (called periodically by the connector) tries on its own; the first write
//! that works again records `audit.resumed` with how many records were lost and since when.

pub mod cleanup;
pub mod policy;
pub mod repair;
pub(crate) mod verify;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub use verify::{read_records, set_aside_matches, verify_file, verify_report, Verified};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::data_dir::names::AUDIT_FILE;
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
    /// The hub signed a renewed client certificate and it was stored beside the one in use.
    CertificateRenewed,
    /// A new access control list took effect.
    AclReloaded,
    /// A window closed in the connector's view: by the hub (`closed_by: "hub"`) or by a
    /// customer admin at the connector (`closed_by: "connector"`, with `by` and `reason`).
    WindowClosed,
    /// An HTTP request was refused by the entry's resources (entry, method, path, reason).
    HttpDenied,
    /// An HTTP request was let through (entry, method, path, resource, status); written
    /// only at audit level `all`.
    HttpAllowed,
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
    /// At start, an incomplete or invalid last line was set aside (file, bytes, SHA-256).
    Repaired,
    /// Writing works again after failures (how many records were lost, since when, why).
    Resumed,
    /// Monitoring records were reset (`what`: usage, performance, top time consumers,
    /// back-end connection peaks; who asked).
    MonitoringReset,
    /// A logon to the admin UI or a REST API call's credentials: `ok` or `denied` (the user,
    /// the door `ui` or `api`, the address). The API records only denials.
    AdminSignIn,
    /// A change to an admin UI user (`password_changed`, `created`, `password_reset`,
    /// `disabled`, `enabled`).
    AdminUser,
    /// A change to the admin UI's settings (`logon_text`).
    AdminSettings,
    /// An administrator cut a live session (the session, who, the door).
    SessionCut,
    /// The audit settings were changed (level, categories, retention; who, the door).
    AuditSettings,
    /// Records older than the retention were removed; the first record of a cleaned log
    /// (how many, their time range, the hash of the last one removed).
    Cleaned,
}

impl AuditAction {
    /// Every action, in the order the audit viewer offers them.
    pub const ALL: [AuditAction; 24] = [
        AuditAction::SessionRefused,
        AuditAction::SessionStart,
        AuditAction::SessionEnd,
        AuditAction::SessionCut,
        AuditAction::HttpDenied,
        AuditAction::HttpAllowed,
        AuditAction::TunnelConnected,
        AuditAction::TunnelDisconnected,
        AuditAction::CertificateRenewed,
        AuditAction::AclReloaded,
        AuditAction::AccessEdited,
        AuditAction::Reachability,
        AuditAction::WindowClosed,
        AuditAction::TrustAllBackends,
        AuditAction::BackendTlsReloaded,
        AuditAction::TrustStoreEdited,
        AuditAction::MonitoringReset,
        AuditAction::AdminSignIn,
        AuditAction::AdminUser,
        AuditAction::AdminSettings,
        AuditAction::AuditSettings,
        AuditAction::Cleaned,
        AuditAction::Repaired,
        AuditAction::Resumed,
    ];

    /// The name written to the log.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SessionRefused => "session.refused",
            AuditAction::SessionStart => "session.start",
            AuditAction::SessionEnd => "session.end",
            AuditAction::TunnelConnected => "tunnel.connected",
            AuditAction::CertificateRenewed => "certificate.renewed",
            AuditAction::TunnelDisconnected => "tunnel.disconnected",
            AuditAction::AclReloaded => "acl.reloaded",
            AuditAction::WindowClosed => "window.closed",
            AuditAction::HttpDenied => "http.denied",
            AuditAction::HttpAllowed => "http.allowed",
            AuditAction::TrustAllBackends => "backend_tls.trust_all",
            AuditAction::Reachability => "access.reachability",
            AuditAction::AccessEdited => "access.edited",
            AuditAction::BackendTlsReloaded => "backend_tls.reloaded",
            AuditAction::TrustStoreEdited => "trust_store.edited",
            AuditAction::Repaired => "audit.repaired",
            AuditAction::Resumed => "audit.resumed",
            AuditAction::MonitoringReset => "monitoring.reset",
            AuditAction::AdminSignIn => "admin.signin",
            AuditAction::AdminUser => "admin.user",
            AuditAction::AdminSettings => "admin.settings",
            AuditAction::SessionCut => "session.cut",
            AuditAction::AuditSettings => "audit.settings",
            AuditAction::Cleaned => "audit.cleaned",
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// The last line has no `\n`: a write cut short by a crash or a full disk, not an edit.
    /// Every record before it verifies. The connector sets it aside at its next start.
    #[error(
        "audit log {path}, line {line}: torn tail: the last {bytes} bytes are an incomplete \
         record (no end of line; a write cut short by a crash or a full disk); the {records} \
         records before it verify"
    )]
    TornTail {
        /// The file.
        path: PathBuf,
        /// 1-based number of the incomplete line.
        line: u64,
        /// Its length in bytes.
        bytes: u64,
        /// Records before it, all verified.
        records: u64,
    },
}

/// Whether the log can be written now ([`AuditLog::health`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditHealth {
    /// The last write failed (and nothing has been written since).
    pub failing: bool,
    /// Why the last write failed.
    pub error: Option<String>,
    /// When the first write of this failure failed (RFC 3339, UTC).
    pub since: Option<String>,
    /// Records that could not be written since then.
    pub lost_records: u64,
}

type HealthHook = Box<dyn Fn(&AuditHealth) + Send + Sync>;

struct Tail {
    file: File,
    /// Length of the file up to the end of the last whole record.
    len: u64,
    /// A failed write may have left bytes after `len` that could not be cut off yet.
    dirty: bool,
    next_seq: u64,
    prev_hash: String,
    health: AuditHealth,
}

/// An open audit log, appending.
pub struct AuditLog {
    path: PathBuf,
    tail: Mutex<Tail>,
    /// Told of every change of [`AuditHealth`] (the connector's status).
    hook: OnceLock<HealthHook>,
    /// What is recorded (`[audit]`), replaced on reload.
    settings: Mutex<policy::AuditSettings>,
}

// Written by hand, not for a secret (the log holds none): the health hook is a closure,
// which has no `Debug`, and the tail's state is noise; the path says which log it is.
impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl AuditLog {
    /// Opens (or creates) `path` and resumes its chain from the last record.
    ///
    /// A torn tail (an incomplete last line, or a last line that does not verify while every
    /// line before it does) is set aside and recorded as `audit.repaired` (see [`repair`]).
    /// Damage further up is an error: continuing would hide it.
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
        let found = repair::scan(path, &mut file)?;
        let (next_seq, prev_hash) = match &found.last {
            None => (0, GENESIS_HASH.to_owned()),
            // A cleaned log of nothing but its header: the chain goes on from the last record
            // the cleanup removed.
            Some(rec) if rec.action == cleanup::CLEANED && rec.prev_hash == GENESIS_HASH => (
                rec.seq.saturating_add(1),
                rec.detail["continues_from"]
                    .as_str()
                    .unwrap_or(GENESIS_HASH)
                    .to_owned(),
            ),
            Some(rec) => (rec.seq.saturating_add(1), rec.hash.clone()),
        };
        let log = AuditLog {
            path: path.to_path_buf(),
            tail: Mutex::new(Tail {
                file,
                len: found.good_len,
                dirty: false,
                next_seq,
                prev_hash,
                health: AuditHealth::default(),
            }),
            hook: OnceLock::new(),
            settings: Mutex::new(policy::AuditSettings::default()),
        };
        if let Some(torn) = found.torn {
            let event = {
                let mut tail = log.lock();
                repair::set_aside(path, &mut tail.file, found.good_len, &torn)?
            };
            let rec = log.record(event)?;
            tracing::warn!(
                file = %rec.detail["file"], bytes = torn.bytes.len(),
                "the audit log ended in a torn record; it was set aside and the chain continues"
            );
        }
        Ok(log)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The length of the file up to the end of its last whole record: readers stop there,
    /// so a record being appended is never read half.
    pub fn written_len(&self) -> u64 {
        self.lock().len
    }

    /// Whether the log can be written now.
    pub fn health(&self) -> AuditHealth {
        self.lock().health.clone()
    }

    /// Calls `hook` with every change of [`AuditLog::health`] (once; later calls are ignored).
    pub fn on_health_change(&self, hook: impl Fn(&AuditHealth) + Send + Sync + 'static) {
        let _ = self.hook.set(Box::new(hook));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tail> {
        // A poisoned lock only means another writer panicked between lines; the tail state
        // is updated after a successful write, so it is still consistent.
        self.tail.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What is recorded now.
    pub fn settings(&self) -> policy::AuditSettings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records from now on what `settings` say (at start and on every reload).
    pub fn set_settings(&self, settings: policy::AuditSettings) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    /// Appends one event. Returns the record written. The record is in the file (handed to
    /// the kernel) when this returns `Ok`; on `Err` nothing of it is. An event the settings
    /// leave out ([`policy::AuditSettings::keeps`]) is not written: `Ok` with an empty `hash`.
    pub fn record(&self, event: AuditEvent) -> Result<AuditRecord, AuditError> {
        if !self.settings().keeps(event.action) {
            return Ok(AuditRecord {
                seq: 0,
                at: now_rfc3339(),
                action: event.action.as_str().to_owned(),
                session_id: event.session_id,
                principal: event.principal,
                target: event.target,
                outcome: event.outcome,
                detail: event.detail,
                prev_hash: String::new(),
                hash: String::new(),
            });
        }
        let mut tail = self.lock();
        let was = tail.health.clone();
        let result = self.resume_then_write(&mut tail, event);
        if tail.health != was {
            if let Some(hook) = self.hook.get() {
                hook(&tail.health);
            }
        }
        result
    }

    /// While writes fail: tries to write again (an `audit.resumed` record). `Ok(true)` when
    /// the log is writable (again), `Ok(false)` when there was nothing to retry.
    pub fn retry(&self) -> Result<bool, AuditError> {
        let mut tail = self.lock();
        if !tail.health.failing {
            return Ok(false);
        }
        let result = self.resume(&mut tail);
        if !tail.health.failing {
            if let Some(hook) = self.hook.get() {
                hook(&tail.health);
            }
        }
        result.map(|()| true)
    }

    fn resume_then_write(
        &self,
        tail: &mut Tail,
        event: AuditEvent,
    ) -> Result<AuditRecord, AuditError> {
        let written = if tail.health.failing {
            self.resume(tail).and_then(|()| self.write(tail, event))
        } else {
            self.write(tail, event)
        };
        if written.is_err() {
            tail.health.lost_records += 1;
        }
        written
    }

    /// Writes `audit.resumed` for the failure in `tail.health` and clears it.
    fn resume(&self, tail: &mut Tail) -> Result<(), AuditError> {
        let h = tail.health.clone();
        let event = AuditEvent::new(
            AuditAction::Resumed,
            "ok",
            serde_json::json!({
                "failing_since": h.since,
                "lost_records": h.lost_records,
                "error": h.error,
            }),
        );
        self.write(tail, event)?;
        tracing::warn!(
            lost_records = h.lost_records, since = ?h.since,
            "the audit log can be written again"
        );
        tail.health = AuditHealth::default();
        Ok(())
    }

    /// Writes one record whole, or leaves the file as it was and records the failure.
    fn write(&self, tail: &mut Tail, event: AuditEvent) -> Result<AuditRecord, AuditError> {
        let mut rec = AuditRecord {
            seq: tail.next_seq,
            at: now_rfc3339(),
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
        match write_whole(tail, &line) {
            Ok(()) => {
                tail.len += line.len() as u64;
                tail.next_seq += 1;
                tail.prev_hash.clone_from(&rec.hash);
                Ok(rec)
            }
            Err(source) => {
                let h = &mut tail.health;
                if !h.failing {
                    h.failing = true;
                    h.since = Some(now_rfc3339());
                    tracing::error!(
                        path = %self.path.display(), error = %source,
                        "cannot write the audit log: new sessions are refused until it can be \
                         written again"
                    );
                }
                h.error = Some(source.to_string());
                Err(AuditError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// Like [`AuditLog::record`], but a failure is logged instead of returned (for events
    /// whose caller cannot do anything better).
    pub(crate) fn record_or_log(&self, event: AuditEvent) {
        if let Err(e) = self.record(event) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }
}

/// One `write_all` of the whole line at the end of the last whole record. When it fails (or a
/// short write is followed by a failure), the file is cut back to `tail.len`; when even that
/// fails, `tail.dirty` makes the next write cut it first.
fn write_whole(tail: &mut Tail, line: &[u8]) -> std::io::Result<()> {
    if tail.dirty {
        tail.file.set_len(tail.len)?;
        tail.dirty = false;
    }
    match tail.file.write_all(line) {
        Ok(()) => Ok(()),
        Err(e) => {
            if let Err(cut) = tail.file.set_len(tail.len) {
                tracing::error!(error = %cut, "cannot cut a failed audit write back off");
                tail.dirty = true;
            }
            Err(e)
        }
    }
}
