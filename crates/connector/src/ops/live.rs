//! The live sessions (what SAP's Cloud Connector shows as open connections) and cutting one.
//! The admin socket (`portcullis connector sessions`), the admin UI's Sessions page and the
//! REST API call these (one implementation).
//!
//! A cut is a change: its record (`session.cut`: the session, who, the door) is written to
//! the audit log first and the cut refused when that cannot be written ([`OpError::Audit`]).
//! The session's own `session.end` record then says `cause: cut_by_admin`.

use crate::audit::{AuditAction, AuditEvent};
use crate::live::LiveView;
use crate::shared::{LocalCaller, Shared};

use portcullis_proto::MAX_TEXT_LEN;

use super::{CloseRequestError, OpError};

/// The live sessions, oldest first.
pub(crate) fn sessions(shared: &Shared) -> Vec<LiveView> {
    shared.live.list()
}

/// Cuts the live session `id` for `caller` at once, audited first. Returns the session as it
/// was listed.
pub(crate) fn cut_session(
    shared: &Shared,
    id: u64,
    caller: &LocalCaller,
) -> Result<LiveView, OpError> {
    let printable = !caller.by.chars().any(char::is_control);
    if caller.by.trim().is_empty() || caller.by.len() > MAX_TEXT_LEN || !printable {
        return Err(CloseRequestError::By.into());
    }
    let view = shared
        .live
        .list()
        .into_iter()
        .find(|v| v.id == id)
        .ok_or(OpError::UnknownSession(id))?;
    let mut ev = AuditEvent::new(
        AuditAction::SessionCut,
        "cut",
        serde_json::json!({
            "id": id,
            "by": caller.by,
            "via": caller.via,
            "uid": caller.uid,
            "pid": caller.pid,
            "since": view.since,
            "window": view.window,
        }),
    );
    ev.session_id = Some(view.session_id.clone());
    ev.principal = Some(view.principal.clone());
    ev.target = Some(view.target.clone());
    shared
        .audit
        .record(ev)
        .map_err(|e| OpError::Audit(e.to_string()))?;
    let ended_by = format!("cut at the connector by {} ({})", caller.by, caller.via);
    match shared.live.cut_by_admin(id, ended_by) {
        Some(c) => {
            tracing::warn!(
                session = %c.session_id, target = %c.target, principal = %c.principal,
                by = %caller.by, via = caller.via, "live session cut by an administrator"
            );
            Ok(view)
        }
        // It ended between the listing and the cut: the record says it was asked for.
        None => Err(OpError::UnknownSession(id)),
    }
}
