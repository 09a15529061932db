//! The SAP NI (Network Interface) protocol as SAProuter, SAP GUI, niping and pysap speak it:
//! message framing, `NI_PING`/`NI_PONG`, route requests and route strings, `NI_RTERR` errors
//! and control messages, and `ROUTER_ADM` administration with its information response.
//!
//! Pure data: no sockets, no clocks. Every decoder takes untrusted bytes and returns an
//! [`NiError`] naming what is wrong instead of panicking, never allocates for a length field
//! before the bytes it announces are there, and every value it returns encodes back to bytes
//! that decode to the same value (`fuzz/fuzz_targets/ni_decode.rs` checks both). Byte layouts
//! follow `sap-reference.md` §1.3–§1.7 and §1.10; where those facts are unverified the
//! choice made is documented on the item.
//!
//! # Layout
//!
//! * [`mod@frame`]: the 4-byte length prefix, keep-alive payloads, the first-message size limit.
//! * [`message`]: [`Message::parse`] classifies one payload by its eye catcher.
//! * [`route`]: `NI_ROUTE` requests ([`RouteRequest`], [`Hop`], [`TalkMode`]), their
//!   validation and the next-hop arithmetic a router needs.
//! * [`route_string`]: user input such as `/H/router/W/pass/H/target/S/sapdp00`.
//! * [`rterr`]: `NI_RTERR` error and control messages, [`ErrorInfo`] (the `*ERR*` block) and
//!   the [`ReturnCode`] catalogue.
//! * [`admin`]: `ROUTER_ADM` administration requests.
//! * [`info`]: the information response (`saprouter -l`).
//! * [`niping`]: niping's test payload.
//! * [`service`]: service names (`sapdp00`) to ports.
//! * [`error`]: [`NiError`], with the return code a router answers each error with.

pub mod admin;
pub mod error;
mod error_info;
pub mod frame;
pub mod info;
pub mod message;
pub mod niping;
pub mod return_code;
pub mod route;
pub mod route_string;
pub mod rterr;
pub mod service;
mod wire;

pub use admin::{AdminCommand, AdminRequest};
pub use error::NiError;
pub use frame::{decode_frame, encode_frame, frame, MAX_ROUTE_MESSAGE};
pub use info::{ClientRecord, InfoResponse, ServerRecord};
pub use message::Message;
pub use return_code::ReturnCode;
pub use route::{Hop, RouteRequest, TalkMode};
pub use route_string::RouteString;
pub use rterr::{ErrorContext, ErrorInfo, RtErr, RtErrKind};
