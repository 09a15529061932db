//! State shared by the agent's tasks: the current access control list, the audit log and the
//! status channel.
//!
//! The ACL lives in a `watch` channel of [`AclSnapshot`]s: session tasks take the current
//! snapshot when a stream opens (a reload never blocks them and never changes a decision
//! halfway), the control channel is woken by the change to send the new inventory. Sessions
//! already flowing are re-checked against every new list through [`LiveSessions`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use portcullis_domain::access::AccessControlList;
use portcullis_proto::{Inventory, InventoryTarget, TargetProtocol};
use tokio::sync::watch;

use crate::audit::AuditLog;
use crate::live::{CutSession, LiveSessions};
use crate::run::Status;

/// One version of the access control list.
#[derive(Debug, Clone)]
pub(crate) struct AclSnapshot {
    /// 0 for the list the connector started with, +1 per reload that changed it.
    pub generation: u64,
    /// The list.
    pub acl: Arc<AccessControlList>,
}

/// Everything the tasks of one `run` share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub audit: Arc<AuditLog>,
    pub status: watch::Sender<Status>,
    pub acl: watch::Sender<AclSnapshot>,
    /// The sessions admitted and not yet ended, for the re-check after a reload.
    pub live: Arc<LiveSessions>,
    /// True while a control channel is up and will announce ACL changes to the hub (and then
    /// publish their generation). When false, the reloader publishes the generation itself.
    pub control_live: AtomicBool,
}

impl Shared {
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

/// The inventory the hub is told: one target per entry.
pub(crate) fn inventory(acl: &AccessControlList) -> Inventory {
    Inventory {
        targets: acl
            .entries()
            .iter()
            .map(|e| InventoryTarget {
                name: e.name.clone(),
                virtual_host: e.virtual_target.host.clone(),
                port_start: e.virtual_target.first,
                port_end: e.virtual_target.last,
                protocol: match e.protocol {
                    portcullis_domain::access::Protocol::Tcp => TargetProtocol::Tcp,
                },
            })
            .collect(),
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
