//! The backend-neutral storage trait the hub programs against.
//!
//! Every backend must pass `conformance::run_all` (feature `conformance`); the contracts below are what
//! that suite checks. Times passed in are stored with millisecond precision (see
//! [`crate::millis`]), and every time handed back is UTC.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use crate::model::{
    ApiToken, Company, Connector, EnrollmentToken, NewApiToken, NewEnrollmentToken, OidcConfig,
};
use crate::remote::{
    ConnectionType, Grant, NewServiceConnection, NewUser, NewWindow, PasswordRecord,
    ServiceConnection, System, TotpRecord, User, Window,
};
use crate::system_page::{SystemPage, SystemPageQuery};
use crate::tx::StoreTx;
use crate::{Id, StoreError};
use portcullis_domain::authz::Authorizations;
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::system::SystemData;

/// Runs one write of [`StoreTx`] in a transaction of its own and commits it: the writes of
/// [`Store`] that setup code and tests use. The hub's actions use [`Store::begin`] instead, so
/// that their audit event commits with them.
macro_rules! in_own_tx {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {{
        let mut tx = $self.begin().await?;
        let out = tx.$method($($arg),*).await?;
        tx.commit().await?;
        Ok(out)
    }};
}

/// Persistent state of the hub. Object-safe so the hub can hold an `Arc<dyn Store>` and pick
/// the backend from configuration.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Opens a write transaction (SQLite: `BEGIN IMMEDIATE`, so it holds the write lock at
    /// once and cannot fail later for a lock another writer took). See [`crate::tx`].
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

    // ── companies ──────────────────────────────────────────────────────────────────────

    /// [`StoreTx::create_company`] in a transaction of its own, without an audit event.
    async fn create_company(&self, name: &str) -> Result<Company, StoreError> {
        in_own_tx!(self.create_company(name))
    }
    async fn get_company(&self, id: Id) -> Result<Option<Company>, StoreError>;
    /// Case-insensitive match (company names are unique without regard to case); the
    /// company's name comes back as stored.
    async fn find_company_by_name(&self, name: &str) -> Result<Option<Company>, StoreError>;
    /// All companies, ordered by id.
    async fn list_companies(&self) -> Result<Vec<Company>, StoreError>;
    /// The company's OpenID Connect settings, if it has any.
    async fn company_oidc(&self, company_id: Id) -> Result<Option<OidcConfig>, StoreError>;

    // ── API tokens ─────────────────────────────────────────────────────────────────────

    /// [`StoreTx::create_api_token`] in a transaction of its own, without an audit event.
    async fn create_api_token(&self, t: NewApiToken) -> Result<ApiToken, StoreError> {
        in_own_tx!(self.create_api_token(t))
    }
    /// Looks a token up by its public id, revoked and expired ones included: deciding whether
    /// it is still valid is the caller's job, so that it can log why it refused.
    async fn find_api_token(&self, public_id: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Tokens of one company's users, or every token (vendor users' included) for `None`; by id.
    async fn list_api_tokens(&self, company_id: Option<Id>) -> Result<Vec<ApiToken>, StoreError>;
    /// Tokens of one user, by id.
    async fn list_user_tokens(&self, user_id: Id) -> Result<Vec<ApiToken>, StoreError>;
    /// [`StoreTx::revoke_api_token`] in a transaction of its own, without an audit event.
    async fn revoke_api_token(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        in_own_tx!(self.revoke_api_token(id, at))
    }
    /// Records that the token was used at `at` (bookkeeping for idle timeouts: no audit
    /// event, no transaction of its own; a lost update only shortens an idle period).
    async fn touch_api_token(&self, id: Id, at: OffsetDateTime) -> Result<(), StoreError>;

    // ── users ──────────────────────────────────────────────────────────────────────────

    /// [`StoreTx::create_user`] in a transaction of its own, without an audit event.
    async fn create_user(&self, u: NewUser) -> Result<User, StoreError> {
        in_own_tx!(self.create_user(u))
    }
    async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError>;
    /// Exact, case-sensitive match.
    async fn find_user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// Users of one company, or the vendor's users (no company) for `None`; by id.
    async fn list_users(&self, company_id: Option<Id>) -> Result<Vec<User>, StoreError>;
    /// The user's password record, `None` when the user has no password (or does not exist).
    async fn user_password(&self, id: Id) -> Result<Option<PasswordRecord>, StoreError>;
    /// The user's second factor, `None` when he has none (or does not exist).
    async fn user_totp(&self, id: Id) -> Result<Option<TotpRecord>, StoreError>;
    /// Records that a code of `step` was accepted, unless one of this step or a later one
    /// already was: `true` if this call claimed it (a code works once). Not audited by itself.
    async fn claim_totp_step(&self, id: Id, step: i64) -> Result<bool, StoreError>;
    /// [`StoreTx::set_user_authorizations`] in a transaction of its own, without an audit event.
    async fn set_user_authorizations(
        &self,
        id: Id,
        authorizations: &Authorizations,
    ) -> Result<User, StoreError> {
        in_own_tx!(self.set_user_authorizations(id, authorizations))
    }
    /// [`StoreTx::disable_user`] in a transaction of its own, without an audit event.
    async fn disable_user(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        in_own_tx!(self.disable_user(id, at))
    }

    // ── systems ────────────────────────────────────────────────────────────────────────

    /// [`StoreTx::create_system`] in a transaction of its own, without an audit event.
    async fn create_system(&self, company_id: Id, data: &SystemData) -> Result<System, StoreError> {
        in_own_tx!(self.create_system(company_id, data))
    }
    async fn get_system(&self, id: Id) -> Result<Option<System>, StoreError>;
    /// The company's system with this SID, compared without case (SIDs are unique per company
    /// without regard to case).
    async fn find_system(&self, company_id: Id, sid: &str) -> Result<Option<System>, StoreError>;
    /// Systems of one company, or of all for `None`; by id.
    async fn list_systems(&self, company_id: Option<Id>) -> Result<Vec<System>, StoreError>;
    /// One page of a company's systems list and the count of all that match; what each
    /// filter term and order means is [`crate::system_page`]'s.
    async fn page_systems(&self, q: &SystemPageQuery<'_>) -> Result<SystemPage, StoreError>;
    /// [`StoreTx::update_system`] in a transaction of its own, without an audit event.
    async fn update_system(&self, id: Id, data: &SystemData) -> Result<System, StoreError> {
        in_own_tx!(self.update_system(id, data))
    }
    /// [`StoreTx::delete_system`] in a transaction of its own, without an audit event.
    async fn delete_system(&self, id: Id) -> Result<bool, StoreError> {
        in_own_tx!(self.delete_system(id))
    }

    // ── connection types ───────────────────────────────────────────────────────────────

    /// Adds the catalogue types whose key is not stored yet (hub-wide, `company_id` NULL);
    /// existing ones are left as they are. Returns how many were added.
    async fn ensure_catalogue(&self, types: &[ConnTypeDef]) -> Result<u32, StoreError>;
    /// [`StoreTx::create_connection_type`] in a transaction of its own, without an audit event.
    async fn create_connection_type(
        &self,
        company_id: Id,
        def: &ConnTypeDef,
    ) -> Result<ConnectionType, StoreError> {
        in_own_tx!(self.create_connection_type(company_id, def))
    }
    async fn get_connection_type(&self, id: Id) -> Result<Option<ConnectionType>, StoreError>;
    /// The type a company means by `key`: its own, else the catalogue's.
    async fn find_connection_type(
        &self,
        company_id: Id,
        key: &str,
    ) -> Result<Option<ConnectionType>, StoreError>;
    /// The catalogue plus, for `Some`, the company's own types; catalogue first, by id.
    async fn list_connection_types(
        &self,
        company_id: Option<Id>,
    ) -> Result<Vec<ConnectionType>, StoreError>;
    /// [`StoreTx::delete_connection_type`] in a transaction of its own, without an audit event.
    async fn delete_connection_type(&self, id: Id) -> Result<bool, StoreError> {
        in_own_tx!(self.delete_connection_type(id))
    }

    // ── service connections ────────────────────────────────────────────────────────────

    /// [`StoreTx::create_service_connection`] in a transaction of its own, without an audit event.
    async fn create_service_connection(
        &self,
        s: NewServiceConnection,
    ) -> Result<ServiceConnection, StoreError> {
        in_own_tx!(self.create_service_connection(s))
    }
    async fn get_service_connection(&self, id: Id)
        -> Result<Option<ServiceConnection>, StoreError>;
    /// Service connections of one company, or of all for `None`; by id.
    async fn list_service_connections(
        &self,
        company_id: Option<Id>,
    ) -> Result<Vec<ServiceConnection>, StoreError>;
    /// Service connections of one system; by id. What a system's page needs, without reading
    /// every service connection of its company.
    async fn list_system_service_connections(
        &self,
        system_id: Id,
    ) -> Result<Vec<ServiceConnection>, StoreError> {
        self.list_service_connections_of_systems(&[system_id]).await
    }
    /// Service connections of these systems (unknown ids are no error); by id. What one page
    /// of the systems list needs.
    async fn list_service_connections_of_systems(
        &self,
        system_ids: &[Id],
    ) -> Result<Vec<ServiceConnection>, StoreError>;
    /// [`StoreTx::delete_service_connection`] in a transaction of its own, without an audit event.
    async fn delete_service_connection(&self, id: Id) -> Result<bool, StoreError> {
        in_own_tx!(self.delete_service_connection(id))
    }

    // ── windows ────────────────────────────────────────────────────────────────────────

    /// [`StoreTx::create_window`] in a transaction of its own, without an audit event.
    async fn create_window(&self, w: NewWindow, now: OffsetDateTime) -> Result<Window, StoreError> {
        in_own_tx!(self.create_window(w, now))
    }
    async fn get_window(&self, id: Id) -> Result<Option<Window>, StoreError>;
    /// Windows of one service connection, by start.
    async fn list_windows(&self, service_connection_id: Id) -> Result<Vec<Window>, StoreError>;
    /// Windows of one company (or of all for `None`) that are live at `now`: not closed
    /// early and ending after `now` (open and reserved ones), by start.
    async fn list_live_windows(
        &self,
        company_id: Option<Id>,
        now: OffsetDateTime,
    ) -> Result<Vec<Window>, StoreError>;
    /// [`StoreTx::update_window`] in a transaction of its own, without an audit event.
    async fn update_window(
        &self,
        id: Id,
        start_at: OffsetDateTime,
        end_at: OffsetDateTime,
        contact: &str,
        engineers: &[String],
        now: OffsetDateTime,
    ) -> Result<Window, StoreError> {
        in_own_tx!(self.update_window(id, start_at, end_at, contact, engineers, now))
    }
    /// [`StoreTx::close_window`] in a transaction of its own, without an audit event.
    async fn close_window(
        &self,
        id: Id,
        at: OffsetDateTime,
        closed_by: &str,
    ) -> Result<Option<Window>, StoreError> {
        in_own_tx!(self.close_window(id, at, closed_by))
    }

    // ── standing grants ────────────────────────────────────────────────────────────────

    /// [`StoreTx::create_grant`] in a transaction of its own, without an audit event.
    async fn create_grant(
        &self,
        user_id: Id,
        service_connection_id: Id,
        created_by: &str,
    ) -> Result<Grant, StoreError> {
        in_own_tx!(self.create_grant(user_id, service_connection_id, created_by))
    }
    async fn get_grant(&self, id: Id) -> Result<Option<Grant>, StoreError>;
    /// Grants of one company (revoked ones included), by id.
    async fn list_grants(&self, company_id: Id) -> Result<Vec<Grant>, StoreError>;
    /// The active grant of this user for this service connection.
    async fn find_active_grant(
        &self,
        user_id: Id,
        service_connection_id: Id,
    ) -> Result<Option<Grant>, StoreError>;
    /// [`StoreTx::revoke_grant`] in a transaction of its own, without an audit event.
    async fn revoke_grant(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        in_own_tx!(self.revoke_grant(id, at))
    }

    // ── favourites ─────────────────────────────────────────────────────────────────────

    /// Marks (`true`) or unmarks a system as the user's favourite; idempotent.
    /// `NotFound("user" | "system")` when marking.
    async fn set_favourite(&self, user_id: Id, system_id: Id, on: bool) -> Result<(), StoreError>;
    /// The user's favourite systems' ids, ascending.
    async fn list_favourites(&self, user_id: Id) -> Result<Vec<Id>, StoreError>;

    // ── connectors ─────────────────────────────────────────────────────────────────────

    /// [`StoreTx::create_connector`] in a transaction of its own, without an audit event.
    async fn create_connector(
        &self,
        company_id: Id,
        location: &str,
    ) -> Result<Connector, StoreError> {
        in_own_tx!(self.create_connector(company_id, location))
    }
    async fn get_connector(&self, id: Id) -> Result<Option<Connector>, StoreError>;
    /// The company's connector at `location`, compared without case (location IDs are unique
    /// per company without regard to case); the location comes back as stored.
    async fn find_connector(
        &self,
        company_id: Id,
        location: &str,
    ) -> Result<Option<Connector>, StoreError>;
    /// Connectors of one company, or of all for `None`; by id.
    async fn list_connectors(&self, company_id: Option<Id>) -> Result<Vec<Connector>, StoreError>;
    /// [`StoreTx::set_connector_certificate`] in a transaction of its own, without an audit event.
    async fn set_connector_certificate(
        &self,
        id: Id,
        fingerprint_hex: &str,
        not_after: OffsetDateTime,
    ) -> Result<(), StoreError> {
        in_own_tx!(self.set_connector_certificate(id, fingerprint_hex, not_after))
    }
    /// The connector whose current certificate has this fingerprint (compared
    /// case-insensitively), revoked ones included — the caller must check `revoked_at`.
    async fn find_connector_by_fingerprint(
        &self,
        fingerprint_hex: &str,
    ) -> Result<Option<Connector>, StoreError>;
    /// [`StoreTx::revoke_connector`] in a transaction of its own, without an audit event.
    async fn revoke_connector(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError> {
        in_own_tx!(self.revoke_connector(id, at))
    }
    /// Records a successful connection: reported version and time. `NotFound("connector")`.
    async fn touch_connector(
        &self,
        id: Id,
        version: &str,
        seen_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    // ── enrollment tokens ──────────────────────────────────────────────────────────────

    /// [`StoreTx::create_enrollment_token`] in a transaction of its own, without an audit event.
    async fn create_enrollment_token(
        &self,
        t: NewEnrollmentToken,
    ) -> Result<EnrollmentToken, StoreError> {
        in_own_tx!(self.create_enrollment_token(t))
    }
    /// The token with this public id, used or not, so the caller can check the secret before
    /// spending the token.
    async fn find_enrollment_token(
        &self,
        public_id: &str,
    ) -> Result<Option<EnrollmentToken>, StoreError>;
    /// [`StoreTx::consume_enrollment_token`] in a transaction of its own, without an audit event.
    async fn consume_enrollment_token(
        &self,
        public_id: &str,
        now: OffsetDateTime,
    ) -> Result<EnrollmentToken, StoreError> {
        in_own_tx!(self.consume_enrollment_token(public_id, now))
    }
    /// [`StoreTx::redeem_enrollment_token`] in a transaction of its own, without an audit
    /// event.
    async fn redeem_enrollment_token(
        &self,
        public_id: &str,
        now: OffsetDateTime,
        key_sha256: &str,
    ) -> Result<crate::model::Redemption, StoreError> {
        in_own_tx!(self.redeem_enrollment_token(public_id, now, key_sha256))
    }

    // ── audit log ──────────────────────────────────────────────────────────────────────

    /// Appends to the hash-chained audit log (rule: [`crate::audit`]) and returns the stored
    /// event. Appends are serialized (SQLite: `BEGIN IMMEDIATE`) so the chain stays linear
    /// under concurrent callers, in this process or another.
    async fn append_audit(&self, e: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        let mut stored = self.append_audit_batch(vec![e]).await?;
        stored.pop().ok_or_else(|| StoreError::Corrupt {
            column: "audit_log",
            reason: "a batch of one stored no event".into(),
        })
    }
    /// Appends `events` in order, in one transaction: all are stored, consecutive and linked,
    /// or none is. One commit (one `fsync`) for the lot is what lets a busy hub audit every
    /// session without a disk flush per event. An empty batch stores nothing.
    async fn append_audit_batch(
        &self,
        events: Vec<NewAuditEvent>,
    ) -> Result<Vec<AuditEvent>, StoreError>;
    /// Events matching the filter, ordered by `seq` ascending (newest last).
    async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;
    /// Recomputes every link from the first event on. `Ok(number of events)`, or
    /// `AuditChainBroken { seq }` for the first event whose `seq`, `prev_hash` or `hash` is
    /// wrong (or whose stored detail is no longer JSON).
    async fn verify_audit_chain(&self) -> Result<u64, StoreError>;

    // ── settings ───────────────────────────────────────────────────────────────────────

    /// Hub-wide key/value settings (e.g. schema-independent flags, the CA fingerprint).
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Inserts or replaces.
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;
}
