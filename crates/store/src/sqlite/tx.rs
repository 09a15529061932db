//! [`StoreTx`] over SQLite: one `BEGIN IMMEDIATE` transaction on a pooled connection.

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use time::OffsetDateTime;
use tokio::sync::OwnedMutexGuard;

use portcullis_domain::authz::Authorizations;
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::system::SystemData;

use super::{audit, connectors, enrollment, systems, tenants, users, windows};
use crate::audit::{AuditEvent, NewAuditEvent};
use crate::model::{
    ApiToken, Company, Connector, EnrollmentToken, NewApiToken, NewEnrollmentToken, Redemption,
};
use crate::remote::{
    ConnectionType, Grant, NewServiceConnection, NewUser, NewWindow, PasswordRecord,
    ServiceConnection, System, User, Window,
};
use crate::{Id, StoreError, StoreTx};

/// An open SQLite write transaction. Dropping it without [`StoreTx::commit`] rolls back.
///
/// The transaction is driven with plain `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK` statements
/// rather than sqlx's `Transaction`, because a `COMMIT` that fails (a full disk) may leave
/// SQLite having rolled back on its own, and sqlx then keeps counting a transaction that no
/// longer exists: every later `begin` on that pooled connection would fail. Here a failed
/// commit is followed by a `ROLLBACK` whose "no transaction" error is ignored, so the
/// connection goes back to the pool clean either way.
#[derive(Debug)]
pub(super) struct SqliteTx {
    /// The connection, until it is handed back (`None` only inside `commit` and `drop`).
    conn: Option<PoolConnection<Sqlite>>,
    /// Audit events to append when committing, in order.
    events: Vec<NewAuditEvent>,
    /// The in-process write lock (see `SqliteStore::write_lock`), held until the transaction
    /// has ended.
    lock: Option<OwnedMutexGuard<()>>,
}

impl SqliteTx {
    /// Takes a pooled connection and starts a write transaction on it.
    pub(super) async fn begin(
        pool: &SqlitePool,
        lock: OwnedMutexGuard<()>,
    ) -> Result<SqliteTx, StoreError> {
        let mut conn = pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        Ok(SqliteTx {
            conn: Some(conn),
            events: Vec::new(),
            lock: Some(lock),
        })
    }

    fn conn(&mut self) -> &mut SqliteConnection {
        // `conn` is taken only by `commit` (which consumes the transaction) and `drop`.
        self.conn
            .as_deref_mut()
            .expect("the connection is present while the transaction is open")
    }
}

impl Drop for SqliteTx {
    /// Rolls back a transaction that was not committed: on the runtime, with the write lock
    /// held until the rollback is done; without one, by closing the connection (SQLite rolls
    /// back an open transaction when its connection closes).
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let lock = self.lock.take();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    drop(conn);
                    drop(lock);
                });
            }
            Err(_) => drop(conn.detach()),
        }
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn create_company(&mut self, name: &str) -> Result<Company, StoreError> {
        tenants::create_company(self.conn(), name).await
    }
    async fn create_api_token(&mut self, t: NewApiToken) -> Result<ApiToken, StoreError> {
        tenants::create_api_token(self.conn(), t).await
    }
    async fn revoke_api_token(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        tenants::revoke_api_token(self.conn(), id, at).await
    }
    async fn create_user(&mut self, u: NewUser) -> Result<User, StoreError> {
        users::create_user(self.conn(), u).await
    }
    async fn set_user_authorizations(
        &mut self,
        id: Id,
        authorizations: &Authorizations,
    ) -> Result<User, StoreError> {
        users::set_user_authorizations(self.conn(), id, authorizations).await
    }
    async fn disable_user(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        users::disable_user(self.conn(), id, at).await
    }
    async fn set_user_totp(&mut self, id: Id, sealed: Option<&[u8]>) -> Result<(), StoreError> {
        users::set_user_totp(self.conn(), id, sealed).await
    }
    async fn set_company_require_totp(&mut self, id: Id, on: bool) -> Result<Company, StoreError> {
        tenants::set_company_require_totp(self.conn(), id, on).await
    }
    async fn put_company_oidc(&mut self, c: &crate::OidcConfig) -> Result<(), StoreError> {
        super::oidc::put_company_oidc(self.conn(), c).await
    }
    async fn delete_company_oidc(&mut self, company_id: Id) -> Result<bool, StoreError> {
        super::oidc::delete_company_oidc(self.conn(), company_id).await
    }
    async fn set_user_password(
        &mut self,
        id: Id,
        record: Option<&PasswordRecord>,
    ) -> Result<(), StoreError> {
        users::set_user_password(self.conn(), id, record).await
    }
    async fn create_system(
        &mut self,
        company_id: Id,
        data: &SystemData,
    ) -> Result<System, StoreError> {
        systems::create_system(self.conn(), company_id, data).await
    }
    async fn update_system(&mut self, id: Id, data: &SystemData) -> Result<System, StoreError> {
        systems::update_system(self.conn(), id, data).await
    }
    async fn delete_system(&mut self, id: Id) -> Result<bool, StoreError> {
        systems::delete_system(self.conn(), id).await
    }
    async fn create_connection_type(
        &mut self,
        company_id: Id,
        def: &ConnTypeDef,
    ) -> Result<ConnectionType, StoreError> {
        systems::create_connection_type(self.conn(), company_id, def).await
    }
    async fn delete_connection_type(&mut self, id: Id) -> Result<bool, StoreError> {
        systems::delete_connection_type(self.conn(), id).await
    }
    async fn create_service_connection(
        &mut self,
        s: NewServiceConnection,
    ) -> Result<ServiceConnection, StoreError> {
        systems::create_service_connection(self.conn(), s).await
    }
    async fn delete_service_connection(&mut self, id: Id) -> Result<bool, StoreError> {
        systems::delete_service_connection(self.conn(), id).await
    }
    async fn create_window(
        &mut self,
        w: NewWindow,
        now: OffsetDateTime,
    ) -> Result<Window, StoreError> {
        windows::create_window(self.conn(), w, now).await
    }
    async fn update_window(
        &mut self,
        id: Id,
        start_at: OffsetDateTime,
        end_at: OffsetDateTime,
        contact: &str,
        engineers: &[String],
        now: OffsetDateTime,
    ) -> Result<Window, StoreError> {
        windows::update_window(self.conn(), id, start_at, end_at, contact, engineers, now).await
    }
    async fn close_window(
        &mut self,
        id: Id,
        at: OffsetDateTime,
        closed_by: &str,
    ) -> Result<Option<Window>, StoreError> {
        windows::close_window(self.conn(), id, at, closed_by).await
    }
    async fn create_grant(
        &mut self,
        user_id: Id,
        service_connection_id: Id,
        created_by: &str,
    ) -> Result<Grant, StoreError> {
        windows::create_grant(self.conn(), user_id, service_connection_id, created_by).await
    }
    async fn revoke_grant(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        windows::revoke_grant(self.conn(), id, at).await
    }
    async fn create_connector(
        &mut self,
        company_id: Id,
        location: &str,
    ) -> Result<Connector, StoreError> {
        connectors::create_connector(self.conn(), company_id, location).await
    }
    async fn set_connector_certificate(
        &mut self,
        id: Id,
        fingerprint_hex: &str,
        not_after: OffsetDateTime,
    ) -> Result<(), StoreError> {
        connectors::set_connector_certificate(self.conn(), id, fingerprint_hex, not_after).await
    }
    async fn revoke_connector(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        connectors::revoke_connector(self.conn(), id, at).await
    }
    async fn create_enrollment_token(
        &mut self,
        t: NewEnrollmentToken,
    ) -> Result<EnrollmentToken, StoreError> {
        connectors::create_enrollment_token(self.conn(), t).await
    }
    async fn consume_enrollment_token(
        &mut self,
        public_id: &str,
        now: OffsetDateTime,
    ) -> Result<EnrollmentToken, StoreError> {
        connectors::consume_enrollment_token(self.conn(), public_id, now).await
    }

    async fn redeem_enrollment_token(
        &mut self,
        public_id: &str,
        now: OffsetDateTime,
        key_sha256: &str,
    ) -> Result<Redemption, StoreError> {
        enrollment::redeem_enrollment_token(self.conn(), public_id, now, key_sha256).await
    }

    async fn audit(&mut self, e: NewAuditEvent) -> Result<(), StoreError> {
        self.events.push(e);
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<Vec<AuditEvent>, StoreError> {
        let events = std::mem::take(&mut self.events);
        let conn = self.conn();
        let committed = async {
            let stored = audit::append_in(&mut *conn, events).await?;
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok(stored)
        }
        .await;
        if committed.is_err() {
            // SQLite may have rolled back by itself (a full disk); then this one says "no
            // transaction is active", which is what we want.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        // Back to the pool, the write lock released: nothing is left for `drop` to undo.
        self.conn.take();
        self.lock.take();
        committed
    }
}
