//! The route request (`NI_ROUTE`): the first message a client sends a SAProuter
//! (sap-reference §1.5).
//!
//! Layout of the payload (after the 4-byte NI length), all integers big-endian:
//!
//! ```text
//! 0x00  9  "NI_ROUTE\0"
//! 0x09  1  route info version (2)
//! 0x0a  1  NI version (40 for 7.20/7.21)
//! 0x0b  1  entries: hops including the first router, 2..=255
//! 0x0c  1  talk mode (0 MSG, 1 RAW, 2 ROUT)
//! 0x0d  2  unused (0)
//! 0x0f  1  rest nodes: entries from the next hop on
//! 0x10  4  route length: bytes of the route area
//! 0x14  4  offset: where the next hop's entry starts in the route area
//! 0x18  n  route area: per entry "host\0service\0password\0"
//! ```
//!
//! The route area carries the whole route, including the hops already passed, so every
//! router sees where the connection came from; each router advances `offset` and decrements
//! `rest_nodes` before forwarding ([`RouteRequest::forwarded`]).

use std::fmt;

use crate::error::NiError;
use crate::service::resolve_service;
use crate::wire::{put_cstr, utf8, Reader};

/// Eye catcher of a route request, NUL included.
pub const NI_ROUTE: &[u8; 9] = b"NI_ROUTE\0";
/// The route info version SAP documents as current and pysap sends.
pub const ROUTE_VERSION: u8 = 2;
/// The NI version this crate sends by default: 40, what pysap sends and 7.20/7.21 kernels use.
pub const NI_VERSION: u8 = 40;
/// The service a hop gets when the route string names none: the SAProuter port.
pub const DEFAULT_SERVICE: &str = "3299";
/// Bytes before the route area.
pub const ROUTE_HEADER_LEN: usize = 24;

/// How the connection carries data once the route is up (sap-reference §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TalkMode {
    /// `NI_MSG_IO`: NI frames end to end, the normal mode for SAP protocols.
    Msg = 0,
    /// `NI_RAW_IO`: a raw byte stream after the route is set up ("native" connections).
    Raw = 1,
    /// `NI_ROUT_IO`: between SAProuters; like MSG, keep-alives pass through.
    Rout = 2,
}

impl TalkMode {
    /// The wire byte.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for TalkMode {
    type Error = NiError;

    fn try_from(b: u8) -> Result<Self, NiError> {
        match b {
            0 => Ok(TalkMode::Msg),
            1 => Ok(TalkMode::Raw),
            2 => Ok(TalkMode::Rout),
            other => Err(NiError::UnknownTalkMode(other)),
        }
    }
}

/// One entry of a route: a SAProuter or the final target.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Hop {
    /// Host name or IP address.
    pub host: String,
    /// Service name or port (`"3299"`, `"sapdp00"`); see [`Hop::port`].
    pub service: String,
    /// Route password carried in this entry (may be empty). Which router checks it depends on
    /// the convention: see [`RouteRequest::password_for_next_hop`].
    pub password: String,
}

impl Hop {
    /// A hop without password.
    pub fn new(host: impl Into<String>, service: impl Into<String>) -> Self {
        Hop {
            host: host.into(),
            service: service.into(),
            password: String::new(),
        }
    }

    /// The same hop carrying `password`.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = password.into();
        self
    }

    /// The port the service names, if this crate can resolve it without a services file.
    pub fn port(&self) -> Option<u16> {
        resolve_service(&self.service)
    }

    /// Bytes this entry occupies in the route area (three strings and their NULs).
    pub fn wire_len(&self) -> usize {
        self.host
            .len()
            .saturating_add(self.service.len())
            .saturating_add(self.password.len())
            .saturating_add(3)
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), NiError> {
        put_cstr(out, self.host.as_bytes(), "hop host")?;
        put_cstr(out, self.service.as_bytes(), "hop service")?;
        put_cstr(out, self.password.as_bytes(), "hop password")
    }

    fn decode(r: &mut Reader<'_>) -> Result<Hop, NiError> {
        Ok(Hop {
            host: utf8(r.cstr("hop host")?, "hop host")?,
            service: utf8(r.cstr("hop service")?, "hop service")?,
            password: utf8(r.cstr("hop password")?, "hop password")?,
        })
    }
}

/// Masks the password: a hop ends up in logs.
impl fmt::Debug for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let password = if self.password.is_empty() { "" } else { "***" };
        f.debug_struct("Hop")
            .field("host", &self.host)
            .field("service", &self.service)
            .field("password", &password)
            .finish()
    }
}

/// A decoded `NI_ROUTE` message. The entry count and route length are derived from `hops`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRequest {
    /// Route info version (2).
    pub route_version: u8,
    /// The sender's NI version.
    pub ni_version: u8,
    /// How data flows once the route is up.
    pub talk_mode: TalkMode,
    /// Entries from the next hop to the end of the route; `entries − 1` in a fresh request.
    pub rest_nodes: u8,
    /// Byte offset of the next hop's entry in the route area.
    pub offset: u32,
    /// Every entry of the route, the first router first and the target last.
    pub hops: Vec<Hop>,
}

impl RouteRequest {
    /// Decodes and validates a route request payload (without the NI length).
    ///
    /// Checks, in order: the header is complete; the NI version is not 0 (−96); at least two
    /// entries; `1 <= rest_nodes < entries`; the route area is exactly `route length` bytes and
    /// the payload ends there; it holds exactly `entries` NUL-terminated UTF-8 entries; the
    /// offset is below the route length, at an entry start, and at the entry `rest_nodes`
    /// designates. Everything but the version maps to −93.
    pub fn decode(payload: &[u8]) -> Result<RouteRequest, NiError> {
        let mut r = Reader::new(payload);
        r.eye_catcher(NI_ROUTE)?;
        let route_version = r.u8("route header")?;
        let ni_version = r.u8("route header")?;
        let entries = r.u8("route header")?;
        let talk_mode = r.u8("route header")?;
        let _unused = r.u16("route header")?;
        let rest_nodes = r.u8("route header")?;
        let route_len = r.u32("route header")?;
        let offset = r.u32("route header")?;
        // The version first: an old client's layout may differ from here on.
        check_version(ni_version)?;
        let talk_mode = TalkMode::try_from(talk_mode)?;
        check_counts(entries, rest_nodes)?;
        let area = r.take(route_len as usize, "route area")?;
        r.finish("route request")?;
        let mut area = Reader::new(area);
        // `entries` is a u8: the capacity is bounded whatever the header says.
        let mut hops = Vec::with_capacity(usize::from(entries));
        for _ in 0..entries {
            hops.push(Hop::decode(&mut area)?);
        }
        area.finish("route entries")?;
        let request = RouteRequest {
            route_version,
            ni_version,
            talk_mode,
            rest_nodes,
            offset,
            hops,
        };
        request.validate()?;
        Ok(request)
    }

    /// Encodes the payload (without the NI length; wrap it with [`crate::frame::frame`]).
    ///
    /// Does not [`validate`](Self::validate): a test client may want to send a broken request.
    /// Fails only when the hops cannot be represented (more than 255, or a NUL in a string).
    pub fn encode(&self) -> Result<Vec<u8>, NiError> {
        let entries = self.entry_count()?;
        let mut area = Vec::with_capacity(self.route_len());
        for hop in &self.hops {
            hop.encode_into(&mut area)?;
        }
        let route_len = u32::try_from(area.len()).map_err(|_| NiError::FieldTooLong {
            field: "route area",
            len: area.len(),
            max: u32::MAX as usize,
        })?;
        let mut out = Vec::with_capacity(ROUTE_HEADER_LEN.saturating_add(area.len()));
        out.extend_from_slice(NI_ROUTE);
        out.extend_from_slice(&[
            self.route_version,
            self.ni_version,
            entries,
            self.talk_mode.as_u8(),
            0,
            0,
            self.rest_nodes,
        ]);
        out.extend_from_slice(&route_len.to_be_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&area);
        Ok(out)
    }

    /// The header checks of §1.5.3 step 3 applied to this value (see [`decode`](Self::decode)).
    pub fn validate(&self) -> Result<(), NiError> {
        check_version(self.ni_version)?;
        let entries = self.entry_count()?;
        check_counts(entries, self.rest_nodes)?;
        let route_len = u32::try_from(self.route_len()).unwrap_or(u32::MAX);
        if self.offset >= route_len {
            return Err(NiError::OffsetOutOfRange {
                offset: self.offset,
                route_len,
            });
        }
        if self.index_at(self.offset).is_none() {
            return Err(NiError::OffsetNotAtEntry {
                offset: self.offset,
            });
        }
        let next = usize::from(entries - self.rest_nodes);
        let expected = u32::try_from(self.start_of(next)).unwrap_or(u32::MAX);
        if self.offset != expected {
            return Err(NiError::OffsetMismatch {
                offset: self.offset,
                expected,
            });
        }
        Ok(())
    }

    /// Bytes of the route area.
    pub fn route_len(&self) -> usize {
        self.start_of(self.hops.len())
    }

    /// Index of the entry the offset points at: the next hop.
    pub fn next_index(&self) -> Option<usize> {
        self.index_at(self.offset)
    }

    /// The entry at `offset`: where this router must connect to.
    pub fn next_hop(&self) -> Option<&Hop> {
        self.hops.get(self.next_index()?)
    }

    /// The entry before the next hop: this router's own entry.
    pub fn own_hop(&self) -> Option<&Hop> {
        self.hops.get(self.next_index()?.checked_sub(1)?)
    }

    /// Hops before this router: `entries − rest_nodes − 1` (0 at the first router).
    ///
    /// The formula is synthesised (sap-reference §1.5.3 step 4, unverified against a real
    /// SAProuter): `entries − rest_nodes` entries precede the next hop, and one of them is
    /// this router. The result is what a permission table's hop-count column compares with.
    pub fn hops_before(&self) -> usize {
        self.hops
            .len()
            .saturating_sub(usize::from(self.rest_nodes))
            .saturating_sub(1)
    }

    /// SAProuters after the next hop's router: `rest_nodes − 1` (0 when the next hop is the
    /// target). Same caveat as [`hops_before`](Self::hops_before).
    pub fn hops_after(&self) -> usize {
        usize::from(self.rest_nodes).saturating_sub(1)
    }

    /// The request this router sends to the next hop when that hop is itself a SAProuter:
    /// `rest_nodes − 1` and `offset` moved past the next hop's entry. `None` when the next hop
    /// is the target (no router follows) or the offset is not at an entry.
    pub fn forwarded(&self) -> Option<RouteRequest> {
        if self.hops_after() == 0 {
            return None;
        }
        let next = self.next_hop()?;
        let offset = u32::try_from(next.wire_len())
            .ok()
            .and_then(|len| self.offset.checked_add(len))?;
        Some(RouteRequest {
            rest_nodes: self.rest_nodes - 1,
            offset,
            ..self.clone()
        })
    }

    /// The password this router checks for the connection to the next hop (sap-reference §1.5.2).
    ///
    /// The successor entry's password when it is not empty: legacy `/P/` clients, pysap's
    /// forwarder, HoneySAP and this crate's [`RouteString::to_request`] put it there. Otherwise
    /// this router's own entry's password, where a client that copies `/W/` onto the router's
    /// substring (pysap's string parser) puts it. Empty when neither carries one. Which entry
    /// a real SAProuter reads is unverified; accepting both is the compatible choice.
    ///
    /// Caveat of the fallback: in a successor-convention request, a router's own entry holds
    /// its *predecessor's* password, so a router behind another one gets that password back
    /// when its successor's entry is empty. A permission entry without a password must
    /// therefore accept whatever this returns; only a non-empty table password is compared.
    ///
    /// [`RouteString::to_request`]: crate::route_string::RouteString::to_request
    pub fn password_for_next_hop(&self) -> &str {
        match (self.next_hop(), self.own_hop()) {
            (Some(next), _) if !next.password.is_empty() => next.password.as_str(),
            (_, Some(own)) => own.password.as_str(),
            _ => "",
        }
    }

    /// [`forwarded`](Self::forwarded) with the password this router checked
    /// ([`password_for_next_hop`](Self::password_for_next_hop)) removed, and the offset
    /// moved to match the shorter route area.
    ///
    /// For a router whose password is a credential of its own (the hub's API tokens and
    /// route passwords): the routers further on need the passwords of their hops, never this
    /// one's, so it does not travel on.
    pub fn forwarded_without_own_password(&self) -> Option<RouteRequest> {
        let mut forwarded = self.forwarded()?;
        let next = self.next_index()?;
        let used = match self.hops.get(next) {
            Some(hop) if !hop.password.is_empty() => next,
            _ => next.checked_sub(1)?,
        };
        if let Some(hop) = forwarded.hops.get_mut(used) {
            hop.password.clear();
        }
        forwarded.offset = u32::try_from(forwarded.start_of(next + 1)).ok()?;
        Some(forwarded)
    }

    fn entry_count(&self) -> Result<u8, NiError> {
        u8::try_from(self.hops.len()).map_err(|_| NiError::TooManyHops {
            hops: self.hops.len(),
        })
    }

    /// Byte offset of entry `index` (the route length when `index` is the entry count).
    fn start_of(&self, index: usize) -> usize {
        self.hops
            .iter()
            .take(index)
            .fold(0usize, |acc, hop| acc.saturating_add(hop.wire_len()))
    }

    /// The entry that starts exactly at `offset`.
    fn index_at(&self, offset: u32) -> Option<usize> {
        let offset = offset as usize;
        let mut start = 0usize;
        for (index, hop) in self.hops.iter().enumerate() {
            if start == offset {
                return Some(index);
            }
            start = start.saturating_add(hop.wire_len());
        }
        None
    }
}

fn check_version(ni_version: u8) -> Result<(), NiError> {
    // Version 0 is the only value observed to be refused (−96); anything else is passed on.
    if ni_version == 0 {
        return Err(NiError::ClientVersionTooOld { ni_version });
    }
    Ok(())
}

fn check_counts(entries: u8, rest_nodes: u8) -> Result<(), NiError> {
    if entries < 2 {
        return Err(NiError::TooFewEntries { entries });
    }
    if rest_nodes == 0 || rest_nodes >= entries {
        return Err(NiError::RestNodesOutOfRange {
            rest_nodes,
            entries,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
