//! Window lifecycle on the hub: open, reserve, edit, close (from the API or from the
//! connector), the scheduler that announces reservations opening and windows expiring, and
//! the push of window state to connectors.
//!
//! Every change is stored, audited with before and after, pushed to the connector that serves
//! the service connection, and (when a window ends) cuts the live sessions that depend on it.
//! A change and its push happen under one lock, and so does the full set sent when a
//! connector's tunnel comes up, so a connector never receives a set older than an update it
//! already has.

use std::collections::HashMap;

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::window::{self as rules, Existing, WindowError, WindowState};
use portcullis_proto::{Message, WindowInfo, WindowSet, WindowUpdate};
use portcullis_store::{
    Id, NewAuditEvent, NewWindow, ServiceConnection, StoreError, StoreTx, Window,
};
use time::OffsetDateTime;

use crate::audit::Event;
use crate::audit_action::AuditAction;
use crate::ops::Change;
use crate::state::State;

pub mod hub;
mod scheduler;

pub use hub::WindowHub;
pub use scheduler::spawn_scheduler;

/// Why a window operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WindowOpError {
    /// No such window or service connection visible to the caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The permit is for another operation or company.
    #[error("not allowed")]
    Forbidden,
    /// An engineer asked to open a window himself on a system whose company does not allow
    /// independent opening.
    #[error(
        "system {sid} does not allow independent opening: ask the customer to open a window, \
         or to allow independent opening for the system"
    )]
    NotIndependent {
        /// The system's SID.
        sid: String,
    },
    /// An engineer asked to close a window he did not open independently.
    #[error(
        "a support engineer closes only the windows he opened independently; this one is the \
         customer's to close"
    )]
    NotOwnWindow,
    /// A window rule refused it.
    #[error(transparent)]
    Rule(#[from] WindowError),
    /// The store refused or failed (a concurrent overlap shows as a conflict).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who changes a window, for the audit record.
#[derive(Debug, Clone)]
pub struct ChangedBy {
    /// Label of the user (or `connector:<location>`).
    pub actor: String,
    /// The client's address, when known.
    pub from: Option<String>,
}

/// What an open or a reservation asks for.
#[derive(Debug, Clone)]
pub struct WindowRequest {
    /// The service connection.
    pub service_connection_id: Id,
    /// Start, for a reservation (`None`: open now).
    pub start: Option<OffsetDateTime>,
    /// End (`None`: start + `hours`, else start + 8 h).
    pub end: Option<OffsetDateTime>,
    /// Length in hours, when no end is given: counted from the start the window gets, so
    /// "2 hours" is two hours to the millisecond.
    pub hours: Option<u32>,
    /// Contact person.
    pub contact: String,
    /// Engineers it admits (empty: any support engineer).
    pub engineers: Vec<String>,
}

fn check_permit(permit: &Permit, company: Id) -> Result<(), WindowOpError> {
    if permit.op() == Op::OperateConnections && permit.company() == Some(company) {
        Ok(())
    } else {
        Err(WindowOpError::Forbidden)
    }
}

async fn service_connection(state: &State, id: Id) -> Result<ServiceConnection, WindowOpError> {
    state
        .store
        .get_service_connection(id)
        .await?
        .ok_or(WindowOpError::NotFound("service connection"))
}

async fn others(state: &State, sc: Id, except: Option<Id>) -> Result<Vec<Existing>, WindowOpError> {
    Ok(state
        .store
        .list_windows(sc)
        .await?
        .into_iter()
        .filter(|w| Some(w.id) != except)
        .map(|w| Existing {
            id: w.id,
            span: w.span(),
        })
        .collect())
}

/// `company/SID/type` for logs and the connector.
pub async fn service_label(state: &State, sc: &ServiceConnection) -> String {
    let company = state.store.get_company(sc.company_id).await.ok().flatten();
    let system = state.store.get_system(sc.system_id).await.ok().flatten();
    let ty = state
        .store
        .get_connection_type(sc.connection_type_id)
        .await
        .ok()
        .flatten();
    format!(
        "{}/{}/{}",
        company.map_or_else(|| sc.company_id.to_string(), |c| c.name),
        system.map_or_else(|| sc.system_id.to_string(), |s| s.data.sid),
        ty.map_or_else(|| sc.connection_type_id.to_string(), |t| t.def.key)
    )
}

/// The wire form of a window.
pub fn info(
    w: &Window,
    sc: &ServiceConnection,
    service: String,
    now: OffsetDateTime,
) -> WindowInfo {
    WindowInfo {
        id: w.id.to_string(),
        service,
        virtual_host: sc.virtual_host.clone(),
        virtual_port: sc.virtual_port,
        start_ms: portcullis_store::millis::to_unix_millis(w.start_at),
        end_ms: portcullis_store::millis::to_unix_millis(w.end_at),
        closed: w.state(now) == WindowState::Closed,
    }
}

/// Pushes one window's state to its connector (if connected), and forgets cached
/// resolutions, which may rest on the window's old state.
async fn push(state: &State, w: &Window, sc: &ServiceConnection) {
    state.resolved.forget_all();
    let label = service_label(state, sc).await;
    let m = Message::WindowUpdate(WindowUpdate {
        window: info(w, sc, label, OffsetDateTime::now_utc()),
    });
    state.registry.push(sc.connector_id, m);
}

/// The full set for a connector whose tunnel just came up; queued on its tunnel under the
/// push lock.
pub async fn send_window_set(state: &State, connector_id: Id) -> Result<(), StoreError> {
    let _g = state.windows.push_lock.lock().await;
    let now = OffsetDateTime::now_utc();
    let mut scs: HashMap<Id, (ServiceConnection, String)> = HashMap::new();
    let mut windows = Vec::new();
    for w in state.store.list_live_windows(None, now).await? {
        if !scs.contains_key(&w.service_connection_id) {
            if let Some(sc) = state
                .store
                .get_service_connection(w.service_connection_id)
                .await?
            {
                let label = service_label(state, &sc).await;
                scs.insert(sc.id, (sc, label));
            }
        }
        if let Some((sc, label)) = scs.get(&w.service_connection_id) {
            if sc.connector_id == connector_id {
                windows.push(info(&w, sc, label.clone(), now));
            }
        }
    }
    if windows.len() > portcullis_proto::MAX_WINDOWS {
        // Far beyond any real use; the earliest ones are sent, the rest stay refused at the
        // connector until earlier ones end and a later set includes them.
        tracing::error!(
            connector = connector_id,
            windows = windows.len(),
            max = portcullis_proto::MAX_WINDOWS,
            "more live windows than one window set carries; sending the earliest"
        );
        windows.truncate(portcullis_proto::MAX_WINDOWS);
    }
    state
        .registry
        .push(connector_id, Message::WindowSet(WindowSet { windows }));
    Ok(())
}

/// The audit event of a window change by `by`, committed with the change.
fn event(
    by: &ChangedBy,
    company: Id,
    action: AuditAction,
    target: &str,
    mut detail: serde_json::Value,
) -> NewAuditEvent {
    if let (Some(from), Some(obj)) = (&by.from, detail.as_object_mut()) {
        obj.insert("from".into(), from.clone().into());
    }
    NewAuditEvent {
        at: OffsetDateTime::now_utc(),
        company_id: Some(company),
        actor: by.actor.clone(),
        action: action.code().into(),
        target: target.into(),
        outcome: "ok".into(),
        detail,
    }
}

/// Commits a window change with its audit event, then logs the event.
async fn commit(state: &State, tx: Box<dyn StoreTx>) -> Result<(), WindowOpError> {
    Ok(crate::ops::commit(state, tx, &[Change::Resolution]).await?)
}

/// Ends the live sessions under window `id` (see [`Change::WindowCut`]).
fn cut(state: &State, id: Id) {
    crate::ops::change::apply(state, &[Change::WindowCut { window: id }]);
}

fn view(w: &Window) -> serde_json::Value {
    serde_json::to_value(w).unwrap_or_default()
}

/// Opens a window now, or reserves one (`req.start` in the future).
pub async fn open(
    state: &State,
    permit: &Permit,
    by: &ChangedBy,
    req: WindowRequest,
) -> Result<Window, WindowOpError> {
    let sc = service_connection(state, req.service_connection_id).await?;
    check_permit(permit, sc.company_id)?;
    create(state, by, &sc, req, false).await
}

/// A support engineer opens a window now for himself alone (independent opening, RC-13): only
/// on a system whose company set `allow_independent_opening`. Same limits as any window (8
/// hours unless told, at most 20 days, no overlap); the window admits `engineer` only and he
/// may close it again ([`close_own`]).
pub async fn open_independently(
    state: &State,
    permit: &Permit,
    by: &ChangedBy,
    engineer: &str,
    req: WindowRequest,
) -> Result<Window, WindowOpError> {
    let sc = service_connection(state, req.service_connection_id).await?;
    if permit.op() != Op::OpenIndependently || permit.company() != Some(sc.company_id) {
        return Err(WindowOpError::Forbidden);
    }
    let system = state
        .store
        .get_system(sc.system_id)
        .await?
        .ok_or(WindowOpError::NotFound("system"))?;
    if !system.data.allow_independent_opening {
        return Err(WindowOpError::NotIndependent {
            sid: system.data.sid,
        });
    }
    let req = WindowRequest {
        start: None,
        engineers: vec![engineer.to_owned()],
        ..req
    };
    create(state, by, &sc, req, true).await
}

/// Stores, pushes and audits a new window; the caller checked who may.
async fn create(
    state: &State,
    by: &ChangedBy,
    sc: &ServiceConnection,
    req: WindowRequest,
    independent: bool,
) -> Result<Window, WindowOpError> {
    let now = OffsetDateTime::now_utc();
    let _g = state.windows.push_lock.lock().await;
    let existing = others(state, sc.id, None).await?;
    let end = req.end.or_else(|| {
        req.hours
            .map(|h| req.start.unwrap_or(now) + time::Duration::hours(i64::from(h)))
    });
    let span = match req.start {
        None => rules::open(now, end, &existing)?,
        Some(start) => rules::reserve(now, start, end, &existing)?,
    };
    let action = if req.start.is_some() {
        AuditAction::WindowReserved
    } else {
        AuditAction::WindowOpened
    };
    let label = service_label(state, sc).await;
    let mut tx = state.store.begin().await?;
    let w = tx
        .create_window(
            NewWindow {
                service_connection_id: sc.id,
                start_at: span.start,
                end_at: span.end,
                contact: req.contact,
                opened_by: by.actor.clone(),
                engineers: req.engineers,
                independent,
            },
            now,
        )
        .await?;
    tx.audit(event(
        by,
        sc.company_id,
        action,
        &label,
        serde_json::json!({"after": view(&w), "independent": independent}),
    ))
    .await?;
    commit(state, tx).await?;
    push(state, &w, sc).await;
    drop(_g);
    state.windows.changed.notify_one();
    Ok(w)
}

/// What an edit changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct WindowEdit {
    /// New start (reserved windows only).
    pub start: Option<OffsetDateTime>,
    /// New end.
    pub end: Option<OffsetDateTime>,
    /// New contact person.
    pub contact: Option<String>,
    /// New list of admitted engineers.
    pub engineers: Option<Vec<String>>,
}

/// Changes a window's end (open) or start and end (reserved), contact and engineers.
pub async fn edit(
    state: &State,
    permit: &Permit,
    by: &ChangedBy,
    id: Id,
    change: WindowEdit,
) -> Result<Window, WindowOpError> {
    let WindowEdit {
        start,
        end,
        contact,
        engineers,
    } = change;
    let before = state
        .store
        .get_window(id)
        .await?
        .ok_or(WindowOpError::NotFound("window"))?;
    check_permit(permit, before.company_id)?;
    let sc = service_connection(state, before.service_connection_id).await?;
    let now = OffsetDateTime::now_utc();
    let _g = state.windows.push_lock.lock().await;
    let existing = others(state, sc.id, Some(id)).await?;
    let span = rules::edit(now, id, &before.span(), start, end, &existing)?;
    let label = service_label(state, &sc).await;
    let mut tx = state.store.begin().await?;
    let w = tx
        .update_window(
            id,
            span.start,
            span.end,
            contact.as_deref().unwrap_or(&before.contact),
            engineers.as_deref().unwrap_or(&before.engineers),
            now,
        )
        .await?;
    tx.audit(event(
        by,
        sc.company_id,
        AuditAction::WindowEdited,
        &label,
        serde_json::json!({"before": view(&before), "after": view(&w)}),
    ))
    .await?;
    commit(state, tx).await?;
    push(state, &w, &sc).await;
    drop(_g);
    // Narrowing who may use it takes effect on live sessions too.
    if w.engineers != before.engineers && !w.engineers.is_empty() {
        cut(state, id);
    }
    state.windows.changed.notify_one();
    Ok(w)
}

/// Closes a window now: new sessions are refused and live ones cut, on both sides.
pub async fn close(
    state: &State,
    permit: &Permit,
    by: &ChangedBy,
    id: Id,
) -> Result<Window, WindowOpError> {
    let before = state
        .store
        .get_window(id)
        .await?
        .ok_or(WindowOpError::NotFound("window"))?;
    check_permit(permit, before.company_id)?;
    close_unchecked(state, by, before).await
}

/// Whether `w` is `engineer`'s own independent opening (it admits him alone): the one kind
/// of window a support engineer may close ([`close_own`]).
pub fn is_own_independent(w: &Window, engineer: &str) -> bool {
    w.independent && w.engineers == [engineer]
}

/// A support engineer closes a window he opened independently (and that still admits him
/// alone). Any other window is the customer's to close.
pub async fn close_own(
    state: &State,
    permit: &Permit,
    by: &ChangedBy,
    engineer: &str,
    id: Id,
) -> Result<Window, WindowOpError> {
    let before = state
        .store
        .get_window(id)
        .await?
        .ok_or(WindowOpError::NotFound("window"))?;
    if permit.op() != Op::OpenIndependently || permit.company() != Some(before.company_id) {
        return Err(WindowOpError::Forbidden);
    }
    if !is_own_independent(&before, engineer) {
        return Err(WindowOpError::NotOwnWindow);
    }
    close_unchecked(state, by, before).await
}

async fn close_unchecked(
    state: &State,
    by: &ChangedBy,
    before: Window,
) -> Result<Window, WindowOpError> {
    let now = OffsetDateTime::now_utc();
    rules::close(now, before.id, &before.span())?;
    let sc = service_connection(state, before.service_connection_id).await?;
    let label = service_label(state, &sc).await;
    let _g = state.windows.push_lock.lock().await;
    let mut tx = state.store.begin().await?;
    let w = tx
        .close_window(before.id, now, &by.actor)
        .await?
        .ok_or(WindowOpError::NotFound("window"))?;
    tx.audit(event(
        by,
        sc.company_id,
        AuditAction::WindowClosed,
        &label,
        serde_json::json!({"before": view(&before), "after": view(&w)}),
    ))
    .await?;
    commit(state, tx).await?;
    push(state, &w, &sc).await;
    drop(_g);
    cut(state, w.id);
    state.windows.changed.notify_one();
    Ok(w)
}

/// A customer admin closed a window at the connector: the hub closes it too. Only windows
/// of that connector's service connections are accepted.
pub async fn closed_at_connector(
    state: &State,
    connector_id: Id,
    location: &str,
    msg: portcullis_proto::WindowClosed,
) {
    let by = ChangedBy {
        actor: format!("connector:{location}:{}", msg.by),
        from: None,
    };
    let result = async {
        let id: Id = msg
            .id
            .parse()
            .map_err(|_| WindowOpError::NotFound("window"))?;
        let w = state
            .store
            .get_window(id)
            .await?
            .ok_or(WindowOpError::NotFound("window"))?;
        let sc = service_connection(state, w.service_connection_id).await?;
        if sc.connector_id != connector_id {
            return Err(WindowOpError::Forbidden);
        }
        if w.state(OffsetDateTime::now_utc()) == WindowState::Closed {
            return Ok(w);
        }
        close_unchecked(state, &by, w).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(connector = connector_id, window = %msg.id, error = %e, "window close from connector refused");
        state
            .audit
            .record(Event {
                company_id: None,
                actor: &by.actor,
                action: AuditAction::WindowClosed,
                target: &msg.id,
                outcome: "refused",
                detail: serde_json::json!({"reason": e.to_string(), "connector": connector_id}),
            })
            .await;
    }
}
