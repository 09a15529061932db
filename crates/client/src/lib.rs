//! A typed client for the Portcullis hub's REST API: HTTPS, trusting only the hub's CA, JSON
//! in and out, every failure a named [`ClientError`].
//!
//! ```ignore
//! let hub = ApiClient::new("https://hub.example.com:8443", &ca_pem, Some(token))?;
//! let acme = hub.create_company("acme").await?;
//! let system = hub.create_system("acme", &data).await?;
//! let window = hub.open_window(sc.id, &OpenWindow::now("Bob, +49 30 1234")).await?;
//! ```
//!
//! It depends on neither the hub nor its store, so any program that talks to a hub (the
//! `portcullis` CLI, the tests, a customer's script) can use it without building them; the
//! types it shares with the hub come from `portcullis-proto` and `portcullis-domain`.
//!
//! # Layout
//! - [`http`]: [`ApiClient`], the connection to the hub (URL, CA, token) and the untyped
//!   calls: `get`/`post`/… decoding any JSON, `raw` returning status and body as they came,
//!   and `download` for answers too big to hold.
//! - [`api`]: the typed calls, one per operation (`create_company`, `open_window`,
//!   `list_audit` …).
//! - [`views`]: what the hub answers (company, user, token, connector, system, service
//!   connection, window, grant, summary, audit event …).
//! - [`requests`]: the request bodies.
//! - [`error`], [`ClientError`]: every way a call fails.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod http;
pub mod requests;
pub mod views;

pub use self::http::{parse_hub_url, ApiClient};
/// HTTP status codes, as [`ClientError::status`] and the raw calls give them.
pub use ::http::StatusCode;
pub use error::ClientError;
