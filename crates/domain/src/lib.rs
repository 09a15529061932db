//! Pure domain rules: no I/O, no clocks. Each check returns a permit that the privileged
//! operation takes as an argument, so skipping the check does not compile.
//!
//! # Layout
//! - [`http_path`]: what an HTTP request target means: one canonical path, or a refusal.
//! - [`target`]: parsing `host:port` and `host:port-port` as users write them.
//! - [`access`]: the connector's access control list and its evaluator ([`access::AccessPermit`]).
//! - [`authz`]: roles, a company's authorizations, and [`authz::authorize`], which hands out the
//!   [`authz::Permit`] every API operation takes.
//! - [`system`]: a customer's systems and the rules their fields follow.
//! - [`system_filter`]: the systems list's filter syntax (`prd NOT status:inactive`).
//! - [`conntype`]: the connection-type catalogue and service-connection targets.
//! - [`naming`]: how entry points name a service connection (`ssh.prd.acme.portcullis`).
//! - [`window`]: open, reserve, edit and close time windows; state computed from the clock.
//! - [`cause`]: why a session ended ([`cause::EndCause`]) and who was at fault ([`cause::Fault`]),
//!   one vocabulary for hub and connector.
//! - [`secret`]: [`secret::Secret`], a value masked in every `Debug` (and without `Display`).
#![forbid(unsafe_code)]

pub mod access;
pub mod authz;
pub mod cause;
pub mod conntype;
pub mod http_path;
pub mod naming;
pub mod secret;
pub mod system;
pub mod system_filter;
pub mod target;
pub mod window;
