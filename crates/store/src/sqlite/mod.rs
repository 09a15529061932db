//! The SQLite backend: the embedded default, nothing to install.
//!
//! SQL here uses `$N` placeholders, `RETURNING`, `ON CONFLICT … DO UPDATE` and
//! `substr`/`length`, all of which PostgreSQL understands too, so the PostgreSQL backend can
//! copy the queries and change only the schema.
//!
//! The impl of [`Store`] below only dispatches; the queries live in one file per concern.

mod audit;
mod connectors;
mod enrollment;
mod oidc;
mod rows;
mod settings;
mod system_page;
mod systems;
mod tenants;
mod tx;
mod users;
mod windows;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use time::OffsetDateTime;

use portcullis_domain::conntype::ConnTypeDef;

use crate::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use crate::model::{ApiToken, Company, Connector, EnrollmentToken};
use crate::remote::{
    ConnectionType, Grant, PasswordRecord, ServiceConnection, System, TotpRecord, User, Window,
};
use crate::system_page::{SystemPage, SystemPageQuery};
use crate::{Id, Store, StoreError, StoreTx};

/// Before migration 0005 makes company names, SIDs and location IDs unique without regard to
/// case: refuses a database that holds two names differing only in case, naming them, so that
/// the migration never fails half-way and the operator learns what to rename.
async fn refuse_names_differing_in_case(pool: &SqlitePool) -> Result<(), StoreError> {
    let migrated: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'companies_name_nocase'",
    )
    .fetch_optional(pool)
    .await?;
    let has_tables: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'connectors'",
    )
    .fetch_optional(pool)
    .await?;
    if migrated.is_some() || has_tables.is_none() {
        return Ok(());
    }
    let has_systems: Option<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'systems'")
            .fetch_optional(pool)
            .await?;
    let mut checks = vec![
        (
            "company names",
            "SELECT group_concat(name, ', ') FROM companies GROUP BY lower(name) \
             HAVING count(*) > 1",
        ),
        (
            "location IDs of one company",
            "SELECT group_concat(location, ', ') FROM connectors \
             GROUP BY company_id, lower(location) HAVING count(*) > 1",
        ),
    ];
    if has_systems.is_some() {
        checks.push((
            "SIDs of one company",
            "SELECT group_concat(sid, ', ') FROM systems GROUP BY company_id, lower(sid) \
             HAVING count(*) > 1",
        ));
    }
    let mut clashes = Vec::new();
    for (what, sql) in checks {
        let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(pool).await?;
        for (names,) in rows {
            clashes.push(format!("{what}: {names}"));
        }
    }
    if clashes.is_empty() {
        return Ok(());
    }
    Err(StoreError::Conflict(format!(
        "cannot upgrade the database: names now compare without case, and these differ only \
         in case: {}. Rename all but one of each (with the previous version) and start again",
        clashes.join("; ")
    )))
}

/// The schema, embedded at build time so a binary always carries the migrations it needs.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for another writer before giving up with "database is
/// locked". SQLite allows one writer at a time; 5 s rides out bursts without hiding a
/// deadlock forever.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in a file-backed pool. SQLite serializes writers anyway, so more connections
/// only help concurrent readers, and WAL lets a handful of them proceed beside a writer.
const POOL_SIZE: u32 = 4;

/// [`Store`] over a SQLite database. Cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Serializes write transactions (audit appends and [`StoreTx`]s) inside this process so
    /// they queue on a fair async lock rather than spinning in SQLite's busy handler (and an
    /// in-memory database's single connection is never asked for twice); `BEGIN IMMEDIATE`
    /// still guards against other processes.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// Opens (creating the file if missing, but not its directory) the database at `path`
    /// and applies any pending migrations.
    ///
    /// Connections use WAL journaling (readers do not block the writer), enforce foreign
    /// keys, wait up to 5 s on a locked database, and keep SQLite's default
    /// `synchronous = FULL` so a committed audit event survives power loss.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options)
            .await?;
        tracing::debug!(path = %path.display(), "opened SQLite store");
        Self::migrated(pool).await
    }

    /// A private in-memory database, for tests and demos. The pool holds exactly one
    /// connection that is never recycled, because the database lives and dies with it.
    pub async fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<SqliteStore, StoreError> {
        refuse_names_differing_in_case(&pool).await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            pool,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// The underlying pool, for maintenance tools and tests (such as the audit tamper test).
    /// Writes through it bypass every invariant the store keeps, the audit chain included.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for in-flight queries, then closes every connection (checkpointing the WAL).
    /// Later calls on this store or its clones fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Writes a consistent copy of the database at `db` into `into` with SQLite's
    /// `VACUUM INTO`, while other processes (a running hub) read and write it: the copy is
    /// one transaction's view, unlike the bytes of `hub.db` and its `-wal`, which change
    /// under a reader. `into` must not exist or be empty; it is made 0600 first (it holds
    /// token hashes and the audit log). Applies no migration and creates no database.
    pub async fn snapshot(db: &Path, into: &Path) -> Result<(), StoreError> {
        use sqlx::Connection;
        let io = |source| StoreError::Io {
            path: into.to_path_buf(),
            source,
        };
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(into).map_err(io)?;
        let options = SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        let result = sqlx::query("VACUUM INTO ?1")
            .bind(into.to_string_lossy().into_owned())
            .execute(&mut conn)
            .await;
        conn.close().await?;
        result?;
        Ok(())
    }
}

/// Current wall-clock time in the stored form; for `created_at` columns, whose time the
/// caller does not supply.
fn now_ms() -> i64 {
    crate::millis::to_unix_millis(OffsetDateTime::now_utc())
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        let lock = self.write_lock.clone().lock_owned().await;
        Ok(Box::new(tx::SqliteTx::begin(&self.pool, lock).await?))
    }

    async fn get_company(&self, id: Id) -> Result<Option<Company>, StoreError> {
        tenants::get_company(&self.pool, id).await
    }
    async fn find_company_by_name(&self, name: &str) -> Result<Option<Company>, StoreError> {
        tenants::find_company_by_name(&self.pool, name).await
    }
    async fn list_companies(&self) -> Result<Vec<Company>, StoreError> {
        tenants::list_companies(&self.pool).await
    }

    async fn find_api_token(&self, public_id: &str) -> Result<Option<ApiToken>, StoreError> {
        tenants::find_api_token(&self.pool, public_id).await
    }
    async fn touch_api_token(&self, id: Id, at: OffsetDateTime) -> Result<(), StoreError> {
        tenants::touch_api_token(&self.pool, id, at).await
    }
    async fn list_api_tokens(&self, company_id: Option<Id>) -> Result<Vec<ApiToken>, StoreError> {
        tenants::list_api_tokens(&self.pool, company_id).await
    }
    async fn list_user_tokens(&self, user_id: Id) -> Result<Vec<ApiToken>, StoreError> {
        tenants::list_user_tokens(&self.pool, user_id).await
    }

    async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError> {
        users::get_user(&self.pool, id).await
    }
    async fn find_user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        users::find_user_by_name(&self.pool, name).await
    }
    async fn list_users(&self, company_id: Option<Id>) -> Result<Vec<User>, StoreError> {
        users::list_users(&self.pool, company_id).await
    }
    async fn user_password(&self, id: Id) -> Result<Option<PasswordRecord>, StoreError> {
        users::user_password(&self.pool, id).await
    }
    async fn company_oidc(&self, company_id: Id) -> Result<Option<crate::OidcConfig>, StoreError> {
        oidc::company_oidc(&self.pool, company_id).await
    }
    async fn user_totp(&self, id: Id) -> Result<Option<TotpRecord>, StoreError> {
        users::user_totp(&self.pool, id).await
    }
    async fn claim_totp_step(&self, id: Id, step: i64) -> Result<bool, StoreError> {
        users::claim_totp_step(&self.pool, id, step).await
    }

    async fn get_system(&self, id: Id) -> Result<Option<System>, StoreError> {
        systems::get_system(&self.pool, id).await
    }
    async fn find_system(&self, company_id: Id, sid: &str) -> Result<Option<System>, StoreError> {
        systems::find_system(&self.pool, company_id, sid).await
    }
    async fn list_systems(&self, company_id: Option<Id>) -> Result<Vec<System>, StoreError> {
        systems::list_systems(&self.pool, company_id).await
    }
    async fn page_systems(&self, q: &SystemPageQuery<'_>) -> Result<SystemPage, StoreError> {
        system_page::page_systems(&self.pool, q).await
    }

    async fn ensure_catalogue(&self, types: &[ConnTypeDef]) -> Result<u32, StoreError> {
        systems::ensure_catalogue(&self.pool, types).await
    }
    async fn get_connection_type(&self, id: Id) -> Result<Option<ConnectionType>, StoreError> {
        systems::get_connection_type(&self.pool, id).await
    }
    async fn find_connection_type(
        &self,
        company_id: Id,
        key: &str,
    ) -> Result<Option<ConnectionType>, StoreError> {
        systems::find_connection_type(&self.pool, company_id, key).await
    }
    async fn list_connection_types(
        &self,
        company_id: Option<Id>,
    ) -> Result<Vec<ConnectionType>, StoreError> {
        systems::list_connection_types(&self.pool, company_id).await
    }

    async fn get_service_connection(
        &self,
        id: Id,
    ) -> Result<Option<ServiceConnection>, StoreError> {
        systems::get_service_connection(&self.pool, id).await
    }
    async fn list_service_connections(
        &self,
        company_id: Option<Id>,
    ) -> Result<Vec<ServiceConnection>, StoreError> {
        systems::list_service_connections(&self.pool, company_id).await
    }
    async fn list_service_connections_of_systems(
        &self,
        system_ids: &[Id],
    ) -> Result<Vec<ServiceConnection>, StoreError> {
        systems::list_service_connections_of_systems(&self.pool, system_ids).await
    }

    async fn get_window(&self, id: Id) -> Result<Option<Window>, StoreError> {
        windows::get_window(&self.pool, id).await
    }
    async fn list_windows(&self, service_connection_id: Id) -> Result<Vec<Window>, StoreError> {
        windows::list_windows(&self.pool, service_connection_id).await
    }
    async fn list_live_windows(
        &self,
        company_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<Vec<Window>, StoreError> {
        windows::list_live_windows(&self.pool, company_id, now).await
    }

    async fn get_grant(&self, id: Id) -> Result<Option<Grant>, StoreError> {
        windows::get_grant(&self.pool, id).await
    }
    async fn list_grants(&self, company_id: Id) -> Result<Vec<Grant>, StoreError> {
        windows::list_grants(&self.pool, company_id).await
    }
    async fn find_active_grant(
        &self,
        user_id: Id,
        service_connection_id: Id,
    ) -> Result<Option<Grant>, StoreError> {
        windows::find_active_grant(&self.pool, user_id, service_connection_id).await
    }

    async fn set_favourite(&self, user_id: Id, system_id: Id, on: bool) -> Result<(), StoreError> {
        users::set_favourite(&self.pool, user_id, system_id, on).await
    }
    async fn list_favourites(&self, user_id: Id) -> Result<Vec<Id>, StoreError> {
        users::list_favourites(&self.pool, user_id).await
    }

    async fn get_connector(&self, id: Id) -> Result<Option<Connector>, StoreError> {
        connectors::get_connector(&self.pool, id).await
    }
    async fn find_connector(
        &self,
        company_id: Id,
        location: &str,
    ) -> Result<Option<Connector>, StoreError> {
        connectors::find_connector(&self.pool, company_id, location).await
    }
    async fn list_connectors(&self, company_id: Option<Id>) -> Result<Vec<Connector>, StoreError> {
        connectors::list_connectors(&self.pool, company_id).await
    }
    async fn find_connector_by_fingerprint(
        &self,
        fingerprint_hex: &str,
    ) -> Result<Option<Connector>, StoreError> {
        connectors::find_connector_by_fingerprint(&self.pool, fingerprint_hex).await
    }
    async fn touch_connector(
        &self,
        id: Id,
        version: &str,
        seen_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        connectors::touch_connector(&self.pool, id, version, seen_at).await
    }

    async fn find_enrollment_token(
        &self,
        public_id: &str,
    ) -> Result<Option<EnrollmentToken>, StoreError> {
        connectors::find_enrollment_token(&self.pool, public_id).await
    }

    async fn append_audit_batch(
        &self,
        events: Vec<NewAuditEvent>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let _serialized = self.write_lock.lock().await;
        audit::append_audit_batch(&self.pool, events).await
    }
    async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        audit::list_audit(&self.pool, f).await
    }
    async fn verify_audit_chain(&self) -> Result<u64, StoreError> {
        audit::verify_audit_chain(&self.pool).await
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        settings::get_setting(&self.pool, key).await
    }
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        settings::put_setting(&self.pool, key, value).await
    }
}
