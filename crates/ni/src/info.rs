//! The answer to an information request (`saprouter -l`): a client table, a server record
//! and text lines, each its own NI message, after which the router closes the connection
//! (sap-reference §1.7.2, as pysap decodes it and HoneySAP emulates it).
//!
//! ```text
//! client record, 137 bytes: id u32 | flags u8 | connected_on u64 | address[45] |
//!                           partner[45] | service[27] | unknown[7]
//! server record, 20 bytes:  pid u32 | ppid u32 | started_on u64 | port u16 | parent port u16
//! ```
//!
//! Strings are NUL-padded to their width; a longer value is cut (at a character boundary) to
//! fit, and a value containing a NUL is cut there, so what a decoder returns is what the wire
//! could carry.
//!
//! Times: pysap shows `(value & 0xFFFF_FFFF) + 1_000_000_000` as Unix seconds, while
//! HoneySAP writes plain Unix seconds; which a real SAProuter does is unverified. This crate
//! writes `unix_secs − 1_000_000_000` (saturating at 0) so `router_admin.py` shows the right
//! time, and decodes the way pysap does. The server record's `started_on` is assumed to use
//! the same convention.

use crate::error::NiError;
use crate::wire::{fit, put_fixed, until_nul, utf8, Reader};

/// Bytes of one client record.
pub const CLIENT_RECORD_LEN: usize = 137;
/// Bytes of the server record.
pub const SERVER_RECORD_LEN: usize = 20;
/// Width of the address and partner fields.
pub const ADDRESS_LEN: usize = 45;
/// Width of the service field.
pub const SERVICE_LEN: usize = 27;
/// What pysap adds to the low 32 bits of a time field to get Unix seconds.
pub const TIME_OFFSET: u64 = 1_000_000_000;

/// Unix seconds as the wire carries them (see the module docs).
pub fn encode_time(unix_secs: u64) -> u64 {
    unix_secs.saturating_sub(TIME_OFFSET)
}

/// Unix seconds from a wire time field, the way pysap reads it.
pub fn decode_time(wire: u64) -> u64 {
    (wire & 0xFFFF_FFFF) + TIME_OFFSET
}

/// One row of the client table: one side of a routed connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientRecord {
    /// Client id, as `saprouter -c id` cancels it.
    pub id: u32,
    /// Flag bits: [`TRACED`](Self::TRACED), [`CONNECTED`](Self::CONNECTED),
    /// [`ROUTED`](Self::ROUTED); the five high bits are unknown and kept as received.
    pub flags: u8,
    /// When the client connected, Unix seconds (see the module docs for the wire form).
    pub connected_on: u64,
    /// The client's address (up to 45 bytes: an IPv6 text address fits).
    pub address: String,
    /// The partner's address (up to 45 bytes).
    pub partner: String,
    /// The partner's service (up to 27 bytes).
    pub service: String,
    /// Seven trailing bytes of unknown meaning, kept as received.
    pub unknown: [u8; 7],
}

impl ClientRecord {
    /// The connection is traced (marked `*` by `saprouter -l`).
    pub const TRACED: u8 = 0x04;
    /// The client is connected.
    pub const CONNECTED: u8 = 0x02;
    /// The client is routed to a partner.
    pub const ROUTED: u8 = 0x01;

    /// Whether [`TRACED`](Self::TRACED) is set.
    pub fn is_traced(&self) -> bool {
        self.flags & Self::TRACED != 0
    }

    /// Whether [`CONNECTED`](Self::CONNECTED) is set.
    pub fn is_connected(&self) -> bool {
        self.flags & Self::CONNECTED != 0
    }

    /// Whether [`ROUTED`](Self::ROUTED) is set.
    pub fn is_routed(&self) -> bool {
        self.flags & Self::ROUTED != 0
    }

    /// Appends the 137-byte record.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.push(self.flags);
        out.extend_from_slice(&encode_time(self.connected_on).to_be_bytes());
        put_fixed(out, &self.address, ADDRESS_LEN);
        put_fixed(out, &self.partner, ADDRESS_LEN);
        put_fixed(out, &self.service, SERVICE_LEN);
        out.extend_from_slice(&self.unknown);
    }

    /// Decodes exactly one 137-byte record.
    pub fn decode(bytes: &[u8]) -> Result<ClientRecord, NiError> {
        let mut r = Reader::new(bytes);
        let record = ClientRecord {
            id: r.u32("client record")?,
            flags: r.u8("client record")?,
            connected_on: decode_time(r.u64("client record")?),
            address: fixed_str(&mut r, ADDRESS_LEN, "client address")?,
            partner: fixed_str(&mut r, ADDRESS_LEN, "client partner")?,
            service: fixed_str(&mut r, SERVICE_LEN, "client service")?,
            unknown: r.array("client record")?,
        };
        r.finish("client record")?;
        Ok(record)
    }

    /// This record as it reads back after a trip over the wire (strings cut to fit, time
    /// through the pysap convention).
    pub fn as_transmitted(&self) -> ClientRecord {
        ClientRecord {
            connected_on: decode_time(encode_time(self.connected_on)),
            address: fit(&self.address, ADDRESS_LEN).to_owned(),
            partner: fit(&self.partner, ADDRESS_LEN).to_owned(),
            service: fit(&self.service, SERVICE_LEN).to_owned(),
            ..self.clone()
        }
    }
}

fn fixed_str(r: &mut Reader<'_>, width: usize, field: &'static str) -> Result<String, NiError> {
    utf8(until_nul(r.take(width, field)?), field)
}

/// The router process itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerRecord {
    /// Process id.
    pub pid: u32,
    /// Parent process id (a router started by another with `-Y`).
    pub ppid: u32,
    /// Start time, Unix seconds (same wire convention as [`ClientRecord::connected_on`]).
    pub started_on: u64,
    /// The port the router listens on.
    pub port: u16,
    /// The parent router's port, 0 when none.
    pub parent_port: u16,
}

impl ServerRecord {
    /// The 20-byte record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SERVER_RECORD_LEN);
        out.extend_from_slice(&self.pid.to_be_bytes());
        out.extend_from_slice(&self.ppid.to_be_bytes());
        out.extend_from_slice(&encode_time(self.started_on).to_be_bytes());
        out.extend_from_slice(&self.port.to_be_bytes());
        out.extend_from_slice(&self.parent_port.to_be_bytes());
        out
    }

    /// Decodes exactly one 20-byte record.
    pub fn decode(bytes: &[u8]) -> Result<ServerRecord, NiError> {
        let mut r = Reader::new(bytes);
        let record = ServerRecord {
            pid: r.u32("server record")?,
            ppid: r.u32("server record")?,
            started_on: decode_time(r.u64("server record")?),
            port: r.u16("server record")?,
            parent_port: r.u16("server record")?,
        };
        r.finish("server record")?;
        Ok(record)
    }
}

/// The whole information response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InfoResponse {
    /// One record per client (two per routed connection).
    pub clients: Vec<ClientRecord>,
    /// The router process.
    pub server: ServerRecord,
    /// Text lines, e.g. from [`InfoResponse::standard_lines`].
    pub lines: Vec<String>,
}

impl InfoResponse {
    /// The lines HoneySAP sends (SAProuter's exact wording is unverified).
    pub fn standard_lines(
        total_clients: usize,
        working_dir: &str,
        route_table: &str,
    ) -> Vec<String> {
        vec![
            format!("Total no. of clients: {total_clients}"),
            format!("Working directory   : {working_dir}"),
            format!("Routtab             : {route_table}"),
        ]
    }

    /// The NI message payloads, in sending order: the client table (all records
    /// concatenated; an empty message when there are none, so the server record is always
    /// the second message), the server record, then one message per text line, each
    /// NUL-terminated. One message per line is what "text messages, each NUL-terminated"
    /// describes and lets a reader print each as it arrives. A line is cut at its first NUL.
    pub fn to_payloads(&self) -> Vec<Vec<u8>> {
        let mut table = Vec::with_capacity(self.clients.len().saturating_mul(CLIENT_RECORD_LEN));
        for client in &self.clients {
            client.encode_into(&mut table);
        }
        let mut payloads = vec![table, self.server.encode()];
        for line in &self.lines {
            let mut msg = line
                .split('\0')
                .next()
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            msg.push(0);
            payloads.push(msg);
        }
        payloads
    }

    /// Decodes the payloads of a complete response (everything received before the router
    /// closed the connection). Text lines are read as lossy UTF-8: a working directory may
    /// be in a legacy encoding.
    pub fn from_payloads<I, P>(payloads: I) -> Result<InfoResponse, NiError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let mut payloads = payloads.into_iter();
        let table = payloads.next().ok_or(NiError::BadInfoResponse {
            reason: "missing client table",
        })?;
        let table = table.as_ref();
        if table.len() % CLIENT_RECORD_LEN != 0 {
            return Err(NiError::BadInfoResponse {
                reason: "client table is not a whole number of 137-byte records",
            });
        }
        let clients = table
            .chunks(CLIENT_RECORD_LEN)
            .map(ClientRecord::decode)
            .collect::<Result<Vec<_>, _>>()?;
        let server = payloads.next().ok_or(NiError::BadInfoResponse {
            reason: "missing server record",
        })?;
        let server = ServerRecord::decode(server.as_ref())?;
        let mut lines = Vec::new();
        for payload in payloads {
            let mut r = Reader::new(payload.as_ref());
            let line = r.cstr("info line")?;
            r.finish("info line")?;
            lines.push(String::from_utf8_lossy(line).into_owned());
        }
        Ok(InfoResponse {
            clients,
            server,
            lines,
        })
    }
}

#[cfg(test)]
#[path = "info_tests.rs"]
mod tests;
