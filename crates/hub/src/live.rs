//! The sessions relaying now, for the portal's live-sessions page and the API: who, from
//! where, to what, since when, bytes so far, and a way to cut one.
//!
//! A session registers itself when its relay starts and is gone when the relay ends (a guard
//! removes it, whatever the end). Cutting cancels the session's own token, which the relay
//! awaits beside its other reasons to stop; the session then ends as `cut_by_admin`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use portcullis_store::Id;
use portcullis_transport::relay::LiveBytes;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// One live session.
#[derive(Debug)]
pub struct LiveSession {
    /// The session id (as in its audit events).
    pub id: String,
    /// The company of the system it reaches.
    pub company_id: Id,
    /// The user it runs as.
    pub user_name: String,
    /// The credential, as audit records name it.
    pub actor: String,
    /// The entry point (`socks5`, `http_proxy`, `ni`, `connect`, `web`).
    pub entry: &'static str,
    /// The client's address.
    pub client: SocketAddr,
    /// What it reaches (the target as the client named it).
    pub target: String,
    /// The service connection.
    pub service_connection_id: Id,
    /// When its relay started.
    pub since: OffsetDateTime,
    /// Bytes so far.
    pub bytes: Arc<LiveBytes>,
    /// Cancelled to cut it.
    pub cut: CancellationToken,
}

impl LiveSession {
    /// Bytes client → target so far.
    pub fn bytes_up(&self) -> u64 {
        self.bytes.to_tunnel.load(Ordering::Relaxed)
    }

    /// Bytes target → client so far.
    pub fn bytes_down(&self) -> u64 {
        self.bytes.from_tunnel.load(Ordering::Relaxed)
    }
}

/// The live sessions of this hub.
#[derive(Debug, Default)]
pub struct LiveSessions {
    map: Mutex<HashMap<String, Arc<LiveSession>>>,
}

impl LiveSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<LiveSession>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers `s`; it stays until [`LiveSessions::remove`].
    pub fn insert(&self, s: Arc<LiveSession>) {
        self.lock().insert(s.id.clone(), s);
    }

    /// Removes session `id`.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The live sessions of `company`, oldest first.
    pub fn of_company(&self, company: Id) -> Vec<Arc<LiveSession>> {
        let mut v: Vec<_> = self
            .lock()
            .values()
            .filter(|s| s.company_id == company)
            .cloned()
            .collect();
        v.sort_by_key(|s| s.since);
        v
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Session `id`, if live.
    pub fn get(&self, id: &str) -> Option<Arc<LiveSession>> {
        self.lock().get(id).cloned()
    }
}
