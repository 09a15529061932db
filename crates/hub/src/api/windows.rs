//! Windows (open, reserve, edit, close, list), standing grants, the open-connection count and
//! a system's log book over HTTP: [`crate::ops::windows`] (on [`crate::windows`]),
//! [`crate::ops::grants`], [`crate::ops::systems::logbook`]. These handlers parse, get the
//! permit, call, render.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::Op;
use portcullis_domain::window::WindowState;
use portcullis_store::{Grant, Id, Window};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::{Body, Path};
use super::{ApiErr, Authed};
use crate::ops::windows::Summary;
use crate::ops::{access, grants, windows, Caller};
use crate::state::State;
use crate::windows::WindowEdit;

/// A window and its state now.
#[derive(Debug, Serialize)]
pub struct WindowView {
    /// The stored window.
    #[serde(flatten)]
    pub window: Window,
    /// `open`, `reserved` or `closed` now.
    pub state: WindowState,
}

fn view(w: Window) -> WindowView {
    WindowView {
        state: w.state(OffsetDateTime::now_utc()),
        window: w,
    }
}

/// Body of `POST /api/v1/service-connections/{id}/windows`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// Contact person at the customer (required, except for a support engineer's independent
    /// opening, where it defaults to the engineer).
    #[serde(default)]
    pub contact: String,
    /// Start, RFC 3339; in the future it makes a reservation. Default: now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
    /// End, RFC 3339. Default: start + 8 hours.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// Alternative to `end`: hours from the start.
    pub hours: Option<u32>,
    /// User names of the engineers it admits (default: any support engineer).
    #[serde(default)]
    pub engineers: Vec<String>,
}

/// `POST /api/v1/service-connections/{id}/windows`: opens now or reserves.
pub async fn open_window(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(sc): Path<Id>,
    Body(b): Body<OpenBody>,
) -> Result<(StatusCode, Json<WindowView>), ApiErr> {
    let (_service, permit) = access::service(&st, &p, sc, windows::op(&p)).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let req = windows::OpenRequest {
        contact: b.contact,
        start: b.start,
        end: b.end,
        hours: b.hours,
        engineers: b.engineers,
        reservation: false,
    };
    let w = windows::open(&st, by, &permit, sc, req).await?;
    Ok((StatusCode::CREATED, Json(view(w))))
}

/// Body of `PATCH /api/v1/windows/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    /// New start (reserved windows only).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
    /// New end.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// New contact person.
    pub contact: Option<String>,
    /// New list of admitted engineers.
    pub engineers: Option<Vec<String>>,
}

/// `PATCH /api/v1/windows/{id}`: extend, shorten, move, change contact or engineers.
pub async fn edit_window(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
    Body(b): Body<EditBody>,
) -> Result<Json<WindowView>, ApiErr> {
    let (_, permit) = access::window(&st, &p, id, Op::OperateConnections).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let edit = WindowEdit {
        start: b.start,
        end: b.end,
        contact: b.contact,
        engineers: b.engineers,
    };
    Ok(Json(view(windows::edit(&st, by, &permit, id, edit).await?)))
}

/// `POST /api/v1/windows/{id}/close` (a support engineer: only his own independent opening).
pub async fn close_window(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<WindowView>, ApiErr> {
    let (_, permit) = access::window(&st, &p, id, windows::op(&p)).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    Ok(Json(view(windows::close(&st, by, &permit, id).await?)))
}

/// `GET /api/v1/windows/{id}`
pub async fn get_window(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(id): Path<Id>,
) -> Result<Json<WindowView>, ApiErr> {
    let (w, permit) = access::window(&st, &p, id, Op::ReadSystems).await?;
    Ok(Json(view(windows::get(&permit, w)?)))
}

/// `GET /api/v1/service-connections/{id}/windows`: every window, newest start last.
pub async fn list_windows(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(sc): Path<Id>,
) -> Result<Json<Vec<WindowView>>, ApiErr> {
    let (service, permit) = access::service(&st, &p, sc, Op::ReadSystems).await?;
    let list = windows::of_service(&st, &permit, &service).await?;
    Ok(Json(list.into_iter().map(view).collect()))
}

/// `GET /api/v1/companies/{company}/windows`: the company's open and reserved windows.
pub async fn list_live_windows(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<WindowView>>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadSystems).await?;
    let list = windows::live(&st, &permit).await?;
    Ok(Json(list.into_iter().map(view).collect()))
}

/// `GET /api/v1/companies/{company}/summary`
pub async fn summary(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Summary>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadCompany).await?;
    Ok(Json(windows::summary(&st, &permit).await?))
}

// ── grants ─────────────────────────────────────────────────────────────────────────────

/// Body of `POST /api/v1/service-connections/{id}/grants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// The technical user's name.
    pub user: String,
}

/// `POST /api/v1/service-connections/{id}/grants`: a technical user may reach it.
pub async fn create_grant(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(sc): Path<Id>,
    Body(b): Body<GrantBody>,
) -> Result<(StatusCode, Json<Grant>), ApiErr> {
    let (service, permit) = access::service(&st, &p, sc, Op::ManageGrants).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let g = grants::create(&st, by, &permit, &service, &b.user).await?;
    Ok((StatusCode::CREATED, Json(g)))
}

/// `GET /api/v1/companies/{company}/grants`
pub async fn list_grants(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<Grant>>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ManageGrants).await?;
    Ok(Json(grants::list(&st, &permit).await?))
}

/// `POST /api/v1/grants/{id}/revoke`: takes it back and cuts its live sessions.
pub async fn revoke_grant(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<Grant>, ApiErr> {
    let (g, permit) = access::grant(&st, &p, id, Op::ManageGrants).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    Ok(Json(grants::revoke(&st, by, &permit, g).await?))
}

// ── log book ───────────────────────────────────────────────────────────────────────────

/// `GET /api/v1/systems/{id}/logbook`: every audit event about the system — its changes, its
/// service connections' windows and every session to it — oldest first.
pub async fn logbook(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(id): Path<Id>,
) -> Result<Json<Vec<portcullis_store::AuditEvent>>, ApiErr> {
    let (s, permit) = access::system(&st, &p, id, Op::ReadLogBook).await?;
    Ok(Json(crate::ops::systems::logbook(&st, &permit, &s).await?))
}

/// `GET /api/v1/companies/{company}/sessions`: the company's live sessions.
pub async fn list_live_sessions(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<crate::ops::live::LiveView>>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadAudit).await?;
    Ok(Json(crate::ops::live::list(&st, &permit)?))
}

/// `POST /api/v1/sessions/{id}/cut`: cuts a live session of the caller's company.
pub async fn cut_session(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiErr> {
    let company = p
        .company_id
        .ok_or(crate::ops::OpError::NotFound("session"))?;
    let permit = access::permit(&p, Op::OperateConnections, company, "session")?;
    let s = crate::ops::live::get(&st, &permit, &id)?;
    let by = Caller {
        principal: &p,
        from,
    };
    crate::ops::live::cut(&st, by, &permit, &s).await?;
    Ok(StatusCode::NO_CONTENT)
}
