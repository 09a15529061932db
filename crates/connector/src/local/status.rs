//! `{"op":"status"}`: the tunnel's state and whether the audit log can be written.

use serde::{Deserialize, Serialize};

use crate::shared::Shared;

/// What `portcullis connector status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// `connecting`, `connected`, `rejected` or `stopped`.
    pub tunnel: String,
    /// Tunnels established since start.
    pub connects: u64,
    /// The hub's version, from the last handshake.
    pub hub_version: Option<String>,
    /// Why the last tunnel attempt failed or the last tunnel ended.
    pub last_error: Option<String>,
    /// Whether the audit log can be written; while it cannot, new sessions are refused.
    pub audit: crate::audit::AuditHealth,
    /// True while new sessions are accepted (the audit log can be written).
    pub accepting_sessions: bool,
}

impl StatusView {
    pub(super) fn of(shared: &Shared) -> StatusView {
        let s = shared.status.borrow().clone();
        let audit = shared.audit.health();
        StatusView {
            tunnel: format!("{:?}", s.state).to_lowercase(),
            connects: s.connects,
            hub_version: s.hub_version,
            last_error: s.last_error,
            accepting_sessions: !audit.failing,
            audit,
        }
    }
}
