//! Connection types: the catalogue every company sees, and a company's own, which it may add
//! and delete while unused.

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_store::{Company, ConnectionType};

use crate::audit_action::AuditAction;
use crate::ops::{check, event, Caller, Change, OpError};
use crate::state::State;

/// The catalogue and the permit's company's own types.
pub async fn list(st: &State, permit: &Permit) -> Result<Vec<ConnectionType>, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadSystems)?;
    Ok(st.store.list_connection_types(Some(company)).await?)
}

/// Adds a type of `company`'s own.
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: &Company,
    def: &ConnTypeDef,
) -> Result<ConnectionType, OpError> {
    check(permit, Op::MaintainSystems, Some(company.id))?;
    def.validate()
        .map_err(|e| OpError::invalid(e.to_string()))?;
    let mut tx = st.store.begin().await?;
    let t = tx.create_connection_type(company.id, def).await?;
    tx.audit(event(
        by,
        company.id,
        AuditAction::ConnectionTypeCreated,
        &t.def.key,
        serde_json::json!({"after": t}),
    ))
    .await?;
    crate::ops::commit(st, tx, &[Change::Resolution]).await?;
    Ok(t)
}

/// Deletes a company's own type (the store refuses one in use); `t` comes from
/// [`crate::ops::access::own_connection_type`].
pub async fn delete(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    t: ConnectionType,
) -> Result<(), OpError> {
    check(permit, Op::MaintainSystems, t.company_id)?;
    let company = t.company_id.ok_or(OpError::Conflict(
        "catalogue connection types cannot be deleted".into(),
    ))?;
    let mut tx = st.store.begin().await?;
    tx.delete_connection_type(t.id).await?;
    tx.audit(event(
        by,
        company,
        AuditAction::ConnectionTypeDeleted,
        &t.def.key,
        serde_json::json!({"before": t}),
    ))
    .await?;
    crate::ops::commit(st, tx, &[Change::Resolution]).await?;
    Ok(())
}
