//! Raw table rows and their conversion into the public records.
//!
//! Rows hold columns exactly as stored (integers for times, text for roles and JSON) so that
//! decoding problems surface as [`StoreError::Corrupt`] naming the column, instead of as an
//! opaque driver error.

use portcullis_domain::secret::Secret;
use serde_json::Value;

use crate::audit::AuditEvent;
use crate::millis::{decode, decode_opt};
use crate::model::{ApiToken, Company, Connector, EnrollmentToken, Role};
use crate::StoreError;

// Column lists as macros so that `concat!` can build `&'static str` queries from them.
macro_rules! company_cols {
    () => {
        "id, name, created_at, require_totp"
    };
}
/// Selects from `api_tokens t JOIN users u` (see [`api_token_from`]).
macro_rules! api_token_cols {
    () => {
        "t.id, t.user_id, u.name AS user_name, u.company_id, u.role, u.authorizations, \
         u.disabled_at AS user_disabled_at, t.name, t.public_id, t.secret_hash, t.created_at, \
         t.expires_at, t.revoked_at, t.scope, t.last_used_at"
    };
}
/// The `FROM` clause that goes with [`api_token_cols`].
macro_rules! api_token_from {
    () => {
        " FROM api_tokens t JOIN users u ON u.id = t.user_id"
    };
}
macro_rules! connector_cols {
    () => {
        "id, company_id, location, cert_fingerprint, cert_not_after, enrolled_at, revoked_at, \
         last_version, last_seen, created_at"
    };
}
macro_rules! enrollment_cols {
    () => {
        "id, connector_id, public_id, secret_hash, created_at, expires_at, used_at"
    };
}
macro_rules! audit_cols {
    () => {
        "seq, at, company_id, actor, action, target, outcome, detail, prev_hash, hash"
    };
}
pub(super) use {
    api_token_cols, api_token_from, audit_cols, company_cols, connector_cols, enrollment_cols,
};

#[derive(sqlx::FromRow)]
pub(super) struct CompanyRow {
    id: i64,
    name: String,
    created_at: i64,
    require_totp: bool,
}

impl TryFrom<CompanyRow> for Company {
    type Error = StoreError;
    fn try_from(r: CompanyRow) -> Result<Self, StoreError> {
        Ok(Company {
            id: r.id,
            name: r.name,
            created_at: decode(r.created_at, "companies.created_at")?,
            require_totp: r.require_totp,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ApiTokenRow {
    id: i64,
    user_id: i64,
    user_name: String,
    company_id: Option<i64>,
    role: String,
    authorizations: String,
    user_disabled_at: Option<i64>,
    name: String,
    public_id: String,
    secret_hash: Vec<u8>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    scope: String,
    last_used_at: Option<i64>,
}

impl TryFrom<ApiTokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: ApiTokenRow) -> Result<Self, StoreError> {
        let role: Role = r.role.parse().map_err(|e| StoreError::Corrupt {
            column: "users.role",
            reason: format!("{e}"),
        })?;
        Ok(ApiToken {
            id: r.id,
            user_id: r.user_id,
            user_name: r.user_name,
            company_id: r.company_id,
            role,
            authorizations: portcullis_domain::authz::Authorizations::parse(&r.authorizations)
                .map_err(|e| StoreError::Corrupt {
                    column: "users.authorizations",
                    reason: e.to_string(),
                })?,
            user_disabled_at: decode_opt(r.user_disabled_at, "users.disabled_at")?,
            name: r.name,
            public_id: r.public_id,
            secret_hash: Secret::new(r.secret_hash),
            created_at: decode(r.created_at, "api_tokens.created_at")?,
            expires_at: decode_opt(r.expires_at, "api_tokens.expires_at")?,
            revoked_at: decode_opt(r.revoked_at, "api_tokens.revoked_at")?,
            scope: r.scope.parse().map_err(|e| StoreError::Corrupt {
                column: "api_tokens.scope",
                reason: format!("{e}"),
            })?,
            last_used_at: decode_opt(r.last_used_at, "api_tokens.last_used_at")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ConnectorRow {
    id: i64,
    company_id: i64,
    location: String,
    cert_fingerprint: Option<String>,
    cert_not_after: Option<i64>,
    enrolled_at: Option<i64>,
    revoked_at: Option<i64>,
    last_version: Option<String>,
    last_seen: Option<i64>,
    created_at: i64,
}

impl TryFrom<ConnectorRow> for Connector {
    type Error = StoreError;
    fn try_from(r: ConnectorRow) -> Result<Self, StoreError> {
        Ok(Connector {
            id: r.id,
            company_id: r.company_id,
            location: r.location,
            cert_fingerprint: r.cert_fingerprint,
            cert_not_after: decode_opt(r.cert_not_after, "connectors.cert_not_after")?,
            enrolled_at: decode_opt(r.enrolled_at, "connectors.enrolled_at")?,
            revoked_at: decode_opt(r.revoked_at, "connectors.revoked_at")?,
            last_version: r.last_version,
            last_seen: decode_opt(r.last_seen, "connectors.last_seen")?,
            created_at: decode(r.created_at, "connectors.created_at")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EnrollmentRow {
    id: i64,
    connector_id: i64,
    public_id: String,
    secret_hash: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl TryFrom<EnrollmentRow> for EnrollmentToken {
    type Error = StoreError;
    fn try_from(r: EnrollmentRow) -> Result<Self, StoreError> {
        Ok(EnrollmentToken {
            id: r.id,
            connector_id: r.connector_id,
            public_id: r.public_id,
            secret_hash: Secret::new(r.secret_hash),
            created_at: decode(r.created_at, "enrollment_tokens.created_at")?,
            expires_at: decode(r.expires_at, "enrollment_tokens.expires_at")?,
            used_at: decode_opt(r.used_at, "enrollment_tokens.used_at")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    pub(super) seq: i64,
    pub(super) at: i64,
    pub(super) company_id: Option<i64>,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) target: String,
    pub(super) outcome: String,
    pub(super) detail: String,
    pub(super) prev_hash: String,
    pub(super) hash: String,
}

impl AuditRow {
    /// Parses the stored detail text. The chain verifier treats failure as a broken link.
    pub(super) fn parse_detail(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.detail)
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let detail = r.parse_detail().map_err(|e| StoreError::Corrupt {
            column: "audit_log.detail",
            reason: e.to_string(),
        })?;
        Ok(AuditEvent {
            seq: r.seq,
            at: decode(r.at, "audit_log.at")?,
            company_id: r.company_id,
            actor: r.actor,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            detail,
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

/// Converts every row, failing on the first corrupt one.
pub(super) fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
