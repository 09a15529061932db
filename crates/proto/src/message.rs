//! The messages that cross a tunnel, and their kind bytes.
//!
//! Unknown JSON fields are ignored on purpose: a newer peer may add optional fields without a
//! new wire version. Required fields, lengths and host names are checked when decoding, so code
//! that receives a [`Message`] can trust its shape.

use serde::{Deserialize, Serialize};

use crate::frame::DecodeError;

/// Longest host name accepted in a target (DNS allows 253).
pub const MAX_HOST_LEN: usize = 253;
/// Longest free-text field (messages, principals, ids).
pub const MAX_TEXT_LEN: usize = 4096;
/// Most inventory entries in one report.
pub const MAX_INVENTORY: usize = 10_000;
/// Most windows in one [`WindowSet`] (a connector's open and reserved windows). A window is
/// about 170 bytes of JSON, so this many fit in one frame with room to spare.
pub const MAX_WINDOWS: usize = 4_000;

/// Everything that may be framed on a tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Connector → hub, first frame after the preface.
    Hello(Hello),
    /// Hub → connector: the handshake succeeded.
    Welcome(Welcome),
    /// Hub → connector: the handshake failed; the hub closes after sending it.
    Reject(Reject),
    /// Connector → hub on the control channel: the virtual targets it exposes.
    Inventory(Inventory),
    /// Either way on the control channel: keep-alive and liveness probe.
    Heartbeat(Heartbeat),
    /// Hub → connector, first frame on a new stream: what to reach and on whose behalf.
    StreamOpen(StreamOpen),
    /// Connector → hub, first frame back on a stream: connected, or refused and why.
    StreamReply(StreamReply),
    /// Either way on the control channel: the sender is closing the tunnel, and why.
    Goodbye(Goodbye),
    /// Hub → connector on the control channel: every open or reserved window of the
    /// connector's service connections (replaces the previous set).
    WindowSet(WindowSet),
    /// Hub → connector on the control channel: one window was opened, changed or closed.
    WindowUpdate(WindowUpdate),
    /// Connector → hub on the control channel: a customer admin closed a window at the
    /// connector.
    WindowClosed(WindowClosed),
    /// Connector → hub on the control channel: a CSR for a new client certificate (sent only
    /// to a hub whose [`Welcome::features`] has [`FEATURE_RENEW`]).
    RenewRequest(RenewRequest),
    /// Hub → connector: the new certificate, not yet in force at the hub.
    RenewOffer(RenewOffer),
    /// Connector → hub: the new certificate and its key are stored; the hub may put it in
    /// force (it accepts only the new one from then on).
    RenewStored(RenewStored),
    /// Connector → hub on the control channel: a periodic snapshot of its health (sent only
    /// to a hub whose [`Welcome::features`] has [`FEATURE_HEALTH`]).
    HealthReport(HealthReport),
}

/// The [`Welcome::features`] name of health reports.
pub const FEATURE_HEALTH: &str = "health";

/// The [`Welcome::features`] name of certificate renewal over the tunnel.
pub const FEATURE_RENEW: &str = "renew";
/// Longest PEM text in a renewal message.
pub const MAX_PEM_LEN: usize = 16 * 1024;

/// Connector → hub handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The connector's software version (semver).
    pub software_version: String,
    /// The location ID the connector believes it serves (the certificate is what counts).
    pub location: String,
    /// Host name of the machine, for the hub's connector list.
    #[serde(default)]
    pub hostname: Option<String>,
}

/// A warning that the connector will soon be too old.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionWarning {
    /// Human-readable text, ready to log.
    pub message: String,
    /// Version the connector should upgrade to at least.
    pub minimum_version: String,
    /// Date (ISO 8601) from which older versions are refused, when announced.
    #[serde(default)]
    pub sunset_date: Option<String>,
}

/// Hub → connector: accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The hub's software version.
    pub hub_version: String,
    /// How often each side sends a heartbeat; three missed intervals end the tunnel.
    pub heartbeat_interval_ms: u64,
    /// Set when the connector's version is inside the hub's sunset period.
    #[serde(default)]
    pub warning: Option<VersionWarning>,
    /// What this hub understands beyond the first protocol (e.g. [`FEATURE_RENEW`]). A
    /// connector sends newer messages only to a hub that names them: an older hub would end
    /// the tunnel on an unknown kind. Absent from older hubs: empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// Connector → hub: please sign a new client certificate for this key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewRequest {
    /// A PKCS#10 request (PEM) for the connector's new key; the hub takes only the key from
    /// it, the certificate names the same connector as the one in use.
    pub csr_pem: String,
}

/// Hub → connector: the signed certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewOffer {
    /// The new client certificate (PEM).
    pub certificate_pem: String,
}

/// Connector → hub: how the connector and its machine are (SB-05).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The connector's software version.
    pub software_version: String,
    /// Seconds since the connector started.
    pub uptime_secs: u64,
    /// CPU busy, per mille, at the last sample (none before the first).
    #[serde(default)]
    pub cpu_permille: Option<u16>,
    /// Memory, bytes: total and available.
    #[serde(default)]
    pub memory_total: Option<u64>,
    #[serde(default)]
    pub memory_available: Option<u64>,
    /// The data directory's file system, bytes: total and free.
    #[serde(default)]
    pub disk_total: Option<u64>,
    #[serde(default)]
    pub disk_free: Option<u64>,
    /// Alerts active at the connector.
    #[serde(default)]
    pub active_alerts: u32,
    /// Each access entry's last reachability check.
    #[serde(default)]
    pub entries: Vec<EntryHealth>,
}

/// One access entry's reachability, as the connector last checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryHealth {
    /// The entry's name.
    pub name: String,
    /// The internal `host:port` checked.
    pub internal: String,
    /// Whether the check passed.
    pub reachable: bool,
    /// What was seen (`TCP connect`, `HTTP 200`, the error).
    pub detail: String,
}

/// Connector → hub: stored, by the certificate's SHA-256 fingerprint (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewStored {
    /// SHA-256 of the new certificate's DER, lower-case hex.
    pub fingerprint: String,
}

/// Why the hub refused a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectCode {
    /// The connector is older than the hub's minimum version.
    ClientTooOld,
    /// The connector's certificate was revoked.
    Revoked,
    /// The certificate is not one the hub issued to a known connector.
    UnknownConnector,
    /// The hub does not speak the connector's wire version.
    WireVersionUnsupported,
    /// The connector broke the protocol.
    ProtocolError,
    /// The hub is shutting down or overloaded; try again later.
    Unavailable,
}

/// Hub → connector: refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    /// Machine-readable reason.
    pub code: RejectCode,
    /// Human-readable text, ready to log.
    pub message: String,
    /// With [`RejectCode::ClientTooOld`]: the minimum version the hub accepts.
    #[serde(default)]
    pub minimum_version: Option<String>,
}

/// Protocol of a virtual target (more come with later access-control kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetProtocol {
    /// Plain TCP.
    Tcp,
}

/// One virtual target the connector exposes: a host and a port range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryTarget {
    /// Short name from the connector's configuration.
    pub name: String,
    /// Virtual host the hub's clients use.
    pub virtual_host: String,
    /// First virtual port.
    pub port_start: u16,
    /// Last virtual port (equal to `port_start` for a single port).
    pub port_end: u16,
    /// Protocol.
    pub protocol: TargetProtocol,
}

/// Connector → hub: the complete list of virtual targets (replaces the previous one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The targets.
    pub targets: Vec<InventoryTarget>,
}

/// Keep-alive. The receiver of a heartbeat with `ack = false` answers with the same `seq` and
/// `ack = true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Sequence number chosen by the sender.
    pub seq: u64,
    /// True for an answer.
    pub ack: bool,
}

/// Hub → connector: open a stream to a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOpen {
    /// Unique id of this session, shared by both sides' audit records.
    pub session_id: String,
    /// Virtual host to reach (as the connector's access control lists it).
    pub host: String,
    /// Virtual port.
    pub port: u16,
    /// Who asks (for the connector's audit), e.g. `token:ci-bot@acme`.
    pub principal: String,
    /// Entry point the client used: `socks5`, `http-proxy`, `connect`.
    pub entry: String,
    /// The client's address as the hub saw it.
    #[serde(default)]
    pub client_addr: Option<String>,
    /// The window that permits the stream (its id as in [`WindowInfo::id`]). The connector
    /// refuses a stream whose window it does not know, has seen close, or whose end has
    /// passed by its own clock.
    #[serde(default)]
    pub window: Option<String>,
    /// The standing grant that permits the stream instead of a window (a company's technical
    /// user), for the connector's audit. A stream carries a window or a grant.
    #[serde(default)]
    pub grant: Option<String>,
}

/// A window as the connector needs it to enforce it on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowInfo {
    /// Stable id (the hub's window id, as text).
    pub id: String,
    /// Human-readable name of the service connection, e.g. `acme/PRD/ssh`, for logs.
    pub service: String,
    /// The virtual host the window opens.
    pub virtual_host: String,
    /// The virtual port it opens.
    pub virtual_port: u16,
    /// Opens at, unix milliseconds.
    pub start_ms: i64,
    /// Closes by itself at, unix milliseconds.
    pub end_ms: i64,
    /// Closed early (the connector ends its streams and refuses new ones).
    #[serde(default)]
    pub closed: bool,
}

/// Hub → connector: the complete set of live windows for this connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSet {
    /// The windows.
    pub windows: Vec<WindowInfo>,
}

/// Hub → connector: one window changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowUpdate {
    /// The window as it is now.
    pub window: WindowInfo,
}

/// Connector → hub: closed at the connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowClosed {
    /// The window's id.
    pub id: String,
    /// Who closed it, as the connector's operator gave it (e.g. a login name).
    pub by: String,
    /// Why, free text.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Why a connector refused a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefuseCode {
    /// No access control entry allows the target.
    NotAllowed,
    /// The internal host refused the connection.
    ConnectionRefused,
    /// The internal host could not be reached or resolved.
    HostUnreachable,
    /// Dialling the internal host timed out.
    Timeout,
    /// The stream's window is unknown to the connector, closed, or over by its clock.
    WindowClosed,
    /// The connector is shutting down or at its stream limit.
    Unavailable,
}

/// The outcome of a [`StreamOpen`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum OpenResult {
    /// Connected; raw bytes follow in both directions.
    Connected,
    /// Refused; the connector ends the stream after this frame.
    Refused {
        /// Machine-readable reason.
        code: RefuseCode,
        /// Human-readable text for the client and the logs.
        message: String,
    },
}

/// Connector → hub: the answer to a [`StreamOpen`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamReply {
    /// Echo of [`StreamOpen::session_id`].
    pub session_id: String,
    /// The outcome.
    pub result: OpenResult,
}

/// Why a side closes the tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GoodbyeReason {
    /// Orderly shutdown of the sender.
    Shutdown,
    /// The connector's certificate was revoked: do not reconnect with it.
    Revoked,
    /// A newer tunnel of the same connector replaced this one.
    Replaced,
    /// Heartbeats stopped arriving.
    HeartbeatTimeout,
}

/// The sender is about to close the tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goodbye {
    /// Machine-readable reason.
    pub reason: GoodbyeReason,
    /// Human-readable text.
    pub message: String,
}

macro_rules! kinds {
    ($($variant:ident = $byte:expr, $name:expr;)*) => {
        impl Message {
            /// The kind byte on the wire.
            pub fn kind(&self) -> u8 {
                match self { $(Message::$variant(_) => $byte,)* }
            }

            /// The message's name, for logs and errors.
            pub fn name(&self) -> &'static str {
                match self { $(Message::$variant(_) => $name,)* }
            }

            pub(crate) fn body_json(&self) -> Vec<u8> {
                // Serializing these plain structs cannot fail: no maps with non-string keys,
                // no custom serializers.
                match self {
                    $(Message::$variant(m) => serde_json::to_vec(m).unwrap_or_default(),)*
                }
            }

            pub(crate) fn from_parts(kind: u8, body: &[u8]) -> Result<Message, DecodeError> {
                let msg = match kind {
                    $($byte => Message::$variant(serde_json::from_slice(body).map_err(|e| {
                        DecodeError::Malformed { kind: $name, reason: e.to_string() }
                    })?),)*
                    other => return Err(DecodeError::UnknownKind(other)),
                };
                msg.validate()?;
                Ok(msg)
            }
        }
    };
}

kinds! {
    Hello = 0x01, "hello";
    Welcome = 0x02, "welcome";
    Reject = 0x03, "reject";
    Inventory = 0x04, "inventory";
    Heartbeat = 0x05, "heartbeat";
    StreamOpen = 0x06, "stream_open";
    StreamReply = 0x07, "stream_reply";
    Goodbye = 0x08, "goodbye";
    WindowSet = 0x09, "window_set";
    WindowUpdate = 0x0a, "window_update";
    WindowClosed = 0x0b, "window_closed";
    RenewRequest = 0x0c, "renew_request";
    RenewOffer = 0x0d, "renew_offer";
    RenewStored = 0x0e, "renew_stored";
    HealthReport = 0x0f, "health_report";
}

impl Message {
    fn validate(&self) -> Result<(), DecodeError> {
        let kind = self.name();
        let bad = |reason: String| DecodeError::Malformed { kind, reason };
        let text = |field: &str, v: &str| {
            if v.len() > MAX_TEXT_LEN {
                Err(bad(format!("{field} longer than {MAX_TEXT_LEN} bytes")))
            } else {
                Ok(())
            }
        };
        match self {
            Message::Hello(h) => {
                text("software_version", &h.software_version)?;
                text("location", &h.location)?;
                if let Some(n) = &h.hostname {
                    text("hostname", n)?;
                }
            }
            Message::Welcome(w) => {
                text("hub_version", &w.hub_version)?;
                if w.features.len() > 64 {
                    return Err(bad("more than 64 features".into()));
                }
                for f in &w.features {
                    text("features", f)?;
                }
            }
            Message::HealthReport(h) => {
                text("software_version", &h.software_version)?;
                if h.entries.len() > MAX_INVENTORY {
                    return Err(bad(format!("more than {MAX_INVENTORY} entries")));
                }
                if h.cpu_permille.is_some_and(|c| c > 1000) {
                    return Err(bad("cpu_permille above 1000".into()));
                }
                let above = |part: Option<u64>, whole: Option<u64>| matches!((part, whole), (Some(p), Some(w)) if p > w);
                if above(h.memory_available, h.memory_total) || above(h.disk_free, h.disk_total) {
                    return Err(bad("more available than in total".into()));
                }
                for e in &h.entries {
                    text("name", &e.name)?;
                    text("internal", &e.internal)?;
                    text("detail", &e.detail)?;
                }
            }
            Message::RenewRequest(r) => pem(&r.csr_pem).map_err(bad)?,
            Message::RenewOffer(o) => pem(&o.certificate_pem).map_err(bad)?,
            Message::RenewStored(s) => {
                if s.fingerprint.len() != 64
                    || !s.fingerprint.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(bad("fingerprint is not 64 hex digits".into()));
                }
            }
            Message::Reject(r) => text("message", &r.message)?,
            Message::Inventory(inv) => {
                if inv.targets.len() > MAX_INVENTORY {
                    return Err(bad(format!("more than {MAX_INVENTORY} targets")));
                }
                for t in &inv.targets {
                    check_host(&t.virtual_host).map_err(|e| bad(e.to_string()))?;
                    text("name", &t.name)?;
                    if t.port_start == 0 || t.port_end < t.port_start {
                        return Err(bad(format!(
                            "bad port range {}-{}",
                            t.port_start, t.port_end
                        )));
                    }
                }
            }
            Message::Heartbeat(_) => {}
            Message::StreamOpen(o) => {
                check_host(&o.host).map_err(|e| bad(e.to_string()))?;
                if o.port == 0 {
                    return Err(bad("port 0".into()));
                }
                text("session_id", &o.session_id)?;
                text("principal", &o.principal)?;
                text("entry", &o.entry)?;
                for (field, v) in [("window", &o.window), ("grant", &o.grant)] {
                    if let Some(v) = v {
                        text(field, v)?;
                    }
                }
            }
            Message::StreamReply(r) => {
                text("session_id", &r.session_id)?;
                if let OpenResult::Refused { message, .. } = &r.result {
                    text("message", message)?;
                }
            }
            Message::Goodbye(g) => text("message", &g.message)?,
            Message::WindowSet(set) => {
                if set.windows.len() > MAX_WINDOWS {
                    return Err(bad(format!("more than {MAX_WINDOWS} windows")));
                }
                for w in &set.windows {
                    check_window(w).map_err(|e| bad(e.to_string()))?;
                }
            }
            Message::WindowUpdate(u) => check_window(&u.window).map_err(|e| bad(e.to_string()))?,
            Message::WindowClosed(c) => {
                text("id", &c.id)?;
                text("by", &c.by)?;
                if let Some(r) = &c.reason {
                    text("reason", r)?;
                }
            }
        }
        Ok(())
    }
}

/// A PEM text of sensible size.
fn pem(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > MAX_PEM_LEN {
        return Err(format!("PEM must be 1..={MAX_PEM_LEN} bytes"));
    }
    if !text.contains("-----BEGIN ") {
        return Err("not PEM".into());
    }
    Ok(())
}

/// Why a host name or IP literal was refused by [`check_host`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Empty, or longer than a DNS name may be.
    #[error("host must be 1..={MAX_HOST_LEN} bytes")]
    Length {
        /// The length given, bytes.
        len: usize,
    },
    /// A byte outside letters, digits, `-`, `.`, `_` and `:` (spaces, control characters,
    /// anything that could give one host two spellings).
    #[error("host {host:?} has characters outside [A-Za-z0-9._:-]")]
    Characters {
        /// The host as given.
        host: String,
    },
}

/// Why a window in `window_set` or `window_update` is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum WindowError {
    /// The virtual host is not a host.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The virtual port is 0.
    #[error("window on port 0")]
    PortZero,
    /// `end_ms` is not after `start_ms`.
    #[error("window {id:?} ends before it starts")]
    EndsBeforeStart {
        /// The window's id.
        id: String,
    },
    /// `id` or `service` is empty or too long.
    #[error("window {field} must be 1..={MAX_TEXT_LEN} bytes")]
    Text {
        /// `id` or `service`.
        field: &'static str,
    },
}

fn check_window(w: &WindowInfo) -> Result<(), WindowError> {
    check_host(&w.virtual_host)?;
    if w.virtual_port == 0 {
        return Err(WindowError::PortZero);
    }
    if w.end_ms <= w.start_ms {
        return Err(WindowError::EndsBeforeStart { id: w.id.clone() });
    }
    for (field, v) in [("id", &w.id), ("service", &w.service)] {
        if v.is_empty() || v.len() > MAX_TEXT_LEN {
            return Err(WindowError::Text { field });
        }
    }
    Ok(())
}

/// Checks that `host` is a plausible host name or IP literal: 1..=253 bytes of letters, digits,
/// `-`, `.`, `_`, or an IPv6 literal (hex digits, `:`), with no spaces or control characters.
/// Access control compares host names as strings, so a name must have one spelling.
pub fn check_host(host: &str) -> Result<(), HostError> {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return Err(HostError::Length { len: host.len() });
    }
    let ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    if !ok {
        return Err(HostError::Characters { host: host.into() });
    }
    Ok(())
}
