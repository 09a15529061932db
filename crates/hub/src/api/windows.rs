//! Windows (open, reserve, edit, close, list), standing grants, the open-connection count and
//! a system's log book. Opening, editing and closing are [`crate::windows`]'s; grants and the
//! reads are [`crate::ops::grants`]'. These handlers parse, get the permit, call, render.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::{Op, Role};
use portcullis_domain::window::WindowState;
use portcullis_store::{Grant, Id, Window};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::{Body, Path};
use super::{ApiErr, Authed};
use crate::ops::grants::Summary;
use crate::ops::{access, grants, Caller};
use crate::state::State;
use crate::windows::{self as svc, ChangedBy, WindowEdit, WindowOpError, WindowRequest};

impl From<WindowOpError> for ApiErr {
    fn from(e: WindowOpError) -> Self {
        match e {
            WindowOpError::NotFound(what) => ApiErr::not_found(what),
            WindowOpError::Forbidden => ApiErr::forbidden(),
            e @ WindowOpError::NotOwnWindow => {
                ApiErr::new(StatusCode::FORBIDDEN, "not_own_window", e.to_string())
            }
            e @ WindowOpError::NotIndependent { .. } => ApiErr::new(
                StatusCode::FORBIDDEN,
                "independent_opening_not_allowed",
                e.to_string(),
            ),
            WindowOpError::Rule(r) => ApiErr::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "window_rule",
                r.to_string(),
            ),
            WindowOpError::Store(s) => s.into(),
        }
    }
}

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

fn by(p: &crate::auth::Principal, from: SocketAddr) -> ChangedBy {
    ChangedBy {
        actor: p.label(),
        from: Some(from.to_string()),
    }
}

fn check_contact(c: &str) -> Result<(), ApiErr> {
    if c.trim().is_empty() || c.chars().count() > 200 {
        return Err(ApiErr::bad_request(
            "invalid",
            "contact: name the contact person (1 to 200 characters)",
        ));
    }
    Ok(())
}

/// Refuses times and lengths no window can have before anything is computed from them: the
/// rules (at most 20 days) refuse them anyway, but adding hours to an instant near the end
/// of the calendar (9999-12-31) would overflow first.
fn check_times(
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    hours: Option<u32>,
) -> Result<(), ApiErr> {
    for (field, t) in [("start", start), ("end", end)] {
        if t.is_some_and(|t| t.year() >= LAST_YEAR) {
            return Err(ApiErr::bad_request(
                "invalid",
                format!("{field}: must be before the year {LAST_YEAR}"),
            ));
        }
    }
    let max_hours = portcullis_domain::window::MAX_DURATION.whole_hours();
    if hours.is_some_and(|h| i64::from(h) > max_hours) {
        return Err(ApiErr::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "window_rule",
            format!("a window may be open for at most 20 days ({max_hours} hours)"),
        ));
    }
    Ok(())
}

/// The first year a window's start or end may not lie in: far enough from the calendar's end
/// (9999) that no offset or added length can overflow.
const LAST_YEAR: i32 = 9000;

/// `POST /api/v1/service-connections/{id}/windows`: opens now or reserves.
pub async fn open_window(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(sc): Path<Id>,
    Body(mut b): Body<OpenBody>,
) -> Result<(StatusCode, Json<WindowView>), ApiErr> {
    // A support engineer never operates a company's connections; what he may do is open one
    // for himself where the customer allowed it.
    let independent = p.role == Role::SupportEngineer;
    let op = if independent {
        Op::OpenIndependently
    } else {
        Op::OperateConnections
    };
    let (_service, permit) = access::service(&st, &p, sc, op).await?;
    if independent && b.contact.trim().is_empty() {
        b.contact = format!("{} (independent opening)", p.user_name);
    }
    check_contact(&b.contact)?;
    check_times(b.start, b.end, b.hours)?;
    let now = OffsetDateTime::now_utc();
    // A start at or before now is "open now" (clients' clocks and round trips differ a little).
    let start = b.start.filter(|s| *s > now);
    if b.end.is_some() && b.hours.is_some() {
        return Err(ApiErr::bad_request(
            "invalid",
            "give end or hours, not both",
        ));
    }
    let req = WindowRequest {
        service_connection_id: sc,
        start,
        end: b.end,
        hours: b.hours,
        contact: b.contact,
        engineers: b.engineers,
    };
    let w = if independent {
        if req.start.is_some() {
            return Err(ApiErr::bad_request(
                "invalid",
                "an independent opening opens now; reserving a window is the customer's",
            ));
        }
        if !req.engineers.is_empty() && req.engineers != [p.user_name.as_str()] {
            return Err(ApiErr::bad_request(
                "invalid",
                "an independent opening admits only the engineer who opens it",
            ));
        }
        svc::open_independently(&st, &permit, &by(&p, from), &p.user_name, req).await?
    } else {
        svc::open(&st, &permit, &by(&p, from), req).await?
    };
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
    if let Some(c) = &b.contact {
        check_contact(c)?;
    }
    check_times(b.start, b.end, None)?;
    let w = svc::edit(
        &st,
        &permit,
        &by(&p, from),
        id,
        WindowEdit {
            start: b.start,
            end: b.end,
            contact: b.contact,
            engineers: b.engineers,
        },
    )
    .await?;
    Ok(Json(view(w)))
}

/// `POST /api/v1/windows/{id}/close`
pub async fn close_window(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<WindowView>, ApiErr> {
    if p.role == Role::SupportEngineer {
        let (_, permit) = access::window(&st, &p, id, Op::OpenIndependently).await?;
        return Ok(Json(view(
            svc::close_own(&st, &permit, &by(&p, from), &p.user_name, id).await?,
        )));
    }
    let (_, permit) = access::window(&st, &p, id, Op::OperateConnections).await?;
    Ok(Json(view(
        svc::close(&st, &permit, &by(&p, from), id).await?,
    )))
}

/// `GET /api/v1/windows/{id}`
pub async fn get_window(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(id): Path<Id>,
) -> Result<Json<WindowView>, ApiErr> {
    let (w, permit) = access::window(&st, &p, id, Op::ReadSystems).await?;
    Ok(Json(view(grants::window(&permit, w)?)))
}

/// `GET /api/v1/service-connections/{id}/windows`: every window, newest start last.
pub async fn list_windows(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(sc): Path<Id>,
) -> Result<Json<Vec<WindowView>>, ApiErr> {
    let (service, permit) = access::service(&st, &p, sc, Op::ReadSystems).await?;
    let list = grants::windows_of(&st, &permit, &service).await?;
    Ok(Json(list.into_iter().map(view).collect()))
}

/// `GET /api/v1/companies/{company}/windows`: the company's open and reserved windows.
pub async fn list_live_windows(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<WindowView>>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadSystems).await?;
    let list = grants::live_windows(&st, &permit).await?;
    Ok(Json(list.into_iter().map(view).collect()))
}

/// `GET /api/v1/companies/{company}/summary`
pub async fn summary(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Summary>, ApiErr> {
    let (_, permit) = access::company(&st, &p, &company, Op::ReadCompany).await?;
    Ok(Json(grants::summary(&st, &permit).await?))
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
    Ok(Json(grants::logbook(&st, &permit, &s).await?))
}
