//! The messages of a SOCKS5 handshake, as the parsers return them, and the reply code.

use std::fmt;
use std::net::SocketAddr;

use portcullis_domain::secret::Secret;

/// Protocol version byte of SOCKS5 greetings, requests and replies.
pub const VERSION: u8 = 0x05;
/// Version byte of the RFC 1929 username/password sub-negotiation.
pub const AUTH_VERSION: u8 = 0x01;
/// Method "no authentication required". Listed for completeness: the hub never selects it.
pub const METHOD_NO_AUTH: u8 = 0x00;
/// Method "username/password" (RFC 1929), the only one the hub selects.
pub const METHOD_USERNAME_PASSWORD: u8 = 0x02;
/// Method selection answer meaning "none of the offered methods is acceptable".
pub const METHOD_NO_ACCEPTABLE: u8 = 0xFF;
/// Request command `CONNECT`, the only one supported.
pub const CMD_CONNECT: u8 = 0x01;
/// Address type: IPv4, 4 bytes.
pub const ATYP_IPV4: u8 = 0x01;
/// Address type: domain name, one length byte then the name.
pub const ATYP_DOMAIN: u8 = 0x03;
/// Address type: IPv6, 16 bytes.
pub const ATYP_IPV6: u8 = 0x04;

/// The client's opening message: the authentication methods it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// Offered method codes, 1 to 255 of them, in the client's order.
    pub methods: Vec<u8>,
}

impl Greeting {
    /// Whether the client offers `method`.
    pub fn offers(&self, method: u8) -> bool {
        self.methods.contains(&method)
    }
}

/// Username and password from the RFC 1929 sub-negotiation, *not yet verified*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// 1 to 255 bytes of UTF-8 without control characters (it ends up in audit logs).
    pub username: String,
    /// 1 to 255 arbitrary bytes (RFC 1929 passwords are octets, not text), masked in `Debug`
    /// so a logged `Credentials` never shows it. Equality is *not* constant-time: verify a
    /// password by hashing it (as the hub does with tokens), not by comparing it to another.
    pub password: Secret<Vec<u8>>,
}

/// Where the client wants to go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetAddr {
    /// An IP address: ATYP 1 or 4, or a domain field that was an IP literal.
    Ip(SocketAddr),
    /// A host name, lower-cased, made of ASCII letters, digits, `-`, `.` and `_`. Not resolved
    /// here: the name is resolved on the customer's side, where it means something.
    Domain(String, u16),
}

impl TargetAddr {
    /// The destination port.
    pub fn port(&self) -> u16 {
        match self {
            Self::Ip(addr) => addr.port(),
            Self::Domain(_, port) => *port,
        }
    }
}

/// `host:port`, IPv6 addresses in brackets (`[::1]:22`).
impl fmt::Display for TargetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(addr) => write!(f, "{addr}"),
            Self::Domain(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

/// A client's `CONNECT` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The destination.
    pub target: TargetAddr,
}

/// The REP field of a reply (RFC 1928 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReplyCode {
    /// The tunnel is open.
    Succeeded = 0x00,
    /// Anything without a better code, including malformed requests.
    GeneralFailure = 0x01,
    /// Policy forbids this user this target.
    NotAllowed = 0x02,
    /// The target's network cannot be reached.
    NetworkUnreachable = 0x03,
    /// The target host cannot be reached.
    HostUnreachable = 0x04,
    /// The target refused the connection.
    ConnectionRefused = 0x05,
    /// The connection attempt timed out.
    TtlExpired = 0x06,
    /// The command is not `CONNECT`.
    CommandNotSupported = 0x07,
    /// The address type is none of IPv4, domain, IPv6.
    AddressTypeNotSupported = 0x08,
}

impl From<ReplyCode> for u8 {
    fn from(code: ReplyCode) -> Self {
        code as u8
    }
}

impl TryFrom<u8> for ReplyCode {
    /// The unknown byte.
    type Error = u8;

    fn try_from(byte: u8) -> Result<Self, u8> {
        Ok(match byte {
            0x00 => Self::Succeeded,
            0x01 => Self::GeneralFailure,
            0x02 => Self::NotAllowed,
            0x03 => Self::NetworkUnreachable,
            0x04 => Self::HostUnreachable,
            0x05 => Self::ConnectionRefused,
            0x06 => Self::TtlExpired,
            0x07 => Self::CommandNotSupported,
            0x08 => Self::AddressTypeNotSupported,
            other => return Err(other),
        })
    }
}
