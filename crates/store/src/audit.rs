//! The hash-chained audit log: its records, its query filter, and the hashing rule.
//!
//! # The chain rule
//!
//! Other components (an offline verifier, an export tool, a SIEM script) re-implement this,
//! so it is stated exactly:
//!
//! ```text
//! hash(event) = lower_hex( SHA-256( prev_hash ‖ "\n" ‖ json ) )
//! ```
//!
//! * `prev_hash` is the 64 ASCII characters of the previous event's `hash`, or
//!   [`GENESIS_HASH`] (64 × `'0'`) for the first event (`seq` 1). `"\n"` is the single byte
//!   0x0A.
//! * `json` is the UTF-8 bytes of one compact JSON object (no whitespace anywhere) whose keys
//!   appear in exactly this order — **not** sorted:
//!   `seq`, `at_ms`, `company_id`, `actor`, `action`, `target`, `outcome`, `detail`.
//!   * `seq`: integer, 1, 2, 3, … with no gaps.
//!   * `at_ms`: integer unix milliseconds of `at` (see [`crate::millis`]).
//!   * `company_id`: integer or `null`.
//!   * `actor`, `action`, `target`, `outcome`: strings.
//!   * `detail`: the event's JSON detail with the keys of every object, at every depth,
//!     sorted by their UTF-8 bytes (= by Unicode code point; *not* JavaScript's UTF-16
//!     order). Arrays keep their order.
//! * Strings are escaped as `serde_json` does: `"` → `\"`, `\` → `\\`, U+0008/0009/000A/
//!   000C/000D → `\b` `\t` `\n` `\f` `\r`, other control characters below U+0020 →
//!   `\u00xx` with lower-case hex; everything else, including non-ASCII and U+007F, is
//!   written as raw UTF-8. (Python's `json.dumps(..., ensure_ascii=False,
//!   separators=(",", ":"))` produces the same bytes.)
//! * Integers are written in plain decimal. Floats are written the way `serde_json`
//!   (ryu) prints them, which other languages do not always reproduce — keep floats out of
//!   `detail` if the log must be verified outside Rust.
//!
//! The store writes `detail` to the database as [`canonical_json`] text and hashes the
//! value parsed back from that text, so what is verified later is exactly what was stored.
//!
//! Deleting the newest events cannot be detected from the chain alone; anchor the latest
//! `(seq, hash)` somewhere else (an export, a log line) if that matters.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::millis::to_unix_millis;
use crate::Id;

/// `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Most events one [`Store::list_audit`](crate::Store::list_audit) call returns, whatever the
/// filter asks for, so a single request cannot make the hub load the whole log.
pub const MAX_AUDIT_LIMIT: u32 = 1000;

/// Something that happened, as the caller reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    /// When it happened; stored with millisecond precision.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The company the event concerns, if any; what company admins may filter on.
    pub company_id: Option<Id>,
    /// Who did it, e.g. `"token:abc123"`, `"connector:7"`, `"system"`.
    pub actor: String,
    /// Dotted verb, e.g. `"connector.enroll"`; [`AuditFilter::action_prefix`] matches on it.
    pub action: String,
    /// What it was done to, e.g. `"connector:7"`.
    pub target: String,
    /// E.g. `"ok"`, `"denied"`, `"error"`.
    pub outcome: String,
    /// Free-form structured detail. Keep floats out (see the module docs).
    pub detail: Value,
}

/// A stored audit event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub company_id: Option<Id>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: Value,
    /// Lower-case hex `hash` of the event before, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// Lower-case hex [`audit_hash`] of this event.
    pub hash: String,
}

impl AuditEvent {
    /// The fields the hash covers.
    pub fn hash_input(&self) -> AuditHashInput<'_> {
        AuditHashInput {
            seq: self.seq,
            at_ms: to_unix_millis(self.at),
            company_id: self.company_id,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            outcome: &self.outcome,
            detail: &self.detail,
        }
    }

    /// Whether `hash` follows from `prev_hash` and the fields. Checks this one link only; a
    /// verifier must also check that each `prev_hash` equals the previous event's `hash`.
    pub fn hash_is_valid(&self) -> bool {
        audit_hash(&self.prev_hash, &self.hash_input()) == self.hash
    }
}

/// Which audit events to list. Results are ordered by `seq`, oldest first, so paging
/// forward is `after_seq = last seen seq`; with [`newest_first`](Self::newest_first), newest
/// first, so paging back is `before_seq = last seen seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only events about this company.
    pub company_id: Option<Id>,
    /// Only events whose `action` starts with this text (case-sensitive, plain prefix:
    /// `"connector."` matches `"connector.enroll"`, `"connector"` also matches
    /// `"connectors.x"`).
    pub action_prefix: Option<String>,
    /// Only events with `seq` greater than this.
    pub after_seq: Option<i64>,
    /// Only events with `seq` less than this.
    #[serde(default)]
    pub before_seq: Option<i64>,
    /// Only events by exactly this actor (e.g. `"user:anna"`).
    #[serde(default)]
    pub actor: Option<String>,
    /// Only events at or after this time (millisecond precision, as stored).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Only events before this time (millisecond precision, as stored).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    /// Newest (highest `seq`) first instead of oldest first.
    #[serde(default)]
    pub newest_first: bool,
    /// At most this many events; capped at [`MAX_AUDIT_LIMIT`]. Zero returns nothing.
    pub limit: u32,
}

impl AuditFilter {
    /// The limit actually applied.
    pub fn effective_limit(&self) -> u32 {
        self.limit.min(MAX_AUDIT_LIMIT)
    }
}

impl Default for AuditFilter {
    /// No conditions, 100 events: a `limit` of zero would make the default useless.
    fn default() -> Self {
        AuditFilter {
            company_id: None,
            action_prefix: None,
            after_seq: None,
            before_seq: None,
            actor: None,
            since: None,
            until: None,
            newest_first: false,
            limit: 100,
        }
    }
}

/// The fields an event's hash covers, in the order they are serialized (see the module docs).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AuditHashInput<'a> {
    pub seq: i64,
    pub at_ms: i64,
    pub company_id: Option<Id>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub outcome: &'a str,
    #[serde(serialize_with = "serialize_canonical")]
    pub detail: &'a Value,
}

/// `lower_hex(SHA-256(prev_hash ‖ "\n" ‖ json(fields)))`, the rule in the module docs.
pub fn audit_hash(prev_hash: &str, fields: &AuditHashInput<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    // Serializing into a Vec cannot fail: the writer is infallible and every map key in a
    // `serde_json::Value` is a string.
    let json = serde_json::to_vec(fields).expect("audit hash input serializes");
    hasher.update(&json);
    hex::encode(hasher.finalize())
}

/// `value` as compact JSON with object keys sorted at every depth: the form the store keeps
/// `detail` in and hashes. Independent of whether serde_json's `preserve_order` feature is
/// switched on somewhere in the build.
pub fn canonical_json(value: &Value) -> String {
    // As in `audit_hash`, serializing a `Value` into a String cannot fail.
    serde_json::to_string(&Canonical(value)).expect("JSON value serializes")
}

fn serialize_canonical<S: Serializer>(value: &&Value, s: S) -> Result<S::Ok, S::Error> {
    Canonical(value).serialize(s)
}

/// Serializes a JSON value with every object's keys in sorted order.
struct Canonical<'a>(&'a Value);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, &Canonical(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Canonical(v))?;
                }
                seq.end()
            }
            scalar => scalar.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Known answers computed independently with Python's hashlib/json (see module docs).
    const H1: &str = "acd9a4e8abe64cf78bbd77e7a4475824de3ebfd19efebc991ace0176709e9220";
    const H2: &str = "030c03d910fe470c74ded0b5d252cf6e40519b837bf654bd4a01556a3e1a34bb";

    fn first_detail() -> Value {
        json!({"z": 1, "a": {"y": [true, null, "é\n\"q\""], "b": "x"}})
    }

    #[test]
    fn genesis_is_64_zeros() {
        assert_eq!(GENESIS_HASH.len(), 64);
        assert!(GENESIS_HASH.bytes().all(|b| b == b'0'));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        assert_eq!(
            canonical_json(&first_detail()),
            r#"{"a":{"b":"x","y":[true,null,"é\n\"q\""]},"z":1}"#
        );
    }

    #[test]
    fn hash_matches_independent_implementation() {
        let detail = first_detail();
        let first = AuditHashInput {
            seq: 1,
            at_ms: 1_700_000_000_123,
            company_id: Some(7),
            actor: "user:alice",
            action: "connector.create",
            target: "connector:3",
            outcome: "ok",
            detail: &detail,
        };
        assert_eq!(audit_hash(GENESIS_HASH, &first), H1);

        let empty = json!({});
        let second = AuditHashInput {
            seq: 2,
            at_ms: 1_700_000_000_456,
            company_id: None,
            actor: "system",
            action: "hub.start",
            target: "",
            outcome: "ok",
            detail: &empty,
        };
        assert_eq!(audit_hash(H1, &second), H2);
        // Any change to the link or a field changes the hash.
        assert_ne!(audit_hash(GENESIS_HASH, &second), H2);
        assert_ne!(audit_hash(H1, &AuditHashInput { seq: 3, ..second }), H2);
    }

    #[test]
    fn event_checks_its_own_link() {
        let mut e = AuditEvent {
            seq: 1,
            at: crate::millis::from_unix_millis(1_700_000_000_123).unwrap(),
            company_id: Some(7),
            actor: "user:alice".into(),
            action: "connector.create".into(),
            target: "connector:3".into(),
            outcome: "ok".into(),
            detail: first_detail(),
            prev_hash: GENESIS_HASH.into(),
            hash: H1.into(),
        };
        assert!(e.hash_is_valid());
        e.outcome = "denied".into();
        assert!(!e.hash_is_valid());
    }

    #[test]
    fn filter_limit_is_capped() {
        let f = AuditFilter {
            limit: 5000,
            ..AuditFilter::default()
        };
        assert_eq!(f.effective_limit(), MAX_AUDIT_LIMIT);
        assert_eq!(AuditFilter::default().effective_limit(), 100);
    }
}
