//! The one error type every [`Store`](crate::Store) method returns.
//!
//! Callers branch on the variant (an API maps `Conflict` to 409, `NotFound` to 404, the
//! enrollment variants to distinct refusals), so each cause has its own variant and the
//! backend's own error is kept only as a `source` for logs — it never reaches a client.

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record the operation names, or one it refers to, does not exist. The payload says
    /// which kind of record (`"company"`, `"connector"`, `"enrollment token"`, …).
    #[error("{0} not found")]
    NotFound(&'static str),

    /// A uniqueness rule would be broken (a company name, a token's public id, a connector's
    /// company + location, a certificate fingerprint). The message names the rule, never a
    /// secret.
    #[error("conflict: {0}")]
    Conflict(String),

    /// The enrollment token exists and is unused but its `expires_at` is not after `now`.
    #[error("enrollment token expired")]
    Expired,

    /// The enrollment token was consumed before. A second use is worth an alert: either a
    /// retry after a lost response or a replayed token.
    #[error("enrollment token already used")]
    AlreadyUsed,

    /// The operation needs a live record but it has been revoked (for example enrolling, or
    /// recording a certificate for, a revoked connector). The payload names the record kind.
    #[error("{0} is revoked")]
    Revoked(&'static str),

    /// [`Store::verify_audit_chain`](crate::Store::verify_audit_chain) found the first event
    /// whose sequence number, `prev_hash` or `hash` does not follow from its predecessor.
    /// Everything from `seq` on is untrustworthy.
    #[error("audit chain broken at seq {seq}")]
    AuditChainBroken {
        /// Sequence number of the first event that fails verification.
        seq: i64,
    },

    /// A stored value cannot be turned back into its Rust type (an unknown role, a timestamp
    /// out of range, audit detail that is not JSON). Means the database was edited outside
    /// the store or by an incompatible version.
    #[error("corrupt stored data in {column}: {reason}")]
    Corrupt {
        /// `table.column` holding the bad value.
        column: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The disk holding the database is full (SQLite's `SQLITE_FULL`, PostgreSQL's
    /// `disk_full`): the write was rolled back and nothing of it is stored. Reads still work,
    /// and writes succeed again once space is freed; an API answers 503 `storage_full`.
    #[error("the database's storage is full; the write was not stored")]
    StorageFull(#[source] sqlx::Error),

    /// The database could not be reached or answered with an error the store does not
    /// translate into one of the variants above.
    #[error("database error")]
    Database(#[source] sqlx::Error),

    /// A file of a local database (its path given) could not be created or made private.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// Applying the embedded schema migrations failed (for example the database was migrated
    /// by a newer version whose migrations this binary does not know).
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    /// Every backend error enters the store's vocabulary here, so a full disk is recognised
    /// wherever it happens (a statement, a commit, a migration's table write).
    fn from(e: sqlx::Error) -> Self {
        if is_storage_full(&e) {
            StoreError::StorageFull(e)
        } else {
            StoreError::Database(e)
        }
    }
}

/// `SQLITE_FULL` (result code 13; SQLite also reports `ENOSPC` from `write(2)` this way) or
/// PostgreSQL's SQLSTATE `53100 disk_full`.
fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("13" | "53100")),
        _ => false,
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

/// Translates constraint violations, which every backend reports through
/// [`sqlx::error::ErrorKind`], into the store's own variants. Kept backend-neutral so the
/// PostgreSQL backend can share it.
pub(crate) fn map_constraint(
    e: sqlx::Error,
    on_unique: impl FnOnce() -> String,
    on_missing_ref: &'static str,
) -> StoreError {
    use sqlx::error::ErrorKind;
    match &e {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => StoreError::Conflict(on_unique()),
            ErrorKind::ForeignKeyViolation => StoreError::NotFound(on_missing_ref),
            _ => StoreError::from(e),
        },
        _ => StoreError::from(e),
    }
}
