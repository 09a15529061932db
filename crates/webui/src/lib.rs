//! The web rules the hub's portal and the connector's admin UI share, kept in one place so
//! that both apply them alike and look alike.
//!
//! # Layout
//! - [`password`]: argon2id hashes, the password rules, one-time passwords.
//! - [`throttle`]: failed sign-ins slow down per user and per address.
//! - [`csrf`]: CSRF tokens derived from a session's secret, checked in constant time.
//! - [`form`]: reading a posted form and its CSRF field.
//! - [`cookies`]: reading a cookie; the `__Host-` session cookie's `Set-Cookie`.
//! - [`headers`]: the strict Content-Security-Policy and the other security headers.
//! - [`sanitize`]: the small HTML subset an administrator may write for all to read.
//! - [`assets`]: the vendored htmx, the base stylesheet, script and logo, embedded.
//! - [`time_text`]: times as the pages show them.
//! - [`serve`]: one HTTPS connection: TLS within the pre-auth deadline, then HTTP/1.1 or 2.
#![forbid(unsafe_code)]

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod form;
pub mod headers;
pub mod openmetrics;
pub mod password;
pub mod sanitize;
pub mod serve;
pub mod throttle;
pub mod time_text;
