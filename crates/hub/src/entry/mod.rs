//! Entry points engineers and cloud applications connect to.
//!
//! # Layout
//! - [`socks5`]: the thin async driver over the sans-IO SOCKS5 codec (`portcullis-socks5`).
//! - [`socks5_server`]: the SOCKS5 entry (location = user, token = password).
//! - [`http_proxy`]: the HTTP CONNECT proxy entry.
//! - [`ni`]: the NI entry for SAP route strings (SAP GUI, niping, pysap).
//! - [`web`]: the web entry: HTTP service connections in a browser, through one-time links.
//! - [`web_pages`]: the web entry's login and logout forms, CSRF, and where redirects may go.
//! - [`web_banner`]: the banner on a service's pages (system, window end, sign-out) and its
//!   stylesheet.
//! - [`listener`]: the accept loop with its pre-auth slots (`portcullis_transport::preauth`),
//!   shared by every listener of the hub (the entries, the API and the tunnel).

pub mod http_proxy;
pub mod listener;
pub mod ni;
pub mod socks5;
pub mod socks5_server;
pub mod web;
pub mod web_banner;
pub mod web_pages;
