//! Service connections: a connection type set up for a system through a connector, with the
//! names people use for it and its state now.

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::conntype::check_service_target;
use portcullis_domain::window::WindowState;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

use portcullis_store::{
    ConnectionType, Connector, Id, NewServiceConnection, ServiceConnection, System,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit_action::AuditAction;
use crate::ops::{check, event, Caller, Change, OpError};
use crate::state::State;

/// A service connection with the names people use for it.
#[derive(Debug, Serialize)]
pub struct ServiceView {
    /// The stored record.
    #[serde(flatten)]
    pub service: ServiceConnection,
    /// The system's SID.
    pub sid: String,
    /// The connection type's key.
    pub connection_type: String,
    /// The connection type's name, as people read it (`SAP GUI`, `SSH`).
    pub connection_type_name: String,
    /// The connector's location.
    pub location: String,
    /// The host to give an entry point: `<type>.<sid>.<company>.portcullis`.
    pub entry_host: String,
    /// `open`, `reserved` or `closed` now.
    pub state: WindowState,
    /// The connector's network status now (RC-08): `connected`, `not_connected`,
    /// `not_enrolled` or `revoked`.
    pub network: &'static str,
}

/// `sc` with its names and its state now, for the holder of a permit for any operation on it
/// (reading it, opening a session to it …).
pub async fn view(
    st: &State,
    permit: &Permit,
    sc: ServiceConnection,
) -> Result<ServiceView, OpError> {
    if permit.company() != Some(sc.company_id) {
        return Err(OpError::forbidden("not allowed"));
    }
    describe(st, sc).await
}

/// `sc` with its names and its state now; the caller checked a permit for it.
async fn describe(st: &State, sc: ServiceConnection) -> Result<ServiceView, OpError> {
    let now = OffsetDateTime::now_utc();
    let windows = st.store.list_windows(sc.id).await?;
    let state = state_of(windows.iter().map(|w| w.state(now)));
    describe_with(st, sc, state, &mut Lookup::default()).await
}

/// `open` when any window is open, else `reserved` when any is reserved, else `closed`.
fn state_of(states: impl Iterator<Item = WindowState>) -> WindowState {
    states.fold(WindowState::Closed, |acc, s| match (acc, s) {
        (WindowState::Open, _) | (_, WindowState::Open) => WindowState::Open,
        (WindowState::Reserved, _) | (_, WindowState::Reserved) => WindowState::Reserved,
        _ => WindowState::Closed,
    })
}

/// What describing many service connections reads once, not once per connection: the
/// company, systems, connection types and connectors met so far.
#[derive(Default)]
struct Lookup {
    company: HashMap<Id, String>,
    systems: HashMap<Id, System>,
    types: HashMap<Id, ConnectionType>,
    connectors: HashMap<Id, Connector>,
}

/// `sc` with its names and `state`, reading what `cache` does not hold yet.
async fn describe_with(
    st: &State,
    sc: ServiceConnection,
    state: WindowState,
    cache: &mut Lookup,
) -> Result<ServiceView, OpError> {
    if let Entry::Vacant(e) = cache.company.entry(sc.company_id) {
        let found = st
            .store
            .get_company(sc.company_id)
            .await?
            .ok_or(OpError::NotFound("company"))?;
        e.insert(found.name);
    }
    if let Entry::Vacant(e) = cache.systems.entry(sc.system_id) {
        let found = st
            .store
            .get_system(sc.system_id)
            .await?
            .ok_or(OpError::NotFound("system"))?;
        e.insert(found);
    }
    if let Entry::Vacant(e) = cache.types.entry(sc.connection_type_id) {
        let found = st
            .store
            .get_connection_type(sc.connection_type_id)
            .await?
            .ok_or(OpError::NotFound("connection type"))?;
        e.insert(found);
    }
    if let Entry::Vacant(e) = cache.connectors.entry(sc.connector_id) {
        let found = st
            .store
            .get_connector(sc.connector_id)
            .await?
            .ok_or(OpError::NotFound("connector"))?;
        e.insert(found);
    }
    let company = &cache.company[&sc.company_id];
    let system = &cache.systems[&sc.system_id];
    let ty = &cache.types[&sc.connection_type_id];
    let connector = &cache.connectors[&sc.connector_id];
    Ok(ServiceView {
        sid: system.data.sid.clone(),
        connection_type: ty.def.key.clone(),
        connection_type_name: ty.def.name.clone(),
        network: crate::ops::connectors::status(st, connector),
        location: connector.location.clone(),
        entry_host: entry_host(ty, system, company.clone()),
        state,
        service: sc,
    })
}

/// The host to give an entry point for `ty` on `system` of `company`:
/// `<type>.<sid>.<company>.portcullis`.
fn entry_host(ty: &ConnectionType, system: &System, company: String) -> String {
    portcullis_domain::naming::ServiceName {
        type_key: ty.def.key.clone(),
        sid: system.data.sid.clone(),
        company,
    }
    .host()
}

/// One service connection as lists show it.
pub async fn get(
    st: &State,
    permit: &Permit,
    sc: ServiceConnection,
) -> Result<ServiceView, OpError> {
    check(permit, Op::ReadSystems, Some(sc.company_id))?;
    describe(st, sc).await
}

/// Filters of the service-connection list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceQuery {
    /// Only this system (id).
    pub system: Option<Id>,
    /// Only this connection type (key).
    pub connection_type: Option<String>,
    /// Only in this state now: `open`, `reserved`, `closed`.
    pub state: Option<String>,
    /// Only those whose connector has this network status: `connected`, `not_connected`,
    /// `not_enrolled`, `revoked`.
    pub network: Option<String>,
}

/// The service connections of the permit's company that `q` picks.
pub async fn list(
    st: &State,
    permit: &Permit,
    q: &ServiceQuery,
) -> Result<Vec<ServiceView>, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadSystems)?;
    // A filter value that can never match is a mistake worth saying, not an empty list.
    one_of("state", q.state.as_deref(), &["reserved", "open", "closed"])?;
    one_of(
        "network",
        q.network.as_deref(),
        &["connected", "not_connected", "not_enrolled", "revoked"],
    )?;
    let mut out = Vec::new();
    // One system's: read only its own (a system page at 10 000 systems), not the company's.
    let all = match q.system {
        Some(system) => st.store.list_system_service_connections(system).await?,
        None => st.store.list_service_connections(Some(company)).await?,
    };
    // Each system, type and connector read once, and every window's state from one read of
    // the company's live windows (open and reserved; the rest are closed): no store call per
    // service connection.
    let now = OffsetDateTime::now_utc();
    let mut live: HashMap<Id, Vec<WindowState>> = HashMap::new();
    for w in st.store.list_live_windows(Some(company), now).await? {
        live.entry(w.service_connection_id)
            .or_default()
            .push(w.state(now));
    }
    let mut cache = Lookup::default();
    if q.system.is_none() {
        for s in st.store.list_systems(Some(company)).await? {
            cache.systems.insert(s.id, s);
        }
    }
    for c in st.store.list_connectors(Some(company)).await? {
        cache.connectors.insert(c.id, c);
    }
    for sc in all {
        if sc.company_id != company || q.system.is_some_and(|s| s != sc.system_id) {
            continue;
        }
        let state = state_of(live.remove(&sc.id).unwrap_or_default().into_iter());
        let v = describe_with(st, sc, state, &mut cache).await?;
        if q.connection_type
            .as_ref()
            .is_some_and(|t| *t != v.connection_type)
        {
            continue;
        }
        if q.state.as_ref().is_some_and(|s| s != v.state.as_str()) {
            continue;
        }
        if q.network.as_ref().is_some_and(|n| n != v.network) {
            continue;
        }
        out.push(v);
    }
    Ok(out)
}

/// `invalid` unless `value` (when given) is one of `allowed`.
fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), OpError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(OpError::invalid(format!(
            "{field}: {v:?} is not one of {}",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// A service connection to set up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewService {
    /// Connection type key (the company's own or the catalogue's).
    pub connection_type: String,
    /// Connector location that reaches the system.
    pub location: String,
    /// Virtual host the connector exposes.
    pub virtual_host: String,
    /// Virtual port (default: the type's port for this system, e.g. 32NN).
    pub virtual_port: Option<u16>,
    /// URL, for web types.
    pub url: Option<String>,
}

/// Sets a connection type up for system `s`.
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    s: &System,
    new: NewService,
) -> Result<ServiceView, OpError> {
    check(permit, Op::OperateConnections, Some(s.company_id))?;
    let invalid = |e: &dyn std::fmt::Display| OpError::invalid(e.to_string());
    let ty = st
        .store
        .find_connection_type(s.company_id, &new.connection_type)
        .await?
        .ok_or(OpError::NotFound("connection type"))?;
    let connector = st
        .store
        .find_connector(s.company_id, &new.location)
        .await?
        .ok_or(OpError::NotFound("connector"))?;
    let port = new
        .virtual_port
        .or_else(|| ty.def.port_for(&s.data.system_number))
        .ok_or_else(|| {
            invalid(&format!(
                "virtual_port: the type {} has no usual port; give one",
                ty.def.key
            ))
        })?;
    let host = check_service_target(&ty.def, &new.virtual_host, port, new.url.as_deref())
        .map_err(|e| invalid(&e))?;
    let company = st
        .store
        .get_company(s.company_id)
        .await?
        .ok_or(OpError::NotFound("company"))?;
    let entry_host = entry_host(&ty, s, company.name);
    let mut tx = st.store.begin().await?;
    let sc = tx
        .create_service_connection(NewServiceConnection {
            system_id: s.id,
            connection_type_id: ty.id,
            connector_id: connector.id,
            virtual_host: host,
            virtual_port: port,
            url: new.url,
            created_by: by.principal.label(),
        })
        .await?;
    tx.audit(event(
        by,
        s.company_id,
        AuditAction::ServiceConnectionCreated,
        &entry_host,
        serde_json::json!({"after": &sc, "location": connector.location}),
    ))
    .await?;
    crate::ops::commit(st, tx, &[Change::Resolution]).await?;
    describe(st, sc).await
}

/// Deletes a service connection, refused while a window is open or reserved.
pub async fn delete(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    sc: ServiceConnection,
) -> Result<(), OpError> {
    check(permit, Op::OperateConnections, Some(sc.company_id))?;
    let id = sc.id;
    let v = describe(st, sc).await?;
    if v.state != WindowState::Closed {
        return Err(OpError::Conflict(format!(
            "the service connection has a window {}; close it first",
            v.state.as_str()
        )));
    }
    let mut tx = st.store.begin().await?;
    tx.delete_service_connection(id).await?;
    tx.audit(event(
        by,
        v.service.company_id,
        AuditAction::ServiceConnectionDeleted,
        &v.entry_host,
        serde_json::json!({"before": &v}),
    ))
    .await?;
    crate::ops::commit(st, tx, &[Change::Resolution]).await?;
    Ok(())
}
