//! One write transaction: the changes of one action and its audit events, committed together
//! or not at all.
//!
//! Why: an acknowledged change must exist, and every change must have its audit event (and
//! no event may exist without its change). Running the change and the event in one
//! transaction gives both at once: a full disk or a `kill -9` before the commit leaves
//! neither, after it both. The hub opens a transaction with [`Store::begin`], makes its
//! writes, adds the events with [`StoreTx::audit`] and answers only after
//! [`StoreTx::commit`] returned `Ok`.
//!
//! A transaction holds the database's write lock from `begin` until it is committed or
//! dropped (dropping rolls back), so keep it short: read and decide first, then begin, write,
//! audit and commit, with no other store call and no wait on another task in between.
//!
//! [`Store::begin`]: crate::Store::begin

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, NewAuditEvent};
use crate::model::{
    ApiToken, Company, Connector, EnrollmentToken, NewApiToken, NewEnrollmentToken, OidcConfig,
};
use crate::remote::{
    ConnectionType, Grant, NewServiceConnection, NewUser, NewWindow, PasswordRecord,
    ServiceConnection, System, User, Window,
};
use crate::{Id, StoreError};
use portcullis_domain::authz::Authorizations;
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::system::SystemData;

/// An open write transaction (see the module docs). Every write of the store that an action
/// can make is here; reads stay on [`Store`](crate::Store).
#[async_trait]
pub trait StoreTx: Send + std::fmt::Debug {
    /// Creates a company. `Conflict` if the name is taken (in any case).
    async fn create_company(&mut self, name: &str) -> Result<Company, StoreError>;

    /// Stores a token with its scope. `Conflict` if `public_id` is taken; `NotFound("user")`
    /// if `user_id` names no user.
    async fn create_api_token(&mut self, t: NewApiToken) -> Result<ApiToken, StoreError>;

    /// Sets `revoked_at`. `true` if this call revoked it, `false` if it was already revoked
    /// or does not exist (the first revocation time is kept).
    async fn revoke_api_token(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

    /// Creates a user. `Conflict` if the name is taken; `NotFound("company")`.
    async fn create_user(&mut self, u: NewUser) -> Result<User, StoreError>;

    /// Replaces the user's authorizations. `NotFound("user")`.
    async fn set_user_authorizations(
        &mut self,
        id: Id,
        authorizations: &Authorizations,
    ) -> Result<User, StoreError>;

    /// Sets `disabled_at` (first time only). `true` if this call disabled the user.
    async fn disable_user(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

    /// Sets (or with `None` removes) the user's sealed TOTP secret; the last used step is
    /// forgotten. `NotFound("user")`.
    async fn set_user_totp(&mut self, id: Id, sealed: Option<&[u8]>) -> Result<(), StoreError>;

    /// Makes the second factor mandatory (or not) for a company's users.
    /// `NotFound("company")`.
    async fn set_company_require_totp(&mut self, id: Id, on: bool) -> Result<Company, StoreError>;

    /// Stores a company's OpenID Connect settings, replacing any it had (`updated_at` as
    /// given). `NotFound("company")`.
    async fn put_company_oidc(&mut self, c: &OidcConfig) -> Result<(), StoreError>;

    /// Removes a company's OpenID Connect settings; `true` if it had any.
    async fn delete_company_oidc(&mut self, company_id: Id) -> Result<bool, StoreError>;

    /// Sets (or with `None` removes) the user's password: the PHC string of its hash, and
    /// whether the next sign-in must change it. `NotFound("user")`.
    async fn set_user_password(
        &mut self,
        id: Id,
        record: Option<&PasswordRecord>,
    ) -> Result<(), StoreError>;

    /// Stores a validated system. `Conflict` if the company already has that SID (in any case);
    /// `NotFound("company")`.
    async fn create_system(
        &mut self,
        company_id: Id,
        data: &SystemData,
    ) -> Result<System, StoreError>;

    /// Replaces the maintained fields. `NotFound("system")`, `Conflict` on a taken SID.
    async fn update_system(&mut self, id: Id, data: &SystemData) -> Result<System, StoreError>;

    /// Deletes a system with no service connections. `Ok(false)` if it did not exist,
    /// `Conflict` while service connections are set up for it.
    async fn delete_system(&mut self, id: Id) -> Result<bool, StoreError>;

    /// Adds a company's own type. `Conflict` if the company has the key already or the
    /// catalogue has it; `NotFound("company")`.
    async fn create_connection_type(
        &mut self,
        company_id: Id,
        def: &ConnTypeDef,
    ) -> Result<ConnectionType, StoreError>;

    /// Deletes a company's own type that no service connection uses. `Ok(false)` if it did
    /// not exist; `Conflict` if it is in use or is a catalogue type.
    async fn delete_connection_type(&mut self, id: Id) -> Result<bool, StoreError>;

    /// Sets a connection type up for a system. `NotFound("system" | "connection type" |
    /// "connector")`; `Conflict` if the system has this type already, or if the type or
    /// connector belongs to another company.
    async fn create_service_connection(
        &mut self,
        s: NewServiceConnection,
    ) -> Result<ServiceConnection, StoreError>;

    /// Deletes it with its windows and grants. `Ok(false)` if it did not exist. The caller
    /// refuses while a window is open or reserved.
    async fn delete_service_connection(&mut self, id: Id) -> Result<bool, StoreError>;

    /// Stores a window. Atomically refuses with `Conflict` when another window of the same
    /// service connection that is live at `now` (not closed early, end after `now`)
    /// overlaps `[start_at, end_at)`. `NotFound("service connection")`.
    async fn create_window(
        &mut self,
        w: NewWindow,
        now: OffsetDateTime,
    ) -> Result<Window, StoreError>;

    /// Moves a live window's start and end (and replaces contact and engineers), with the
    /// same overlap guard as [`Store::create_window`] (the window itself excluded).
    /// `NotFound("window")`; `Conflict` if it is closed or overlaps.
    async fn update_window(
        &mut self,
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
        &mut self,
        id: Id,
        at: OffsetDateTime,
        closed_by: &str,
    ) -> Result<Option<Window>, StoreError>;

    /// Gives a technical user a standing grant. `NotFound("user" | "service connection")`;
    /// `Conflict` if an active grant exists or user and service connection belong to
    /// different companies.
    async fn create_grant(
        &mut self,
        user_id: Id,
        service_connection_id: Id,
        created_by: &str,
    ) -> Result<Grant, StoreError>;

    /// Sets `revoked_at` (first time only). `true` if this call revoked it.
    async fn revoke_grant(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

    /// Registers a connector location. `Conflict` if the company already has that location (in
    /// any case);
    /// `NotFound("company")` if the company does not exist.
    async fn create_connector(
        &mut self,
        company_id: Id,
        location: &str,
    ) -> Result<Connector, StoreError>;

    /// Records the connector's current client certificate (enrollment or renewal). The
    /// fingerprint is stored lower-cased. Sets `enrolled_at` on the first call only.
    /// `NotFound("connector")`, `Revoked("connector")`, or `Conflict` if another connector
    /// already has this fingerprint.
    async fn set_connector_certificate(
        &mut self,
        id: Id,
        fingerprint_hex: &str,
        not_after: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Sets `revoked_at`. `true` if this call revoked it, `false` if already revoked or
    /// unknown.
    async fn revoke_connector(&mut self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

    /// Stores a one-time enrollment token. `NotFound("connector")`, or `Conflict` if
    /// `public_id` is taken.
    async fn create_enrollment_token(
        &mut self,
        t: NewEnrollmentToken,
    ) -> Result<EnrollmentToken, StoreError>;

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
        &mut self,
        public_id: &str,
        now: OffsetDateTime,
    ) -> Result<EnrollmentToken, StoreError>;

    /// Redeems the token for the public key whose SHA-256 (hex) is `key_sha256`: the first
    /// time like [`StoreTx::consume_enrollment_token`] (`Redemption::First`, the key is
    /// remembered); again with the **same** key while the token has not expired
    /// (`Redemption::Repeat`), so a connector that lost the hub's answer can ask again.
    ///
    /// Errors: `NotFound("enrollment token")`; `Expired` (also for a repeat after expiry);
    /// `Revoked("connector")`; `AlreadyUsed` when it was redeemed with another key.
    async fn redeem_enrollment_token(
        &mut self,
        public_id: &str,
        now: OffsetDateTime,
        key_sha256: &str,
    ) -> Result<crate::model::Redemption, StoreError>;

    // ── audit ──────────────────────────────────────────────────────────────────────────

    /// Adds an event to the hash-chained audit log in this transaction: it is stored, linked
    /// after every event committed before, exactly when the transaction commits.
    async fn audit(&mut self, e: NewAuditEvent) -> Result<(), StoreError>;

    /// Commits the writes and the events together and returns the stored events (with their
    /// `seq` and hashes). On `Err` nothing of the transaction is stored.
    async fn commit(self: Box<Self>) -> Result<Vec<AuditEvent>, StoreError>;
}
