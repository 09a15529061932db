//! The registry of live sessions, so that a policy change reaches streams already flowing.
//!
//! Checking a stream once, when it opens, is not enough: removing an `[[access]]` entry, or a
//! window closing or running out, must also end the sessions it allowed, or a long-lived
//! session (an SSH shell, a database connection) keeps a door open that the customer believes
//! closed. Every session is admitted through [`LiveSessions::admit`], which checks the window
//! rule and the current list and registers the session under one lock;
//! [`LiveSessions::recheck`] (after a new list is installed) and
//! [`LiveSessions::apply_windows`] / [`LiveSessions::expire`] (after the window table changed,
//! or a window's end came) run under the same lock. A session is therefore either checked
//! against the new state when it is admitted, or seen by the re-check: none slips between the
//! two.
//!
//! The window table ([`WindowTable`]) lives inside the registry's lock for that reason. Window
//! expiry is driven by [`expire_windows`]: one timer for the earliest end ahead, re-armed
//! whenever the table changes (and when an admission slips under the armed deadline, which
//! only a wall clock stepping back can cause).
//!
//! Sessions are keyed by a local counter, not by the hub's session id: the hub chooses those,
//! and a reused id must not hide a session from the re-check.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use portcullis_domain::access::{AccessControlList, AccessPermit, Denied};
use portcullis_domain::cause::EndCause;
use portcullis_proto::{RefuseCode, StreamOpen};
use portcullis_transport::relay::LiveBytes;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::acl::AclSnapshot;
use crate::windows::{self, now_ms, show_target as show, Refusal, WindowTable};

/// Longest the expiry timer sleeps before reading the wall clock again, so that a clock step
/// forward (NTP, a suspended VM) ends windows at most this late.
pub const MAX_EXPIRY_SLEEP: Duration = Duration::from_secs(60);

/// The live sessions of one agent, and the window table they are checked against.
#[derive(Debug)]
pub(crate) struct LiveSessions {
    inner: Mutex<Registry>,
    /// Bumped on every window table change; wakes the expiry timer and sessions waiting to
    /// learn a window.
    window_changes: watch::Sender<u64>,
}

impl Default for LiveSessions {
    fn default() -> Self {
        LiveSessions {
            inner: Mutex::default(),
            window_changes: watch::Sender::new(0),
        }
    }
}

#[derive(Debug, Default)]
struct Registry {
    next_key: u64,
    sessions: HashMap<u64, Live>,
    windows: WindowTable,
    /// The deadline the expiry timer sleeps towards (unix ms), if any.
    armed: Option<i64>,
}

/// What the re-check needs to know about one session.
#[derive(Debug)]
struct Live {
    session_id: String,
    principal: String,
    /// The virtual target the hub asked for.
    host: String,
    port: u16,
    /// What the permit said to dial (the re-check cuts the session when that changes).
    internal_host: String,
    internal_port: u16,
    /// The window the session was opened under (`None`: a standing grant).
    window: Option<String>,
    cut: CancellationToken,
    policy: Arc<Mutex<Option<PolicyCut>>>,
    /// When it was admitted (unix ms).
    since_ms: i64,
    /// Bytes moved so far (a byte relay counts every byte, an HTTP session its bodies).
    bytes: Arc<LiveBytes>,
}

/// One live session as the admin UI, the API and `portcullis connector sessions` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveView {
    /// The connector's own key of the session (what a cut names).
    pub id: u64,
    /// The hub's session id.
    pub session_id: String,
    /// Who asked, as the hub reported it (the hub user or technical user).
    pub principal: String,
    /// `host:port` of the virtual target.
    pub target: String,
    /// The window it runs under, if any.
    pub window: Option<String>,
    /// When it was admitted (RFC 3339, UTC).
    pub since: String,
    /// Bytes from the hub to the back end so far (an HTTP session counts request bodies).
    pub bytes_from_hub: u64,
    /// Bytes from the back end to the hub so far (an HTTP session counts response bodies).
    pub bytes_to_hub: u64,
}

/// Why a re-check cut a session, so the session can refuse or audit accordingly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyCut {
    /// Why the session ended: `access_removed`, `window_closed`, `window_expired`.
    pub cause: EndCause,
    /// `ended_by` in the session's end record, for people: `access removed`, `window
    /// expired`, `window closed at connector by alice` …
    pub ended_by: String,
    /// The details (which entry, which window, when).
    pub reason: String,
    /// What the hub is told when the cut comes before the stream was accepted.
    pub code: RefuseCode,
}

/// A session's place in the registry; leaves it when dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    key: u64,
    registry: Arc<LiveSessions>,
    cut: CancellationToken,
    policy: Arc<Mutex<Option<PolicyCut>>>,
    bytes: Arc<LiveBytes>,
}

impl Admission {
    /// Where a byte relay counts the bytes it moves, so the live view shows them.
    pub fn bytes(&self) -> Arc<LiveBytes> {
        self.bytes.clone()
    }

    /// This session's own cut: a child of the tunnel's, also cancelled by a policy change
    /// (access list or window) that no longer allows the session.
    pub fn cut(&self) -> &CancellationToken {
        &self.cut
    }

    /// Why a policy change cut this session, if it did.
    pub fn cut_by_policy(&self) -> Option<PolicyCut> {
        lock(&self.policy).clone()
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        lock(&self.registry.inner).sessions.remove(&self.key);
    }
}

/// One session a re-check cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CutSession {
    pub session_id: String,
    pub principal: String,
    /// `host:port` of the virtual target.
    pub target: String,
    /// The window it ran under, if any.
    pub window: Option<String>,
    /// Why it ended.
    pub cause: EndCause,
    /// `ended_by` of its end record.
    pub ended_by: String,
    /// Why: no entry allows the target any more, it maps to another internal address, or
    /// its window is closed or over.
    pub reason: String,
}

/// Why a stream was not admitted.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The stream names neither a window nor a grant.
    NoBasis,
    /// The window rule refused it.
    Window(Refusal),
    /// No access control entry allows the target.
    Access(Denied),
}

impl Refused {
    /// What the hub is told.
    pub fn code(&self) -> RefuseCode {
        match self {
            Refused::Window(_) => RefuseCode::WindowClosed,
            Refused::NoBasis | Refused::Access(_) => RefuseCode::NotAllowed,
        }
    }

    /// Short machine-readable reason, for the audit record.
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::NoBasis => "no_window_or_grant",
            Refused::Window(r) => r.reason(),
            Refused::Access(_) => "no_access_entry",
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NoBasis => f.write_str("the stream carries no window or grant"),
            Refused::Window(r) => r.fmt(f),
            Refused::Access(d) => d.fmt(f),
        }
    }
}

impl LiveSessions {
    /// Checks `open` and, when it is allowed, registers the session with a cut token derived
    /// from `parent`. The rule, in order: a stream with a window must pass the window rule
    /// ([`windows::check`] at `now_ms`); a stream with neither window nor grant is refused;
    /// then the current list in `acl` must allow the target. All of it happens under the
    /// registry lock, so neither a reload nor a window change can slip in between.
    pub fn admit(
        self: &Arc<Self>,
        acl: &watch::Receiver<AclSnapshot>,
        open: &StreamOpen,
        parent: &CancellationToken,
        now_ms: i64,
    ) -> Result<(AccessPermit, Admission), Refused> {
        let mut reg = lock(&self.inner);
        let mut window_end = None;
        if let Some(id) = &open.window {
            windows::check(now_ms, &reg.windows, id, &open.host, open.port)
                .map_err(Refused::Window)?;
            window_end = reg.windows.get(id).map(|w| w.end_ms);
        } else if open.grant.is_none() {
            return Err(Refused::NoBasis);
        }
        // One snapshot per decision: a reload racing with this stream cannot change it halfway.
        let current = acl.borrow().acl.clone();
        let permit = current
            .check(&open.host, open.port)
            .map_err(Refused::Access)?;
        let key = reg.next_key;
        reg.next_key += 1;
        let cut = parent.child_token();
        let policy = Arc::new(Mutex::new(None));
        let bytes = Arc::new(LiveBytes::default());
        reg.sessions.insert(
            key,
            Live {
                session_id: open.session_id.clone(),
                principal: open.principal.clone(),
                host: open.host.clone(),
                port: open.port,
                internal_host: permit.internal_host().to_owned(),
                internal_port: permit.internal_port(),
                window: open.window.clone(),
                cut: cut.clone(),
                policy: policy.clone(),
                since_ms: now_ms,
                bytes: bytes.clone(),
            },
        );
        // The timer sleeps towards the earliest end it saw ahead; a window ending sooner can
        // only be admitted after the wall clock stepped back. Wake the timer to re-arm.
        if let Some(end) = window_end {
            if reg.armed.is_none_or(|armed| end < armed) {
                self.window_changes.send_modify(|n| *n += 1);
            }
        }
        let admission = Admission {
            key,
            registry: self.clone(),
            cut,
            policy,
            bytes,
        };
        Ok((permit, admission))
    }

    /// Re-checks every live session against `acl` (a list just installed) and cuts those it
    /// no longer allows, or allows only towards another internal address. Returns them.
    pub fn recheck(&self, acl: &AccessControlList) -> Vec<CutSession> {
        let reg = lock(&self.inner);
        let mut cut = Vec::new();
        for live in reg.sessions.values() {
            if live.cut.is_cancelled() {
                continue;
            }
            let target = show(&live.host, live.port);
            let reason = match acl.check(&live.host, live.port) {
                Err(_) => format!("no [[access]] entry allows {target} any more"),
                Ok(p)
                    if p.internal_host() != live.internal_host
                        || p.internal_port() != live.internal_port =>
                {
                    format!(
                        "{target} now maps to {} instead of {} (entry {:?})",
                        show(p.internal_host(), p.internal_port()),
                        show(&live.internal_host, live.internal_port),
                        p.entry()
                    )
                }
                Ok(_) => continue,
            };
            cut.push(live.cut_for(PolicyCut {
                cause: EndCause::AccessRemoved,
                ended_by: "access removed".into(),
                reason,
                code: RefuseCode::NotAllowed,
            }));
        }
        cut
    }

    /// Changes the window table with `change`, then cuts every live session whose window no
    /// longer passes the rule at `now_ms` (closed, withdrawn, shortened, moved). Returns what
    /// `change` returned and the sessions cut; wakes the expiry timer.
    pub fn apply_windows<T>(
        &self,
        now_ms: i64,
        change: impl FnOnce(&mut WindowTable) -> T,
    ) -> (T, Vec<CutSession>) {
        let mut reg = lock(&self.inner);
        let out = change(&mut reg.windows);
        let cut = reg.recheck_windows(now_ms);
        drop(reg);
        self.window_changes.send_modify(|n| *n += 1);
        (out, cut)
    }

    /// Cuts the sessions whose window is over at `now_ms`; returns them and the next end
    /// ahead, which the caller promises to come back at (it is recorded as the armed deadline).
    pub fn expire(&self, now_ms: i64) -> (Vec<CutSession>, Option<i64>) {
        let mut reg = lock(&self.inner);
        let cut = reg.recheck_windows(now_ms);
        let next = reg.windows.next_end(now_ms);
        reg.armed = next;
        (cut, next)
    }

    /// The live sessions (not yet cut), oldest first.
    pub fn list(&self) -> Vec<LiveView> {
        let reg = lock(&self.inner);
        let mut out: Vec<LiveView> = reg
            .sessions
            .iter()
            .filter(|(_, l)| !l.cut.is_cancelled())
            .map(|(key, l)| LiveView {
                id: *key,
                session_id: l.session_id.clone(),
                principal: l.principal.clone(),
                target: show(&l.host, l.port),
                window: l.window.clone(),
                since: windows::format_ms(l.since_ms),
                bytes_from_hub: l.bytes.from_tunnel.load(Ordering::Relaxed),
                bytes_to_hub: l.bytes.to_tunnel.load(Ordering::Relaxed),
            })
            .collect();
        out.sort_by_key(|v| v.id);
        out
    }

    /// Cuts the live session `id` at once because an administrator asked (`ended_by` names
    /// him). `None` when no live session has that id (ended, or cut already).
    pub fn cut_by_admin(&self, id: u64, ended_by: String) -> Option<CutSession> {
        let reg = lock(&self.inner);
        let live = reg.sessions.get(&id).filter(|l| !l.cut.is_cancelled())?;
        Some(live.cut_for(PolicyCut {
            cause: EndCause::CutByAdmin,
            reason: "an administrator cut the session at the connector".into(),
            ended_by,
            code: RefuseCode::NotAllowed,
        }))
    }

    /// The window table as listed at `now_ms`.
    pub fn window_views(&self, now_ms: i64) -> Vec<windows::WindowView> {
        lock(&self.inner).windows.views(now_ms)
    }

    /// Wakes on every window table change.
    pub fn subscribe_windows(&self) -> watch::Receiver<u64> {
        self.window_changes.subscribe()
    }

    /// How many sessions are registered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.inner).sessions.len()
    }
}

impl Registry {
    fn recheck_windows(&self, now_ms: i64) -> Vec<CutSession> {
        let mut cut = Vec::new();
        for live in self.sessions.values() {
            let Some(id) = &live.window else { continue };
            if live.cut.is_cancelled() {
                continue;
            }
            if let Err(r) = windows::check(now_ms, &self.windows, id, &live.host, live.port) {
                cut.push(live.cut_for(PolicyCut {
                    cause: r.end_cause(),
                    ended_by: r.ended_by(),
                    reason: r.to_string(),
                    code: RefuseCode::WindowClosed,
                }));
            }
        }
        cut
    }
}

impl Live {
    /// Cuts the session, recording why first (so the session reads it after the cut).
    fn cut_for(&self, why: PolicyCut) -> CutSession {
        let report = CutSession {
            session_id: self.session_id.clone(),
            principal: self.principal.clone(),
            target: show(&self.host, self.port),
            window: self.window.clone(),
            cause: why.cause,
            ended_by: why.ended_by.clone(),
            reason: why.reason.clone(),
        };
        *lock(&self.policy) = Some(why);
        self.cut.cancel();
        report
    }
}

/// Ends live sessions when their window's end passes, until `stop`: one timer for the
/// earliest end ahead, re-armed whenever the window table changes.
pub(crate) async fn expire_windows(live: Arc<LiveSessions>, stop: CancellationToken) {
    let mut changes = live.subscribe_windows();
    loop {
        let now = now_ms();
        let (cut, next) = live.expire(now);
        for c in &cut {
            tracing::warn!(
                session = %c.session_id, target = %c.target, principal = %c.principal,
                window = c.window.as_deref(), cause = c.cause.code(), reason = %c.reason, "window over: cutting the live session"
            );
        }
        let wait = async {
            match next {
                Some(end) => {
                    let ms = u64::try_from(end.saturating_sub(now)).unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(ms).min(MAX_EXPIRY_SLEEP)).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = wait => {}
        }
    }
}

/// Locks a mutex, ignoring poisoning: the registry stays consistent across a panicking
/// holder (each operation is a single insert, remove or scan).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
