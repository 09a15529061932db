//! Windows: what a door asks of [`crate::windows`] — open or reserve, edit, close a window —
//! checked and shaped here (contact, times, what an independent opening may be), so that no
//! rule lives in a handler; and the reads: a window, a service connection's windows, a
//! company's live ones and its dashboard figures, what a support engineer reaches now
//! ([`reachable_now`]) and what he may open for himself ([`openable_now`]). The window rules
//! and their effects stay in `crate::windows`.

use std::collections::hash_map::{Entry, HashMap};

use portcullis_domain::authz::{authorize, Op, Permit, Role};
use portcullis_domain::conntype::ConnProtocol;
use portcullis_domain::window::{admits, WindowState};
use portcullis_store::{Id, ServiceConnection, Window};
use serde::Serialize;
use time::OffsetDateTime;

use super::systems::services::{self, ServiceQuery};
use super::{access, check, Caller, OpError};
use crate::auth::Principal;
use crate::state::State;
use crate::windows::{self as svc, ChangedBy, WindowEdit, WindowOpError, WindowRequest};

impl From<WindowOpError> for OpError {
    fn from(e: WindowOpError) -> Self {
        match e {
            WindowOpError::NotFound(what) => OpError::NotFound(what),
            WindowOpError::Forbidden => OpError::forbidden("this token may not do that"),
            e @ WindowOpError::NotOwnWindow => OpError::Forbidden {
                code: "not_own_window",
                message: e.to_string(),
            },
            e @ WindowOpError::NotIndependent { .. } => OpError::Forbidden {
                code: "independent_opening_not_allowed",
                message: e.to_string(),
            },
            WindowOpError::Rule(r) => OpError::Unprocessable {
                code: "window_rule",
                message: r.to_string(),
            },
            WindowOpError::Store(s) => OpError::Store(s),
        }
    }
}

fn changed_by(by: Caller<'_>) -> ChangedBy {
    ChangedBy {
        actor: by.principal.label(),
        from: Some(by.from.to_string()),
    }
}

fn check_contact(c: &str) -> Result<(), OpError> {
    if c.trim().is_empty() || c.chars().count() > 200 {
        return Err(OpError::invalid(
            "contact: name the contact person (1 to 200 characters)",
        ));
    }
    Ok(())
}

/// The first year a window's start or end may not lie in: far enough from the calendar's end
/// (9999) that no offset or added length can overflow.
const LAST_YEAR: i32 = 9000;

/// Refuses times and lengths no window can have before anything is computed from them: the
/// rules (at most 20 days) refuse them anyway, but adding hours to an instant near the end
/// of the calendar (9999-12-31) would overflow first.
fn check_times(
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    hours: Option<u32>,
) -> Result<(), OpError> {
    for (field, t) in [("start", start), ("end", end)] {
        if t.is_some_and(|t| t.year() >= LAST_YEAR) {
            return Err(OpError::invalid(format!(
                "{field}: must be before the year {LAST_YEAR}"
            )));
        }
    }
    let max_hours = portcullis_domain::window::MAX_DURATION.whole_hours();
    if hours.is_some_and(|h| i64::from(h) > max_hours) {
        return Err(OpError::Unprocessable {
            code: "window_rule",
            message: format!("a window may be open for at most 20 days ({max_hours} hours)"),
        });
    }
    Ok(())
}

/// The operation with which `p` opens or closes a window: a support engineer never operates
/// a company's connections; what he may do is open one for himself where the customer
/// allowed it, and close it again ([`Op::OpenIndependently`]). Everyone else uses
/// [`Op::OperateConnections`].
pub fn op(p: &Principal) -> Op {
    if p.role == Role::SupportEngineer {
        Op::OpenIndependently
    } else {
        Op::OperateConnections
    }
}

/// What an open or a reservation asks for.
#[derive(Debug, Clone, Default)]
pub struct OpenRequest {
    /// Contact person at the customer (an independent opening defaults to the engineer).
    pub contact: String,
    /// Start; in the future it makes a reservation. `None`: now.
    pub start: Option<OffsetDateTime>,
    /// End. `None`: start + `hours`, else start + 8 hours.
    pub end: Option<OffsetDateTime>,
    /// Alternative to `end`: hours from the start.
    pub hours: Option<u32>,
    /// User names of the engineers it admits (empty: any support engineer).
    pub engineers: Vec<String>,
    /// The caller asks for a reservation: a missing start is refused, and one not in the
    /// future goes to the window rules, which refuse it, instead of meaning "now" (the
    /// portal's reserve form; the API's `start` in the past means now, for clients whose
    /// clocks differ a little).
    pub reservation: bool,
}

/// Opens a window on service connection `sc` now, or reserves one; under an
/// [`Op::OpenIndependently`] permit, the engineer's own window, now and for him alone.
pub async fn open(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    sc: Id,
    mut req: OpenRequest,
) -> Result<Window, OpError> {
    let p = by.principal;
    let independent = permit.op() == Op::OpenIndependently;
    if independent && req.contact.trim().is_empty() {
        req.contact = format!("{} (independent opening)", p.user_name);
    }
    check_contact(&req.contact)?;
    check_times(req.start, req.end, req.hours)?;
    let now = OffsetDateTime::now_utc();
    // A start at or before now is "open now" (clients' clocks and round trips differ a little).
    // A reservation's start is the window rules' to judge (one in the past is refused there).
    let start = if req.reservation {
        Some(
            req.start
                .ok_or_else(|| OpError::invalid("start: a reservation needs its start"))?,
        )
    } else {
        req.start.filter(|s| *s > now)
    };
    if req.end.is_some() && req.hours.is_some() {
        return Err(OpError::invalid("give end or hours, not both"));
    }
    let req = WindowRequest {
        service_connection_id: sc,
        start,
        end: req.end,
        hours: req.hours,
        contact: req.contact,
        engineers: req.engineers,
    };
    if !independent {
        return Ok(svc::open(st, permit, &changed_by(by), req).await?);
    }
    if req.start.is_some() {
        return Err(OpError::invalid(
            "an independent opening opens now; reserving a window is the customer's",
        ));
    }
    if !req.engineers.is_empty() && req.engineers != [p.user_name.as_str()] {
        return Err(OpError::invalid(
            "an independent opening admits only the engineer who opens it",
        ));
    }
    Ok(svc::open_independently(st, permit, &changed_by(by), &p.user_name, req).await?)
}

/// Extends, shortens or moves window `id`, or changes its contact or engineers.
pub async fn edit(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    id: Id,
    edit: WindowEdit,
) -> Result<Window, OpError> {
    if let Some(c) = &edit.contact {
        check_contact(c)?;
    }
    check_times(edit.start, edit.end, None)?;
    Ok(svc::edit(st, permit, &changed_by(by), id, edit).await?)
}

/// Closes window `id`; under an [`Op::OpenIndependently`] permit only the engineer's own.
pub async fn close(st: &State, by: Caller<'_>, permit: &Permit, id: Id) -> Result<Window, OpError> {
    if permit.op() == Op::OpenIndependently {
        let engineer = &by.principal.user_name;
        return Ok(svc::close_own(st, permit, &changed_by(by), engineer, id).await?);
    }
    Ok(svc::close(st, permit, &changed_by(by), id).await?)
}

// ── window reads ───────────────────────────────────────────────────────────────────────

/// A window, for the holder of a permit to read its company's systems.
pub fn get(permit: &Permit, w: Window) -> Result<Window, OpError> {
    check(permit, Op::ReadSystems, Some(w.company_id))?;
    Ok(w)
}

/// Every window of a service connection.
pub async fn of_service(
    st: &State,
    permit: &Permit,
    sc: &ServiceConnection,
) -> Result<Vec<Window>, OpError> {
    check(permit, Op::ReadSystems, Some(sc.company_id))?;
    Ok(st.store.list_windows(sc.id).await?)
}

/// The open and reserved windows of the permit's company.
pub async fn live(st: &State, permit: &Permit) -> Result<Vec<Window>, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadSystems)?;
    let now = OffsetDateTime::now_utc();
    Ok(st.store.list_live_windows(Some(company), now).await?)
}

/// The company's dashboard figure (RC-12): open connections across its systems.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Company id.
    pub company_id: Id,
    /// Systems.
    pub systems: usize,
    /// Service connections set up.
    pub service_connections: usize,
    /// Service connections with a window open now.
    pub open_connections: usize,
    /// Reserved windows still to come.
    pub reserved_windows: usize,
}

/// The permit's company's dashboard figures now.
pub async fn summary(st: &State, permit: &Permit) -> Result<Summary, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadCompany)?;
    let now = OffsetDateTime::now_utc();
    let live = st.store.list_live_windows(Some(company), now).await?;
    let mut open: Vec<Id> = live
        .iter()
        .filter(|w| w.state(now) == WindowState::Open)
        .map(|w| w.service_connection_id)
        .collect();
    open.sort_unstable();
    open.dedup();
    Ok(Summary {
        company_id: company,
        systems: st.store.list_systems(Some(company)).await?.len(),
        service_connections: st
            .store
            .list_service_connections(Some(company))
            .await?
            .len(),
        open_connections: open.len(),
        reserved_windows: live
            .iter()
            .filter(|w| w.state(now) == WindowState::Reserved)
            .count(),
    })
}

// ── what a support engineer reaches now ───────────────────────────────────────────────

/// A service connection a support engineer can reach now: a window on it is open and admits
/// him.
#[derive(Debug)]
pub struct Reachable {
    /// The customer company's name.
    pub company: String,
    /// The service connection with its names (entry host, SID, type …).
    pub service: services::ServiceView,
    /// How the connection type is spoken (NI for route strings, HTTP for browser links).
    pub protocol: ConnProtocol,
    /// The open window that admits him.
    pub window: Window,
}

/// Every service connection, across companies, that `p` can reach now: a window on it is
/// open now and admits him (names him, or names nobody), in a company where he may open
/// sessions. Only support engineers reach anything through windows (a technical user goes
/// through standing grants), so for anyone else the list is empty. The same rule
/// `crate::resolve` applies when he connects; sorted by company, SID and type.
pub async fn reachable_now(st: &State, p: &Principal) -> Result<Vec<Reachable>, OpError> {
    if p.role != Role::SupportEngineer {
        return Ok(Vec::new());
    }
    let now = OffsetDateTime::now_utc();
    let mut out: Vec<Reachable> = Vec::new();
    for w in st.store.list_live_windows(None, now).await? {
        if w.state(now) != WindowState::Open || !admits(&w.engineers, &p.user_name) {
            continue;
        }
        if out
            .iter()
            .any(|r| r.service.service.id == w.service_connection_id)
        {
            continue;
        }
        let Ok(permit) = authorize(&p.actor(), Op::OpenSession, Some(w.company_id)) else {
            continue;
        };
        let Some(sc) = st
            .store
            .get_service_connection(w.service_connection_id)
            .await?
        else {
            continue;
        };
        let Some(ty) = st.store.get_connection_type(sc.connection_type_id).await? else {
            continue;
        };
        let Some(company) = st.store.get_company(w.company_id).await? else {
            continue;
        };
        out.push(Reachable {
            company: company.name,
            service: services::view(st, &permit, sc).await?,
            protocol: ty.def.protocol,
            window: w,
        });
    }
    out.sort_by(|a, b| listed(&a.company, &a.service).cmp(&listed(&b.company, &b.service)));
    Ok(out)
}

/// The order of an engineer's lists: company, SID, connection type.
fn listed<'a>(company: &'a str, v: &'a services::ServiceView) -> (&'a str, &'a str, &'a str) {
    (company, &v.sid, &v.connection_type)
}

// ── what a support engineer may open for himself ──────────────────────────────────────

/// A service connection a support engineer may open for himself (independent opening): its
/// system's customer allows it, and his permit reaches its company.
#[derive(Debug)]
pub struct Openable {
    /// The customer company's name.
    pub company: String,
    /// The service connection with its names.
    pub service: services::ServiceView,
    /// The window open on it now, if any: while it is open nothing more can be opened.
    pub open: Option<Window>,
    /// Whether that window is his own independent opening, which he may close.
    pub own: bool,
}

/// Every service connection, across companies, that `p` may open for himself: on a system
/// that allows independent opening, in a company where the API would let him open one (a
/// permit for [`op`]`(p)` = [`Op::OpenIndependently`], what `POST
/// /api/v1/service-connections/{id}/windows` asks of him) and read its systems. Only support
/// engineers open independently, so for anyone else the list is empty. With the window open
/// on each now; sorted by company, SID and type.
pub async fn openable_now(st: &State, p: &Principal) -> Result<Vec<Openable>, OpError> {
    if op(p) != Op::OpenIndependently {
        return Ok(Vec::new());
    }
    let now = OffsetDateTime::now_utc();
    // Per company: its name and the windows open on its service connections now.
    let mut companies: HashMap<Id, (String, Vec<Window>)> = HashMap::new();
    let mut out: Vec<Openable> = Vec::new();
    for system in st.store.list_systems(None).await? {
        if !system.data.allow_independent_opening {
            continue;
        }
        let company_id = system.company_id;
        if access::permit(p, op(p), company_id, "system").is_err() {
            continue;
        }
        let Ok(read) = access::permit(p, Op::ReadSystems, company_id, "system") else {
            continue;
        };
        let (company, open) = match companies.entry(company_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => {
                let Some(company) = st.store.get_company(company_id).await? else {
                    continue;
                };
                let open = st
                    .store
                    .list_live_windows(Some(company_id), now)
                    .await?
                    .into_iter()
                    .filter(|w| w.state(now) == WindowState::Open)
                    .collect();
                new.insert((company.name, open))
            }
        };
        let q = ServiceQuery {
            system: Some(system.id),
            ..ServiceQuery::default()
        };
        for view in services::list(st, &read, &q).await? {
            let window = open
                .iter()
                .find(|w| w.service_connection_id == view.service.id)
                .cloned();
            out.push(Openable {
                company: company.clone(),
                own: window
                    .as_ref()
                    .is_some_and(|w| svc::is_own_independent(w, &p.user_name)),
                open: window,
                service: view,
            });
        }
    }
    out.sort_by(|a, b| listed(&a.company, &a.service).cmp(&listed(&b.company, &b.service)));
    Ok(out)
}
