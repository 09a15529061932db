//! The registry of live sessions, so that a policy change reaches streams already flowing.
//!
//! Checking a stream once, when it opens, is not enough: removing an `[[access]]` entry must
//! also end the sessions that entry allowed, or a long-lived session (an SSH shell, a database
//! connection) keeps a door open that the customer believes closed. Every session is admitted
//! through [`LiveSessions::admit`], which checks the current list and registers the session
//! under one lock; [`LiveSessions::recheck`] runs under the same lock after a new list is
//! installed. A session is therefore either checked against the new list when it is admitted,
//! or seen by the re-check: none slips between the two.
//!
//! Sessions are keyed by a local counter, not by the hub's session id: the hub chooses those,
//! and a reused id must not hide a session from the re-check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use portcullis_domain::access::{AccessControlList, AccessPermit, Denied};
use portcullis_proto::StreamOpen;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::shared::AclSnapshot;

/// The live sessions of one agent.
#[derive(Debug, Default)]
pub(crate) struct LiveSessions {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    next_key: u64,
    sessions: HashMap<u64, Live>,
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
    cut: CancellationToken,
    policy: Arc<PolicyCut>,
}

/// Set when the re-check cut a session, with the reason, so the session can audit it.
#[derive(Debug, Default)]
struct PolicyCut {
    cut: AtomicBool,
    reason: Mutex<Option<String>>,
}

/// A session's place in the registry; leaves it when dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    key: u64,
    registry: Arc<LiveSessions>,
    cut: CancellationToken,
    policy: Arc<PolicyCut>,
}

impl Admission {
    /// This session's own cut: a child of the tunnel's, also cancelled by a policy change
    /// that no longer allows the session.
    pub fn cut(&self) -> &CancellationToken {
        &self.cut
    }

    /// Why a policy change cut this session, if it did.
    pub fn cut_by_policy(&self) -> Option<String> {
        if !self.policy.cut.load(Ordering::SeqCst) {
            return None;
        }
        Some(
            lock(&self.policy.reason)
                .clone()
                .unwrap_or_else(|| "access removed".into()),
        )
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
    /// Why: no entry allows the target any more, or it maps to another internal address.
    pub reason: String,
}

impl LiveSessions {
    /// Checks `open` against the current list in `acl` and, when it is allowed, registers
    /// the session with a cut token derived from `parent`. Both happen under the registry
    /// lock, so a reload cannot install a new list unseen in between.
    pub fn admit(
        self: &Arc<Self>,
        acl: &watch::Receiver<AclSnapshot>,
        open: &StreamOpen,
        parent: &CancellationToken,
    ) -> Result<(AccessPermit, Admission), Denied> {
        let mut reg = lock(&self.inner);
        // One snapshot per decision: a reload racing with this stream cannot change it halfway.
        let current = acl.borrow().acl.clone();
        let permit = current.check(&open.host, open.port)?;
        let key = reg.next_key;
        reg.next_key += 1;
        let cut = parent.child_token();
        let policy = Arc::new(PolicyCut::default());
        reg.sessions.insert(
            key,
            Live {
                session_id: open.session_id.clone(),
                principal: open.principal.clone(),
                host: open.host.clone(),
                port: open.port,
                internal_host: permit.internal_host().to_owned(),
                internal_port: permit.internal_port(),
                cut: cut.clone(),
                policy: policy.clone(),
            },
        );
        let admission = Admission {
            key,
            registry: self.clone(),
            cut,
            policy,
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
            *lock(&live.policy.reason) = Some(reason.clone());
            live.policy.cut.store(true, Ordering::SeqCst);
            live.cut.cancel();
            cut.push(CutSession {
                session_id: live.session_id.clone(),
                principal: live.principal.clone(),
                target,
                reason,
            });
        }
        cut
    }

    /// How many sessions are registered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.inner).sessions.len()
    }
}

/// Locks a mutex, ignoring poisoning: the registry stays consistent across a panicking
/// holder (each operation is a single insert, remove or scan).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn show(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::test_acl as acl;

    fn snapshot(text: &str) -> (watch::Sender<AclSnapshot>, watch::Receiver<AclSnapshot>) {
        watch::channel(AclSnapshot {
            generation: 0,
            acl: Arc::new(acl(text)),
        })
    }

    fn open(host: &str, port: u16) -> StreamOpen {
        StreamOpen {
            session_id: format!("s-{host}-{port}"),
            host: host.into(),
            port,
            principal: "engineer@vendor".into(),
            entry: "test".into(),
            client_addr: None,
            window: None,
            grant: None,
        }
    }

    const A: &str = "[[access]]\nname = \"a\"\nvirtual = \"a:1-2\"\ninternal = \"10.0.0.1:1\"\n";
    const B: &str = "[[access]]\nname = \"b\"\nvirtual = \"b:1\"\ninternal = \"10.0.0.2:1\"\n";

    #[test]
    fn admission_checks_and_registers_until_dropped() {
        let live = Arc::new(LiveSessions::default());
        let (_tx, rx) = snapshot(A);
        let parent = CancellationToken::new();
        assert!(live.admit(&rx, &open("b", 1), &parent).is_err());
        assert_eq!(live.len(), 0, "a refused stream is not registered");
        let (permit, admission) = live.admit(&rx, &open("A", 2), &parent).expect("allowed");
        assert_eq!(
            (permit.internal_host(), permit.internal_port()),
            ("10.0.0.1", 2)
        );
        assert_eq!(live.len(), 1);
        parent.cancel();
        assert!(
            admission.cut().is_cancelled(),
            "the tunnel's cut reaches it"
        );
        assert_eq!(
            admission.cut_by_policy(),
            None,
            "but that is not a policy cut"
        );
        drop(admission);
        assert_eq!(live.len(), 0);
    }

    #[test]
    fn recheck_cuts_removed_and_remapped_sessions_and_keeps_the_rest() {
        let live = Arc::new(LiveSessions::default());
        let (_tx, rx) = snapshot(&format!("{A}{B}"));
        let parent = CancellationToken::new();
        let (_, a) = live.admit(&rx, &open("a", 1), &parent).expect("a");
        let (_, b) = live.admit(&rx, &open("b", 1), &parent).expect("b");

        // Same list with B remapped: B is cut, A keeps flowing.
        let remapped = B.replace("10.0.0.2:1", "10.0.0.9:1");
        let cut = live.recheck(&acl(&format!("{A}{remapped}")));
        assert_eq!(cut.len(), 1, "{cut:?}");
        assert_eq!(cut[0].session_id, "s-b-1");
        assert_eq!(cut[0].principal, "engineer@vendor");
        assert!(cut[0].reason.contains("10.0.0.9:1"), "{}", cut[0].reason);
        assert!(b.cut().is_cancelled());
        assert!(b.cut_by_policy().is_some());
        assert!(!a.cut().is_cancelled());
        assert!(!parent.is_cancelled(), "other sessions are untouched");

        // A removed: A is cut; B, cut already, is not reported twice.
        let cut = live.recheck(&acl(B));
        assert_eq!(cut.len(), 1, "{cut:?}");
        assert_eq!(cut[0].target, "a:1");
        assert!(a.cut().is_cancelled());
        assert!(a.cut_by_policy().expect("policy cut").contains("a:1"));
    }
}
