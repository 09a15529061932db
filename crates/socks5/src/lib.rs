//! SOCKS5 (RFC 1928) `CONNECT` with username/password authentication (RFC 1929), server side,
//! as pure data: parsers for what clients send and encoders for what the server answers.
//!
//! Engineers point ordinary tools (curl, browsers, database clients, `ssh -o ProxyCommand`) at
//! the hub's SOCKS5 port. Every session must be attributable to a person, so the hub *requires*
//! username/password authentication and never selects "no authentication" (`0x00`), and only
//! `CONNECT` is offered: `BIND` and `UDP ASSOCIATE` would open paths the hub cannot audit.
//!
//! No sockets, no clocks: the bytes come from whoever drives the codec (the hub's SOCKS5 entry,
//! the fuzz target `fuzz/fuzz_targets/socks5.rs`), which is why this is a crate of its own —
//! fuzzing and testing it builds neither tokio nor the hub.
//!
//! # Layout
//! - [`parse`]: sans-IO parsers for what clients send — [`parse_greeting`],
//!   [`parse_credentials`], [`parse_request`] — over `&[u8]`, returning [`Parsed`].
//! - [`encode`]: encoders for what the server sends — [`encode_method_selection`],
//!   [`encode_auth_status`], [`encode_reply`].
//! - [`message`]: the messages ([`Greeting`], [`Credentials`], [`Request`] with its
//!   [`TargetAddr`]) and the reply's [`ReplyCode`].
//! - [`error`]: [`Socks5Error`], with the reply code a server answers each error with.
//!
//! # Incremental parsing
//! A parser given a prefix of a message answers [`Parsed::Incomplete`] with `needed`, the
//! number of bytes it must see *at least* before it can say more. `needed` never reaches past
//! the end of the message, so a reader that reads exactly `needed` more bytes and asks again
//! never consumes a byte of what follows. That is how a driver leaves data a client pipelines
//! after its request (optimistic data, e.g. a TLS ClientHello) in the stream for its caller.
//!
//! # When errors are reported
//! Structural errors — wrong version, unknown address type — are reported as soon as the
//! offending byte arrives, because the rest of the message cannot be framed. Semantic errors —
//! unsupported command, empty or invalid fields — are reported only once the whole message is
//! in. That way the error reply the caller sends is not lost: closing a TCP socket with unread
//! bytes in its receive buffer sends a reset, which can destroy the reply before the client
//! reads it.
#![forbid(unsafe_code)]

pub mod encode;
pub mod error;
pub mod message;
pub mod parse;

pub use encode::{encode_auth_status, encode_method_selection, encode_reply};
pub use error::Socks5Error;
pub use message::{Credentials, Greeting, ReplyCode, Request, TargetAddr};
pub use parse::{parse_credentials, parse_greeting, parse_request};
/// The password's type, re-exported so that users of [`Credentials`] need no other import.
pub use portcullis_domain::secret::Secret;

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

/// Largest client message in bytes: credentials with a 255-byte username and password
/// (`1 + 1 + 255 + 1 + 255`). Length fields are single bytes, so nothing can claim more; a
/// driver can read into a fixed buffer of this size and never allocate from a length field.
pub const MAX_MESSAGE_LEN: usize = 513;
/// Largest reply [`encode_reply`] writes: an IPv6 bound address (`4 + 16 + 2`).
pub const MAX_REPLY_LEN: usize = 22;

/// Result of feeding bytes to a sans-IO parser.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Parsed<T> {
    /// A whole message was parsed from the front of the input.
    Complete {
        /// The message.
        message: T,
        /// Bytes of the input it took; anything after them belongs to the next message.
        consumed: usize,
    },
    /// The input is a valid prefix of a message but ends too early.
    Incomplete {
        /// At least this many more bytes are required (always ≥ 1). Reading exactly this many
        /// never reads past the end of the message.
        needed: usize,
    },
}
