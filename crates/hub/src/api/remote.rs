//! Systems, connection types and service connections (the Remote Connection app's data).
//!
//! Every handler asks [`permit`] (which asks `portcullis_domain::authz::authorize`) before it
//! touches anything; data of a company the caller may not see is "not found", exactly like data
//! that does not exist.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::conntype::{check_service_target, ConnTypeDef};
use portcullis_domain::system::SystemData;
use portcullis_domain::window::WindowState;
use portcullis_store::{
    Company, ConnectionType, Id, NewServiceConnection, ServiceConnection, System,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::{Body, Path, Query};
use super::{ApiErr, Authed};
use crate::audit_action::AuditAction;
use crate::auth::Principal;
use crate::ops::connectors::status as connector_status;
use crate::ops::{self, Caller, Change};
use crate::state::State;

/// Looks up a company by id or name and asks for a permit for `op` on it
/// ([`ops::access::company`]).
pub async fn company_permit(
    st: &State,
    p: &Principal,
    key: &str,
    op: Op,
) -> Result<(Company, Permit), ApiErr> {
    Ok(ops::access::company(st, p, key, op).await?)
}

/// A permit for `op` on data of `company`; `what` names the object for "not found".
pub fn permit(p: &Principal, op: Op, company: Id, what: &'static str) -> Result<Permit, ApiErr> {
    Ok(ops::access::permit(p, op, company, what)?)
}

/// A service connection and a permit for `op` on it; another company's is "not found".
pub async fn service_permit(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(ServiceConnection, Permit), ApiErr> {
    Ok(ops::access::service(st, p, id, op).await?)
}

fn invalid(e: impl std::fmt::Display) -> ApiErr {
    ApiErr::bad_request("invalid", e.to_string())
}

// ── systems ────────────────────────────────────────────────────────────────────────────

/// A system with what the lists show about it.
#[derive(Debug, Serialize)]
pub struct SystemView {
    /// The stored system.
    #[serde(flatten)]
    pub system: System,
    /// Service connections set up for it.
    pub service_connections: usize,
    /// How many of them have a window open now.
    pub open_connections: usize,
    /// The network status of the connectors its service connections go through (RC-08):
    /// `connected` when every one is connected, `not_connected` when one is not (not
    /// connected, not enrolled or revoked), `not_set_up` without service connections.
    pub network: &'static str,
    /// The caller's favourite.
    pub favourite: bool,
}

/// Filters, sort and grouping of the system list (RC-12).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemQuery {
    /// `active` or `inactive`.
    pub status: Option<String>,
    /// System type, e.g. `abap`.
    pub system_type: Option<String>,
    /// Substring of the product, case-insensitive.
    pub product: Option<String>,
    /// Only systems with this flag set: `eu_data_protection`, `advanced_secure_support`,
    /// `allow_independent_opening`.
    pub flag: Option<String>,
    /// Only systems with an open connection.
    pub open: Option<bool>,
    /// Only the caller's favourites.
    pub favourites: Option<bool>,
    /// Only systems with this network status: `connected`, `not_connected`, `not_set_up`.
    pub network: Option<String>,
    /// `sid` (default), `product`, `status`, `system_type`, `open` (most open first).
    pub sort: Option<String>,
}

async fn open_counts(st: &State, company: Id) -> Result<(Vec<ServiceConnection>, Vec<Id>), ApiErr> {
    let now = OffsetDateTime::now_utc();
    let scs = st.store.list_service_connections(Some(company)).await?;
    let open: Vec<Id> = st
        .store
        .list_live_windows(Some(company), now)
        .await?
        .into_iter()
        .filter(|w| w.state(now) == WindowState::Open)
        .map(|w| w.service_connection_id)
        .collect();
    Ok((scs, open))
}

/// `GET /api/v1/companies/{company}/systems`
pub async fn list_systems(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
    Query(q): Query<SystemQuery>,
) -> Result<Json<Vec<SystemView>>, ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::ReadSystems).await?;
    let mut out = Vec::new();
    for v in system_views(&st, &p, c.id).await? {
        if keep(&v, &q)? {
            out.push(v);
        }
    }
    match q.sort.as_deref().unwrap_or("sid") {
        "sid" => out.sort_by(|a, b| a.system.data.sid.cmp(&b.system.data.sid)),
        "product" => out.sort_by(|a, b| a.system.data.product.cmp(&b.system.data.product)),
        "status" => out.sort_by_key(|v| v.system.data.status.as_str()),
        "system_type" => out.sort_by_key(|v| v.system.data.system_type.as_str()),
        "open" => out.sort_by_key(|v| std::cmp::Reverse(v.open_connections)),
        other => {
            return Err(invalid(format!(
                "sort: {other:?} is not one of sid, product, status, system_type, open"
            )))
        }
    }
    Ok(Json(out))
}

/// Every system of a company as the caller sees it now. The caller holds a permit to read them.
async fn system_views(st: &State, p: &Principal, company: Id) -> Result<Vec<SystemView>, ApiErr> {
    let (scs, open) = open_counts(st, company).await?;
    let favs = st.store.list_favourites(p.user_id).await?;
    let statuses = connector_statuses(st, company).await?;
    let mut out = Vec::new();
    for s in st.store.list_systems(Some(company)).await? {
        let mine: Vec<&ServiceConnection> = scs.iter().filter(|x| x.system_id == s.id).collect();
        out.push(SystemView {
            service_connections: mine.len(),
            open_connections: mine.iter().filter(|x| open.contains(&x.id)).count(),
            network: system_network(&mine, &statuses),
            favourite: favs.contains(&s.id),
            system: s,
        });
    }
    Ok(out)
}

/// Every connector of a company and its network status now.
async fn connector_statuses(st: &State, company: Id) -> Result<HashMap<Id, &'static str>, ApiErr> {
    Ok(st
        .store
        .list_connectors(Some(company))
        .await?
        .iter()
        .map(|c| (c.id, connector_status(st, c)))
        .collect())
}

/// A system's network status from its service connections' connectors.
fn system_network(
    mine: &[&ServiceConnection],
    statuses: &HashMap<Id, &'static str>,
) -> &'static str {
    if mine.is_empty() {
        "not_set_up"
    } else if mine
        .iter()
        .all(|sc| statuses.get(&sc.connector_id) == Some(&"connected"))
    {
        "connected"
    } else {
        "not_connected"
    }
}

fn keep(v: &SystemView, q: &SystemQuery) -> Result<bool, ApiErr> {
    let d = &v.system.data;
    if let Some(s) = &q.status {
        if d.status != s.parse().map_err(invalid)? {
            return Ok(false);
        }
    }
    if let Some(t) = &q.system_type {
        if d.system_type != t.parse().map_err(invalid)? {
            return Ok(false);
        }
    }
    if let Some(pr) = &q.product {
        if !d.product.to_lowercase().contains(&pr.to_lowercase()) {
            return Ok(false);
        }
    }
    if let Some(f) = &q.flag {
        let set = match f.as_str() {
            "eu_data_protection" => d.eu_data_protection,
            "advanced_secure_support" => d.advanced_secure_support,
            "allow_independent_opening" => d.allow_independent_opening,
            other => return Err(invalid(format!("flag: unknown flag {other:?}"))),
        };
        if !set {
            return Ok(false);
        }
    }
    if q.open == Some(true) && v.open_connections == 0 {
        return Ok(false);
    }
    if q.favourites == Some(true) && !v.favourite {
        return Ok(false);
    }
    if let Some(n) = &q.network {
        if !["connected", "not_connected", "not_set_up"].contains(&n.as_str()) {
            return Err(invalid(format!(
                "network: {n:?} is not one of connected, not_connected, not_set_up"
            )));
        }
        if v.network != n {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `POST /api/v1/companies/{company}/systems`
pub async fn create_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(data): Body<SystemData>,
) -> Result<(StatusCode, Json<System>), ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::MaintainSystems).await?;
    data.validate().map_err(invalid)?;
    let mut tx = st.store.begin().await?;
    let s = tx.create_system(c.id, &data).await?;
    let after = serde_json::to_value(&s).unwrap_or_default();
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        c.id,
        AuditAction::SystemCreated,
        &s.data.sid,
        serde_json::json!({"after": after}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

async fn visible_system(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<(System, Permit), ApiErr> {
    Ok(ops::access::system(st, p, id, op).await?)
}

/// `GET /api/v1/systems/{id}`
pub async fn get_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(id): Path<Id>,
) -> Result<Json<SystemView>, ApiErr> {
    let (s, _permit) = visible_system(&st, &p, id, Op::ReadSystems).await?;
    let views = system_views(&st, &p, s.company_id).await?;
    views
        .into_iter()
        .find(|v| v.system.id == id)
        .map(Json)
        .ok_or_else(|| ApiErr::not_found("system"))
}

/// `PUT /api/v1/systems/{id}`: replaces the maintained fields.
pub async fn update_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
    Body(data): Body<SystemData>,
) -> Result<Json<System>, ApiErr> {
    let (before, _permit) = visible_system(&st, &p, id, Op::MaintainSystems).await?;
    data.validate().map_err(invalid)?;
    let mut tx = st.store.begin().await?;
    let after = tx.update_system(id, &data).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        after.company_id,
        AuditAction::SystemUpdated,
        &after.data.sid,
        serde_json::json!({"before": before, "after": after}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok(Json(after))
}

/// `DELETE /api/v1/systems/{id}` (refused while service connections are set up).
pub async fn delete_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let (before, _permit) = visible_system(&st, &p, id, Op::MaintainSystems).await?;
    let mut tx = st.store.begin().await?;
    tx.delete_system(id).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        before.company_id,
        AuditAction::SystemDeleted,
        &before.data.sid,
        serde_json::json!({"before": before}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT` (mark) or `DELETE` (unmark) `/api/v1/systems/{id}/favourite`.
pub async fn set_favourite(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    method: axum::http::Method,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let (s, _read) = visible_system(&st, &p, id, Op::ReadSystems).await?;
    let _permit = permit(&p, Op::KeepFavourites, s.company_id, "system")?;
    st.store
        .set_favourite(p.user_id, id, method == axum::http::Method::PUT)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ── connection types ───────────────────────────────────────────────────────────────────

/// `GET /api/v1/companies/{company}/connection-types`: the catalogue and the company's own.
pub async fn list_types(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<ConnectionType>>, ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::ReadSystems).await?;
    Ok(Json(st.store.list_connection_types(Some(c.id)).await?))
}

/// `POST /api/v1/companies/{company}/connection-types`: a company's own type.
pub async fn create_type(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(def): Body<ConnTypeDef>,
) -> Result<(StatusCode, Json<ConnectionType>), ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::MaintainSystems).await?;
    def.validate().map_err(invalid)?;
    let mut tx = st.store.begin().await?;
    let t = tx.create_connection_type(c.id, &def).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        c.id,
        AuditAction::ConnectionTypeCreated,
        &t.def.key,
        serde_json::json!({"after": t}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// `DELETE /api/v1/connection-types/{id}` (a company's own, unused type).
pub async fn delete_type(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let t = st
        .store
        .get_connection_type(id)
        .await?
        .ok_or_else(|| ApiErr::not_found("connection type"))?;
    let Some(company) = t.company_id else {
        return Err(ApiErr::new(
            StatusCode::CONFLICT,
            "conflict",
            "catalogue connection types cannot be deleted",
        ));
    };
    let _permit = permit(&p, Op::MaintainSystems, company, "connection type")?;
    let mut tx = st.store.begin().await?;
    tx.delete_connection_type(id).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        company,
        AuditAction::ConnectionTypeDeleted,
        &t.def.key,
        serde_json::json!({"before": t}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ── service connections ────────────────────────────────────────────────────────────────

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

pub(crate) async fn service_view(st: &State, sc: ServiceConnection) -> Result<ServiceView, ApiErr> {
    let now = OffsetDateTime::now_utc();
    let company = st
        .store
        .get_company(sc.company_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("company"))?;
    let system = st
        .store
        .get_system(sc.system_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("system"))?;
    let ty = st
        .store
        .get_connection_type(sc.connection_type_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("connection type"))?;
    let connector = st
        .store
        .get_connector(sc.connector_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("connector"))?;
    let windows = st.store.list_windows(sc.id).await?;
    let state = if windows.iter().any(|w| w.state(now) == WindowState::Open) {
        WindowState::Open
    } else if windows
        .iter()
        .any(|w| w.state(now) == WindowState::Reserved)
    {
        WindowState::Reserved
    } else {
        WindowState::Closed
    };
    let entry_host = portcullis_domain::naming::ServiceName {
        type_key: ty.def.key.clone(),
        sid: system.data.sid.clone(),
        company: company.name,
    }
    .host();
    Ok(ServiceView {
        sid: system.data.sid,
        connection_type: ty.def.key,
        network: connector_status(st, &connector),
        location: connector.location,
        entry_host,
        state,
        service: sc,
    })
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

/// `GET /api/v1/companies/{company}/service-connections`
pub async fn list_services(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
    Query(q): Query<ServiceQuery>,
) -> Result<Json<Vec<ServiceView>>, ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::ReadSystems).await?;
    // A filter value that can never match is a mistake worth saying, not an empty list.
    one_of("state", q.state.as_deref(), &["reserved", "open", "closed"])?;
    one_of(
        "network",
        q.network.as_deref(),
        &["connected", "not_connected", "not_enrolled", "revoked"],
    )?;
    let mut out = Vec::new();
    for sc in st.store.list_service_connections(Some(c.id)).await? {
        if q.system.is_some_and(|s| s != sc.system_id) {
            continue;
        }
        let v = service_view(&st, sc).await?;
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
    Ok(Json(out))
}

/// 400 `invalid` unless `value` (when given) is one of `allowed`.
fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), ApiErr> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(invalid(format!(
            "{field}: {v:?} is not one of {}",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// Body of `POST /api/v1/systems/{id}/service-connections`.
#[derive(Debug, Deserialize)]
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

/// `POST /api/v1/systems/{id}/service-connections`: sets a connection type up for a system.
pub async fn create_service(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(system): Path<Id>,
    Body(b): Body<NewService>,
) -> Result<(StatusCode, Json<ServiceView>), ApiErr> {
    let (s, _permit) = visible_system(&st, &p, system, Op::OperateConnections).await?;
    let ty = st
        .store
        .find_connection_type(s.company_id, &b.connection_type)
        .await?
        .ok_or_else(|| ApiErr::not_found("connection type"))?;
    let connector = st
        .store
        .find_connector(s.company_id, &b.location)
        .await?
        .ok_or_else(|| ApiErr::not_found("connector"))?;
    let port = b
        .virtual_port
        .or_else(|| ty.def.port_for(&s.data.system_number))
        .ok_or_else(|| {
            invalid(format!(
                "virtual_port: the type {} has no usual port; give one",
                ty.def.key
            ))
        })?;
    let host =
        check_service_target(&ty.def, &b.virtual_host, port, b.url.as_deref()).map_err(invalid)?;
    let company = st
        .store
        .get_company(s.company_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("company"))?;
    let entry_host = portcullis_domain::naming::ServiceName {
        type_key: ty.def.key.clone(),
        sid: s.data.sid.clone(),
        company: company.name,
    }
    .host();
    let mut tx = st.store.begin().await?;
    let sc = tx
        .create_service_connection(NewServiceConnection {
            system_id: s.id,
            connection_type_id: ty.id,
            connector_id: connector.id,
            virtual_host: host,
            virtual_port: port,
            url: b.url,
            created_by: p.label(),
        })
        .await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        s.company_id,
        AuditAction::ServiceConnectionCreated,
        &entry_host,
        serde_json::json!({"after": &sc, "location": connector.location}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    let v = service_view(&st, sc).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `DELETE /api/v1/service-connections/{id}` (refused while a window is open or reserved).
pub async fn delete_service(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let (sc, _permit) = service_permit(&st, &p, id, Op::OperateConnections).await?;
    let v = service_view(&st, sc).await?;
    if v.state != WindowState::Closed {
        return Err(ApiErr::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "the service connection has a window {}; close it first",
                v.state.as_str()
            ),
        ));
    }
    let mut tx = st.store.begin().await?;
    tx.delete_service_connection(id).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        v.service.company_id,
        AuditAction::ServiceConnectionDeleted,
        &v.entry_host,
        serde_json::json!({"before": &v}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/service-connections/{id}`
pub async fn get_service(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(id): Path<Id>,
) -> Result<Json<ServiceView>, ApiErr> {
    let (sc, _permit) = service_permit(&st, &p, id, Op::ReadSystems).await?;
    Ok(Json(service_view(&st, sc).await?))
}
