//! Host patterns: the source and destination fields of an entry.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::parse::SyntaxErrorKind;

/// One host field as written, with what it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    written: String,
    pattern: Pattern,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// `*`: every host, IPv4 or IPv6.
    Any,
    /// An IPv4 address, wildcard, binary-octet or prefix pattern: an address matches when
    /// its bits under `care` equal `value` (which is zero outside `care`). SAP's internal
    /// table stores the complement of `care` as the "mask" of don't-care bits.
    V4 { value: u32, care: u32 },
    /// An IPv6 address or prefix, in the same form.
    V6 { value: u128, care: u128 },
    /// A host name (without a trailing dot) and the addresses attached by
    /// `RouteTable::resolve_hosts`.
    Name { name: String, addrs: Vec<IpAddr> },
}

impl Host {
    /// The host an omitted field stands for: `*`.
    pub(crate) fn any() -> Host {
        Host {
            written: "*".to_owned(),
            pattern: Pattern::Any,
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Host, SyntaxErrorKind> {
        let pattern = if text == "*" {
            Pattern::Any
        } else if text.contains(':') {
            parse_v6(text)?
        } else if looks_like_v4(text) {
            parse_v4(text)?
        } else {
            parse_name(text)?
        };
        Ok(Host {
            written: text.to_owned(),
            pattern,
        })
    }

    /// The host name, if this field is one.
    pub(crate) fn name(&self) -> Option<&str> {
        match &self.pattern {
            Pattern::Name { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Replaces the addresses a host name stands for; no effect on other patterns.
    pub(crate) fn set_addresses(&mut self, new: Vec<IpAddr>) {
        if let Pattern::Name { addrs, .. } = &mut self.pattern {
            *addrs = new.into_iter().map(canonical).collect();
        }
    }

    /// Whether `addr` (already [`canonical`]) matches: the test for a source, and for a
    /// destination's address.
    pub(crate) fn matches_addr(&self, addr: IpAddr) -> bool {
        match (&self.pattern, addr) {
            (Pattern::Any, _) => true,
            (Pattern::V4 { value, care }, IpAddr::V4(a)) => (u32::from(a) & care) == *value,
            (Pattern::V6 { value, care }, IpAddr::V6(a)) => (u128::from(a) & care) == *value,
            (Pattern::Name { addrs, .. }, _) => addrs.contains(&addr),
            _ => false,
        }
    }

    /// Whether a destination matches: a host name by name (ignoring ASCII case and a
    /// trailing dot) or by one of its addresses; an address pattern by `addr`.
    pub(crate) fn matches_dest(&self, host: &str, addr: Option<IpAddr>) -> bool {
        if let Pattern::Name { name, .. } = &self.pattern {
            let host = host.strip_suffix('.').unwrap_or(host);
            if name.eq_ignore_ascii_case(host) {
                return true;
            }
        }
        addr.is_some_and(|addr| self.matches_addr(addr))
    }

    /// SAP's internal form of an IPv4 pattern: the address and the mask of don't-care bits.
    #[cfg(test)]
    pub(crate) fn v4_and_wildcard_mask(&self) -> Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
        match self.pattern {
            Pattern::V4 { value, care } => Some((value.into(), (!care).into())),
            _ => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// An address as the table compares it: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a
/// dual-stack socket reports for an IPv4 peer) becomes the IPv4 address.
pub(crate) fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// Only digits, periods, `*`, `x` and `/`, with at least one digit or `*`: meant as an IPv4
/// address or pattern, so reported as a malformed one rather than as a bad host name.
fn looks_like_v4(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'*' | b'x' | b'X' | b'/'))
        && text.bytes().any(|b| b.is_ascii_digit() || b == b'*')
}

fn parse_v4(text: &str) -> Result<Pattern, SyntaxErrorKind> {
    let (addr, prefix) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (text, None),
    };
    let octets: Vec<&str> = addr.split('.').collect();
    if octets.len() != 4 {
        return Err(SyntaxErrorKind::Ipv4Octets);
    }
    let (mut value, mut care, mut plain) = (0u32, 0u32, true);
    for octet in octets {
        let (v, c, decimal) = parse_octet(octet)?;
        value = (value << 8) | u32::from(v);
        care = (care << 8) | u32::from(c);
        plain &= decimal;
    }
    if let Some(prefix) = prefix {
        if !plain {
            return Err(SyntaxErrorKind::PrefixNeedsAddress);
        }
        let bits = parse_prefix(prefix, 32)?;
        // Host bits below the prefix are ignored, as in `133.27.16.1/24`.
        care = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
    }
    Ok(Pattern::V4 {
        value: value & care,
        care,
    })
}

/// One IPv4 octet: `(value, care bits, whether it was a plain decimal)`.
fn parse_octet(octet: &str) -> Result<(u8, u8, bool), SyntaxErrorKind> {
    if octet == "*" {
        return Ok((0, 0, false));
    }
    if octet.len() == 8
        && octet
            .bytes()
            .all(|b| matches!(b, b'0' | b'1' | b'x' | b'X'))
    {
        let (mut value, mut care) = (0u8, 0u8);
        for b in octet.bytes() {
            value <<= 1;
            care <<= 1;
            if b != b'x' && b != b'X' {
                care |= 1;
                value |= u8::from(b == b'1');
            }
        }
        return Ok((value, care, false));
    }
    if octet.contains(['x', 'X']) {
        return Err(SyntaxErrorKind::BinaryOctet);
    }
    let decimal = !octet.is_empty()
        && octet.len() <= 3
        && octet.bytes().all(|b| b.is_ascii_digit())
        && (octet == "0" || !octet.starts_with('0'));
    match octet.parse::<u8>() {
        Ok(value) if decimal => Ok((value, u8::MAX, true)),
        _ => Err(SyntaxErrorKind::Ipv4Octet),
    }
}

fn parse_prefix(prefix: &str, max: u8) -> Result<u8, SyntaxErrorKind> {
    let err = SyntaxErrorKind::PrefixLength { max };
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err);
    }
    match prefix.parse::<u8>() {
        Ok(bits) if bits <= max => Ok(bits),
        _ => Err(err),
    }
}

fn parse_v6(text: &str) -> Result<Pattern, SyntaxErrorKind> {
    let (addr, bits) = match text.split_once('/') {
        Some((addr, prefix)) => (addr, parse_prefix(prefix, 128)?),
        None => (text, 128),
    };
    let addr: Ipv6Addr = addr.parse().map_err(|_| SyntaxErrorKind::Ipv6)?;
    // `::ffff:a.b.c.d/n` with n >= 96 names IPv4 addresses, which the table compares as IPv4.
    if let (Some(v4), Some(v4_bits)) = (addr.to_ipv4_mapped(), bits.checked_sub(96)) {
        let care = u32::MAX.checked_shl(32 - u32::from(v4_bits)).unwrap_or(0);
        return Ok(Pattern::V4 {
            value: u32::from(v4) & care,
            care,
        });
    }
    let care = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
    Ok(Pattern::V6 {
        value: u128::from(addr) & care,
        care,
    })
}

/// A DNS-style name: labels of letters, digits, `-` and `_`, with an optional trailing dot.
fn parse_name(text: &str) -> Result<Pattern, SyntaxErrorKind> {
    let name = text.strip_suffix('.').unwrap_or(text);
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid {
        return Err(SyntaxErrorKind::HostName);
    }
    Ok(Pattern::Name {
        name: name.to_owned(),
        addrs: Vec::new(),
    })
}
