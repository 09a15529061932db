//! Connectors (a company's locations): register one with its first enrolment token, list
//! them with their live status, revoke one (its tunnel goes at once), hand out a new
//! enrolment token (re-enrolment).

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::secret::Secret;
use portcullis_proto::enroll::EnrollToken;
use portcullis_store::{Company, Connector, Id, NewEnrollmentToken, StoreTx};
use serde::Serialize;
use time::OffsetDateTime;

use super::{check, check_name, event, Caller, Change, OpError};
use crate::audit_action::AuditAction;
use crate::auth::new_secret;
use crate::state::State;

/// A connector's network status: `revoked` (SAP's *canceled*), `connected` (its tunnel is up),
/// `not_enrolled`, or `not_connected`.
pub fn status(st: &State, c: &Connector) -> &'static str {
    if c.revoked_at.is_some() {
        "revoked"
    } else if st.registry.by_connector(c.id).is_some() {
        "connected"
    } else if c.cert_fingerprint.is_none() {
        "not_enrolled"
    } else {
        "not_connected"
    }
}

/// A connector with its live status, as lists show it.
#[derive(Debug, Serialize)]
pub struct ConnectorView {
    /// Stored record.
    #[serde(flatten)]
    pub record: Connector,
    /// `connected`, `not_connected`, `revoked` or `not_enrolled`.
    pub status: &'static str,
    /// Live tunnel details.
    pub tunnel: Option<serde_json::Value>,
    /// The latest health report, also after the tunnel went down.
    pub health: Option<crate::health::Received>,
}

/// `c` as it stands now: its status and, while its tunnel is up, the tunnel's details.
pub fn view(st: &State, c: Connector) -> ConnectorView {
    let live = st.registry.by_connector(c.id);
    let status = status(st, &c);
    let tunnel = live.map(|t| {
        serde_json::json!({
            "version": t.version,
            "warning": t.warning,
            "peer": t.peer,
            "connected_at": t.connected_at.format(&time::format_description::well_known::Rfc3339).ok(),
            "inventory": t.inventory.read().map(|i| i.clone()).unwrap_or_default(),
        })
    });
    ConnectorView {
        health: st.health.of(c.id),
        record: c,
        status,
        tunnel,
    }
}

/// A connector with a fresh enrolment token (shown once; masked in `Debug`).
#[derive(Debug, Serialize)]
pub struct WithToken {
    /// The connector.
    pub connector: ConnectorView,
    /// One-time enrolment token.
    pub enrollment_token: Secret<String>,
    /// When the token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Registers a connector at `location` for `company` with its first enrolment token.
pub async fn register(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: &Company,
    location: &str,
) -> Result<WithToken, OpError> {
    check(permit, Op::ManageConnectors, Some(company.id))?;
    check_name("location", location)?;
    let mut tx = st.store.begin().await?;
    let conn = tx.create_connector(company.id, location).await?;
    with_token(st, tx, by, conn, AuditAction::ConnectorCreated).await
}

/// A new enrolment token for `conn` (re-enrolment; the old certificate works until the new
/// one is issued).
pub async fn new_enrolment_token(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    conn: Connector,
) -> Result<WithToken, OpError> {
    check(permit, Op::ManageConnectors, Some(conn.company_id))?;
    let tx = st.store.begin().await?;
    with_token(st, tx, by, conn, AuditAction::ConnectorEnrollmentToken).await
}

/// Issues an enrolment token for `conn` in `tx`, audits `action` there and commits.
async fn with_token(
    st: &State,
    mut tx: Box<dyn StoreTx>,
    by: Caller<'_>,
    conn: Connector,
    action: AuditAction,
) -> Result<WithToken, OpError> {
    let (token, expires_at) = issue_enrolment(st, &mut *tx, conn.id).await?;
    tx.audit(event(
        by,
        Some(conn.company_id),
        action,
        &conn.location,
        serde_json::json!({"connector": conn.id}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(WithToken {
        connector: view(st, conn),
        enrollment_token: token.into(),
        expires_at,
    })
}

async fn issue_enrolment(
    st: &State,
    tx: &mut dyn StoreTx,
    connector_id: Id,
) -> Result<(String, OffsetDateTime), OpError> {
    let s = new_secret(8);
    let ttl = time::Duration::try_from(st.config.enrollment_token_ttl)
        .map_err(|_| OpError::Internal("the enrolment token lifetime is out of range"))?;
    let expires_at = OffsetDateTime::now_utc() + ttl;
    tx.create_enrollment_token(NewEnrollmentToken {
        connector_id,
        public_id: s.public_id.clone(),
        secret_hash: s.hash.clone().into(),
        expires_at,
    })
    .await?;
    let tok = EnrollToken {
        public_id: s.public_id,
        secret: s.secret,
        ca_fingerprint: st.pki.ca.fingerprint_hex().to_string(),
    };
    Ok((tok.to_token_string(), expires_at))
}

/// The connectors of the permit's company, with their live status.
pub async fn list(st: &State, permit: &Permit) -> Result<Vec<ConnectorView>, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadConnectors)?;
    let list = st.store.list_connectors(Some(company)).await?;
    Ok(list.into_iter().map(|c| view(st, c)).collect())
}

/// The locations of the permit's company's connectors that are not revoked: what a service
/// connection may be set up through (a permit to read the company's systems).
pub async fn locations(st: &State, permit: &Permit) -> Result<Vec<String>, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadSystems)?;
    Ok(st
        .store
        .list_connectors(Some(company))
        .await?
        .into_iter()
        .filter(|c| c.revoked_at.is_none())
        .map(|c| c.location)
        .collect())
}

/// Revokes a connector's certificate and cuts its live tunnel at once.
pub async fn revoke(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    conn: Connector,
) -> Result<ConnectorView, OpError> {
    check(permit, Op::ManageConnectors, Some(conn.company_id))?;
    let id = conn.id;
    let mut tx = st.store.begin().await?;
    tx.revoke_connector(id, OffsetDateTime::now_utc()).await?;
    tx.audit(event(
        by,
        Some(conn.company_id),
        AuditAction::ConnectorRevoked,
        &conn.location,
        serde_json::json!({"connector": id}),
    ))
    .await?;
    super::commit(st, tx, &[Change::ConnectorCut { connector: id }]).await?;
    let conn = st
        .store
        .get_connector(id)
        .await?
        .ok_or(OpError::NotFound("connector"))?;
    Ok(view(st, conn))
}
