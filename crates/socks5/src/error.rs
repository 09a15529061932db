//! [`Socks5Error`]: every way a SOCKS5 handshake fails, with the reply each one gets.
//!
//! The parsers raise the protocol variants. A few variants ([`NoAcceptableMethod`],
//! [`AuthenticationFailed`], [`Timeout`], [`Closed`], [`Io`]) are raised only by a driver that
//! reads and writes a stream (the hub's SOCKS5 entry); they live here too, so that one enum
//! names every way a handshake ends and a driver needs no wrapper around it.
//!
//! [`NoAcceptableMethod`]: Socks5Error::NoAcceptableMethod
//! [`AuthenticationFailed`]: Socks5Error::AuthenticationFailed
//! [`Timeout`]: Socks5Error::Timeout
//! [`Closed`]: Socks5Error::Closed
//! [`Io`]: Socks5Error::Io

use std::io;

use crate::message::ReplyCode;

/// Why a SOCKS5 handshake failed.
///
/// Every variant except [`Io`](Self::Io) is the client's fault (a broken or hostile client, a
/// non-SOCKS5 client, or one that gave up); `Io` may be either side's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Socks5Error {
    /// VER of a greeting or request is not 5: a SOCKS4 client sends 4, an HTTP client pointed
    /// at the port sends a letter. No reply is sent: the client would not understand it.
    #[error("client speaks SOCKS version {got}, not 5")]
    UnsupportedVersion {
        /// The version byte received.
        got: u8,
    },
    /// The greeting's NMETHODS is 0: the client offers nothing to choose from.
    #[error("greeting offers no authentication method")]
    NoMethods,
    /// The client does not offer username/password, which the hub requires. A driver answers
    /// `0xFF`, "no acceptable method" ([`encode_method_selection`](crate::encode_method_selection)).
    #[error("client does not offer username/password authentication")]
    NoAcceptableMethod,
    /// VER of the username/password sub-negotiation is not 1.
    #[error("username/password sub-negotiation version {got}, not 1")]
    UnsupportedAuthVersion {
        /// The version byte received.
        got: u8,
    },
    /// ULEN is 0; RFC 1929 requires 1 to 255 bytes.
    #[error("empty username")]
    EmptyUsername,
    /// PLEN is 0; RFC 1929 requires 1 to 255 bytes.
    #[error("empty password")]
    EmptyPassword,
    /// The username is not valid UTF-8.
    #[error("username is not UTF-8")]
    UsernameNotUtf8,
    /// The username contains a control character, which could forge lines in audit logs.
    #[error("username contains a control character")]
    UsernameControlChar,
    /// The driver's verifier rejected the credentials; the failure status was sent.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// CMD is not `CONNECT` (`BIND` = 2, `UDP ASSOCIATE` = 3, or unknown). Reply: 0x07.
    #[error("unsupported command {command:#04x}")]
    UnsupportedCommand {
        /// The command byte received.
        command: u8,
    },
    /// RSV is not 0. Reply: 0x01, RFC 1928 has nothing closer.
    #[error("reserved byte is {got:#04x}, not 0")]
    NonZeroReserved {
        /// The reserved byte received.
        got: u8,
    },
    /// ATYP is none of 1, 3, 4. Reply: 0x08.
    #[error("unsupported address type {atyp:#04x}")]
    UnsupportedAddressType {
        /// The address type byte received.
        atyp: u8,
    },
    /// The domain name has length 0. Reply: 0x01 — 0x08 would wrongly tell the client that
    /// domain names are unsupported and invite it to resolve locally (leaking the lookup).
    #[error("empty domain name")]
    EmptyDomain,
    /// The domain name contains a byte that is not an ASCII letter, digit, `-`, `.` or `_`
    /// and is not an IP literal. Reply: 0x01, for the same reason as [`EmptyDomain`](Self::EmptyDomain).
    #[error("domain name contains invalid byte {byte:#04x}")]
    InvalidDomain {
        /// The first offending byte.
        byte: u8,
    },
    /// The deadline passed before the step finished. The stream is mid-message: drop it.
    #[error("SOCKS5 handshake timed out")]
    Timeout,
    /// The client closed the connection in the middle of a message.
    #[error("client closed the connection mid-handshake")]
    Closed,
    /// Reading or writing the stream failed.
    #[error("I/O error during SOCKS5 handshake: {0}")]
    Io(#[source] io::Error),
}

impl Socks5Error {
    /// The reply to send the client for this error, if the protocol has a place for one.
    ///
    /// Only errors found in a request map to a code; the caller encodes it with
    /// [`encode_reply`](crate::encode_reply) and sends it.
    /// Errors before the request either got their answer from the driver (`0xFF`, auth failure
    /// status) or come from a client that would not understand one.
    pub fn reply_code(&self) -> Option<ReplyCode> {
        match self {
            Self::UnsupportedCommand { .. } => Some(ReplyCode::CommandNotSupported),
            Self::UnsupportedAddressType { .. } => Some(ReplyCode::AddressTypeNotSupported),
            Self::NonZeroReserved { .. } | Self::EmptyDomain | Self::InvalidDomain { .. } => {
                Some(ReplyCode::GeneralFailure)
            }
            _ => None,
        }
    }
}

impl From<io::Error> for Socks5Error {
    fn from(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::UnexpectedEof {
            Self::Closed
        } else {
            Self::Io(err)
        }
    }
}
