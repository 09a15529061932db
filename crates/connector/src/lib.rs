//! The Portcullis connector: the agent a company runs inside its own network.
//!
//! It dials **out** to the vendor's hub (TLS 1.3, mutual authentication, the hub CA pinned),
//! optionally through an HTTP CONNECT proxy, and keeps that one tunnel up. Through it the hub
//! opens a stream per session; the connector checks each against its own view of the time
//! window the stream names (or the standing grant) and its own access control list (the
//! customer's key), dials the internal system directly, relays bytes and writes its own
//! hash-chained audit log. The customer opens no inbound port.
//!
//! # Layout
//! - [`config`]: the TOML configuration, parsed once into validated types; [`config::example`].
//! - [`data_dir`]: [`data_dir::ConnectorDataDir`], every file the connector keeps, named once.
//! - [`identity`]: client certificate, key, pinned CA and enrolment facts under `data_dir/identity/`.
//! - [`enroll`](mod@enroll): one-time-token enrolment over HTTPS pinned by the token's CA fingerprint.
//! - [`audit`]: the append-only, hash-chained audit log and its verifier.
//! - [`backup`]: `connector backup|restore`: one password-encrypted file (age, a tar with a
//!   manifest) of the configuration and the data directory, checked before it is restored.
//! - [`run`](mod@run): the agent loop ([`run()`], [`spawn`]), reconnect back-off.
//! - [`status`]: what the agent publishes about itself ([`Status`], [`State`]).
//! - [`tunnel`]: one established tunnel: multiplexer driver, control channel, heartbeats.
//! - [`session`]: one stream: window rule, access check, [`session::dial`] (takes a permit),
//!   relay, audit.
//! - [`windows`]: the window table the hub feeds and the window rule ([`windows::check`]);
//!   sans-IO, time passed in.
//! - [`local`]: the admin socket `data_dir/connector.sock` (mode 0600) for
//!   `portcullis connector windows` and `close-window`; its wire types in [`local::protocol`].
//! - `ops` (private): the admin's operations (status, windows, closing one, monitoring,
//!   reachability, access and trust-store edits) with typed results and errors; the socket,
//!   and later a web UI or REST API, call them.
//! - `config_file` (private): reading the configuration file for an edit, checking and
//!   replacing it.
//! - `http` (private): HTTP processing for `http` entries: resources, host header, redirects
//!   and cookies mapped back, WebSocket upgrades.
//! - [`admin`]: the admin UI and REST API on `[admin] listen` (HTTPS, self-signed at first
//!   start): the file user store with its initial `Administrator`, roles and the one permit
//!   check, the hub connection and windows pages, `/api/v1`; on the same operations.
//! - [`access_edit`]: export, import and remove `[[access]]` entries in the configuration file.
//! - `backend` (private): dialling a back end with an access permit, plain or TLS.
//! - [`backend_tls`]: TLS to back ends: trust store, trust all, system certificate, and the
//!   material in force (replaced on reload).
//! - [`pkcs12`]: a PKCS#12 file turned into the system certificate's PEM chain and key.
//! - [`monitor`]: per-request records of HTTP entries (recent, slowest, buckets, usage), the
//!   hardware sampler and its 24-hour history, back-end connections, SVG charts.
//! - [`reach`]: reachability checks of access control entries.
//! - `reload` (private): live reload of `[[access]]` from the configuration file.
//! - `live` (private): the registry of live sessions and the window table, re-checked when the
//!   list or a window changes, and the timer that ends sessions when their window's end passes.
//! - `acl` (private): the access list as held at run time (versioned snapshots), the
//!   inventory the hub is told and its frame length.
//! - `shared` (private): the state the tasks share (ACL snapshots, status, audit, the outbox of
//!   window closes for the hub).
//! - `outbox` (private): the window closes made at the connector that the hub has not
//!   confirmed, kept in `data_dir/closed-windows.json` (mode 0600, replaced atomically) so a
//!   restart neither reopens those windows nor keeps the hub from hearing of them.
//!
//! # Audit actions
//! `session.refused`, `session.start`, `session.end` (with `cause`, an
//! [`EndCause`](portcullis_domain::cause::EndCause) code, `fault` when the end was a failure,
//! and the human `ended_by`: `access removed`, `window closed by hub`, `window expired`,
//! `window closed at connector by …`, `tunnel lost`, `connector shutdown` …), `tunnel.connected`, `tunnel.disconnected`, `acl.reloaded`,
//! `window.closed` (by the hub or at the connector), `monitoring.reset`. See [`audit::AuditAction`].
//!
//! # Shutdown
//! Cancelling the `shutdown` token stops accepting streams (the hub gets `Goodbye` and an
//! HTTP/2 GOAWAY), gives live sessions [`tunnel::DRAIN_GRACE`] to finish, then cuts the rest;
//! every session's end is audited either way.
#![forbid(unsafe_code)]

pub mod access_edit;
mod acl;
pub mod admin;
pub mod alerts;
mod alerts_watch;
pub mod audit;
mod backend;
pub mod backend_tls;
pub mod backup;
pub mod config;
mod config_file;
pub mod data_dir;
pub mod enroll;
mod health;
mod http;
pub mod identity;
pub mod live;
pub mod local;
pub mod monitor;
mod ops;
mod outbox;
pub mod pkcs12;
pub mod reach;
mod reload;
mod renewal;
pub mod run;
pub mod session;
mod shared;
pub mod status;
pub mod system_cert;
pub mod trust_edit;
pub mod tunnel;
pub mod windows;

pub use config::{example, ConfigError, ConnectorConfig};
pub use enroll::{enroll, enroll_via, EnrollError};
pub use identity::{Enrollment, Identity, IdentityError};
pub use run::{run, spawn, ConnectorError, RunningConnector, State, Status};
