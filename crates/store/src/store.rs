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
use crate::{Id, StoreError};

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

    /// Stores a token. `Conflict` if `public_id` is taken; `NotFound("company")` if
    /// `company_id` names no company.
    async fn create_api_token(&self, t: NewApiToken) -> Result<ApiToken, StoreError>;
    /// Looks a token up by its public id, revoked and expired ones included: deciding whether
    /// it is still valid is the caller's job, so that it can log why it refused.
    async fn find_api_token(&self, public_id: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Tokens of one company, or every token (vendor-wide ones included) for `None`; by id.
    async fn list_api_tokens(&self, company_id: Option<Id>) -> Result<Vec<ApiToken>, StoreError>;
    /// Sets `revoked_at`. `true` if this call revoked it, `false` if it was already revoked
    /// or does not exist (the first revocation time is kept).
    async fn revoke_api_token(&self, id: Id, at: OffsetDateTime) -> Result<bool, StoreError>;

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
