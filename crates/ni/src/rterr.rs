//! `NI_RTERR` messages: error information (opcode 0) and control messages (opcode > 0)
//! (sap-reference §1.6).
//!
//! ```text
//! 0x00  9    "NI_RTERR\0"
//! 0x09  1    NI version
//! 0x0a  1    opcode: 0 error information, > 0 control message
//! 0x0b  1    unused
//! 0x0c  4    return code, signed
//! 0x10  4    text length
//! 0x14  len  text (for errors the `*ERR*` block, see [`ErrorInfo`])
//! ...   4    trailer: zeros for errors, "*ERR" in pysap's control messages
//! ```
//!
//! The error text of a real SAProuter names its release, source module and line, which lets
//! anyone fingerprint it; [`ErrorInfo::for_router`] can leave those fields empty (SAProuter
//! option `-Z`), and Portcullis does so by default.

use std::fmt;

pub use crate::return_code::ReturnCode;

use crate::error::NiError;
use crate::wire::Reader;

/// Eye catcher of error and control messages, NUL included.
pub const NI_RTERR: &[u8; 9] = b"NI_RTERR\0";
/// Opcode of an error message.
pub const OPCODE_ERROR: u8 = 0;
/// Opcode of an NI version request.
pub const OPCODE_VERSION_REQUEST: u8 = 1;
/// Opcode of an NI version response.
pub const OPCODE_VERSION_RESPONSE: u8 = 2;
/// Opcode of an SNC request (`NISNC_REQ`); an SNC frame follows.
pub const OPCODE_SNC_REQUEST: u8 = 70;
/// Opcode of an SNC handshake completion (`NISNC_ACK`).
pub const OPCODE_SNC_ACK: u8 = 71;
/// The trailer pysap puts after a control message's text.
pub const CONTROL_TRAILER: [u8; 4] = *b"*ERR";
/// Bytes before the text.
const HEADER_LEN: usize = 20;

/// What an `NI_RTERR` message's opcode announces (several opcodes are unconfirmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RtErrKind {
    /// Opcode 0: error information (`*ERR*` block).
    Error,
    /// Opcode 1: the peer asks for our NI version.
    VersionRequest,
    /// Opcode 2: the peer's NI version is in the NI-version byte.
    VersionResponse,
    /// Opcodes 5, 6, 8: "NI send handle" (unconfirmed).
    SendHandle(u8),
    /// Opcode 70: SNC request.
    SncRequest,
    /// Opcode 71: SNC handshake complete.
    SncAck,
    /// Anything else. SAProuter answers −13 (`NiBufIProcMsg: unknown opcode N received`).
    Unknown(u8),
}

impl RtErrKind {
    /// Classifies an opcode.
    pub fn from_opcode(opcode: u8) -> RtErrKind {
        match opcode {
            OPCODE_ERROR => RtErrKind::Error,
            OPCODE_VERSION_REQUEST => RtErrKind::VersionRequest,
            OPCODE_VERSION_RESPONSE => RtErrKind::VersionResponse,
            5 | 6 | 8 => RtErrKind::SendHandle(opcode),
            OPCODE_SNC_REQUEST => RtErrKind::SncRequest,
            OPCODE_SNC_ACK => RtErrKind::SncAck,
            other => RtErrKind::Unknown(other),
        }
    }
}

/// A decoded `NI_RTERR` message.
#[derive(Clone, PartialEq, Eq)]
pub struct RtErr {
    /// The sender's NI version; in a version response, the answer.
    pub ni_version: u8,
    /// 0 for error information, > 0 for control messages ([`RtErrKind`]).
    pub opcode: u8,
    /// Signed return code ([`ReturnCode`]); 0 in requests.
    pub return_code: i32,
    /// Error information (`*ERR*` block) or control-message text.
    pub text: Vec<u8>,
    /// The four bytes after the text (meaning unknown).
    pub trailer: [u8; 4],
}

impl RtErr {
    /// Decodes an `NI_RTERR` payload.
    ///
    /// The trailer may be missing (it then reads as zeros): its meaning is unknown and a
    /// tolerant reader loses nothing by accepting a peer that omits it. Bytes after the
    /// trailer are an error.
    pub fn decode(payload: &[u8]) -> Result<RtErr, NiError> {
        let mut r = Reader::new(payload);
        r.eye_catcher(NI_RTERR)?;
        let ni_version = r.u8("error header")?;
        let opcode = r.u8("error header")?;
        let _unused = r.u8("error header")?;
        let return_code = i32::from_be_bytes(r.array("error header")?);
        let len = r.u32("error header")? as usize;
        let text = r.take(len, "error text")?.to_vec();
        let trailer = if r.remaining() == 0 {
            [0; 4]
        } else {
            r.array("error trailer")?
        };
        r.finish("error message")?;
        Ok(RtErr {
            ni_version,
            opcode,
            return_code,
            text,
            trailer,
        })
    }

    /// Encodes the payload (without the NI length). A text beyond `u32::MAX` bytes, which no
    /// peer would accept, is cut so the length field stays truthful.
    pub fn encode(&self) -> Vec<u8> {
        let len = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        let text = self.text.get(..len as usize).unwrap_or(&self.text);
        let mut out = Vec::with_capacity(HEADER_LEN.saturating_add(text.len()).saturating_add(4));
        out.extend_from_slice(NI_RTERR);
        out.extend_from_slice(&[self.ni_version, self.opcode, 0]);
        out.extend_from_slice(&self.return_code.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(text);
        out.extend_from_slice(&self.trailer);
        out
    }

    /// An error message carrying `info`, as a router sends it before closing.
    pub fn error(ni_version: u8, code: ReturnCode, info: &ErrorInfo) -> RtErr {
        RtErr {
            ni_version,
            opcode: OPCODE_ERROR,
            return_code: code.code(),
            text: info.encode(),
            trailer: [0; 4],
        }
    }

    /// The version request pysap sends before administration commands.
    pub fn version_request(ni_version: u8) -> RtErr {
        RtErr {
            ni_version,
            opcode: OPCODE_VERSION_REQUEST,
            return_code: 0,
            text: Vec::new(),
            trailer: CONTROL_TRAILER,
        }
    }

    /// A router's answer to a version request: opcode 2, its NI version in the version byte.
    ///
    /// The return code is −13 (`NIEVERSION`) as HoneySAP, which emulates a real SAProuter,
    /// sends it; clients only read the version byte. Unverified against a real router.
    pub fn version_response(ni_version: u8) -> RtErr {
        RtErr {
            ni_version,
            opcode: OPCODE_VERSION_RESPONSE,
            return_code: ReturnCode::Version.code(),
            text: Vec::new(),
            trailer: CONTROL_TRAILER,
        }
    }

    /// What the opcode announces.
    pub fn kind(&self) -> RtErrKind {
        RtErrKind::from_opcode(self.opcode)
    }

    /// The catalogue entry of the return code, if it has one.
    pub fn return_code_kind(&self) -> Option<ReturnCode> {
        ReturnCode::from_code(self.return_code)
    }

    /// Decodes the text as an `*ERR*` block.
    pub fn error_info(&self) -> Result<ErrorInfo, NiError> {
        ErrorInfo::decode(&self.text)
    }
}

/// Shows the text as (lossy) UTF-8: it is ASCII in every known message.
impl fmt::Debug for RtErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtErr")
            .field("ni_version", &self.ni_version)
            .field("opcode", &self.opcode)
            .field("return_code", &self.return_code)
            .field("text", &String::from_utf8_lossy(&self.text))
            .field("trailer", &self.trailer)
            .finish()
    }
}

pub use crate::error_info::{format_error_time, ErrorContext, ErrorInfo};

#[cfg(test)]
mod tests {
    use super::*;

    const VERSION_REQUEST: &[u8] = &[
        0x00, 0x00, 0x00, 0x18, 0x4e, 0x49, 0x5f, 0x52, 0x54, 0x45, 0x52, 0x52, 0x00, 0x28, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x45, 0x52, 0x52,
    ];

    #[test]
    fn pysap_version_request_byte_for_byte() {
        let req = RtErr::version_request(40);
        assert_eq!(crate::frame::frame(&req.encode()), VERSION_REQUEST);
        let decoded = RtErr::decode(&VERSION_REQUEST[4..]).unwrap();
        assert_eq!(decoded, req);
        assert_eq!(decoded.kind(), RtErrKind::VersionRequest);
        for cut in 0..VERSION_REQUEST.len() - 4 {
            let prefix = &VERSION_REQUEST[4..4 + cut];
            // Only the trailer may be absent; any other cut is an error.
            if cut == 20 {
                assert_eq!(RtErr::decode(prefix).unwrap().trailer, [0; 4]);
            } else {
                assert!(RtErr::decode(prefix).is_err(), "cut {cut}");
            }
        }
    }

    #[test]
    fn version_response_carries_the_routers_version() {
        let resp = RtErr::version_response(40);
        let back = RtErr::decode(&resp.encode()).unwrap();
        assert_eq!(back.kind(), RtErrKind::VersionResponse);
        assert_eq!(back.ni_version, 40);
        assert_eq!(back.return_code_kind(), Some(ReturnCode::Version));
    }

    #[test]
    fn signed_return_code_and_lengths_are_checked() {
        let msg = RtErr {
            ni_version: 40,
            opcode: 0,
            return_code: -94,
            text: b"x\0".to_vec(),
            trailer: [0; 4],
        };
        let bytes = msg.encode();
        assert_eq!(bytes[12..16], [0xff, 0xff, 0xff, 0xa2]);
        assert_eq!(RtErr::decode(&bytes).unwrap(), msg);
        let mut long = bytes.clone();
        long.push(1);
        assert_eq!(
            RtErr::decode(&long),
            Err(NiError::TrailingBytes {
                what: "error message",
                extra: 1
            })
        );
        let mut huge = bytes;
        huge[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            RtErr::decode(&huge),
            Err(NiError::Truncated {
                what: "error text",
                ..
            })
        ));
        assert!(RtErr::decode(b"NI_ROUTE\0").is_err());
    }

    #[test]
    fn opcodes_classify() {
        let cases = [
            (0, RtErrKind::Error),
            (1, RtErrKind::VersionRequest),
            (2, RtErrKind::VersionResponse),
            (3, RtErrKind::Unknown(3)),
            (6, RtErrKind::SendHandle(6)),
            (70, RtErrKind::SncRequest),
            (71, RtErrKind::SncAck),
        ];
        for (op, kind) in cases {
            assert_eq!(RtErrKind::from_opcode(op), kind);
        }
    }
}
