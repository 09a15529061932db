//! One table entry and its parts, and how an entry renders back to table syntax.

use std::fmt;

use portcullis_domain::secret::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::host::Host;
use super::parse::SyntaxErrorKind;

/// What an entry does (its first field, without hop limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind {
    /// `P`: permit.
    Permit,
    /// `S`: permit NI routes only; native (RAW) routes are refused.
    Secure,
    /// `D`: deny.
    Deny,
    /// `KT`: connections to or from the host must be TLS-authenticated as the peer name.
    KeyTarget,
    /// `KP`: permit, for a predecessor authenticated over TLS.
    KeyPermit,
    /// `KS`: `KP` for NI routes only.
    KeySecure,
    /// `KD`: deny, for a predecessor authenticated over TLS.
    KeyDeny,
}

impl EntryKind {
    /// The keyword as the table writes it.
    pub fn keyword(self) -> &'static str {
        match self {
            EntryKind::Permit => "P",
            EntryKind::Secure => "S",
            EntryKind::Deny => "D",
            EntryKind::KeyTarget => "KT",
            EntryKind::KeyPermit => "KP",
            EntryKind::KeySecure => "KS",
            EntryKind::KeyDeny => "KD",
        }
    }

    pub(crate) fn from_keyword(word: &str) -> Option<EntryKind> {
        [
            EntryKind::Permit,
            EntryKind::Secure,
            EntryKind::Deny,
            EntryKind::KeyTarget,
            EntryKind::KeyPermit,
            EntryKind::KeySecure,
            EntryKind::KeyDeny,
        ]
        .into_iter()
        .find(|kind| kind.keyword() == word)
    }

    /// A K entry: its first field is a peer name, not a source host.
    pub(crate) fn is_keyed(self) -> bool {
        matches!(
            self,
            EntryKind::KeyTarget | EntryKind::KeyPermit | EntryKind::KeySecure | EntryKind::KeyDeny
        )
    }

    pub(crate) fn denies(self) -> bool {
        matches!(self, EntryKind::Deny | EntryKind::KeyDeny)
    }

    pub(crate) fn ni_only(self) -> bool {
        matches!(self, EntryKind::Secure | EntryKind::KeySecure)
    }

    pub(crate) fn takes_password(self) -> bool {
        matches!(
            self,
            EntryKind::Permit | EntryKind::Secure | EntryKind::KeyPermit | EntryKind::KeySecure
        )
    }

    pub(crate) fn takes_hop_limits(self) -> bool {
        matches!(self, EntryKind::Permit | EntryKind::Secure)
    }
}

/// `Pv,n`: the most routers allowed before (`v`) and after (`n`) this one; 255 is `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HopLimits {
    pub(crate) before: u8,
    pub(crate) after: u8,
}

impl HopLimits {
    pub(crate) const UNLIMITED: HopLimits = HopLimits {
        before: u8::MAX,
        after: u8::MAX,
    };
}

impl fmt::Display for HopLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == HopLimits::UNLIMITED {
            return Ok(());
        }
        let limit = |n: u8| match n {
            u8::MAX => "*".to_owned(),
            n => n.to_string(),
        };
        write!(f, "{},{}", limit(self.before), limit(self.after))
    }
}

/// The peer name of a K entry: which TLS-authenticated predecessor (or, for `KT`, which
/// next hop) the entry is about. SAP's K entries name SNC partners; here the name is the
/// subject of the peer's TLS certificate, written as SAP writes SNC names:
/// `"p:CN=sapserv2, OU=SAProuter, O=SAP, C=DE"`.
///
/// Names compare after dropping a leading `p:`, ignoring ASCII case and blanks around commas
/// (so `p:CN=s1,O=SAP` equals `cn=s1, o=sap`). RDN order matters: the router renders a
/// certificate subject most specific first (`CN=…, OU=…, O=…, C=…`), as SNC names are written.
/// Escaped commas inside values (`O=A\, B`) are compared the same way on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerName {
    /// The name as written (without the surrounding quotes); `*` for any peer.
    written: String,
    /// The comparison form; `None` for `*`.
    key: Option<String>,
}

impl PeerName {
    pub(crate) fn parse(text: &str) -> Result<PeerName, SyntaxErrorKind> {
        if text == "*" {
            return Ok(PeerName {
                written: text.to_owned(),
                key: None,
            });
        }
        if text.contains('"') {
            return Err(SyntaxErrorKind::PeerNameQuote);
        }
        let key = normalize(text);
        if key.is_empty() {
            return Err(SyntaxErrorKind::EmptyPeerName);
        }
        Ok(PeerName {
            written: text.to_owned(),
            key: Some(key),
        })
    }

    /// `*`: any peer that authenticated over TLS.
    pub fn is_any(&self) -> bool {
        self.key.is_none()
    }

    /// Whether an authenticated peer's certificate subject (`CN=…, O=…`, with or without
    /// `p:`) is this name. `*` accepts every subject.
    pub fn matches(&self, subject: &str) -> bool {
        self.key
            .as_ref()
            .is_none_or(|key| *key == normalize(subject))
    }

    /// The name as the table writes it (without quotes); `*` for any peer.
    pub fn as_written(&self) -> &str {
        &self.written
    }
}

/// `*` bare, any other name in double quotes, as the table writes it.
impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            None => f.write_str("*"),
            Some(_) => write!(f, "\"{}\"", self.written),
        }
    }
}

fn normalize(name: &str) -> String {
    let name = name.trim_ascii();
    let name = name
        .strip_prefix("p:")
        .or_else(|| name.strip_prefix("P:"))
        .unwrap_or(name);
    let mut key = String::with_capacity(name.len());
    for (i, part) in name.split(',').enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(part.trim_ascii());
    }
    key.make_ascii_lowercase();
    key
}

/// A destination service: `*`, or an inclusive port range (one port is a range of one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Service {
    written: String,
    ports: Option<(u16, u16)>,
}

impl Service {
    pub(crate) fn any() -> Service {
        Service {
            written: "*".to_owned(),
            ports: None,
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Service, SyntaxErrorKind> {
        let ports = if text == "*" {
            None
        } else if let Some((low, high)) = text.split_once('.') {
            match (port(low), port(high)) {
                (Ok(low), Ok(high)) if low <= high => Some((low, high)),
                _ => return Err(SyntaxErrorKind::PortRange),
            }
        } else {
            let p = port(text)?;
            Some((p, p))
        };
        Ok(Service {
            written: text.to_owned(),
            ports,
        })
    }

    /// Whether `port` matches; `star_matches` is false under SAP's native-service rule.
    pub(crate) fn matches(&self, port: u16, star_matches: bool) -> bool {
        match self.ports {
            None => star_matches,
            Some((low, high)) => (low..=high).contains(&port),
        }
    }

    #[cfg(test)]
    pub(crate) fn ports(&self) -> Option<(u16, u16)> {
        self.ports
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// A port number or service name.
fn port(text: &str) -> Result<u16, SyntaxErrorKind> {
    if let Some(port) = portcullis_ni::service::resolve_service(text) {
        Ok(port)
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Err(SyntaxErrorKind::Port)
    } else {
        Err(SyntaxErrorKind::UnknownService)
    }
}

/// An entry's password. Only a SHA-256 digest is kept, and compared in constant time: the
/// comparison reveals neither where the given password differs nor its length, and the
/// table in memory does not hold the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Password {
    /// `*`: any password, none included.
    Any,
    /// SHA-256 of the password.
    Digest(Secret<[u8; 32]>),
}

impl Password {
    pub(crate) fn parse(text: &str) -> Password {
        if text == "*" {
            Password::Any
        } else {
            Password::Digest(Secret::new(Sha256::digest(text.as_bytes()).into()))
        }
    }

    pub(crate) fn accepts(&self, given: &str) -> bool {
        match self {
            Password::Any => true,
            Password::Digest(digest) => {
                let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
                given.as_slice().ct_eq(digest.expose().as_slice()).into()
            }
        }
    }
}

/// `*` for the generic password; any other as eight asterisks, whatever its length.
impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Password::Any => f.write_str("*"),
            Password::Digest(_) => f.write_str("********"),
        }
    }
}

/// The first field after the type: a source host, or for K entries a peer name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Host(Host),
    Peer(PeerName),
}

/// One line of the table.
///
/// Renders (`Display`) in table syntax with omitted fields as `*` and the password masked,
/// for logs and the router's information output: `P*,0 * * * ********`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub(crate) line: usize,
    pub(crate) kind: EntryKind,
    pub(crate) hops: HopLimits,
    pub(crate) origin: Origin,
    /// The destination; for `KT`, the host connections to or from which need TLS.
    pub(crate) dest: Host,
    pub(crate) service: Service,
    pub(crate) password: Option<Password>,
}

impl Entry {
    /// The 1-based line of the table the entry was written on.
    pub fn line(&self) -> usize {
        self.line
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// The most routers allowed before and after this one (`Pv,n`); 255 means unlimited.
    /// Entries other than `P` and `S` have no limits.
    pub fn hop_limits(&self) -> (u8, u8) {
        (self.hops.before, self.hops.after)
    }

    /// The peer name of a K entry.
    pub fn peer_name(&self) -> Option<&PeerName> {
        match &self.origin {
            Origin::Peer(name) => Some(name),
            Origin::Host(_) => None,
        }
    }

    pub(crate) fn hosts(&self) -> impl Iterator<Item = &Host> {
        let source = match &self.origin {
            Origin::Host(host) => Some(host),
            Origin::Peer(_) => None,
        };
        source.into_iter().chain(std::iter::once(&self.dest))
    }

    pub(crate) fn hosts_mut(&mut self) -> impl Iterator<Item = &mut Host> {
        let source = match &mut self.origin {
            Origin::Host(host) => Some(host),
            Origin::Peer(_) => None,
        };
        source.into_iter().chain(std::iter::once(&mut self.dest))
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{} ", self.kind.keyword(), self.hops)?;
        match &self.origin {
            Origin::Host(host) => write!(f, "{host}")?,
            Origin::Peer(name) => write!(f, "{name}")?,
        }
        write!(f, " {} {}", self.dest, self.service)?;
        if let Some(password) = &self.password {
            write!(f, " {password}")?;
        }
        Ok(())
    }
}
