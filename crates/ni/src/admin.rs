//! `ROUTER_ADM`: administration requests `saprouter -l/-s/-c …` sends to a running router
//! (sap-reference §1.7.1).
//!
//! ```text
//! "ROUTER_ADM\0" (11) | NI version (1) | command (1) | command-specific bytes
//! ```
//!
//! Counts in the command-specific part are checked against the bytes actually present before
//! any list is allocated. Bytes after a complete command are ignored: the layouts come from
//! pysap, not from SAP's own client, which may send more.

use std::fmt;

use crate::error::NiError;
use crate::wire::{until_nul, utf8, Reader};

/// Eye catcher of administration requests, NUL included.
pub const ROUTER_ADM: &[u8; 11] = b"ROUTER_ADM\0";
/// Width of the NUL-padded info password field.
pub const INFO_PASSWORD_LEN: usize = 19;
/// Width of a trace-peer address mask.
pub const TRACE_MASK_LEN: usize = 32;

/// One administration command.
#[derive(Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// 2: information request (`-l`, `-L`); `password` is the `-P` info password (≤ 19 bytes).
    Info {
        /// The info password, empty when none is given.
        password: String,
    },
    /// 3: re-read the route permission table (`-n`).
    NewRouteTable,
    /// 4: toggle the trace level (`-t`).
    ToggleTrace,
    /// 5: stop the router (`-s`).
    Stop,
    /// 6: cancel connections by client id (`-c id`); at most 65 535 ids (u16 count).
    Cancel {
        /// Client ids as the information response lists them.
        ids: Vec<u32>,
    },
    /// 7: dump buffers to the trace (`-d`).
    DumpBuffers,
    /// 8: flush buffers (`-f`).
    FlushBuffers,
    /// 9: soft shutdown: accept no new connections (`-p`).
    SoftShutdown,
    /// 10: set a trace peer address mask (undocumented).
    SetTracePeer([u8; TRACE_MASK_LEN]),
    /// 11: clear a trace peer address mask (undocumented).
    ClearTracePeer([u8; TRACE_MASK_LEN]),
    /// 12 or 13: trace connections by client id (undocumented; the difference between the two
    /// opcodes is unknown, so the opcode is kept).
    TraceConnection {
        /// 12 or 13.
        opcode: u8,
        /// Client ids (u32 count on the wire).
        ids: Vec<u32>,
    },
    /// 14: hide error details from clients (`-z`).
    HideErrorInfo,
}

impl AdminCommand {
    /// The command byte.
    pub fn code(&self) -> u8 {
        match self {
            AdminCommand::Info { .. } => 2,
            AdminCommand::NewRouteTable => 3,
            AdminCommand::ToggleTrace => 4,
            AdminCommand::Stop => 5,
            AdminCommand::Cancel { .. } => 6,
            AdminCommand::DumpBuffers => 7,
            AdminCommand::FlushBuffers => 8,
            AdminCommand::SoftShutdown => 9,
            AdminCommand::SetTracePeer(_) => 10,
            AdminCommand::ClearTracePeer(_) => 11,
            AdminCommand::TraceConnection { opcode, .. } => *opcode,
            AdminCommand::HideErrorInfo => 14,
        }
    }
}

/// Masks the info password: requests end up in logs.
impl fmt::Debug for AdminCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminCommand::Info { password } => f
                .debug_struct("Info")
                .field("password", &if password.is_empty() { "" } else { "***" })
                .finish(),
            AdminCommand::NewRouteTable => f.write_str("NewRouteTable"),
            AdminCommand::ToggleTrace => f.write_str("ToggleTrace"),
            AdminCommand::Stop => f.write_str("Stop"),
            AdminCommand::Cancel { ids } => f.debug_struct("Cancel").field("ids", ids).finish(),
            AdminCommand::DumpBuffers => f.write_str("DumpBuffers"),
            AdminCommand::FlushBuffers => f.write_str("FlushBuffers"),
            AdminCommand::SoftShutdown => f.write_str("SoftShutdown"),
            AdminCommand::SetTracePeer(m) => f.debug_tuple("SetTracePeer").field(m).finish(),
            AdminCommand::ClearTracePeer(m) => f.debug_tuple("ClearTracePeer").field(m).finish(),
            AdminCommand::TraceConnection { opcode, ids } => f
                .debug_struct("TraceConnection")
                .field("opcode", opcode)
                .field("ids", ids)
                .finish(),
            AdminCommand::HideErrorInfo => f.write_str("HideErrorInfo"),
        }
    }
}

/// A decoded `ROUTER_ADM` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRequest {
    /// The sender's NI version (pysap copies the router's, learnt from a version request).
    pub ni_version: u8,
    /// What to do.
    pub command: AdminCommand,
}

impl AdminRequest {
    /// Decodes a `ROUTER_ADM` payload (without the NI length).
    pub fn decode(payload: &[u8]) -> Result<AdminRequest, NiError> {
        let mut r = Reader::new(payload);
        r.eye_catcher(ROUTER_ADM)?;
        let ni_version = r.u8("admin header")?;
        let code = r.u8("admin header")?;
        let command = match code {
            2 => {
                r.take(2, "admin unused bytes")?;
                let field = r.take(INFO_PASSWORD_LEN, "info password")?;
                AdminCommand::Info {
                    password: utf8(until_nul(field), "info password")?,
                }
            }
            6 => {
                r.take(2, "admin unused bytes")?;
                let count = r.u16("cancel count")?;
                AdminCommand::Cancel {
                    ids: read_ids(&mut r, usize::from(count), "cancel ids")?,
                }
            }
            10 => AdminCommand::SetTracePeer(r.array("trace peer mask")?),
            11 => AdminCommand::ClearTracePeer(r.array("trace peer mask")?),
            12 | 13 => {
                let count = r.u32("trace connection count")?;
                AdminCommand::TraceConnection {
                    opcode: code,
                    ids: read_ids(&mut r, count as usize, "trace connection ids")?,
                }
            }
            3 | 4 | 5 | 7 | 8 | 9 | 14 => {
                r.take(2, "admin unused bytes")?;
                match code {
                    3 => AdminCommand::NewRouteTable,
                    4 => AdminCommand::ToggleTrace,
                    5 => AdminCommand::Stop,
                    7 => AdminCommand::DumpBuffers,
                    8 => AdminCommand::FlushBuffers,
                    9 => AdminCommand::SoftShutdown,
                    _ => AdminCommand::HideErrorInfo,
                }
            }
            other => return Err(NiError::UnknownAdminCommand(other)),
        };
        Ok(AdminRequest {
            ni_version,
            command,
        })
    }

    /// Encodes the payload (without the NI length). Fails when a value does not fit its
    /// field: an info password over 19 bytes or containing a NUL, more than 65 535 cancel ids,
    /// a trace opcode other than 12 or 13.
    pub fn encode(&self) -> Result<Vec<u8>, NiError> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(ROUTER_ADM);
        out.push(self.ni_version);
        out.push(self.command.code());
        match &self.command {
            AdminCommand::Info { password } => {
                let bytes = password.as_bytes();
                if bytes.contains(&0) {
                    return Err(NiError::InteriorNul {
                        field: "info password",
                    });
                }
                if bytes.len() > INFO_PASSWORD_LEN {
                    return Err(NiError::FieldTooLong {
                        field: "info password",
                        len: bytes.len(),
                        max: INFO_PASSWORD_LEN,
                    });
                }
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(bytes);
                out.resize(out.len() + (INFO_PASSWORD_LEN - bytes.len()), 0);
            }
            AdminCommand::Cancel { ids } => {
                let count =
                    u16::try_from(ids.len()).map_err(|_| too_many("cancel ids", ids, 65_535))?;
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&count.to_be_bytes());
                put_ids(&mut out, ids);
            }
            AdminCommand::SetTracePeer(mask) | AdminCommand::ClearTracePeer(mask) => {
                out.extend_from_slice(mask);
            }
            AdminCommand::TraceConnection { opcode, ids } => {
                if !matches!(opcode, 12 | 13) {
                    return Err(NiError::BadTraceOpcode(*opcode));
                }
                let max = u32::MAX as usize;
                let count =
                    u32::try_from(ids.len()).map_err(|_| too_many("trace ids", ids, max))?;
                out.extend_from_slice(&count.to_be_bytes());
                put_ids(&mut out, ids);
            }
            AdminCommand::NewRouteTable
            | AdminCommand::ToggleTrace
            | AdminCommand::Stop
            | AdminCommand::DumpBuffers
            | AdminCommand::FlushBuffers
            | AdminCommand::SoftShutdown
            | AdminCommand::HideErrorInfo => out.extend_from_slice(&[0, 0]),
        }
        Ok(out)
    }
}

fn too_many(field: &'static str, ids: &[u32], max: usize) -> NiError {
    NiError::FieldTooLong {
        field,
        len: ids.len(),
        max,
    }
}

/// Reads `count` u32 ids, refusing before allocating when the payload cannot hold them.
fn read_ids(r: &mut Reader<'_>, count: usize, what: &'static str) -> Result<Vec<u32>, NiError> {
    let needed = count.saturating_mul(4);
    if needed > r.remaining() {
        return Err(NiError::truncated(what, needed, r.remaining()));
    }
    (0..count).map(|_| r.u32(what)).collect()
}

fn put_ids(out: &mut Vec<u8>, ids: &[u32]) {
    for id in ids {
        out.extend_from_slice(&id.to_be_bytes());
    }
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
