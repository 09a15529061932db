//! A SAProuter-compatible router (`portcullis router`).
//!
//! # Layout
//!
//! * `io`: NI frames over async streams, with a size limit checked before allocating.
//! * `client`: the client side of routing (connect through a route string, version query),
//!   also what a router uses to forward a route to the next router.
//! * `niping`: SAP's niping test tool, server (echo every NI frame) and client (send buffers
//!   directly or through a route string, check and time each echo, niping's report).
//! * `table`: the route permission table (`saprouttab`): parsed once into validated entries
//!   with errors that name the line and column, then matched first-match-wins, default deny
//!   (sap-reference §1.2). A permitted route yields a `table::Permit`.
//! * `config`: the router's options (SAProuter's `-R -S -H -G -C -W …`) as a value.
//! * `server`: [`Router`]: start-up checks, the accept loop, reload, soft shutdown.
//! * `handshake`: the start of every NI connection (version requests, pings, the first
//!   request) and the error payload; shared with the hub's NI entry.
//! * `session`: one connection until its first request; `route` and `admin` take it from
//!   there.
//! * `clients`: the client table (ids for `-c`, records for `-l`, the `-C` limit).
//! * `logfile`: the `-G` log file in SAProuter's line format and the `-T` trace file.
//! * `tls`: TLS hops between routers, the replacement for SNC.
//! * `admin_client`: what `portcullis router -s/-p/-l/-n/-t/-c/-z` sends to a running router.

mod admin;
pub mod admin_client;
pub mod client;
pub mod clients;
pub mod config;
pub mod handshake;
pub mod io;
pub mod logfile;
pub mod niping;
mod route;
pub mod server;
mod session;
pub mod table;
pub mod tls;

pub use config::{RouterConfig, TlsFiles};
pub use server::{Router, StartError};
