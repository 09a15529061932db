//! Standing grants (a technical user may reach a service connection without a window), and
//! the reads about windows: a window, a service connection's windows, a company's live
//! windows and its dashboard figures, a system's log book. Opening, editing and closing
//! windows are [`crate::windows`]'s.

use portcullis_domain::authz::{Op, Permit, Role};
use portcullis_domain::window::WindowState;
use portcullis_store::{AuditEvent, AuditFilter, Grant, Id, ServiceConnection, System, Window};
use serde::Serialize;
use time::OffsetDateTime;

use super::{check, event, Caller, Change, OpError};
use crate::audit_action::AuditAction;
use crate::state::State;

// ── grants ─────────────────────────────────────────────────────────────────────────────

/// Lets the technical user `user` (a name) reach `service` without a window.
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    service: &ServiceConnection,
    user: &str,
) -> Result<Grant, OpError> {
    check(permit, Op::ManageGrants, Some(service.company_id))?;
    let user = st
        .store
        .find_user_by_name(user)
        .await?
        .filter(|u| u.company_id == Some(service.company_id))
        .ok_or(OpError::NotFound("user"))?;
    if user.role != Role::Technical {
        return Err(OpError::invalid(format!(
            "{} is a {}; standing grants are for technical users (engineers use windows)",
            user.name, user.role
        )));
    }
    let mut tx = st.store.begin().await?;
    let g = tx
        .create_grant(user.id, service.id, &by.principal.label())
        .await?;
    tx.audit(event(
        by,
        service.company_id,
        AuditAction::GrantCreated,
        &user.name,
        serde_json::json!({"after": &g}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(g)
}

/// The grants of the permit's company.
pub async fn list(st: &State, permit: &Permit) -> Result<Vec<Grant>, OpError> {
    let company = crate::ops::company_of(permit, Op::ManageGrants)?;
    Ok(st.store.list_grants(company).await?)
}

/// Takes a grant back and cuts the sessions it admitted.
pub async fn revoke(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    g: Grant,
) -> Result<Grant, OpError> {
    check(permit, Op::ManageGrants, Some(g.company_id))?;
    let now = portcullis_store::millis::truncate(OffsetDateTime::now_utc());
    let mut tx = st.store.begin().await?;
    let mut after = g.clone();
    if tx.revoke_grant(g.id, now).await? {
        after.revoked_at = Some(now);
    }
    tx.audit(event(
        by,
        g.company_id,
        AuditAction::GrantRevoked,
        &g.id.to_string(),
        serde_json::json!({"before": &g, "after": &after}),
    ))
    .await?;
    super::commit(st, tx, &[Change::GrantRevoked { grant: g.id }]).await?;
    Ok(after)
}

// ── window reads ───────────────────────────────────────────────────────────────────────

/// A window, for the holder of a permit to read its company's systems.
pub fn window(permit: &Permit, w: Window) -> Result<Window, OpError> {
    check(permit, Op::ReadSystems, Some(w.company_id))?;
    Ok(w)
}

/// Every window of a service connection.
pub async fn windows_of(
    st: &State,
    permit: &Permit,
    sc: &ServiceConnection,
) -> Result<Vec<Window>, OpError> {
    check(permit, Op::ReadSystems, Some(sc.company_id))?;
    Ok(st.store.list_windows(sc.id).await?)
}

/// The open and reserved windows of the permit's company.
pub async fn live_windows(st: &State, permit: &Permit) -> Result<Vec<Window>, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadSystems)?;
    let now = OffsetDateTime::now_utc();
    Ok(st.store.list_live_windows(Some(company), now).await?)
}

/// The company's dashboard figure (RC-12): open connections across its systems.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Company id.
    pub company_id: Id,
    /// Systems.
    pub systems: usize,
    /// Service connections set up.
    pub service_connections: usize,
    /// Service connections with a window open now.
    pub open_connections: usize,
    /// Reserved windows still to come.
    pub reserved_windows: usize,
}

/// The permit's company's dashboard figures now.
pub async fn summary(st: &State, permit: &Permit) -> Result<Summary, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadCompany)?;
    let now = OffsetDateTime::now_utc();
    let live = st.store.list_live_windows(Some(company), now).await?;
    let mut open: Vec<Id> = live
        .iter()
        .filter(|w| w.state(now) == WindowState::Open)
        .map(|w| w.service_connection_id)
        .collect();
    open.sort_unstable();
    open.dedup();
    Ok(Summary {
        company_id: company,
        systems: st.store.list_systems(Some(company)).await?.len(),
        service_connections: st
            .store
            .list_service_connections(Some(company))
            .await?
            .len(),
        open_connections: open.len(),
        reserved_windows: live
            .iter()
            .filter(|w| w.state(now) == WindowState::Reserved)
            .count(),
    })
}

// ── log book ───────────────────────────────────────────────────────────────────────────

/// Every audit event about system `s` — its changes, its service connections' windows and
/// every session to it — oldest first.
pub async fn logbook(st: &State, permit: &Permit, s: &System) -> Result<Vec<AuditEvent>, OpError> {
    check(permit, Op::ReadLogBook, Some(s.company_id))?;
    let scs: Vec<Id> = st
        .store
        .list_service_connections(Some(s.company_id))
        .await?
        .into_iter()
        .filter(|x| x.system_id == s.id)
        .map(|x| x.id)
        .collect();
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let page = st
            .store
            .list_audit(&AuditFilter {
                company_id: Some(s.company_id),
                after_seq: Some(after),
                limit: portcullis_store::MAX_AUDIT_LIMIT,
                ..Default::default()
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        out.extend(
            page.into_iter()
                .filter(|e| about_system(e, s.id, &s.data.sid, &scs)),
        );
    }
    Ok(out)
}

fn about_system(e: &AuditEvent, system: Id, sid: &str, scs: &[Id]) -> bool {
    let d = &e.detail;
    let id_in = |v: &serde_json::Value| v.as_i64().is_some_and(|x| x == system);
    let sc_in = |v: &serde_json::Value| v.as_i64().is_some_and(|x| scs.contains(&x));
    id_in(&d["system"])
        || id_in(&d["after"]["system_id"])
        || id_in(&d["before"]["system_id"])
        || sc_in(&d["service_connection"])
        || sc_in(&d["after"]["service_connection_id"])
        || sc_in(&d["window"]["service_connection_id"])
        || (e.action.starts_with("system.") && e.target == sid)
}
