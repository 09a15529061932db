//! Checking a route request against the table: [`RouteQuery`] in, [`Decision`] out.

use std::fmt;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use super::entry::{Entry, EntryKind, Origin, PeerName};
use super::host::canonical;

/// The ports SAP's native-service rule counts as SAP services: dispatcher `sapdpNN` (32NN,
/// which includes SAProuter 3299 and niping 3298), gateway `sapgwNN` (33NN), message server
/// `sapmsSID` (36NN by convention), and their TLS variants `sapdpsNN` (47NN) and `sapgwsNN`
/// (48NN). SAP does not publish its list; this one follows the service names of §1.3.
pub const SAP_SERVICE_PORTS: &[RangeInclusive<u16>] = &[
    3200..=3299,
    3300..=3399,
    3600..=3699,
    4700..=4799,
    4800..=4899,
];

fn is_sap_service_port(port: u16) -> bool {
    SAP_SERVICE_PORTS.iter().any(|range| range.contains(&port))
}

/// How the route carries data once it is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteMode {
    /// NI framing end to end: talk mode `NI_MSG_IO` (0) or `NI_ROUT_IO` (2), SAP's "SAP
    /// protocol". Allowed by `S` and `KS` entries.
    Ni,
    /// A raw byte stream: talk mode `NI_RAW_IO` (1), SAP's "native" routes. Refused by `S`
    /// and `KS` entries.
    Native,
}

/// One hop of a route request, as this router sees it.
///
/// `new` fills what every request has; the `with_*` methods the rest. Debug output masks the
/// password.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct RouteQuery<'a> {
    /// The peer address of the incoming connection (the client or the previous router). An
    /// IPv4-mapped IPv6 address is compared as IPv4.
    pub source: IpAddr,
    /// The certificate subject (`CN=…, O=…`) of the predecessor, if it authenticated over
    /// mutual TLS; `None` for a plain connection. Only then can `KP`/`KS`/`KD` entries match.
    pub tls_peer: Option<&'a str>,
    /// The next hop (target or next router) as written in the route request.
    pub dest_host: &'a str,
    /// The address this router will connect to for `dest_host`. The router resolves the name
    /// and checks each address it may connect to: with several addresses per query, an entry
    /// permitting one of them could open a route to another one that a `D` line forbids.
    pub dest_addr: Option<IpAddr>,
    pub dest_port: u16,
    /// The route password the client sent for this hop; empty when none.
    pub password: &'a str,
    /// Routers on the route before this one.
    pub hops_before: u8,
    /// Routers on the route after this one; 0 when the next hop is the target.
    pub hops_after: u8,
    pub mode: RouteMode,
}

impl<'a> RouteQuery<'a> {
    /// A query from `source` to `dest_host:dest_port`, in NI mode, with no TLS peer, no
    /// password and no other routers. `dest_addr` is `dest_host` when that is an IP address.
    pub fn new(source: IpAddr, dest_host: &'a str, dest_port: u16) -> RouteQuery<'a> {
        RouteQuery {
            source,
            tls_peer: None,
            dest_host,
            dest_addr: dest_host.parse().ok(),
            dest_port,
            password: "",
            hops_before: 0,
            hops_after: 0,
            mode: RouteMode::Ni,
        }
    }

    pub fn with_tls_peer(self, subject: &'a str) -> Self {
        RouteQuery {
            tls_peer: Some(subject),
            ..self
        }
    }

    pub fn with_dest_addr(self, addr: IpAddr) -> Self {
        RouteQuery {
            dest_addr: Some(addr),
            ..self
        }
    }

    pub fn with_password(self, password: &'a str) -> Self {
        RouteQuery { password, ..self }
    }

    pub fn with_hops(self, before: u8, after: u8) -> Self {
        RouteQuery {
            hops_before: before,
            hops_after: after,
            ..self
        }
    }

    pub fn with_mode(self, mode: RouteMode) -> Self {
        RouteQuery { mode, ..self }
    }
}

impl fmt::Debug for RouteQuery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteQuery")
            .field("source", &self.source)
            .field("tls_peer", &self.tls_peer)
            .field("dest_host", &self.dest_host)
            .field("dest_addr", &self.dest_addr)
            .field("dest_port", &self.dest_port)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("hops_before", &self.hops_before)
            .field("hops_after", &self.hops_after)
            .field("mode", &self.mode)
            .finish()
    }
}

/// What the table says about a route.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    Permit(Permit),
    Deny {
        /// The deciding entry's line; `None` when no entry matched.
        line: Option<usize>,
        reason: DenyReason,
    },
}

impl Decision {
    pub fn is_permit(&self) -> bool {
        matches!(self, Decision::Permit(_))
    }
}

/// Proof that the table permitted a route. Only [`RouteTable::check`](super::RouteTable::check)
/// makes one, so code that opens a route can demand it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permit {
    line: usize,
    outgoing_tls_peer: Option<PeerName>,
}

impl Permit {
    /// The line of the permitting entry.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Set when a `KT` entry names the destination: the outgoing connection must use mutual
    /// TLS and the next hop's certificate subject must match this name
    /// ([`PeerName::matches`]).
    pub fn outgoing_tls_peer(&self) -> Option<&PeerName> {
        self.outgoing_tls_peer.as_ref()
    }
}

/// Why a route was denied. For logs; a client learns only [`return_code`](Self::return_code).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// A `D` or `KD` entry matched.
    DenyEntry,
    /// No entry matched.
    NoMatch,
    /// The matching entry has a password and the client sent another (or none).
    WrongPassword,
    /// More routers before this one than the entry's `v` allows.
    TooManyBefore { limit: u8, actual: u8 },
    /// More routers after this one than the entry's `n` allows.
    TooManyAfter { limit: u8, actual: u8 },
    /// A native (RAW) route matched an `S` or `KS` entry.
    ModeDenied,
    /// A `KT` entry names the source, and the predecessor did not authenticate over TLS as
    /// `peer`.
    TlsRequired { peer: PeerName },
}

impl DenyReason {
    /// The SAP return code sent to the client: `NIEROUT_MODE_DENIED` (−101, "talk mode not
    /// allowed") for [`ModeDenied`](Self::ModeDenied), `NIEROUT_PERM_DENIED` (−94) for the
    /// rest (sap-reference §1.6.2).
    pub fn return_code(&self) -> portcullis_ni::ReturnCode {
        match self {
            DenyReason::ModeDenied => portcullis_ni::ReturnCode::ModeDenied,
            _ => portcullis_ni::ReturnCode::PermDenied,
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::DenyEntry => f.write_str("denied by a D entry"),
            DenyReason::NoMatch => f.write_str("no entry matches the route"),
            DenyReason::WrongPassword => f.write_str("wrong route password"),
            DenyReason::TooManyBefore { limit, actual } => write!(
                f,
                "{actual} routers before this one, the entry allows {limit}"
            ),
            DenyReason::TooManyAfter { limit, actual } => write!(
                f,
                "{actual} routers after this one, the entry allows {limit}"
            ),
            DenyReason::ModeDenied => f.write_str("native (RAW) route on an NI-only entry"),
            DenyReason::TlsRequired { peer } if peer.is_any() => {
                f.write_str("the source must connect over mutually authenticated TLS")
            }
            DenyReason::TlsRequired { peer } => {
                write!(
                    f,
                    "the source must connect over TLS authenticated as {peer}"
                )
            }
        }
    }
}

fn deny(line: Option<usize>, reason: DenyReason) -> Decision {
    Decision::Deny { line, reason }
}

/// See [`RouteTable::check`](super::RouteTable::check) for the rules.
pub(crate) fn check(entries: &[Entry], query: &RouteQuery<'_>) -> Decision {
    let source = canonical(query.source);
    let dest_addr = query.dest_addr.map(canonical);
    let key_targets = || entries.iter().filter(|e| e.kind == EntryKind::KeyTarget);

    // 1. A KT entry naming the source: the incoming hop must be TLS with that name.
    if let Some(target) = key_targets().find(|e| e.dest.matches_addr(source)) {
        if let Some(required) = target.peer_name() {
            if !query.tls_peer.is_some_and(|peer| required.matches(peer)) {
                let reason = DenyReason::TlsRequired {
                    peer: required.clone(),
                };
                return deny(Some(target.line), reason);
            }
        }
    }

    // 2. First match.
    let native_last_hop = query.mode == RouteMode::Native
        && query.hops_after == 0
        && !is_sap_service_port(query.dest_port);
    let matches = |entry: &&Entry| {
        let origin = match &entry.origin {
            Origin::Host(host) => host.matches_addr(source),
            Origin::Peer(name) => query.tls_peer.is_some_and(|peer| name.matches(peer)),
        };
        let star_service = !native_last_hop || entry.kind.denies();
        entry.kind != EntryKind::KeyTarget
            && origin
            && entry.dest.matches_dest(query.dest_host, dest_addr)
            && entry.service.matches(query.dest_port, star_service)
    };
    let Some(entry) = entries.iter().find(matches) else {
        return deny(None, DenyReason::NoMatch);
    };
    let line = Some(entry.line);

    // 3. The entry's conditions: a failure denies, with no fall-through.
    if entry.kind.denies() {
        return deny(line, DenyReason::DenyEntry);
    }
    if let Some(password) = &entry.password {
        if !password.accepts(query.password) {
            return deny(line, DenyReason::WrongPassword);
        }
    }
    if query.hops_before > entry.hops.before {
        let (limit, actual) = (entry.hops.before, query.hops_before);
        return deny(line, DenyReason::TooManyBefore { limit, actual });
    }
    if query.hops_after > entry.hops.after {
        let (limit, actual) = (entry.hops.after, query.hops_after);
        return deny(line, DenyReason::TooManyAfter { limit, actual });
    }
    if entry.kind.ni_only() && query.mode == RouteMode::Native {
        return deny(line, DenyReason::ModeDenied);
    }

    // 4. A KT entry naming the destination: the outgoing hop must be TLS with that name.
    let outgoing_tls_peer = key_targets()
        .find(|e| {
            e.dest.matches_dest(query.dest_host, dest_addr)
                && e.service.matches(query.dest_port, true)
        })
        .and_then(|e| e.peer_name().cloned());
    Decision::Permit(Permit {
        line: entry.line,
        outgoing_tls_peer,
    })
}
