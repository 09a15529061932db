//! Every way an NI message can be wrong, each with the return code a router answers it with.
//!
//! The codes follow what a real SAProuter is observed to send (sap-reference §1.5.3 and the
//! fingerprints behind it): anything malformed, including an oversized first message, is
//! −93 `NIEROUT_INTERN`; a client whose NI version is too old is −96 `NIEROUT_VERSION`.
//! Errors no router ever sees on the wire (a route string typed by a user) map to −8
//! `NIEINVAL`, the NI library's "invalid parameters"; encoder limits are internal (−93).

use crate::return_code::ReturnCode;

/// Why an NI message (or a route string) could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NiError {
    /// A frame announces a payload longer than the reader accepts. SAProuter answers an
    /// oversized first message with "Network packet too big".
    #[error("network packet too big: {len} bytes announced, at most {max} accepted")]
    TooBig {
        /// The announced payload length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The payload ends before `what` is complete.
    #[error("truncated {what}: {needed} bytes needed, {available} present")]
    Truncated {
        /// The field or structure being read.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the payload.
        available: usize,
    },
    /// A NUL-terminated string runs to the end of its area without its NUL.
    #[error("{field} is not NUL-terminated")]
    MissingNul {
        /// The string's role.
        field: &'static str,
    },
    /// A string field holds bytes that are not UTF-8.
    #[error("{field} is not valid UTF-8")]
    NotUtf8 {
        /// The string's role.
        field: &'static str,
    },
    /// Bytes follow a complete message (or a structure that must fill its area).
    #[error("{extra} unexpected bytes after the {what}")]
    TrailingBytes {
        /// What was complete.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// The payload does not start with the eye catcher its decoder expects.
    #[error("expected eye catcher {expected:?}")]
    BadEyeCatcher {
        /// The eye catcher, without its NUL.
        expected: &'static str,
    },
    /// The talk mode byte is none of 0 (MSG), 1 (RAW), 2 (ROUT).
    #[error("unknown talk mode {0}")]
    UnknownTalkMode(u8),
    /// The route request's NI version is too old (SAProuter rejects version 0).
    #[error("invalid client version: NI version {ni_version} is too old")]
    ClientVersionTooOld {
        /// The NI version the client sent.
        ni_version: u8,
    },
    /// A route needs at least two entries: this router and the target.
    #[error("route has {entries} entries, at least 2 needed")]
    TooFewEntries {
        /// The entry count in the header.
        entries: u8,
    },
    /// `rest_nodes` must name at least the next hop and cannot exceed the entries after the
    /// first router.
    #[error("rest nodes {rest_nodes} outside 1..{entries}")]
    RestNodesOutOfRange {
        /// The rest-nodes byte.
        rest_nodes: u8,
        /// The entry count.
        entries: u8,
    },
    /// The offset points at or past the end of the route area.
    #[error("route offset {offset} not below route length {route_len}")]
    OffsetOutOfRange {
        /// The offset field.
        offset: u32,
        /// The route length field.
        route_len: u32,
    },
    /// The offset points into the middle of an entry.
    #[error("route offset {offset} is not at the start of an entry")]
    OffsetNotAtEntry {
        /// The offset field.
        offset: u32,
    },
    /// The offset is an entry start, but not the one `rest_nodes` designates.
    #[error("route offset {offset} does not match rest nodes (expected {expected})")]
    OffsetMismatch {
        /// The offset field.
        offset: u32,
        /// The summed length of the entries before the next hop.
        expected: u32,
    },
    /// More hops than the one-byte entry count can carry.
    #[error("{hops} hops, at most 255 fit in a route request")]
    TooManyHops {
        /// The number of hops.
        hops: usize,
    },
    /// A string to be encoded contains a NUL, which would end it early on the wire.
    #[error("{field} contains a NUL byte")]
    InteriorNul {
        /// The string's role.
        field: &'static str,
    },
    /// A value to be encoded does not fit its field.
    #[error("{field} is {len} bytes long, at most {max} fit")]
    FieldTooLong {
        /// The field's role.
        field: &'static str,
        /// The value's length (bytes or items).
        len: usize,
        /// The field's capacity.
        max: usize,
    },
    /// A `ROUTER_ADM` command byte this crate does not know.
    #[error("unknown router administration command {0}")]
    UnknownAdminCommand(u8),
    /// A trace-connection command must use opcode 12 or 13.
    #[error("trace connection opcode {0} is neither 12 nor 13")]
    BadTraceOpcode(u8),
    /// The `*ERR*` block of an error message does not have its documented layout.
    #[error("malformed error information: {reason}")]
    BadErrorInfo {
        /// What was wrong.
        reason: &'static str,
    },
    /// The information response does not have its documented layout.
    #[error("malformed information response: {reason}")]
    BadInfoResponse {
        /// What was wrong.
        reason: &'static str,
    },
    /// A route string does not follow `(/H/host[/S/service][/W/pass])*`.
    #[error("route string: at position {position}: expected {expected}, found {}", found_text(.found))]
    RouteStringSyntax {
        /// 1-based character position of the problem.
        position: usize,
        /// What the parser expected there.
        expected: &'static str,
        /// The character found (`None` at the end of the string).
        found: Option<char>,
    },
    /// A route string token this crate does not support (`/M/` has no public definition).
    #[error("route string: at position {position}: /{token}/ is not supported")]
    RouteStringUnsupported {
        /// 1-based character position of the token's letter.
        position: usize,
        /// The token letter.
        token: char,
    },
}

fn found_text(found: &Option<char>) -> String {
    match found {
        Some(c) => format!("{c:?}"),
        None => "end of input".to_owned(),
    }
}

impl NiError {
    /// The return code a router sends in its `NI_RTERR` answer for this error (§1.6.2).
    pub fn return_code(&self) -> i32 {
        self.return_code_kind().code()
    }

    /// [`NiError::return_code`] as a catalogue entry.
    pub fn return_code_kind(&self) -> ReturnCode {
        match self {
            NiError::ClientVersionTooOld { .. } => ReturnCode::RouterVersion,
            NiError::RouteStringSyntax { .. } | NiError::RouteStringUnsupported { .. } => {
                ReturnCode::Invalid
            }
            _ => ReturnCode::RouterInternal,
        }
    }

    pub(crate) fn truncated(what: &'static str, needed: usize, available: usize) -> Self {
        NiError::Truncated {
            what,
            needed,
            available,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes_follow_observed_router_answers() {
        let cases: &[(NiError, i32)] = &[
            (
                NiError::TooBig {
                    len: 10_025,
                    max: 8192,
                },
                -93,
            ),
            (NiError::truncated("route header", 24, 3), -93),
            (NiError::ClientVersionTooOld { ni_version: 0 }, -96),
            (NiError::TooFewEntries { entries: 1 }, -93),
            (NiError::UnknownAdminCommand(99), -93),
            (
                NiError::RouteStringSyntax {
                    position: 1,
                    expected: "'/'",
                    found: None,
                },
                -8,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.return_code(), *code, "{err}");
        }
    }

    #[test]
    fn route_string_errors_name_position_and_expectation() {
        let err = NiError::RouteStringSyntax {
            position: 4,
            expected: "a host name",
            found: Some('/'),
        };
        assert_eq!(
            err.to_string(),
            "route string: at position 4: expected a host name, found '/'"
        );
    }
}
