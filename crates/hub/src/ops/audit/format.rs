//! The export format, version 1: the three kinds of line and how an event line is written.
//!
//! Shared by the hub, which writes exports, and by verifiers (`portcullis audit verify
//! --file`), which read them back; `docs/audit.md` is the user-facing spec.

use portcullis_store::{audit_hash, AuditHashInput, Id};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Version written in [`ExportHeader::portcullis_audit_export`].
pub const EXPORT_FORMAT_VERSION: u32 = 1;

/// Media type of an export.
pub const NDJSON: &str = "application/x-ndjson";

/// Which events an export holds, as its header states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFilter {
    /// Only this company's events (`null`: every company's and the hub's own).
    pub company_id: Option<Id>,
    /// The company's name, for people.
    #[serde(default)]
    pub company: Option<String>,
    /// Only actions starting with this.
    #[serde(default)]
    pub action: Option<String>,
    /// First `seq` asked for.
    pub from_seq: i64,
    /// Last `seq` asked for, if any.
    #[serde(default)]
    pub to_seq: Option<i64>,
}

impl ExportFilter {
    /// Whether the export holds every event from `from_seq` on (no company or action filter):
    /// then its `seq`s must be consecutive and every link checkable.
    pub fn is_unfiltered(&self) -> bool {
        self.company_id.is_none() && self.action.is_none()
    }
}

/// First line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportHeader {
    /// Format version, [`EXPORT_FORMAT_VERSION`].
    pub portcullis_audit_export: u32,
    /// The hub's name (the first name on its server certificate).
    pub hub: String,
    /// SHA-256 fingerprint of the hub's CA certificate: which hub's log this is.
    pub hub_ca_fingerprint: String,
    /// Version of the hub that wrote the export.
    pub hub_version: String,
    /// When the export started.
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    /// Who asked for it (as audit events name actors).
    pub exported_by: String,
    /// Which events it holds.
    pub filter: ExportFilter,
}

/// Last line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEnd {
    /// Format version, [`EXPORT_FORMAT_VERSION`].
    pub portcullis_audit_export_end: u32,
    /// Event lines written.
    pub events: u64,
    /// `seq` of the last event line, if any.
    pub last_seq: Option<i64>,
    /// `hash` of the last event line, if any: the value worth keeping somewhere else.
    pub last_hash: Option<String>,
}

/// One event line as written: the hashed fields in their hashed order (with `detail`
/// canonical), then the links.
#[derive(Serialize)]
struct EventLine<'a> {
    #[serde(flatten)]
    fields: AuditHashInput<'a>,
    prev_hash: &'a str,
    hash: &'a str,
}

/// One event line as read back, for verifiers. Unknown fields are refused: everything on an
/// event line is covered by its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedEvent {
    /// Position in the log.
    pub seq: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Company concerned, if any.
    pub company_id: Option<Id>,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// What it happened to.
    pub target: String,
    /// How it ended.
    pub outcome: String,
    /// Structured detail.
    pub detail: serde_json::Value,
    /// Hash of the event before (`seq - 1`), or the genesis hash.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

impl ExportedEvent {
    /// The fields the hash covers.
    pub fn hash_input(&self) -> AuditHashInput<'_> {
        AuditHashInput {
            seq: self.seq,
            at_ms: self.at_ms,
            company_id: self.company_id,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            outcome: &self.outcome,
            detail: &self.detail,
        }
    }

    /// Whether `hash` follows from `prev_hash` and the fields (this line alone).
    pub fn hash_is_valid(&self) -> bool {
        audit_hash(&self.prev_hash, &self.hash_input()) == self.hash
    }

    /// The line exactly as the hub writes it (without the newline). A verifier compares a
    /// read line with this: a line that parses to the same event but is written differently
    /// (a duplicate key, other escaping) would show a reader something the hash does not
    /// cover.
    pub fn to_line(&self) -> String {
        event_line(self.hash_input(), &self.prev_hash, &self.hash)
    }
}

/// One event line, without the newline.
pub(crate) fn event_line(fields: AuditHashInput<'_>, prev_hash: &str, hash: &str) -> String {
    let mut buf = Vec::new();
    push_json(
        &mut buf,
        &EventLine {
            fields,
            prev_hash,
            hash,
        },
    );
    // serde_json writes UTF-8.
    String::from_utf8(buf).expect("JSON is UTF-8")
}

/// Appends `value` as JSON to `buf`. Serializing these types into a Vec cannot fail.
fn push_json(buf: &mut Vec<u8>, value: &impl Serialize) {
    serde_json::to_writer(&mut *buf, value).expect("export line serializes");
}

/// Appends `value` and a newline to `buf`.
pub(crate) fn push_line(buf: &mut Vec<u8>, value: &impl Serialize) {
    push_json(buf, value);
    buf.push(b'\n');
}
