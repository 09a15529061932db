//! Standing grants: a technical user may reach a service connection without a window (people
//! use windows, [`super::windows`]).

use portcullis_domain::authz::{Op, Permit, Role};
use portcullis_store::{Grant, ServiceConnection, User};
use time::OffsetDateTime;

use super::{check, event, Caller, Change, OpError};
use crate::audit_action::AuditAction;
use crate::state::State;

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

/// The grants of technical user `user` (a user of the permit's company), newest first.
pub async fn of_user(st: &State, permit: &Permit, user: &User) -> Result<Vec<Grant>, OpError> {
    let company = crate::ops::company_of(permit, Op::ManageGrants)?;
    if user.company_id != Some(company) {
        return Err(OpError::NotFound("user"));
    }
    let mut list: Vec<Grant> = st
        .store
        .list_grants(company)
        .await?
        .into_iter()
        .filter(|g| g.user_id == user.id)
        .collect();
    list.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    Ok(list)
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
