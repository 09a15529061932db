//! The hub ⇄ connector wire format. No I/O and no clocks: bytes in, messages out.
//!
//! # Layout
//! - [`preface`]: the 8-byte versioned preface each side sends first on a tunnel.
//! - [`enroll`]: the enrolment token format and the enrolment request/response bodies.
//! - [`frame`]: the length-prefixed frame (`u32` length, `u8` kind, JSON body) and its codec.
//! - [`message`]: every message that crosses the tunnel: handshake, control, stream open.
//! - [`version`]: the hub's version policy (minimum version, sunset warnings).
//!
//! # Why this shape
//! A tunnel starts with the preface and one framed handshake exchange (`Hello` →
//! `Welcome` | `Reject`) *before* the stream multiplexer starts, so a connector that is too old,
//! or speaks another wire version, gets a structured answer it can log even if the multiplexer
//! changes in a later wire version. After the handshake the same frames carry the control channel
//! and the first message of every stream (`StreamOpen` / `StreamReply`). `docs/protocol.md` is
//! the specification; this crate is its implementation.
#![forbid(unsafe_code)]

pub mod enroll;
pub mod frame;
pub mod message;
pub mod preface;
pub mod version;

pub use frame::{DecodeError, MAX_FRAME_LEN};
pub use message::*;
pub use preface::{Preface, PREFACE_LEN, WIRE_VERSION};
