//! Permits for objects looked up by id or name: the object and a permit for one operation on
//! it, or "not found" — also for an object of a company the caller may not see, so its
//! existence does not leak.

use portcullis_domain::authz::{authorize, AuthzError, Op, Permit};
use portcullis_store::{
    ApiToken, Company, ConnectionType, Connector, Grant, Id, ServiceConnection, System, User,
    Window,
};

use super::OpError;
use crate::auth::Principal;
use crate::state::State;

/// A permit for `op` on data of `company`; `what` names the object for "not found".
pub fn permit(p: &Principal, op: Op, company: Id, what: &'static str) -> Result<Permit, OpError> {
    authorize(&p.actor(), op, Some(company)).map_err(|e| match e {
        AuthzError::OtherCompany => OpError::NotFound(what),
        other => OpError::forbidden(other.to_string()),
    })
}

/// Whether `p` may manage users: his company's, or the vendor users (what the portal's
/// "Users" entry asks).
pub fn may_manage_users(p: &Principal) -> bool {
    scoped_permit(p, Op::ManageUsers, p.company_id, "users").is_ok()
}

/// Whether `p` may manage his company's connectors (the portal's "Connectors" entry).
pub fn may_manage_connectors(p: &Principal) -> bool {
    p.company_id
        .is_some_and(|c| permit(p, Op::ManageConnectors, c, "company").is_ok())
}

/// A permit for `op` on vendor-wide data (vendor users, every company).
pub fn vendor_permit(p: &Principal, op: Op) -> Result<Permit, OpError> {
    authorize(&p.actor(), op, None).map_err(|_| OpError::forbidden("this token may not do that"))
}

/// A permit for `op` on `company` when it is `Some`, on vendor-wide data when `None`.
pub fn scoped_permit(
    p: &Principal,
    op: Op,
    company: Option<Id>,
    what: &'static str,
) -> Result<Permit, OpError> {
    match company {
        Some(c) => permit(p, op, c, what),
        None => vendor_permit(p, op),
    }
}

/// Looks up a company by id or name and asks for a permit for `op` on it.
pub async fn company(
    st: &State,
    p: &Principal,
    key: &str,
    op: Op,
) -> Result<(Company, Permit), OpError> {
    let found = match key.parse::<Id>() {
        Ok(id) => st.store.get_company(id).await?,
        Err(_) => st.store.find_company_by_name(key).await?,
    }
    .ok_or(OpError::NotFound("company"))?;
    let permit = permit(p, op, found.id, "company")?;
    Ok((found, permit))
}

/// A system and a permit for `op` on it.
pub async fn system(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(System, Permit), OpError> {
    let s = st
        .store
        .get_system(id)
        .await?
        .ok_or(OpError::NotFound("system"))?;
    let permit = permit(p, op, s.company_id, "system")?;
    Ok((s, permit))
}

/// A service connection and a permit for `op` on it.
pub async fn service(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(ServiceConnection, Permit), OpError> {
    let sc = st
        .store
        .get_service_connection(id)
        .await?
        .ok_or(OpError::NotFound("service connection"))?;
    let permit = permit(p, op, sc.company_id, "service connection")?;
    Ok((sc, permit))
}

/// A window and a permit for `op` on it.
pub async fn window(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(Window, Permit), OpError> {
    let w = st
        .store
        .get_window(id)
        .await?
        .ok_or(OpError::NotFound("window"))?;
    let permit = permit(p, op, w.company_id, "window")?;
    Ok((w, permit))
}

/// A connector and a permit for `op` on it; who may not even list the company's connectors
/// learns nothing of it.
pub async fn connector(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(Connector, Permit), OpError> {
    let conn = st
        .store
        .get_connector(id)
        .await?
        .ok_or(OpError::NotFound("connector"))?;
    permit(p, Op::ReadConnectors, conn.company_id, "connector")?;
    let permit = permit(p, op, conn.company_id, "connector")?;
    Ok((conn, permit))
}

/// A user and a permit for `op` on him (a vendor permit for vendor users).
pub async fn user(st: &State, p: &Principal, id: Id, op: Op) -> Result<(User, Permit), OpError> {
    let u = st
        .store
        .get_user(id)
        .await?
        .ok_or(OpError::NotFound("user"))?;
    let permit = scoped_permit(p, op, u.company_id, "user")?;
    Ok((u, permit))
}

/// An API token (or route password) and a permit for `op` on it: a company's token under a
/// permit for that company, a vendor user's token only for who manages vendor users; others
/// learn nothing of it.
pub async fn token(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(ApiToken, Permit), OpError> {
    let tok = st
        .store
        .list_api_tokens(None)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(OpError::NotFound("token"))?;
    let permit = match tok.company_id {
        Some(c) => permit(p, op, c, "token")?,
        None => authorize(&p.actor(), op, None).map_err(|_| OpError::NotFound("token"))?,
    };
    Ok((tok, permit))
}

/// A grant and a permit for `op` on it.
pub async fn grant(st: &State, p: &Principal, id: Id, op: Op) -> Result<(Grant, Permit), OpError> {
    let g = st
        .store
        .get_grant(id)
        .await?
        .ok_or(OpError::NotFound("grant"))?;
    let permit = permit(p, op, g.company_id, "grant")?;
    Ok((g, permit))
}

/// A system the caller may see and a permit to mark it as his favourite: who may not even
/// read the system learns nothing of it.
pub async fn favourite(st: &State, p: &Principal, id: Id) -> Result<(System, Permit), OpError> {
    let (s, _) = system(st, p, id, Op::ReadSystems).await?;
    let permit = permit(p, Op::KeepFavourites, s.company_id, "system")?;
    Ok((s, permit))
}

/// A company's own connection type and a permit for `op` on it. A catalogue type is no
/// company's: it cannot be changed (409), whoever asks.
pub async fn own_connection_type(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(ConnectionType, Permit), OpError> {
    let t = st
        .store
        .get_connection_type(id)
        .await?
        .ok_or(OpError::NotFound("connection type"))?;
    let Some(company) = t.company_id else {
        return Err(OpError::Conflict(
            "catalogue connection types cannot be deleted".into(),
        ));
    };
    let permit = permit(p, op, company, "connection type")?;
    Ok((t, permit))
}
