//! The live sessions of a company, and cutting one: what the portal's live-sessions page
//! and the API's `GET /companies/{c}/sessions`, `POST /sessions/{id}/cut` call.
//!
//! Listing needs the permit to read the company's audit (who connected from where is audit
//! data); cutting needs the permit to operate the company's connections (whoever may close
//! the window may end a session under it). Another company's session is "not found".

use std::sync::Arc;

use portcullis_domain::authz::{Op, Permit};

use super::{check, company_of, event, Caller, OpError};
use crate::audit_action::AuditAction;
use crate::live::LiveSession;
use crate::state::State;

/// A live session as the doors show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveView {
    /// The session id (as in its audit events).
    pub id: String,
    /// The user it runs as.
    pub user: String,
    /// The credential, as audit records name it.
    pub actor: String,
    /// The entry point.
    pub entry: &'static str,
    /// The client's address.
    pub client: String,
    /// What it reaches.
    pub target: String,
    /// The service connection.
    pub service_connection_id: portcullis_store::Id,
    /// When its relay started.
    #[serde(with = "time::serde::rfc3339")]
    pub since: time::OffsetDateTime,
    /// Bytes client → target so far.
    pub bytes_up: u64,
    /// Bytes target → client so far.
    pub bytes_down: u64,
}

impl From<&LiveSession> for LiveView {
    fn from(s: &LiveSession) -> Self {
        LiveView {
            id: s.id.clone(),
            user: s.user_name.clone(),
            actor: s.actor.clone(),
            entry: s.entry,
            client: s.client.to_string(),
            target: s.target.clone(),
            service_connection_id: s.service_connection_id,
            since: s.since,
            bytes_up: s.bytes_up(),
            bytes_down: s.bytes_down(),
        }
    }
}

/// The live sessions of the permit's company, oldest first.
pub fn list(st: &State, permit: &Permit) -> Result<Vec<LiveView>, OpError> {
    let company = company_of(permit, Op::ReadAudit)?;
    Ok(st
        .live
        .of_company(company)
        .iter()
        .map(|s| LiveView::from(s.as_ref()))
        .collect())
}

/// The live session `id` of the permit's company.
pub fn get(st: &State, permit: &Permit, id: &str) -> Result<Arc<LiveSession>, OpError> {
    let company = permit.company().ok_or(OpError::NotFound("session"))?;
    st.live
        .get(id)
        .filter(|s| s.company_id == company)
        .ok_or(OpError::NotFound("session"))
}

/// Cuts live session `s` (its relay ends as `cut_by_admin`, with its own `session.end`),
/// recording who cut it.
pub async fn cut(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    s: &LiveSession,
) -> Result<(), OpError> {
    check(permit, Op::OperateConnections, Some(s.company_id))?;
    let mut tx = st.store.begin().await?;
    tx.audit(event(
        by,
        s.company_id,
        AuditAction::SessionCut,
        &s.target,
        serde_json::json!({
            "session": s.id,
            "user": s.user_name,
            "client": s.client.to_string(),
            "service_connection_id": s.service_connection_id,
        }),
    ))
    .await?;
    super::commit(st, tx, &[]).await?;
    s.cut.cancel();
    Ok(())
}
