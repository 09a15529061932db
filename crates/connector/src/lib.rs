//! The Portcullis connector: the agent a company runs inside its own network.
//!
//! It dials **out** to the vendor's hub (TLS 1.3, mutual authentication, the hub CA pinned),
//! optionally through an HTTP CONNECT proxy, and keeps that one tunnel up. Through it the hub
//! opens a stream per session; the connector checks each against its own access control list
//! (the customer's key), dials the internal system directly, relays bytes and writes its own
//! hash-chained audit log. The customer opens no inbound port.
//!
//! # Layout
//! - [`config`]: the TOML configuration, parsed once into validated types; [`config::example`].
//! - [`identity`]: client certificate, key, pinned CA and enrolment facts under `data_dir/identity/`.
//! - [`enroll`]: one-time-token enrolment over HTTPS pinned by the token's CA fingerprint.
//! - [`audit`]: the append-only, hash-chained audit log and its verifier.
//! - [`run`]: the agent loop ([`run()`], [`spawn`]), reconnect back-off, [`Status`].
//! - [`tunnel`]: one established tunnel: multiplexer driver, control channel, heartbeats.
//! - [`session`]: one stream: access check, [`session::dial`] (takes a permit), relay, audit.
//! - `reload` (private): live reload of `[[access]]` from the configuration file.
//! - `live` (private): the registry of live sessions, re-checked when the list changes.
//! - `shared` (private): the state the tasks share (ACL snapshots, status, audit).
//!
//! # Shutdown
//! Cancelling the `shutdown` token stops accepting streams (the hub gets `Goodbye` and an
//! HTTP/2 GOAWAY), gives live sessions [`tunnel::DRAIN_GRACE`] to finish, then cuts the rest;
//! every session's end is audited either way.
#![forbid(unsafe_code)]

pub mod audit;
pub mod config;
pub mod enroll;
pub mod identity;
mod live;
mod reload;
pub mod run;
pub mod session;
mod shared;
pub mod tunnel;

pub use config::{example, ConfigError, ConnectorConfig};
pub use enroll::{enroll, enroll_via, EnrollError};
pub use identity::{Enrollment, Identity, IdentityError};
pub use run::{run, spawn, ConnectorError, RunningConnector, State, Status};
