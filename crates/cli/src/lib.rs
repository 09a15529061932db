//! The `portcullis` command's library half: what the binary wires together, reusable by the
//! end-to-end tests.
//!
//! # Layout
//! - [`client`]: HTTPS JSON client for the hub API (pinned CA).
//! - [`admin`]: `portcullis admin …` verbs.
//! - [`connect`]: `portcullis connect`, local port forwarding over WebSockets.
//! - [`demo`]: demo back ends (TCP echo, HTTP) for quickstart and tests.
//! - [`quickstart`]: hub + connector + demo back ends in one process.
#![forbid(unsafe_code)]

pub mod admin;
pub mod client;
pub mod connect;
pub mod demo;
pub mod quickstart;
