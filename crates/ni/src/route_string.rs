//! Route strings as users type them: `/H/router/W/pass/H/target/S/sapdp00` (sap-reference §1.3).
//!
//! One substring per SAProuter plus one for the target: `/H/host` (at least 2 characters),
//! optional `/S/service` (default `3299`), optional `/W/password`. A `/W/` password belongs
//! to the router whose substring carries it and guards that router's connection from its
//! predecessor to its successor; the target's substring never carries one.
//!
//! Legacy clients (before 4.0A) wrote the same password as `/P/` one substring later:
//! `/H/saprouter/W/pass/H/target` ≡ `/H/saprouter/H/target/P/pass`. Both are accepted and
//! normalised to the `/W/` meaning, so [`Hop::password`] of a parsed hop is always the
//! password that hop's router checks.
//!
//! Token letters must be upper case per SAP; [`RouteString::parse`] also accepts lower case,
//! as pysap does, because a lenient reader costs nothing here, while
//! [`RouteString::parse_strict`] enforces SAP's rule. `/M/` has no public definition and is
//! refused with its own error. Values end at the next `/` and may not contain white space or
//! control characters (a NUL would cut the string on the wire).

use std::fmt;
use std::str::FromStr;

use crate::error::NiError;
use crate::route::{Hop, RouteRequest, TalkMode, DEFAULT_SERVICE, ROUTE_VERSION};

/// A parsed route string: at least two hops (a SAProuter and the target), at most 255.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteString {
    hops: Vec<Hop>,
}

/// Per-hop bookkeeping while parsing: which tokens the hop already has.
#[derive(Default)]
struct Seen {
    service: bool,
    /// Position of this hop's `/W/` letter, to blame it if the hop turns out to be the target.
    own_password: Option<usize>,
    /// The successor's `/P/` set this hop's password.
    legacy_password: bool,
}

impl RouteString {
    /// Parses a route string, accepting lower-case token letters as pysap does.
    pub fn parse(s: &str) -> Result<RouteString, NiError> {
        parse(s, false)
    }

    /// Parses a route string, requiring SAP's upper-case token letters.
    pub fn parse_strict(s: &str) -> Result<RouteString, NiError> {
        parse(s, true)
    }

    /// The hops, first router first; each hop's password is the one its router checks.
    pub fn hops(&self) -> &[Hop] {
        &self.hops
    }

    /// The last hop: where the connection ends.
    pub fn target(&self) -> &Hop {
        // Parsing guarantees at least two hops; the fallback only keeps this panic-free.
        self.hops.last().unwrap_or(&EMPTY_HOP)
    }

    /// The canonical form with every password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        self.render(true)
    }

    /// The route request a client sends to the first router.
    ///
    /// Each router's password goes into its successor's entry (where legacy `/P/` put it and
    /// where HoneySAP and pysap's forwarder read it; see
    /// [`RouteRequest::password_for_next_hop`]). `rest_nodes` is `entries − 1` and `offset`
    /// the length of the first entry, so the first router reads the second entry as its next
    /// hop.
    pub fn to_request(&self, talk_mode: TalkMode, ni_version: u8) -> RouteRequest {
        let mut hops = Vec::with_capacity(self.hops.len());
        let mut carried = String::new();
        for hop in &self.hops {
            hops.push(Hop {
                host: hop.host.clone(),
                service: hop.service.clone(),
                password: std::mem::replace(&mut carried, hop.password.clone()),
            });
        }
        let offset = hops.first().map_or(0, Hop::wire_len);
        RouteRequest {
            route_version: ROUTE_VERSION,
            ni_version,
            talk_mode,
            rest_nodes: u8::try_from(hops.len().saturating_sub(1)).unwrap_or(u8::MAX),
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
            hops,
        }
    }

    fn render(&self, redact: bool) -> String {
        let mut out = String::new();
        for hop in &self.hops {
            out.push_str("/H/");
            out.push_str(&hop.host);
            out.push_str("/S/");
            out.push_str(&hop.service);
            if !hop.password.is_empty() {
                out.push_str("/W/");
                out.push_str(if redact { "***" } else { &hop.password });
            }
        }
        out
    }
}

static EMPTY_HOP: Hop = Hop {
    host: String::new(),
    service: String::new(),
    password: String::new(),
};

/// The canonical `/H/…/S/…/W/…` form, passwords included (this is the user's own input);
/// use [`RouteString::redacted`] for logs.
impl fmt::Display for RouteString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl FromStr for RouteString {
    type Err = NiError;

    fn from_str(s: &str) -> Result<Self, NiError> {
        RouteString::parse(s)
    }
}

fn syntax(position: usize, expected: &'static str, found: Option<char>) -> NiError {
    NiError::RouteStringSyntax {
        position,
        expected,
        found,
    }
}

fn parse(s: &str, strict: bool) -> Result<RouteString, NiError> {
    let chars: Vec<char> = s.chars().collect();
    // Positions in errors are 1-based character positions.
    let at = |i: usize| chars.get(i).copied();
    let mut hops: Vec<Hop> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if at(i) != Some('/') {
            return Err(syntax(i + 1, "'/'", at(i)));
        }
        let letter_pos = i + 2;
        let letter = match at(i + 1) {
            Some(c) if c.is_ascii_alphabetic() => c,
            other => return Err(syntax(letter_pos, "a token letter (H, S, W or P)", other)),
        };
        if strict && letter.is_ascii_lowercase() {
            return Err(syntax(
                letter_pos,
                "an upper-case token letter (H, S, W or P)",
                Some(letter),
            ));
        }
        if at(i + 2) != Some('/') {
            return Err(syntax(i + 3, "'/' after the token letter", at(i + 2)));
        }
        let start = i + 3;
        let mut end = start;
        while let Some(c) = at(end) {
            if c == '/' {
                break;
            }
            if c.is_whitespace() || c.is_control() {
                return Err(syntax(end + 1, "a printable character or '/'", Some(c)));
            }
            end += 1;
        }
        let value: String = chars.get(start..end).unwrap_or_default().iter().collect();
        i = end;
        let letter = letter.to_ascii_uppercase();
        if value.is_empty() && letter != 'M' {
            let expected = match letter {
                'H' => "a host name",
                'S' => "a service name or port",
                _ => "a password",
            };
            return Err(syntax(start + 1, expected, at(start)));
        }
        match letter {
            'H' => {
                if value.chars().count() < 2 {
                    return Err(syntax(
                        start + 1,
                        "a host name of at least 2 characters",
                        value.chars().next(),
                    ));
                }
                if hops.len() == usize::from(u8::MAX) {
                    return Err(syntax(letter_pos, "at most 255 hops", Some('H')));
                }
                hops.push(Hop::new(value, DEFAULT_SERVICE));
                seen.push(Seen::default());
            }
            'S' | 'W' | 'P' => {
                let (Some(hop), Some(state)) = (hops.last_mut(), seen.last_mut()) else {
                    return Err(syntax(
                        letter_pos,
                        "H (a route string starts with /H/)",
                        Some(letter),
                    ));
                };
                match letter {
                    'S' if !state.service => {
                        state.service = true;
                        hop.service = value;
                    }
                    'W' if state.own_password.is_none() && !state.legacy_password => {
                        state.own_password = Some(letter_pos);
                        hop.password = value;
                    }
                    'P' => {
                        let n = hops.len();
                        let prev = n.checked_sub(2);
                        let (Some(prev_hop), Some(prev_state)) = (
                            prev.and_then(|p| hops.get_mut(p)),
                            prev.and_then(|p| seen.get_mut(p)),
                        ) else {
                            return Err(syntax(
                                letter_pos,
                                "no /P/ on the first hop (it names the previous router's password)",
                                Some(letter),
                            ));
                        };
                        if prev_state.own_password.is_some() || prev_state.legacy_password {
                            return Err(syntax(
                                letter_pos,
                                "one password per router (the previous hop already has /W/)",
                                Some(letter),
                            ));
                        }
                        prev_state.legacy_password = true;
                        prev_hop.password = value;
                    }
                    _ => {
                        return Err(syntax(
                            letter_pos,
                            "/H/ or a token this hop does not have yet",
                            Some(letter),
                        ))
                    }
                }
            }
            'M' => {
                return Err(NiError::RouteStringUnsupported {
                    position: letter_pos,
                    token: 'M',
                })
            }
            _ => return Err(syntax(letter_pos, "H, S, W or P", Some(letter))),
        }
    }
    if hops.len() < 2 {
        return Err(syntax(
            chars.len() + 1,
            "another /H/ (a route needs a SAProuter and a target)",
            None,
        ));
    }
    if let Some(pos) = seen.last().and_then(|s| s.own_password) {
        return Err(syntax(
            pos,
            "no /W/ on the last hop (the target checks no password)",
            Some('W'),
        ));
    }
    Ok(RouteString { hops })
}

#[cfg(test)]
#[path = "route_string_tests.rs"]
mod tests;
