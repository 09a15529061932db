//! Systems, connection types and service connections (the Remote Connection app's data) over
//! HTTP: parse, get the permit from [`crate::ops::access`], call [`crate::ops::systems`],
//! render.
//!
//! Data of a company the caller may not see is "not found", exactly like data that does not
//! exist ([`crate::ops::access`]).

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::Op;
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::system::SystemData;
use portcullis_store::{ConnectionType, Id, System};

use super::extract::{Body, Path, Query};
use super::{ApiErr, Authed};
use crate::ops::systems::services::{self, NewService, ServiceQuery, ServiceView};
use crate::ops::systems::{self, connection_types, SystemQuery, SystemView};
use crate::ops::{access, Caller};
use crate::state::State;

// ── systems ────────────────────────────────────────────────────────────────────────────

/// `GET /api/v1/companies/{company}/systems`
pub async fn list_systems(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
    Query(q): Query<SystemQuery>,
) -> Result<Json<Vec<SystemView>>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadSystems).await?;
    Ok(Json(systems::list(&st, &permit, &q, 0, None).await?.views))
}

/// `POST /api/v1/companies/{company}/systems`
pub async fn create_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(data): Body<SystemData>,
) -> Result<(StatusCode, Json<System>), ApiErr> {
    let (c, permit) = access::company(&st, &p, &company, Op::MaintainSystems).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let s = systems::create(&st, by, &permit, &c, &data).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// `GET /api/v1/systems/{id}`
pub async fn get_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(id): Path<Id>,
) -> Result<Json<SystemView>, ApiErr> {
    let (s, permit) = access::system(&st, &p, id, Op::ReadSystems).await?;
    Ok(Json(systems::get(&st, &permit, &s).await?))
}

/// `PUT /api/v1/systems/{id}`: replaces the maintained fields.
pub async fn update_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
    Body(data): Body<SystemData>,
) -> Result<Json<System>, ApiErr> {
    let (before, permit) = access::system(&st, &p, id, Op::MaintainSystems).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    Ok(Json(
        systems::update(&st, by, &permit, before, &data).await?,
    ))
}

/// `DELETE /api/v1/systems/{id}` (refused while service connections are set up).
pub async fn delete_system(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let (before, permit) = access::system(&st, &p, id, Op::MaintainSystems).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    systems::delete(&st, by, &permit, before).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT` (mark) or `DELETE` (unmark) `/api/v1/systems/{id}/favourite`.
pub async fn set_favourite(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    method: axum::http::Method,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let (s, permit) = access::favourite(&st, &p, id).await?;
    systems::set_favourite(&st, &permit, &s, method == axum::http::Method::PUT).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ── connection types ───────────────────────────────────────────────────────────────────

/// `GET /api/v1/companies/{company}/connection-types`: the catalogue and the company's own.
pub async fn list_types(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<ConnectionType>>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadSystems).await?;
    Ok(Json(connection_types::list(&st, &permit).await?))
}

/// `POST /api/v1/companies/{company}/connection-types`: a company's own type.
pub async fn create_type(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(def): Body<ConnTypeDef>,
) -> Result<(StatusCode, Json<ConnectionType>), ApiErr> {
    let (c, permit) = access::company(&st, &p, &company, Op::MaintainSystems).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let t = connection_types::create(&st, by, &permit, &c, &def).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// `DELETE /api/v1/connection-types/{id}` (a company's own, unused type).
pub async fn delete_type(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let (t, permit) = access::own_connection_type(&st, &p, id, Op::MaintainSystems).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    connection_types::delete(&st, by, &permit, t).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ── service connections ────────────────────────────────────────────────────────────────

/// `GET /api/v1/companies/{company}/service-connections`
pub async fn list_services(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
    Query(q): Query<ServiceQuery>,
) -> Result<Json<Vec<ServiceView>>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadSystems).await?;
    Ok(Json(services::list(&st, &permit, &q).await?))
}

/// `POST /api/v1/systems/{id}/service-connections`: sets a connection type up for a system.
pub async fn create_service(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(system): Path<Id>,
    Body(b): Body<NewService>,
) -> Result<(StatusCode, Json<ServiceView>), ApiErr> {
    let (s, permit) = access::system(&st, &p, system, Op::OperateConnections).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let v = services::create(&st, by, &permit, &s, b).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// `DELETE /api/v1/service-connections/{id}` (refused while a window is open or reserved).
pub async fn delete_service(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<StatusCode, ApiErr> {
    let (sc, permit) = access::service(&st, &p, id, Op::OperateConnections).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    services::delete(&st, by, &permit, sc).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/service-connections/{id}`
pub async fn get_service(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(id): Path<Id>,
) -> Result<Json<ServiceView>, ApiErr> {
    let (sc, permit) = access::service(&st, &p, id, Op::ReadSystems).await?;
    Ok(Json(services::get(&st, &permit, sc).await?))
}
