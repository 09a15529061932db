//! A customer's system page: its data, its connection types by state, and opening,
//! reserving, editing and closing windows on its service connections. Each handler asks
//! [`crate::ops`] exactly what the REST API asks. (The list is [`super::system_list`].)

use askama::Template;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_domain::window::WindowState;
use portcullis_store::{Id, Window};
use serde::Deserialize;
use time::OffsetDateTime;

use super::form;
use super::render::{self, when, Chrome};
use super::session::{Posted, Signed};
use crate::ops::systems::services::{self, ServiceQuery, ServiceView};
use crate::ops::systems::{self, SystemView};
use crate::ops::{access, windows, OpError};
use crate::state::State;
use crate::windows::WindowEdit;

/// One service connection on the system page, with what the viewer may do with it.
struct ServiceRow {
    view: ServiceView,
    /// The window open now, if any.
    open: Option<Window>,
    /// Reserved windows still to come.
    reserved: Vec<Window>,
    /// What the connector's latest health report says of this back end.
    backend: Option<String>,
}

impl ServiceRow {
    fn state(&self) -> &'static str {
        self.view.state.as_str()
    }
}

#[derive(Template)]
#[template(path = "portal/system.html")]
struct SystemPage {
    chrome: Chrome,
    sys: SystemView,
    rows: Vec<ServiceRow>,
    counts: [(&'static str, usize); 3],
    filter: String,
    can_operate: bool,
    /// Whether the viewer may edit windows and reserve (the API's `PATCH /windows/{id}`).
    can_edit: bool,
    /// Whether the viewer may read the system's log book.
    can_read_logbook: bool,
    /// Whether the viewer may maintain the system's data.
    can_maintain: bool,
    /// Whether the viewer may set up and delete service connections.
    can_set_up: bool,
    /// The connection types the set-up form offers.
    types: Vec<portcullis_store::ConnectionType>,
    /// The company's connector locations the set-up form offers.
    locations: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
    /// The open form that was refused, to show again as it was filled in.
    retry: Option<Retry>,
}

/// A refused form, to show again as it was filled in: which form (`open`, `reserve` or
/// `edit`), the service connection (open, reserve) or window (edit) it was for, and what was
/// typed.
#[derive(Debug, Clone)]
struct Retry {
    form: &'static str,
    key: Id,
    fields: Vec<(&'static str, String)>,
}

impl SystemPage {
    fn when(&self, t: &OffsetDateTime) -> String {
        when(*t)
    }

    /// Whether the refused form is `form` for `key` (its `<details>` is shown open).
    fn retried(&self, form: &str, key: &Id) -> bool {
        self.retry
            .as_ref()
            .is_some_and(|r| r.form == form && r.key == *key)
    }

    /// The value of `field` in form `form` for `key`: as typed when that form was refused,
    /// else `default`.
    fn typed(&self, form: &str, key: &Id, field: &str, default: &str) -> String {
        match &self.retry {
            Some(r) if r.form == form && r.key == *key => r
                .fields
                .iter()
                .find(|(k, _)| *k == field)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            _ => default.to_string(),
        }
    }

    /// `t` as a `datetime-local` field's value (UTC, to the minute).
    fn local(&self, t: &OffsetDateTime) -> String {
        when(*t).trim_end_matches(" UTC").replacen(' ', "T", 1)
    }

    /// A window's engineers as the edit form shows them.
    fn engineers_of(&self, w: &Window) -> String {
        w.engineers.join(", ")
    }
}

/// `?state=` and the notice a redirect after a change carries.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    done: String,
}

/// `GET /systems/{id}`
pub async fn page(
    AxState(st): AxState<State>,
    s: Signed,
    Path(id): Path<Id>,
    Query(q): Query<PageQuery>,
) -> Response {
    let notice = match q.done.as_str() {
        "opened" => Some("The connection is open.".to_string()),
        "closed" => Some("The connection is closed.".to_string()),
        "edited" => Some("The window is changed.".to_string()),
        "cancelled" => Some("The reservation is cancelled.".to_string()),
        "reserved" => Some("The window is reserved.".to_string()),
        "created" => Some("The system is created. Set up its connection types below.".to_string()),
        "saved" => Some("The system data is saved.".to_string()),
        "set-up" => Some("The connection type is set up.".to_string()),
        "removed" => Some("The connection type is removed.".to_string()),
        _ => None,
    };
    match system_page(&st, &s, id, &q.state, notice, None, None).await {
        Ok(r) => r,
        Err(e) => render::op_error(&e),
    }
}

async fn system_page(
    st: &State,
    s: &Signed,
    id: Id,
    filter: &str,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
    retry: Option<Retry>,
) -> Result<Response, OpError> {
    let (sys, permit) = access::system(st, &s.principal, id, Op::ReadSystems).await?;
    let view = systems::get(st, &permit, &sys).await?;
    let company_permit = access::permit(&s.principal, Op::ReadSystems, sys.company_id, "system")?;
    let list = services::list(
        st,
        &company_permit,
        &ServiceQuery {
            system: Some(id),
            ..ServiceQuery::default()
        },
    )
    .await?;
    let now = OffsetDateTime::now_utc();
    let mut rows = Vec::new();
    let mut counts = [("open", 0), ("reserved", 0), ("closed", 0)];
    for v in list {
        let all = windows::of_service(st, &permit, &v.service).await?;
        let open = all
            .iter()
            .find(|w| w.state(now) == WindowState::Open)
            .cloned();
        let reserved = all
            .into_iter()
            .filter(|w| w.state(now) == WindowState::Reserved)
            .collect();
        if let Some(c) = counts.iter_mut().find(|(k, _)| *k == v.state.as_str()) {
            c.1 += 1;
        }
        if filter.is_empty() || filter == v.state.as_str() {
            let backend = crate::health::backend_line(
                &st.registry,
                &st.health,
                sys.company_id,
                &v.location,
                &v.service.virtual_host,
                v.service.virtual_port,
            );
            rows.push(ServiceRow {
                view: v,
                open,
                reserved,
                backend,
            });
        }
    }
    let can_operate = access::permit(
        &s.principal,
        windows::op(&s.principal),
        sys.company_id,
        "system",
    )
    .is_ok()
        && (windows::op(&s.principal) == Op::OperateConnections
            || view.system.data.allow_independent_opening);
    let can_edit = access::permit(
        &s.principal,
        Op::OperateConnections,
        sys.company_id,
        "system",
    )
    .is_ok();
    let can_read_logbook =
        access::permit(&s.principal, Op::ReadLogBook, sys.company_id, "system").is_ok();
    let can_maintain =
        access::permit(&s.principal, Op::MaintainSystems, sys.company_id, "system").is_ok();
    let can_set_up = access::permit(
        &s.principal,
        Op::OperateConnections,
        sys.company_id,
        "system",
    )
    .is_ok();
    let (types, locations) = if can_set_up {
        let types = super::system_admin::choosable_types(st, s, sys.company_id).await;
        let locations =
            match access::permit(&s.principal, Op::ReadSystems, sys.company_id, "system") {
                Ok(p) => crate::ops::connectors::locations(st, &p).await?,
                Err(_) => Vec::new(),
            };
        (types, locations)
    } else {
        (Vec::new(), Vec::new())
    };
    let (status, error) = match error {
        Some((st, text)) => (st, Some(text)),
        None => (StatusCode::OK, None),
    };
    Ok(render::page(
        status,
        &SystemPage {
            chrome: s.chrome("systems"),
            sys: view,
            rows,
            counts,
            filter: filter.to_string(),
            can_operate,
            can_edit,
            can_read_logbook,
            can_maintain,
            can_set_up,
            types,
            locations,
            notice,
            error,
            retry,
        },
    ))
}

/// The open form's fields.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    contact: String,
    /// Hours from now (8 when empty).
    #[serde(default)]
    hours: String,
    /// Comma-separated user names (empty: any support engineer).
    #[serde(default)]
    engineers: String,
}

/// `POST /service-connections/{id}/open`
pub async fn open_window(
    AxState(st): AxState<State>,
    Path(sc): Path<Id>,
    posted: Posted<OpenForm>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let (svc, permit) =
        match access::service(&st, &s.principal, sc, windows::op(&s.principal)).await {
            Ok(x) => x,
            Err(e) => return render::op_error(&e),
        };
    let retry = Retry {
        form: "open",
        key: sc,
        fields: vec![
            ("contact", f.contact.clone()),
            ("hours", f.hours.clone()),
            ("engineers", f.engineers.clone()),
        ],
    };
    let hours = match form::hours("hours", &f.hours) {
        Ok(h) => h,
        Err(e) => return back(&st, s, svc.system_id, &e, Some(retry)).await,
    };
    let req = windows::OpenRequest {
        contact: f.contact,
        hours,
        engineers: form::names(&f.engineers),
        ..windows::OpenRequest::default()
    };
    match windows::open(&st, s.caller(), &permit, sc, req).await {
        Ok(_) => Redirect::to(&format!("/systems/{}?done=opened", svc.system_id)).into_response(),
        Err(e) => back(&st, s, svc.system_id, &e, Some(retry)).await,
    }
}

/// The reserve form's fields.
#[derive(Debug, Deserialize)]
pub struct ReserveForm {
    /// Start, UTC, `YYYY-MM-DDTHH:MM`.
    #[serde(default)]
    start: String,
    /// End, UTC (empty: 8 hours after the start).
    #[serde(default)]
    end: String,
    #[serde(default)]
    contact: String,
    /// Comma-separated user names (empty: any support engineer).
    #[serde(default)]
    engineers: String,
}

/// `POST /service-connections/{id}/reserve`: a window that opens later (the API's
/// `POST /service-connections/{id}/windows` with a `start`).
pub async fn reserve_window(
    AxState(st): AxState<State>,
    Path(sc): Path<Id>,
    posted: Posted<ReserveForm>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let (svc, permit) =
        match access::service(&st, &s.principal, sc, windows::op(&s.principal)).await {
            Ok(x) => x,
            Err(e) => return render::op_error(&e),
        };
    let retry = Retry {
        form: "reserve",
        key: sc,
        fields: vec![
            ("start", f.start.clone()),
            ("end", f.end.clone()),
            ("contact", f.contact.clone()),
            ("engineers", f.engineers.clone()),
        ],
    };
    let times = form::utc_time("start", &f.start)
        .and_then(|start| Ok((start, form::utc_time("end", &f.end)?)));
    let (start, end) = match times {
        Ok(t) => t,
        Err(e) => return back(&st, s, svc.system_id, &e, Some(retry)).await,
    };
    let req = windows::OpenRequest {
        contact: f.contact,
        start,
        end,
        hours: None,
        engineers: form::names(&f.engineers),
        reservation: true,
    };
    match windows::open(&st, s.caller(), &permit, sc, req).await {
        Ok(_) => Redirect::to(&format!("/systems/{}?done=reserved", svc.system_id)).into_response(),
        Err(e) => back(&st, s, svc.system_id, &e, Some(retry)).await,
    }
}

/// The edit form's fields.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    /// New start, UTC (a reservation's form; empty: unchanged).
    #[serde(default)]
    start: String,
    /// New end, UTC (empty: unchanged, or `extend`).
    #[serde(default)]
    end: String,
    /// Alternative to `end`: hours added to the current end.
    #[serde(default)]
    extend: String,
    #[serde(default)]
    contact: String,
    /// Comma-separated user names (empty: any support engineer).
    #[serde(default)]
    engineers: String,
}

/// `POST /windows/{id}/edit`: a new end, contact or engineers, and a reservation's start (the
/// API's `PATCH /windows/{id}`; the window rules say which changes a window in its state may
/// have).
pub async fn edit_window(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<EditForm>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let (w, permit) = match access::window(&st, &s.principal, id, Op::OperateConnections).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let system = match system_of(&st, w.service_connection_id).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let retry = Retry {
        form: "edit",
        key: id,
        fields: vec![
            ("start", f.start.clone()),
            ("end", f.end.clone()),
            ("extend", f.extend.clone()),
            ("contact", f.contact.clone()),
            ("engineers", f.engineers.clone()),
        ],
    };
    let times = form::utc_time("start", &f.start)
        .and_then(|start| Ok((start, new_end(&w, &f.end, &f.extend)?)));
    let (start, end) = match times {
        Ok(t) => t,
        Err(e) => return back(&st, s, system, &e, Some(retry)).await,
    };
    let edit = WindowEdit {
        start,
        end,
        contact: Some(f.contact),
        engineers: Some(form::names(&f.engineers)),
    };
    match windows::edit(&st, s.caller(), &permit, id, edit).await {
        Ok(_) => Redirect::to(&format!("/systems/{system}?done=edited")).into_response(),
        Err(e) => back(&st, s, system, &e, Some(retry)).await,
    }
}

/// The end the edit form asks for: the typed time, or the current end plus the typed hours.
fn new_end(w: &Window, end: &str, extend: &str) -> Result<Option<OffsetDateTime>, OpError> {
    let end = form::utc_time("end", end)?;
    let extend = form::hours("extend", extend)?;
    match (end, extend) {
        (Some(_), Some(_)) => Err(OpError::invalid(
            "give a new end or hours to extend by, not both",
        )),
        (Some(e), None) => Ok(Some(e)),
        (None, Some(h)) => w
            .end_at
            .checked_add(time::Duration::hours(i64::from(h)))
            .map(Some)
            .ok_or_else(|| OpError::invalid("extend: too many hours")),
        (None, None) => Ok(None),
    }
}

/// The system of service connection `sc`.
async fn system_of(st: &State, sc: Id) -> Result<Id, OpError> {
    Ok(st
        .store
        .get_service_connection(sc)
        .await?
        .ok_or(OpError::NotFound("service connection"))?
        .system_id)
}

/// The close form has no fields but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /windows/{id}/close`
pub async fn close_window(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    let (w, permit) = match access::window(&st, &s.principal, id, windows::op(&s.principal)).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let system = match system_of(&st, w.service_connection_id).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    // Closing a window before its start cancels the reservation; the page says so.
    let done = if w.state(OffsetDateTime::now_utc()) == WindowState::Reserved {
        "cancelled"
    } else {
        "closed"
    };
    match windows::close(&st, s.caller(), &permit, id).await {
        Ok(_) => Redirect::to(&format!("/systems/{system}?done={done}")).into_response(),
        Err(e) => back(&st, s, system, &e, None).await,
    }
}

/// The system page again, with the refusal shown above it and a refused form filled in as it
/// was sent.
async fn back(st: &State, s: &Signed, system: Id, e: &OpError, retry: Option<Retry>) -> Response {
    let shown = render::op_status(e);
    match system_page(st, s, system, "", None, Some(shown), retry).await {
        Ok(r) => r,
        Err(_) => render::op_error(e),
    }
}
