//! Companies: a vendor admin creates them; everyone lists those his permits reach.

use portcullis_domain::authz::{Op, Permit};
use portcullis_store::Company;

use super::{access, check, check_name, event, Caller, Change, OpError};
use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::state::State;

/// Creates a company (the permit is vendor-wide, for [`Op::CreateCompany`]).
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    name: &str,
) -> Result<Company, OpError> {
    check(permit, Op::CreateCompany, None)?;
    check_name("name", name)?;
    let mut tx = st.store.begin().await?;
    let c = tx.create_company(name).await?;
    tx.audit(event(
        by,
        Some(c.id),
        AuditAction::CompanyCreated,
        &c.name,
        serde_json::json!({}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(c)
}

/// The permit with which `p` lists companies: vendor-wide for a vendor role that may read
/// every company, his own company's for a company role; `None` when he may read none (the
/// list is then empty, not refused).
pub fn list_permit(p: &Principal) -> Option<Permit> {
    match p.company_id {
        Some(own) => access::permit(p, Op::ReadCompany, own, "company").ok(),
        None => access::vendor_permit(p, Op::ReadCompany).ok(),
    }
}

/// The companies `permit` reaches: every one under a vendor-wide permit, else its company.
pub async fn list(st: &State, permit: &Permit) -> Result<Vec<Company>, OpError> {
    check(permit, Op::ReadCompany, permit.company())?;
    Ok(match permit.company() {
        None => st.store.list_companies().await?,
        Some(id) => st.store.get_company(id).await?.into_iter().collect(),
    })
}

/// The companies the permit reads, each with whether it has an enabled company admin (a
/// company without one is still to be handed over, [`super::users::hand_over`]).
pub async fn list_with_admin(st: &State, permit: &Permit) -> Result<Vec<(Company, bool)>, OpError> {
    let mut out = Vec::new();
    for c in list(st, permit).await? {
        let has_admin = st.store.list_users(Some(c.id)).await?.iter().any(|u| {
            u.role == portcullis_domain::authz::Role::CompanyAdmin && u.disabled_at.is_none()
        });
        out.push((c, has_admin));
    }
    Ok(out)
}
