//! The backend-neutral storage trait the hub programs against.
//!
//! Every backend must pass [`crate::conformance::run_all`]; the contracts below are what
//! that suite checks. Times passed in are stored with millisecond precision (see
//! [`crate::millis`]), and every time handed back is UTC.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use crate::model::{
    ApiToken, Company, Connector, EnrollmentToken, NewApiToken, NewEnrollmentToken,
};
use crate::remote::{
    ConnectionType, Grant, NewServiceConnection, NewUser, NewWindow, ServiceConnection, System,
    User, Window,
};
use crate::{Id, StoreError};
use portcullis_domain::authz::Authorizations;
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::system::SystemData;

/// Persistent state of the hub. Object-safe so the hub can hold an `Arc<dyn Store>` and pick
/// the backend from configuration.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    // ── companies ──────────────────────────────────────────────────────────────────────

    /// Creates a company. `Conflict` if the name is taken.
    async fn create_company(&self, name: &str) -> Result<Company, StoreError>;
    async fn get_company(&self, id: Id) -> Result<Option<Company>, StoreError>;
    /// Exact, case-sensitive match.
    async fn find_company_by_name(&self, name: &str) -> Result<Option<Company>, StoreError>;
    /// All companies, ordered by id.
    async fn list_companies(&self) -> Result<Vec<Company>, StoreError>;

    // ── API tokens ─────────────────────────────────────────────────────────────────────

    /// Stores a token with its scope. `Conflict` if `public_id` is taken; `NotFound("user")`
    /// if `user_id` names no user.
    async fn create_api_token(&self, t: NewApiToken) -> Result<ApiToken, StoreError>;
    /// Looks a token up by its public id, revoked and expired ones included: deciding whether
    /// it is still valid is the caller's job, so that it can log why it refused.
    async fn find_api_token(&self, public_id: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Tokens of one company's users, or every token (vendor users' included) for `None`; by id.
    async fn list_api_tokens(&self, company_id: Option<Id>) -> Result<Vec<ApiToken>, StoreError>;
    /// Tokens of one user, by id.
    async fn list_user_tokens(&self, user_id: Id) -> Result<Vec<ApiToken>, StoreError>;
    /// Sets `revoked_at`. `true` if this call revoked it, `false` if it was already revoked
    /// or does not exist (the first revocation time is kept).
    async fn revoke_api_token(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

    // ── users ──────────────────────────────────────────────────────────────────────────

    /// Creates a user. `Conflict` if the name is taken; `NotFound("company")`.
    async fn create_user(&self, u: NewUser) -> Result<User, StoreError>;
    async fn get_user(&self, id: Id) -> Result<Option<User>, StoreError>;
    /// Exact, case-sensitive match.
    async fn find_user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// Users of one company, or the vendor's users (no company) for `None`; by id.
    async fn list_users(&self, company_id: Option<Id>) -> Result<Vec<User>, StoreError>;
    /// Replaces the user's authorizations. `NotFound("user")`.
    async fn set_user_authorizations(
        &self,
        id: Id,
        authorizations: &Authorizations,
    ) -> Result<User, StoreError>;
    /// Sets `disabled_at` (first time only). `true` if this call disabled the user.
    async fn disable_user(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

    // ── systems ────────────────────────────────────────────────────────────────────────

    /// Stores a validated system. `Conflict` if the company already has that SID;
    /// `NotFound("company")`.
    async fn create_system(&self, company_id: Id, data: &SystemData) -> Result<System, StoreError>;
    async fn get_system(&self, id: Id) -> Result<Option<System>, StoreError>;
    /// The company's system with this SID.
    async fn find_system(&self, company_id: Id, sid: &str) -> Result<Option<System>, StoreError>;
    /// Systems of one company, or of all for `None`; by id.
    async fn list_systems(&self, company_id: Option<Id>) -> Result<Vec<System>, StoreError>;
    /// Replaces the maintained fields. `NotFound("system")`, `Conflict` on a taken SID.
    async fn update_system(&self, id: Id, data: &SystemData) -> Result<System, StoreError>;
    /// Deletes a system with no service connections. `Ok(false)` if it did not exist,
    /// `Conflict` while service connections are set up for it.
    async fn delete_system(&self, id: Id) -> Result<bool, StoreError>;

    // ── connection types ───────────────────────────────────────────────────────────────

    /// Adds the catalogue types whose key is not stored yet (hub-wide, `company_id` NULL);
    /// existing ones are left as they are. Returns how many were added.
    async fn ensure_catalogue(&self, types: &[ConnTypeDef]) -> Result<u32, StoreError>;
    /// Adds a company's own type. `Conflict` if the company has the key already or the
    /// catalogue has it; `NotFound("company")`.
    async fn create_connection_type(
        &self,
        company_id: Id,
        def: &ConnTypeDef,
    ) -> Result<ConnectionType, StoreError>;
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
    /// Deletes a company's own type that no service connection uses. `Ok(false)` if it did
    /// not exist; `Conflict` if it is in use or is a catalogue type.
    async fn delete_connection_type(&self, id: Id) -> Result<bool, StoreError>;

    // ── service connections ────────────────────────────────────────────────────────────

    /// Sets a connection type up for a system. `NotFound("system" | "connection type" |
    /// "connector")`; `Conflict` if the system has this type already, or if the type or
    /// connector belongs to another company.
    async fn create_service_connection(
        &self,
        s: NewServiceConnection,
    ) -> Result<ServiceConnection, StoreError>;
    async fn get_service_connection(&self, id: Id)
        -> Result<Option<ServiceConnection>, StoreError>;
    /// Service connections of one company, or of all for `None`; by id.
    async fn list_service_connections(
        &self,
        company_id: Option<Id>,
    ) -> Result<Vec<ServiceConnection>, StoreError>;
    /// Deletes it with its windows and grants. `Ok(false)` if it did not exist. The caller
    /// refuses while a window is open or reserved.
    async fn delete_service_connection(&self, id: Id) -> Result<bool, StoreError>;

    // ── windows ────────────────────────────────────────────────────────────────────────

    /// Stores a window. Atomically refuses with `Conflict` when another window of the same
    /// service connection that is live at `now` (not closed early, end after `now`)
    /// overlaps `[start_at, end_at)`. `NotFound("service connection")`.
    async fn create_window(&self, w: NewWindow, now: OffsetDateTime) -> Result<Window, StoreError>;
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
    /// Moves a live window's start and end (and replaces contact and engineers), with the
    /// same overlap guard as [`Store::create_window`] (the window itself excluded).
    /// `NotFound("window")`; `Conflict` if it is closed or overlaps.
    async fn update_window(
        &self,
        id: Id,
        start_at: OffsetDateTime,
        end_at: OffsetDateTime,
        contact: &str,
        engineers: &[String],
        now: OffsetDateTime,
    ) -> Result<Window, StoreError>;
    /// Closes a window early. `Ok(None)` if it does not exist; `Conflict` if it was closed
    /// before (its first close is kept).
    async fn close_window(
        &self,
        id: Id,
        at: OffsetDateTime,
        closed_by: &str,
    ) -> Result<Option<Window>, StoreError>;

    // ── standing grants ────────────────────────────────────────────────────────────────

    /// Gives a technical user a standing grant. `NotFound("user" | "service connection")`;
    /// `Conflict` if an active grant exists or user and service connection belong to
    /// different companies.
    async fn create_grant(
        &self,
        user_id: Id,
        service_connection_id: Id,
        created_by: &str,
    ) -> Result<Grant, StoreError>;
    async fn get_grant(&self, id: Id) -> Result<Option<Grant>, StoreError>;
    /// Grants of one company (revoked ones included), by id.
    async fn list_grants(&self, company_id: Id) -> Result<Vec<Grant>, StoreError>;
    /// The active grant of this user for this service connection.
    async fn find_active_grant(
        &self,
        user_id: Id,
        service_connection_id: Id,
    ) -> Result<Option<Grant>, StoreError>;
    /// Sets `revoked_at` (first time only). `true` if this call revoked it.
    async fn revoke_grant(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

    // ── favourites ─────────────────────────────────────────────────────────────────────

    /// Marks (`true`) or unmarks a system as the user's favourite; idempotent.
    /// `NotFound("user" | "system")` when marking.
    async fn set_favourite(&self, user_id: Id, system_id: Id, on: bool) -> Result<(), StoreError>;
    /// The user's favourite systems' ids, ascending.
    async fn list_favourites(&self, user_id: Id) -> Result<Vec<Id>, StoreError>;

    // ── connectors ─────────────────────────────────────────────────────────────────────

    /// Registers a connector location. `Conflict` if the company already has that location;
    /// `NotFound("company")` if the company does not exist.
    async fn create_connector(
        &self,
        company_id: Id,
        location: &str,
    ) -> Result<Connector, StoreError>;
    async fn get_connector(&self, id: Id) -> Result<Option<Connector>, StoreError>;
    async fn find_connector(
        &self,
        company_id: Id,
        location: &str,
    ) -> Result<Option<Connector>, StoreError>;
    /// Connectors of one company, or of all for `None`; by id.
    async fn list_connectors(&self, company_id: Option<Id>) -> Result<Vec<Connector>, StoreError>;
    /// Records the connector's current client certificate (enrollment or renewal). The
    /// fingerprint is stored lower-cased. Sets `enrolled_at` on the first call only.
    /// `NotFound("connector")`, `Revoked("connector")`, or `Conflict` if another connector
    /// already has this fingerprint.
    async fn set_connector_certificate(
        &self,
        id: Id,
        fingerprint_hex: &str,
        not_after: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The connector whose current certificate has this fingerprint (compared
    /// case-insensitively), revoked ones included — the caller must check `revoked_at`.
    async fn find_connector_by_fingerprint(
        &self,
        fingerprint_hex: &str,
    ) -> Result<Option<Connector>, StoreError>;
    /// Sets `revoked_at`. `true` if this call revoked it, `false` if already revoked or
    /// unknown.
    async fn revoke_connector(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// Records a successful connection: reported version and time. `NotFound("connector")`.
    async fn touch_connector(
        &self,
        id: Id,
        version: &str,
        seen_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    // ── enrollment tokens ──────────────────────────────────────────────────────────────

    /// Stores a one-time enrollment token. `NotFound("connector")`, or `Conflict` if
    /// `public_id` is taken.
    async fn create_enrollment_token(
        &self,
        t: NewEnrollmentToken,
    ) -> Result<EnrollmentToken, StoreError>;
    /// The token with this public id, used or not, so the caller can check the secret before
    /// spending the token.
    async fn find_enrollment_token(
        &self,
        public_id: &str,
    ) -> Result<Option<EnrollmentToken>, StoreError>;
    /// Atomically marks the token used at `now` and returns it (with `used_at` set), so that
    /// of two concurrent calls exactly one succeeds. The caller verifies the secret against
    /// `secret_hash` *before* consuming, so a wrong secret does not burn the token.
    ///
    /// Errors, checked in this order:
    /// * `NotFound("enrollment token")` — no token has this public id;
    /// * `AlreadyUsed` — it was consumed before (even if it has expired since);
    /// * `Expired` — `now` is at or after `expires_at`;
    /// * `Revoked("connector")` — the token's connector has been revoked.
    ///
    /// A token that fails is left unchanged.
    async fn consume_enrollment_token(
        &self,
        public_id: &str,
        now: OffsetDateTime,
    ) -> Result<EnrollmentToken, StoreError>;
    /// Redeems the token for the public key whose SHA-256 (hex) is `key_sha256`: the first
    /// time like [`Store::consume_enrollment_token`] (`Redemption::First`, the key is
    /// remembered); again with the **same** key while the token has not expired
    /// (`Redemption::Repeat`), so a connector that lost the hub's answer can ask again.
    ///
    /// Errors: `NotFound("enrollment token")`; `Expired` (also for a repeat after expiry);
    /// `Revoked("connector")`; `AlreadyUsed` when it was redeemed with another key.
    async fn redeem_enrollment_token(
        &self,
        public_id: &str,
        now: OffsetDateTime,
        key_sha256: &str,
    ) -> Result<crate::model::Redemption, StoreError>;

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
