//! The admin socket's protocol: one [`Request`] in, one [`Response`] out, each a JSON object on
//! one line. Plain data, shared with the CLI that speaks it.

/// An access entry's fields, as `AccessAdd` takes them.
pub use crate::ops::entry_text::EntryFields;
use serde::{Deserialize, Serialize};

use crate::audit::AuditHealth;
use crate::reach::Reachability;
use crate::windows::WindowView;

/// A request to the running connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// List the connector's windows.
    Windows,
    /// Close a window at the connector.
    CloseWindow {
        /// The window id.
        window: String,
        /// Who closes it (a login name; recorded in the audit log and sent to the hub).
        by: String,
        /// Why, free text.
        #[serde(default)]
        reason: Option<String>,
    },
    /// The HTTP monitoring records (recent requests, top time consumers, duration buckets,
    /// usage per host and resource).
    Monitor,
    /// The alerts, newest first, and the deliveries not yet made.
    Alerts,
    /// The `[[access]]` entries of the configuration file, as a file of their own.
    AccessExport,
    /// Merges `[[access]]` entries into the configuration file by name; `overwrite`
    /// replaces existing ones.
    AccessImport {
        /// A file of `[[access]]` tables (what `AccessExport` answers).
        toml: String,
        /// Replace entries that exist.
        #[serde(default)]
        overwrite: bool,
    },
    /// Adds one entry by its fields (what the admin UI's wizard and `POST /api/v1/access`
    /// add), checked as a saved file is; answered once in force.
    AccessAdd {
        /// The entry.
        entry: EntryFields,
        /// Who adds it, for the audit log.
        by: String,
    },
    /// Removes an entry from the configuration file.
    AccessRemove {
        /// The entry's name.
        name: String,
    },
    /// The back-end trust store: every certificate of every configured file.
    TrustList,
    /// Adds a certificate (PEM) to the trust store, as `<data_dir>/trust/<name>.pem`.
    TrustAdd {
        /// File name without `.pem`.
        name: String,
        /// One or more PEM certificates.
        pem: String,
    },
    /// Takes a file out of the trust store: an added certificate's name, or a path exactly as
    /// the configuration lists it.
    TrustRemove {
        /// The name or path.
        name: String,
    },
    /// Turns `[backend_tls] trust_all` on or off (on: every back-end certificate is accepted).
    TrustAll {
        /// On or off.
        on: bool,
    },
    /// The connector's state: tunnel, and whether its audit log can be written.
    Status,
    /// Check whether the access entries' back ends are reachable (all, or the one named).
    Check {
        /// Only this entry.
        #[serde(default)]
        entry: Option<String>,
    },
    /// The hardware history (CPU, memory, disk) of the last `span_secs` (default an hour,
    /// at most 24 hours).
    Hardware {
        /// How far back, in seconds.
        #[serde(default)]
        span_secs: Option<u64>,
    },
    /// Usage per virtual host and resource.
    Usage,
    /// Back-end connections per virtual host.
    Connections,
    /// Empties monitoring records (audited).
    MonitorReset {
        /// What to empty.
        what: crate::monitor::ResetWhat,
        /// Who asks (a login name; recorded in the audit log).
        by: String,
    },
    /// The live sessions.
    Sessions,
    /// Cuts a live session at once (audited).
    CutSession {
        /// The connector's id of the session (as `Sessions` lists it).
        id: u64,
        /// Who asks (a login name; recorded in the audit log).
        by: String,
    },
}

/// The connector's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    /// Every window the connector knows, with its state by the connector's clock.
    Windows {
        /// Sorted by start, then id.
        windows: Vec<WindowView>,
    },
    /// The window is closed now.
    Closed {
        /// The window as it is now.
        window: WindowView,
        /// Live sessions the close cut.
        sessions_cut: usize,
    },
    /// The HTTP monitoring records.
    Monitor {
        /// The records now.
        view: crate::monitor::MonitorView,
    },
    /// The alerts and the deliveries not yet made.
    Alerts {
        /// As listed.
        view: crate::alerts::AlertsView,
    },
    /// The access list as TOML.
    AccessExport {
        /// `[[access]]` tables.
        toml: String,
    },
    /// One entry was added or changed: its version now, and whether it is in force.
    AccessEntryEdited {
        /// The entry.
        name: String,
        /// Its version (CC-57), `None` once removed.
        version: Option<String>,
        /// The running connector has it in force.
        applied: bool,
    },
    /// The configuration file was changed; the connector applies it within a second.
    AccessEdited {
        /// What an import did (empty for a removal).
        summary: crate::access_edit::ImportSummary,
        /// Entries removed.
        removed: Vec<String>,
    },
    /// The trust store as configured now.
    TrustStore {
        /// `[backend_tls] trust_all`.
        trust_all: bool,
        /// Every certificate of every file, in configuration order.
        certificates: Vec<crate::trust_edit::TrustedCert>,
        /// Files that could not be read or parsed, with why.
        problems: Vec<String>,
    },
    /// The trust store was changed; the connector applies it within a second.
    TrustEdited {
        /// The file added or removed.
        file: String,
        /// The certificates it holds (added) or held (removed).
        certificates: Vec<crate::trust_edit::TrustedCert>,
    },
    /// `trust_all` is as asked; the connector applies it within a second.
    TrustAllSet {
        /// As asked.
        on: bool,
        /// Whether it was different before.
        changed: bool,
    },
    /// The connector's state.
    Status {
        /// What it is doing and whether it can audit.
        view: StatusView,
    },
    /// Reachability results, one per entry checked.
    Reachability {
        /// In configuration order.
        results: Vec<Reachability>,
    },
    /// The hardware history.
    Hardware {
        /// The span asked for.
        view: crate::monitor::history::HardwareView,
    },
    /// Usage per virtual host and resource.
    Usage {
        /// By virtual host, then resource.
        usage: Vec<crate::monitor::Usage>,
    },
    /// Back-end connections per virtual host.
    Connections {
        /// By virtual host.
        connections: Vec<crate::monitor::connections::BackendConnections>,
    },
    /// The records were emptied.
    Reset {
        /// What.
        what: crate::monitor::ResetWhat,
    },
    /// The live sessions, oldest first.
    Sessions {
        /// The sessions.
        sessions: Vec<crate::live::LiveView>,
    },
    /// The session was cut.
    Cut {
        /// The session as it was listed.
        session: crate::live::LiveView,
    },
    /// The request was refused.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable text.
        message: String,
    },
}

/// What `portcullis connector status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub audit: AuditHealth,
    /// True while new sessions are accepted (the audit log can be written).
    pub accepting_sessions: bool,
    /// The hub's tunnel address dialled.
    #[serde(default)]
    pub hub_addr: Option<String>,
    /// This connector's location ID.
    #[serde(default)]
    pub location: Option<String>,
    /// This connector's version.
    #[serde(default)]
    pub version: String,
    /// When the client certificate expires, RFC 3339.
    #[serde(default)]
    pub certificate_not_after: Option<String>,
    /// Since when the present tunnel is up, RFC 3339 (`None` while not connected).
    #[serde(default)]
    pub connected_since: Option<String>,
    /// Tunnels re-established after the first (`connects - 1`).
    #[serde(default)]
    pub reconnects: u64,
    /// The round trip of the last heartbeat the hub acknowledged, ms.
    #[serde(default)]
    pub heartbeat_rtt_ms: Option<u64>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The connector does not know the window.
    UnknownWindow,
    /// The window is closed already.
    AlreadyClosed,
    /// The request is not valid JSON, too long, or has a bad field.
    BadRequest,
    /// The caller is neither the connector's user nor root.
    Forbidden,
    /// No access entry has the name given.
    UnknownEntry,
    /// The edit was refused: the result would not load, or the connector has no
    /// configuration file to edit.
    EditRefused,
    /// No file of the trust store has the name given.
    UnknownCertificate,
    /// A change was not made because its audit record cannot be written.
    AuditFailing,
    /// No live session has the id given.
    UnknownSession,
}

pub(crate) fn error(code: ErrorCode, message: &str) -> Response {
    Response::Error {
        code,
        message: message.to_owned(),
    }
}
