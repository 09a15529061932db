//! State shared by the agent's tasks: the current access control list, the audit log and the
//! status channel.
//!
//! The ACL lives in a `watch` channel of [`AclSnapshot`]s: session tasks take the current
//! snapshot when a stream opens (a reload never blocks them and never changes a decision
//! halfway), the control channel is woken by the change to send the new inventory. Sessions
//! already flowing are re-checked against every new list through [`LiveSessions`].
//!
//! The window table lives in [`LiveSessions`] too (one lock for the rule and the registry).
//! Window changes arrive here from the control channel ([`Shared::apply_window_set`],
//! [`Shared::apply_window_update`]) and from the local admin socket
//! ([`Shared::close_window_locally`]); each is audited and cuts the sessions it ends. A local
//! close is also put in the **outbox** of `WindowClosed` messages for the hub, which the
//! control channel sends on every tunnel until the hub confirms the close (an update with
//! `closed: true`, or a set without the window), so the hub learns it even when the tunnel was
//! down at the time. The outbox is saved to `data_dir/closed-windows.json` on every change (see
//! the `outbox` module) and restored at start ([`Shared::restore_closes`]), so a restart before
//! the hub confirmed neither reopens the window nor keeps the hub from hearing of the close.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use portcullis_domain::access::AccessControlList;
use portcullis_proto::{WindowClosed, WindowSet, WindowUpdate};
use serde_json::json;
use tokio::sync::{watch, Notify};

use crate::acl::AclSnapshot;
use crate::audit::{AuditAction, AuditEvent, AuditLog};
use crate::backend_tls::LiveBackendTls;
use crate::live::{CutSession, LiveSessions};
use crate::outbox::{self, PendingClose};
use crate::status::Status;
use crate::windows::{now_ms, Applied, CloseCause, CloseError, ClosedWindow, WindowView};

/// Everything the tasks of one `run` share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// When this run began (uptime in health reports).
    pub started: std::time::Instant,
    /// The identity in use for new tunnels (replaced when a renewed one connects).
    pub identity: Mutex<crate::identity::Identity>,
    /// The data directory (renewal writes there).
    pub data_dir: PathBuf,
    /// When the client certificate is renewed, percent of its life.
    pub renew_at_percent: u8,
    /// Alerts and their deliveries.
    pub alerts: crate::alerts::Alerts,
    /// The last reachability result of each access entry (every check records it).
    pub reach: crate::reach::LastChecks,
    /// TLS to back ends (loaded at start, replaced when `[backend_tls]` changes).
    pub backend_tls: Arc<LiveBackendTls>,
    /// Per-request records of HTTP entries.
    pub monitor: Arc<crate::monitor::Monitor>,
    /// The configuration file, when the connector runs from one: what access edits rewrite.
    pub config_path: Option<PathBuf>,
    /// Serialises access edits (read, change, validate, write).
    pub edit_lock: tokio::sync::Mutex<()>,
    /// Cookie domain mappings (from the configuration at start).
    pub domain_mappings: Arc<LiveDomainMappings>,
    pub audit: Arc<AuditLog>,
    pub status: watch::Sender<Status>,
    pub acl: watch::Sender<AclSnapshot>,
    /// The sessions admitted and not yet ended, for the re-check after a reload.
    pub live: Arc<LiveSessions>,
    /// True while a control channel is up and will announce ACL changes to the hub (and then
    /// publish their generation). When false, the reloader publishes the generation itself.
    pub control_live: AtomicBool,
    /// Windows closed at the connector that the hub has not confirmed closed yet. Every
    /// change is saved to `outbox_path` while the lock is held, so the file follows the
    /// outbox in order.
    pub outbox: Mutex<Vec<PendingClose>>,
    /// Where the outbox is saved: `data_dir/closed-windows.json`.
    pub outbox_path: PathBuf,
    /// Wakes the control channel when the outbox gains a message.
    pub outbox_ready: Notify,
}

/// Who asked the connector to close a window (for the audit record): through the local admin
/// socket, the admin UI or the REST API.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalCaller {
    /// The operator's name as given (`--by`), or the admin UI's user.
    pub by: String,
    /// The door: `socket`, `ui` or `api`.
    pub via: &'static str,
    /// The calling process's uid and pid, from the socket's peer credentials.
    pub uid: Option<u32>,
    pub pid: Option<i32>,
}

/// The cookie domain mappings in force: a change of `[[domain_mapping]]` in the
/// configuration replaces them (the reload watcher), and every session takes the current ones
/// when it starts, so an edit applies to the next session without a restart.
#[derive(Debug, Default)]
pub(crate) struct LiveDomainMappings(std::sync::RwLock<Arc<Vec<crate::config::DomainMapping>>>);

impl LiveDomainMappings {
    pub fn new(m: Vec<crate::config::DomainMapping>) -> Self {
        LiveDomainMappings(std::sync::RwLock::new(Arc::new(m)))
    }

    /// The mappings now.
    pub fn current(&self) -> Arc<Vec<crate::config::DomainMapping>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts `m` in force for the sessions that start from now on; whether it differed.
    pub fn replace(&self, m: &[crate::config::DomainMapping]) -> bool {
        let mut cur = self.0.write().unwrap_or_else(|p| p.into_inner());
        if cur.as_slice() == m {
            return false;
        }
        *cur = Arc::new(m.to_vec());
        true
    }
}

impl Shared {
    /// The identity in use for new tunnels.
    pub fn identity(&self) -> crate::identity::Identity {
        self.identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Raises `Status::acl_generation` to `generation` (never lowers it).
    pub fn publish_generation(&self, generation: u64) {
        self.status.send_if_modified(|s| {
            if s.acl_generation < generation {
                s.acl_generation = generation;
                true
            } else {
                false
            }
        });
    }

    /// Installs a new ACL. New streams see it at once; live sessions it no longer allows are
    /// cut (and returned). The generation becomes visible in the status after the hub was
    /// told (when a control channel is up) or right away (when not).
    pub fn install_acl(&self, acl: AccessControlList) -> (u64, Vec<CutSession>) {
        let acl = Arc::new(acl);
        let mut generation = 0;
        self.acl.send_modify(|snap| {
            snap.generation += 1;
            snap.acl = acl.clone();
            generation = snap.generation;
        });
        // After the install: a session admitted from here on sees the new list, one admitted
        // before is in the registry now (see `LiveSessions::admit`).
        let cut = self.live.recheck(&acl);
        // SeqCst pairs with the control channel's `control_live.store(false)` followed by
        // its own publish: one of the two sees the new generation.
        if !self.control_live.load(Ordering::SeqCst) {
            self.publish_generation(generation);
        }
        (generation, cut)
    }
}

impl Shared {
    /// Applies the hub's complete window set (after every `Welcome`): windows it leaves out
    /// are closed and their sessions cut.
    pub fn apply_window_set(&self, set: WindowSet) {
        let now = now_ms();
        let still_open: HashSet<&str> = set
            .windows
            .iter()
            .filter(|w| !w.closed)
            .map(|w| w.id.as_str())
            .collect();
        self.confirm_closes(|id| !still_open.contains(id));
        let count = set.windows.len();
        let (closed, cut) = self
            .live
            .apply_windows(now, |t| t.apply_set(now, set.windows));
        for c in &closed {
            self.audit_close(c, &cut, None);
        }
        log_cuts(&cut);
        tracing::info!(
            windows = count,
            closed = closed.len(),
            sessions_cut = cut.len(),
            "window set from the hub applied"
        );
        self.status.send_modify(|s| s.windows_applied += 1);
    }

    /// Applies one window change from the hub.
    pub fn apply_window_update(&self, update: WindowUpdate) {
        let now = now_ms();
        let w = update.window;
        if w.closed {
            self.confirm_closes(|id| id == w.id);
        }
        let id = w.id.clone();
        let (applied, cut) = self.live.apply_windows(now, |t| t.apply_update(now, w));
        match &applied {
            Applied::Closed(c) => self.audit_close(c, &cut, None),
            Applied::StaleIgnored => {
                tracing::info!(window = %id, "ignoring an update that would reopen a closed window");
            }
            _ => {}
        }
        log_cuts(&cut);
        tracing::debug!(window = %id, ?applied, sessions_cut = cut.len(), "window update applied");
        self.status.send_modify(|s| s.windows_applied += 1);
    }

    /// A customer admin closes a window at the connector: new streams under it are refused at
    /// once, live ones are cut, the close is audited and queued for the hub. Returns the
    /// window as it is now and how many sessions were cut.
    pub fn close_window_locally(
        &self,
        id: &str,
        caller: &LocalCaller,
        reason: Option<String>,
    ) -> Result<(WindowView, usize), CloseError> {
        let now = now_ms();
        let (closed, cut) = self
            .live
            .apply_windows(now, |t| t.close_local(id, &caller.by, reason.clone()));
        let closed = closed?;
        self.audit_close(&closed, &cut, Some(caller));
        log_cuts(&cut);
        tracing::warn!(
            window = %id, by = %caller.by, reason = reason.as_deref(), sessions_cut = cut.len(),
            "window closed at the connector"
        );
        {
            let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
            outbox.push(PendingClose {
                msg: WindowClosed {
                    id: id.to_owned(),
                    by: caller.by.clone(),
                    reason,
                },
                info: closed.info.clone(),
            });
            self.save_outbox(&outbox);
        }
        self.outbox_ready.notify_one();
        let n = cut
            .iter()
            .filter(|c| c.window.as_deref() == Some(id))
            .count();
        Ok((closed.view(), n))
    }

    /// Puts back the closes the last run left unconfirmed (read from `closed-windows.json` at
    /// start, before the admin socket or a tunnel runs): each window is held closed in the
    /// table and its `WindowClosed` goes back in the outbox, to be sent on the first tunnel.
    /// Nothing is audited: each close was audited when it was made.
    pub fn restore_closes(&self, pending: Vec<PendingClose>) {
        if pending.is_empty() {
            return;
        }
        let now = now_ms();
        let ((), cut) = self.live.apply_windows(now, |t| {
            for p in &pending {
                t.restore_local(p.info.clone(), &p.msg.by, p.msg.reason.clone());
            }
        });
        log_cuts(&cut);
        let ids: Vec<&str> = pending.iter().map(|p| p.msg.id.as_str()).collect();
        tracing::info!(
            restored = pending.len(), windows = ?ids, path = %self.outbox_path.display(),
            "restored window closes made at the connector that the hub has not confirmed; \
             they stay closed and the hub is told when the tunnel is up"
        );
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        for p in pending {
            if !outbox.iter().any(|o| o.msg.id == p.msg.id) {
                outbox.push(p);
            }
        }
    }

    /// The outbox messages not yet in `sent` (which they are added to).
    pub fn unsent_closes(&self, sent: &mut HashSet<String>) -> Vec<WindowClosed> {
        let outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        outbox
            .iter()
            .filter(|p| sent.insert(p.msg.id.clone()))
            .map(|p| p.msg.clone())
            .collect()
    }

    /// Drops the outbox messages for windows the hub now shows closed (and saves the rest).
    fn confirm_closes(&self, hub_shows_closed: impl Fn(&str) -> bool) {
        let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        let before = outbox.len();
        outbox.retain(|p| !hub_shows_closed(&p.msg.id));
        let confirmed = before - outbox.len();
        if confirmed > 0 {
            tracing::info!(
                confirmed,
                pending = outbox.len(),
                "the hub confirmed window closes made at the connector"
            );
            self.save_outbox(&outbox);
        }
    }

    /// Saves the outbox (the caller holds its lock). A failure is logged, not returned: the
    /// close is in force either way, only a restart before the hub confirms would lose it.
    fn save_outbox(&self, outbox: &[PendingClose]) {
        if let Err(e) = outbox::save(&self.outbox_path, outbox) {
            tracing::error!(
                path = %self.outbox_path.display(), error = %e, pending = outbox.len(),
                "cannot save the window closes the hub has not confirmed; if the connector \
                 restarts before the hub confirms them, they are lost"
            );
        }
    }

    fn audit_close(&self, c: &ClosedWindow, cut: &[CutSession], caller: Option<&LocalCaller>) {
        let w = &c.info;
        let sessions_cut = cut
            .iter()
            .filter(|s| s.window.as_deref() == Some(w.id.as_str()))
            .count();
        let mut detail = json!({
            "window": w.id,
            "service": w.service,
            "start_ms": w.start_ms,
            "end_ms": w.end_ms,
            "closed_by": c.cause.side(),
            "sessions_cut": sessions_cut,
        });
        if let serde_json::Value::Object(m) = &mut detail {
            match &c.cause {
                CloseCause::Local { by, reason } => {
                    m.insert("by".into(), by.as_str().into());
                    m.insert("reason".into(), json!(reason));
                }
                CloseCause::Withdrawn => {
                    m.insert("reason".into(), "not in the hub's window set".into());
                }
                _ => {
                    m.insert("reason".into(), "closed by the hub".into());
                }
            }
            if let Some(caller) = caller {
                m.insert("via".into(), json!(caller.via));
                m.insert("peer_uid".into(), json!(caller.uid));
                m.insert("peer_pid".into(), json!(caller.pid));
            }
        }
        let mut ev = AuditEvent::new(AuditAction::WindowClosed, "closed", detail);
        ev.target = Some(crate::windows::show_target(&w.virtual_host, w.virtual_port));
        self.audit.record_or_log(ev);
    }
}

fn log_cuts(cut: &[CutSession]) {
    for c in cut {
        tracing::warn!(
            session = %c.session_id, target = %c.target, principal = %c.principal,
            window = c.window.as_deref(), cause = c.cause.code(), reason = %c.reason, "window closed: cutting the live session"
        );
    }
}

/// Aborts a task when dropped, so helper tasks die with their owner.
#[derive(Debug)]
pub(crate) struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
