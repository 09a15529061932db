//! The connector's own view of the hub's time windows, and the window rule for one stream.
//!
//! The hub pushes window state on the control channel (`WindowSet` after every `Welcome`,
//! `WindowUpdate` on every change); the connector keeps it here and decides by **its own
//! clock**. That is the customer's half of the two keys: a hub that forgets to close a window,
//! or whose clock is wrong, still cannot open a stream the connector sees as over.
//!
//! Rules the table keeps:
//! - **Closed is final.** A window closed by the hub, left out of a new `WindowSet`, or closed
//!   at the connector is remembered as closed; a later update that says it is open (a stale
//!   message, a hub that has not yet heard of a local close) does not reopen it. A local close
//!   the hub has not confirmed survives a restart: the connector reads it back from
//!   `data_dir/closed-windows.json` and puts it in the fresh table with
//!   [`WindowTable::restore_local`].
//! - **Expiry is time, not state.** A window whose end has passed stays in the table as it is;
//!   [`check`] refuses it because of the clock. An edit that extends it (the hub's clock may lag
//!   the connector's) makes it usable again; a close never is undone.
//! - **A new set replaces the table** (it survives a reconnect until then): windows absent from
//!   it are closed.
//! - **Memory is bounded**: windows whose end passed more than [`RETENTION_MS`] ago are
//!   forgotten, and at most [`MAX_OPEN`] open and [`MAX_CLOSED`] closed windows are kept (the
//!   ones ending first go first). A forgotten window is refused as unknown.
//!
//! Nothing here reads a clock or touches I/O: every function that depends on time takes
//! `now_ms` (unix milliseconds), so boundaries are tested without sleeping. [`now_ms`] is the
//! one place the connector reads the wall clock for windows.

use std::collections::{HashMap, HashSet};

use portcullis_domain::cause::EndCause;
use portcullis_proto::{WindowInfo, MAX_WINDOWS};
use serde::{Deserialize, Serialize};

/// How long a window is remembered after its end (expired or closed).
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Most open (not closed) windows kept; a `WindowSet` holds at most [`MAX_WINDOWS`].
pub const MAX_OPEN: usize = 2 * MAX_WINDOWS;
/// Most closed windows remembered.
pub const MAX_CLOSED: usize = 2 * MAX_WINDOWS;

/// The connector's wall clock in unix milliseconds.
pub fn now_ms() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// Formats unix milliseconds as RFC 3339 (UTC), for messages and listings.
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// Why a window is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// The hub closed it (`closed: true` in an update or a set).
    Hub,
    /// A new `WindowSet` from the hub did not contain it.
    Withdrawn,
    /// A customer admin closed it at the connector.
    Local {
        /// Who, as the operator gave it.
        by: String,
        /// Why, free text.
        reason: Option<String>,
    },
}

impl CloseCause {
    /// `ended_by` of the sessions this close cuts.
    pub fn ended_by(&self) -> String {
        match self {
            CloseCause::Hub | CloseCause::Withdrawn => "window closed by hub".into(),
            CloseCause::Local { by, .. } => format!("window closed at connector by {by}"),
        }
    }

    /// `"hub"` or `"connector"`: who closed it, for listings and audit records.
    pub fn side(&self) -> &'static str {
        match self {
            CloseCause::Hub | CloseCause::Withdrawn => "hub",
            CloseCause::Local { .. } => "connector",
        }
    }

    fn describe(&self) -> String {
        match self {
            CloseCause::Hub => "by the hub".into(),
            CloseCause::Withdrawn => "by the hub (no longer in its window set)".into(),
            CloseCause::Local { by, .. } => format!("at the connector by {by}"),
        }
    }
}

/// A window the table holds as closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedWindow {
    /// The window as last known.
    pub info: WindowInfo,
    /// Why it is closed.
    pub cause: CloseCause,
}

impl ClosedWindow {
    /// How `portcullis connector windows` shows it.
    pub fn view(&self) -> WindowView {
        WindowView::of(&self.info, WindowState::Closed, Some(&self.cause))
    }
}

/// Why the window rule refuses a stream (or cuts a live one). One variant per cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The connector has never heard of the window (or forgot it long after its end).
    #[error("window {id} is not known to the connector")]
    Unknown {
        /// The window id the stream carried.
        id: String,
    },
    /// The window is closed.
    #[error("window {id} was closed {}", cause.describe())]
    Closed {
        /// The window id.
        id: String,
        /// Who closed it.
        cause: CloseCause,
    },
    /// The window's start is still ahead by the connector's clock.
    #[error("window {id} opens at {} (connector clock: {})", format_ms(*start_ms), format_ms(*now_ms))]
    NotYetOpen {
        /// The window id.
        id: String,
        /// Its start, unix ms.
        start_ms: i64,
        /// The connector's clock, unix ms.
        now_ms: i64,
    },
    /// The window's end has passed by the connector's clock.
    #[error("window {id} ended at {} (connector clock: {})", format_ms(*end_ms), format_ms(*now_ms))]
    Ended {
        /// The window id.
        id: String,
        /// Its end, unix ms.
        end_ms: i64,
        /// The connector's clock, unix ms.
        now_ms: i64,
    },
    /// The window opens another virtual target than the stream asks for.
    #[error("window {id} opens {window_target}, not {target}")]
    OtherTarget {
        /// The window id.
        id: String,
        /// What the window opens, `host:port`.
        window_target: String,
        /// What the stream asked for, `host:port`.
        target: String,
    },
}

impl Refusal {
    /// Short machine-readable reason, for audit records.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Unknown { .. } => "unknown_window",
            Refusal::Closed { .. } => "window_closed",
            Refusal::NotYetOpen { .. } => "window_not_yet_open",
            Refusal::Ended { .. } => "window_ended",
            Refusal::OtherTarget { .. } => "window_for_other_target",
        }
    }

    /// Why a live session cut for this reason ended: the window was closed (by anyone, or
    /// changed so that it no longer covers the session) or reached its end.
    pub fn end_cause(&self) -> EndCause {
        match self {
            Refusal::Ended { .. } => EndCause::WindowExpired,
            Refusal::Closed { .. }
            | Refusal::NotYetOpen { .. }
            | Refusal::OtherTarget { .. }
            | Refusal::Unknown { .. } => EndCause::WindowClosed,
        }
    }

    /// `ended_by` of a live session cut for this reason.
    pub fn ended_by(&self) -> String {
        match self {
            Refusal::Closed { cause, .. } => cause.ended_by(),
            Refusal::Ended { .. } => "window expired".into(),
            Refusal::NotYetOpen { .. } | Refusal::OtherTarget { .. } => {
                "window changed by hub".into()
            }
            Refusal::Unknown { .. } => "window unknown".into(),
        }
    }
}

/// Why a local close was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseError {
    /// The connector does not know the window.
    #[error("the connector does not know window {0}")]
    Unknown(String),
    /// The window is closed already.
    #[error("window {id} is already closed {}", cause.describe())]
    AlreadyClosed {
        /// The window id.
        id: String,
        /// Who closed it.
        cause: CloseCause,
    },
}

/// What one window from the hub did to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A window the table did not know, now open (or reserved).
    New,
    /// A known window with new facts (end, start, target).
    Changed,
    /// Nothing new.
    Unchanged,
    /// The hub closed a window the table held as open.
    Closed(ClosedWindow),
    /// The hub closed a window the table did not know; remembered as closed.
    ClosedUnknown,
    /// The update says open, but the table has seen the window close: ignored.
    StaleIgnored,
}

/// The connector's windows.
#[derive(Debug, Default, Clone)]
pub struct WindowTable {
    open: HashMap<String, WindowInfo>,
    closed: HashMap<String, ClosedWindow>,
}

impl WindowTable {
    /// An empty table (a connector that has not heard from the hub yet).
    pub fn new() -> WindowTable {
        WindowTable::default()
    }

    /// Replaces the table with a `WindowSet`: windows absent from `windows` are closed
    /// ([`CloseCause::Withdrawn`]); closed windows stay closed. Returns the windows this closed.
    pub fn apply_set(&mut self, now_ms: i64, windows: Vec<WindowInfo>) -> Vec<ClosedWindow> {
        let listed: HashSet<&str> = windows.iter().map(|w| w.id.as_str()).collect();
        let gone: Vec<String> = self
            .open
            .keys()
            .filter(|id| !listed.contains(id.as_str()))
            .cloned()
            .collect();
        let mut closed = Vec::new();
        for id in gone {
            if let Some(info) = self.open.remove(&id) {
                let c = ClosedWindow {
                    info,
                    cause: CloseCause::Withdrawn,
                };
                self.closed.insert(id, c.clone());
                closed.push(c);
            }
        }
        for w in windows {
            if let Applied::Closed(c) = self.apply_one(w) {
                closed.push(c);
            }
        }
        self.prune(now_ms);
        closed
    }

    /// Applies one `WindowUpdate`.
    pub fn apply_update(&mut self, now_ms: i64, window: WindowInfo) -> Applied {
        let applied = self.apply_one(window);
        self.prune(now_ms);
        applied
    }

    fn apply_one(&mut self, w: WindowInfo) -> Applied {
        if self.closed.contains_key(&w.id) {
            return if w.closed {
                Applied::Unchanged
            } else {
                Applied::StaleIgnored
            };
        }
        if w.closed {
            let known = self.open.remove(&w.id);
            let id = w.id.clone();
            let c = ClosedWindow {
                info: w,
                cause: CloseCause::Hub,
            };
            self.closed.insert(id, c.clone());
            return match known {
                Some(_) => Applied::Closed(c),
                None => Applied::ClosedUnknown,
            };
        }
        match self.open.insert(w.id.clone(), w.clone()) {
            None => Applied::New,
            Some(old) if old == w => Applied::Unchanged,
            Some(_) => Applied::Changed,
        }
    }

    /// Closes a window at the connector (a customer admin's decision).
    pub fn close_local(
        &mut self,
        id: &str,
        by: &str,
        reason: Option<String>,
    ) -> Result<ClosedWindow, CloseError> {
        if let Some(c) = self.closed.get(id) {
            return Err(CloseError::AlreadyClosed {
                id: id.to_owned(),
                cause: c.cause.clone(),
            });
        }
        let info = self
            .open
            .remove(id)
            .ok_or_else(|| CloseError::Unknown(id.to_owned()))?;
        let c = ClosedWindow {
            info,
            cause: CloseCause::Local {
                by: by.to_owned(),
                reason,
            },
        };
        self.closed.insert(id.to_owned(), c.clone());
        Ok(c)
    }

    /// Puts back a window closed at the connector before a restart (from the file of closes
    /// the hub has not confirmed): it is held closed, as if `close_local` had just run, so a
    /// `WindowSet` or update from the hub that still lists it as open does not reopen it.
    /// Unlike `close_local` this never fails: the window need not be known (a fresh table
    /// knows nothing), and whatever the table held for it is replaced.
    pub fn restore_local(
        &mut self,
        info: WindowInfo,
        by: &str,
        reason: Option<String>,
    ) -> ClosedWindow {
        self.open.remove(&info.id);
        let c = ClosedWindow {
            info,
            cause: CloseCause::Local {
                by: by.to_owned(),
                reason,
            },
        };
        self.closed.insert(c.info.id.clone(), c.clone());
        c
    }

    /// The earliest end still ahead (`> now_ms`) among open windows: when the next expiry is due.
    pub fn next_end(&self, now_ms: i64) -> Option<i64> {
        self.open
            .values()
            .map(|w| w.end_ms)
            .filter(|end| *end > now_ms)
            .min()
    }

    /// An open (not closed) window, whatever the clock says.
    pub fn get(&self, id: &str) -> Option<&WindowInfo> {
        self.open.get(id)
    }

    /// How many windows the table holds (open and closed).
    pub fn len(&self) -> usize {
        self.open.len() + self.closed.len()
    }

    /// Whether the table holds no window at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every window with its state at `now_ms`, sorted by start then id.
    pub fn views(&self, now_ms: i64) -> Vec<WindowView> {
        let mut v: Vec<WindowView> = self
            .open
            .values()
            .map(|w| WindowView::of(w, state_at(now_ms, w), None))
            .chain(
                self.closed
                    .values()
                    .map(|c| WindowView::of(&c.info, WindowState::Closed, Some(&c.cause))),
            )
            .collect();
        v.sort_by(|a, b| (a.start_ms, &a.id).cmp(&(b.start_ms, &b.id)));
        v
    }

    /// Forgets windows whose end passed more than [`RETENTION_MS`] ago, then enforces the caps.
    fn prune(&mut self, now_ms: i64) {
        let horizon = now_ms.saturating_sub(RETENTION_MS);
        self.open.retain(|_, w| w.end_ms >= horizon);
        self.closed.retain(|_, c| c.info.end_ms >= horizon);
        cap(&mut self.open, MAX_OPEN, |w| w.end_ms);
        cap(&mut self.closed, MAX_CLOSED, |c| c.info.end_ms);
    }
}

/// Drops the entries ending first until at most `max` are left.
fn cap<V>(map: &mut HashMap<String, V>, max: usize, end: impl Fn(&V) -> i64) {
    if map.len() <= max {
        return;
    }
    let mut ends: Vec<(i64, String)> = map.iter().map(|(k, v)| (end(v), k.clone())).collect();
    ends.sort();
    let excess = map.len() - max;
    tracing::warn!(
        dropped = excess,
        max,
        "too many windows; forgetting those that end first"
    );
    for (_, id) in ends.into_iter().take(excess) {
        map.remove(&id);
    }
}

/// The window rule for one stream: the window must be known, not closed, open at `now_ms`
/// (`start_ms <= now_ms < end_ms`) and for `host:port` (host case-insensitive).
pub fn check(
    now_ms: i64,
    table: &WindowTable,
    window_id: &str,
    host: &str,
    port: u16,
) -> Result<(), Refusal> {
    if let Some(c) = table.closed.get(window_id) {
        return Err(Refusal::Closed {
            id: window_id.to_owned(),
            cause: c.cause.clone(),
        });
    }
    let Some(w) = table.open.get(window_id) else {
        return Err(Refusal::Unknown {
            id: window_id.to_owned(),
        });
    };
    if now_ms < w.start_ms {
        return Err(Refusal::NotYetOpen {
            id: w.id.clone(),
            start_ms: w.start_ms,
            now_ms,
        });
    }
    if now_ms >= w.end_ms {
        return Err(Refusal::Ended {
            id: w.id.clone(),
            end_ms: w.end_ms,
            now_ms,
        });
    }
    if port != w.virtual_port || !host.eq_ignore_ascii_case(&w.virtual_host) {
        return Err(Refusal::OtherTarget {
            id: w.id.clone(),
            window_target: show_target(&w.virtual_host, w.virtual_port),
            target: show_target(host, port),
        });
    }
    Ok(())
}

/// Where a window stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// Its start is ahead.
    Reserved,
    /// Streams may open under it.
    Open,
    /// Its end has passed by the connector's clock.
    Expired,
    /// Closed by the hub or at the connector.
    Closed,
}

fn state_at(now_ms: i64, w: &WindowInfo) -> WindowState {
    if now_ms < w.start_ms {
        WindowState::Reserved
    } else if now_ms < w.end_ms {
        WindowState::Open
    } else {
        WindowState::Expired
    }
}

/// One window as `portcullis connector windows` shows it (also the local socket's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WindowView {
    /// The hub's window id.
    pub id: String,
    /// The service connection's name.
    pub service: String,
    /// Virtual `host:port` the window opens.
    pub target: String,
    /// Start, RFC 3339.
    pub start: String,
    /// End, RFC 3339.
    pub end: String,
    /// Start, unix ms.
    pub start_ms: i64,
    /// End, unix ms.
    pub end_ms: i64,
    /// State by the connector's clock.
    pub state: WindowState,
    /// For a closed window: `hub` or `connector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    /// For a window closed at the connector: who closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by_name: Option<String>,
    /// For a window closed at the connector: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<String>,
}

impl WindowView {
    fn of(w: &WindowInfo, state: WindowState, cause: Option<&CloseCause>) -> WindowView {
        let (name, reason) = match cause {
            Some(CloseCause::Local { by, reason }) => (Some(by.clone()), reason.clone()),
            _ => (None, None),
        };
        WindowView {
            id: w.id.clone(),
            service: w.service.clone(),
            target: show_target(&w.virtual_host, w.virtual_port),
            start: format_ms(w.start_ms),
            end: format_ms(w.end_ms),
            start_ms: w.start_ms,
            end_ms: w.end_ms,
            state,
            closed_by: cause.map(|c| c.side().to_owned()),
            closed_by_name: name,
            close_reason: reason,
        }
    }
}

/// `host:port`, with brackets around an IPv6 literal.
pub(crate) fn show_target(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
