//! Persistent state of the Portcullis hub behind one backend-neutral trait, [`Store`].
//!
//! The hub holds an `Arc<dyn Store>` and never sees SQL. SQLite (WAL) is the embedded
//! default; a PostgreSQL backend for multi-node hubs will implement the same trait with its
//! own migrations and must pass the same [`conformance`] suite.
//!
//! # Layout
//!
//! * [`store`] — the [`Store`] trait and the contract of each method.
//! * [`tx`] — [`StoreTx`], one write transaction: an action's changes and its audit events,
//!   committed together.
//! * [`model`] — companies, roles, API tokens and their scopes, connectors, enrollment tokens.
//!   Secret hashes are masked in `Debug` and never serialized.
//! * [`remote`] — users, systems, connection types, service connections, windows, grants
//!   (the remote-connection part; their rules live in `portcullis_domain`).
//! * [`audit`] — audit events, the list filter, and the hash-chain rule ([`audit_hash`]),
//!   public so other components can verify an exported log.
//! * [`millis`] — the stored time format (unix milliseconds) and conversions.
//! * [`error`] — [`StoreError`], one variant per cause.
//! * [`open`](mod@open) — [`StoreConfig`] and [`open()`]: the one place that picks a backend.
//! * [`sqlite`] — [`SqliteStore`]; its schema lives in `migrations/sqlite/` and is embedded
//!   at build time.
//! * `conformance` (feature `conformance`) — the backend-neutral behaviour suite,
//!   `conformance::run_all`, compiled only for the test suites that run it, so the production
//!   library carries no test code.
//!
//! # Conventions
//!
//! * Times are stored as integer unix milliseconds, so every time read back is UTC with
//!   sub-millisecond precision dropped ([`millis::truncate`]).
//! * The store hashes nothing secret and checks no secret: callers hash token secrets
//!   themselves and compare in constant time.
//! * "Already revoked" and "unknown" are answered with `false` by the revoke methods, so
//!   revoking is idempotent for callers that retry.

#![forbid(unsafe_code)]

pub mod audit;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
pub mod millis;
pub mod model;
pub mod open;
pub mod remote;
pub mod sqlite;
pub mod store;
pub mod system_page;
pub mod tx;

pub use audit::{
    audit_hash, canonical_json, AuditEvent, AuditFilter, AuditHashInput, NewAuditEvent,
    GENESIS_HASH, MAX_AUDIT_LIMIT,
};
pub use error::StoreError;
pub use model::{
    ApiToken, Company, Connector, EnrollmentToken, Id, NewApiToken, NewEnrollmentToken, OidcConfig,
    ParseRoleError, ParseScopeError, Redemption, Role, TokenScope,
};
pub use open::{open, StoreConfig};
pub use remote::{
    ConnectionType, Grant, NewServiceConnection, NewUser, NewWindow, PasswordRecord,
    ServiceConnection, System, TotpRecord, User, Window,
};
pub use sqlite::SqliteStore;
pub use store::Store;
pub use system_page::{SystemGroup, SystemPage, SystemPageQuery, SystemSort};
pub use tx::StoreTx;
