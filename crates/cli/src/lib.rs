//! The `portcullis` command's library half: what the binary wires together, reusable by the
//! end-to-end tests. The hub API client is `portcullis-client`.
//!
//! # Layout
//! - [`admin`]: `portcullis admin …` verbs.
//! - [`audit`]: `portcullis audit list|verify|export`, and the offline check of an export.
//! - [`connect`]: `portcullis connect`, local port forwarding over WebSockets.
//! - [`connector_admin`]: `portcullis connector windows|close-window`, through the running
//!   connector's local admin socket.
//! - [`connector_backup`]: `portcullis connector backup|restore`, the password and progress.
//! - [`connector_monitor`]: `portcullis connector monitor hardware|usage|connections|reset`.
//! - [`connector_socket`]: one request to the running connector through its admin socket.
//! - [`demo`]: demo back ends (TCP echo, HTTP) for quickstart and tests.
//! - [`hub_backup`]: `portcullis hub backup|restore`, with the connector's password and
//!   progress.
//! - [`niping`]: `portcullis niping`, SAP's niping (NI echo server and timing client) with
//!   niping's option letters.
//! - [`quickstart`]: hub + connector + demo back ends in one process.
//! - [`output`]: tables for people, `--json` for programs.
//! - [`signal`]: Ctrl-C / SIGTERM for long-running commands.
//! - [`system_certificate`]: `portcullis connector system-certificate generate|import`, the
//!   connector's TLS client certificate towards back ends as PEM files.
//! - [`router`]: `portcullis router`, SAProuter's command line.
//! - [`remote`]: `portcullis user|system|connection-type|connection|window|grant|summary`,
//!   the remote-connection API (systems, service connections, windows, grants).
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod connect;
pub mod connector_admin;
pub mod connector_audit;
pub mod connector_backup;
pub mod connector_monitor;
pub mod connector_sessions;
pub mod connector_socket;
pub mod connector_trust;
pub mod demo;
pub mod healthcheck;
pub mod hub_backup;
pub mod niping;
pub mod output;
pub mod quickstart;
pub mod remote;
pub mod router;
pub mod signal;
pub mod system_certificate;
