//! The admin's operations on the running connector: what the local admin socket calls, and
//! what an admin web UI or REST API will call too.
//!
//! Each operation takes typed input and returns a typed result or an [`OpError`] that names
//! what failed; none knows how it was asked. The rules live here (which fields a window close
//! accepts, which entry a check names, that an edit must still load and is audited); the
//! socket only parses, calls and renders.
//!
//! - this file: status, windows, closing a window, monitoring, reachability checks;
//! - [`access`]: export, import and remove `[[access]]` entries of the configuration file;
//! - [`trust`]: list, add and remove certificates of the back-end trust store;
//! - [`monitoring`]: hardware history, usage, back-end connections, resets;
//! - [`domain_mappings`]: list, add and remove `[[domain_mapping]]`s;
//! - [`security`]: the security status;
//! - [`system_cert`]: the system certificate (generate, PKCS#12, CSR);
//! - [`live`]: the live sessions and cutting one;
//! - [`audit`]: reading, checking and exporting the audit log; [`audit_settings`]: `[audit]`
//!   and the retention cleanup.

use portcullis_proto::MAX_TEXT_LEN;

use crate::access_edit::EditError;
use crate::config::ConfigError;
use crate::config_file::ConfigFileError;
use crate::identity::IdentityError;
use crate::local::protocol::StatusView;
use crate::monitor::MonitorView;
use crate::reach::Reachability;
use crate::shared::{LocalCaller, Shared};
use crate::trust_edit::{BadTrustName, CertificateError, MAX_PEM_LEN};
use crate::windows::{now_ms, CloseError, WindowView};

pub(crate) mod access;
pub(crate) mod access_entry;
pub(crate) mod access_wizard;
pub(crate) mod audit;
pub(crate) mod audit_settings;
pub(crate) mod backup;
pub(crate) mod domain_mappings;
pub(crate) mod entry_text;
pub(crate) mod live;
pub(crate) mod monitoring;
pub(crate) mod security;
pub(crate) mod system_cert;
pub(crate) mod trust;

/// Why an operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The window to close is unknown or closed already.
    #[error(transparent)]
    Close(#[from] CloseError),
    /// A field of a window close is empty, too long or not printable.
    #[error(transparent)]
    CloseRequest(#[from] CloseRequestError),
    /// No access entry has the name given to a check.
    #[error("no access entry is named {0:?}")]
    UnknownEntry(String),
    /// The configuration file cannot be read, or the edited one would not load or cannot be
    /// written.
    #[error(transparent)]
    ConfigFile(#[from] ConfigFileError),
    /// The configuration text refused the edit (an entry that is not there, a path listed
    /// twice, a table of the wrong shape).
    #[error(transparent)]
    Edit(#[from] EditError),
    /// The configuration file as it is now does not load, so its trust store is unknown.
    #[error("the configuration does not load: {0}")]
    ConfigDoesNotLoad(#[source] ConfigError),
    /// The name for an added certificate is no usable file name.
    #[error(transparent)]
    TrustName(#[from] BadTrustName),
    /// The PEM to add is longer than [`MAX_PEM_LEN`].
    #[error("the PEM is longer than {MAX_PEM_LEN} bytes")]
    PemTooLong,
    /// The PEM to add holds no usable certificate.
    #[error("the certificate: {0}")]
    Certificate(#[source] CertificateError),
    /// A certificate file of that name exists already.
    #[error("{file} exists; remove {name:?} first or choose another name")]
    TrustFileExists {
        /// The file, as the configuration would list it.
        file: String,
        /// The name asked for.
        name: String,
    },
    /// Writing the certificate file failed.
    #[error("cannot write {file}: {source}")]
    WriteCertificate {
        /// The file, as the configuration would list it.
        file: String,
        /// Why.
        #[source]
        source: IdentityError,
    },
    /// No file of the trust store has the name given.
    #[error("the trust store has no file {0:?} (list it with `portcullis connector trust list`)")]
    UnknownCertificate(String),
    /// No domain mapping has that internal domain.
    #[error("no domain mapping has the internal domain {0:?}")]
    UnknownDomainMapping(String),
    /// The configuration's `domain_mapping` cannot be edited.
    #[error("{0}")]
    DomainMapping(String),
    /// A system certificate was not made, imported or accepted (the reason says why).
    #[error("the system certificate: {0}")]
    SystemCertificate(String),
    /// An audit filter (a time, a range) is not valid.
    #[error(transparent)]
    AuditFilter(#[from] audit::FilterError),
    /// The audit settings were refused (a retention out of range, a configuration whose
    /// `[audit]` is not a table, no retention to clean up by).
    #[error("{0}")]
    AuditSettings(String),
    /// The audit log cannot be read.
    #[error("the audit log cannot be read: {0}")]
    AuditRead(String),
    /// No live session has that id (it ended, or was cut already).
    #[error("no live session has the id {0} (it may have ended)")]
    UnknownSession(u64),
    /// One entry's edit was refused: taken name, stale version (CC-57), unknown resource.
    #[error(transparent)]
    Entry(entry_text::EntryEditError),
    /// The change was not made because its audit record cannot be written.
    #[error("not done: the audit log cannot be written ({0})")]
    Audit(String),
}

/// Why a window close was not accepted as asked. The fields travel to the hub in
/// `WindowClosed`, whose decoder enforces the same limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseRequestError {
    /// The window id is empty or too long.
    #[error("window must be 1..={MAX_TEXT_LEN} bytes")]
    Window,
    /// `by` is blank, too long or holds control characters.
    #[error("by must be 1..={MAX_TEXT_LEN} bytes without control characters")]
    By,
    /// The reason is too long.
    #[error("reason must be at most {MAX_TEXT_LEN} bytes")]
    Reason,
}

/// A window closed at the connector.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema, serde::Serialize)]
pub struct ClosedLocally {
    /// The window as it is now.
    pub window: WindowView,
    /// Live sessions the close cut.
    pub sessions_cut: usize,
}

/// The tunnel's state and whether the audit log can be written.
pub(crate) fn status(shared: &Shared) -> StatusView {
    let s = shared.status.borrow().clone();
    let audit = shared.audit.health();
    StatusView {
        tunnel: format!("{:?}", s.state).to_lowercase(),
        connects: s.connects,
        hub_version: s.hub_version,
        last_error: s.last_error,
        accepting_sessions: !audit.failing,
        audit,
        hub_addr: s.hub_addr,
        location: s.location,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        certificate_not_after: s.certificate_not_after_ms.map(crate::windows::format_ms),
        connected_since: s.connected_since_ms.map(crate::windows::format_ms),
        reconnects: s.connects.saturating_sub(1),
        heartbeat_rtt_ms: s.heartbeat_rtt_ms,
    }
}

/// Every window the connector knows, with its state by the connector's clock.
pub(crate) fn windows(shared: &Shared) -> Vec<WindowView> {
    shared.live.window_views(now_ms())
}

/// The HTTP monitoring records now.
pub(crate) fn monitor(shared: &Shared) -> MonitorView {
    shared.monitor.view()
}

/// Closes `window` at the connector for `caller` (see [`Shared::close_window_locally`]).
pub(crate) fn close_window(
    shared: &Shared,
    window: &str,
    caller: &LocalCaller,
    reason: Option<String>,
) -> Result<ClosedLocally, OpError> {
    check_close(window, &caller.by, reason.as_deref())?;
    let (window, sessions_cut) = shared.close_window_locally(window, caller, reason)?;
    Ok(ClosedLocally {
        window,
        sessions_cut,
    })
}

/// Checks whether the back ends of all access entries, or of the one named, are reachable.
pub(crate) async fn check(
    shared: &Shared,
    entry: Option<&str>,
) -> Result<Vec<Reachability>, OpError> {
    let acl = shared.acl.borrow().acl.clone();
    if let Some(name) = entry {
        if !acl.entries().iter().any(|e| e.name == name) {
            return Err(OpError::UnknownEntry(name.to_owned()));
        }
    }
    let results = crate::reach::check_all(&acl, entry, &shared.backend_tls.current()).await;
    shared.reach.keep(&results);
    Ok(results)
}

fn check_close(window: &str, by: &str, reason: Option<&str>) -> Result<(), CloseRequestError> {
    let printable = |s: &str| !s.chars().any(char::is_control);
    if window.is_empty() || window.len() > MAX_TEXT_LEN {
        return Err(CloseRequestError::Window);
    }
    if by.trim().is_empty() || by.len() > MAX_TEXT_LEN || !printable(by) {
        return Err(CloseRequestError::By);
    }
    if reason.is_some_and(|r| r.len() > MAX_TEXT_LEN) {
        return Err(CloseRequestError::Reason);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_names_a_window_and_a_printable_closer() {
        assert_eq!(check_close("42", "alice", Some("done")), Ok(()));
        assert_eq!(
            check_close("", "alice", None),
            Err(CloseRequestError::Window)
        );
        assert_eq!(check_close("42", "  ", None), Err(CloseRequestError::By));
        assert_eq!(
            check_close("42", "al\nice", None),
            Err(CloseRequestError::By)
        );
        let long = "x".repeat(MAX_TEXT_LEN + 1);
        assert_eq!(
            check_close("42", "alice", Some(&long)),
            Err(CloseRequestError::Reason)
        );
    }
}
