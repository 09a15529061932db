//! [`WindowHub`]: the window machinery's shared parts, held by the hub state. No hub state
//! here, so the state can hold it without importing the window operations.

use tokio::sync::Notify;

/// Shared window machinery, part of the hub state.
#[derive(Debug, Default)]
pub struct WindowHub {
    /// Serializes "change + push" against "read full set + push".
    pub(super) push_lock: tokio::sync::Mutex<()>,
    /// Wakes the scheduler after a change.
    pub(super) changed: Notify,
}
