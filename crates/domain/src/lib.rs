//! Pure domain rules: no I/O, no clocks. Each check returns a permit that the privileged
//! operation takes as an argument, so skipping the check does not compile.
//!
//! # Layout
//! - [`target`]: parsing `host:port` and `host:port-port` as users write them.
//! - [`access`]: the connector's access control list and its evaluator ([`access::AccessPermit`]).
#![forbid(unsafe_code)]

pub mod access;
pub mod target;
