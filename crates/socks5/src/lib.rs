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
//!   [`TargetAddr`]), the reply's [`ReplyCode`] and the protocol's byte codes ([`VERSION`] …).
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

pub use encode::{encode_auth_status, encode_method_selection, encode_reply, MAX_REPLY_LEN};
pub use error::Socks5Error;
pub use message::{
    Credentials, Greeting, ReplyCode, Request, TargetAddr, ATYP_DOMAIN, ATYP_IPV4, ATYP_IPV6,
    AUTH_VERSION, CMD_CONNECT, METHOD_NO_ACCEPTABLE, METHOD_NO_AUTH, METHOD_USERNAME_PASSWORD,
    VERSION,
};
pub use parse::{parse_credentials, parse_greeting, parse_request, Parsed, MAX_MESSAGE_LEN};
/// The password's type, re-exported so that users of [`Credentials`] need no other import.
pub use portcullis_domain::secret::Secret;
