//! Live tunnels, keyed by company and location.
//!
//! A connector has at most one tunnel on this hub: a new tunnel of the same connector replaces
//! the old one (its streams are cut). Each tunnel carries a cancellation token; cutting it
//! ends the tunnel and, through child tokens, every session running over it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use portcullis_proto::{InventoryTarget, VersionWarning};
use portcullis_store::Id;
use portcullis_transport::tunnel::HubMux;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One live tunnel.
#[derive(Debug)]
pub struct Tunnel {
    /// Hub id of the connector.
    pub connector_id: Id,
    /// Its company.
    pub company_id: Id,
    /// Its location ID.
    pub location: String,
    /// Stream opener.
    pub mux: HubMux,
    /// Connector software version.
    pub version: String,
    /// Warning sent at handshake, if any.
    pub warning: Option<VersionWarning>,
    /// When the tunnel came up.
    pub connected_at: OffsetDateTime,
    /// The connector's address as seen by the hub.
    pub peer: String,
    /// SHA-256 of the client certificate the tunnel was opened with (lower-case hex).
    pub fingerprint: String,
    /// Latest inventory reported.
    pub inventory: RwLock<Vec<InventoryTarget>>,
    /// Cancelled to cut the tunnel and all its sessions.
    pub cut: CancellationToken,
    /// Why it was cut, when it was cut on purpose.
    pub cut_reason: RwLock<Option<portcullis_proto::GoodbyeReason>>,
    /// Control messages to send to the connector (window state); the tunnel's control loop
    /// writes them in order.
    pub push: tokio::sync::mpsc::UnboundedSender<portcullis_proto::Message>,
}

impl Tunnel {
    /// Cuts the tunnel for `reason`.
    pub fn cut(&self, reason: portcullis_proto::GoodbyeReason) {
        if let Ok(mut r) = self.cut_reason.write() {
            r.get_or_insert(reason);
        }
        self.cut.cancel();
    }
}

/// Something whose end cuts the live sessions that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CutKey {
    /// An API token (revoked).
    Token(Id),
    /// A user (disabled).
    User(Id),
    /// A window (closed or expired).
    Window(Id),
    /// A standing grant (revoked).
    Grant(Id),
}

/// All live tunnels of this hub.
#[derive(Debug)]
pub struct Registry {
    tunnels: RwLock<HashMap<(Id, String), Arc<Tunnel>>>,
    /// One cancellation token per token, user, window or grant with live sessions; cancelled
    /// when that thing ends, which cuts those sessions.
    cuts: std::sync::Mutex<HashMap<CutKey, CancellationToken>>,
    /// Session slots per API token (the per-token concurrency cap).
    token_slots: std::sync::Mutex<HashMap<Id, Arc<tokio::sync::Semaphore>>>,
    /// Bumped on every change (connect, disconnect, inventory), for waiters such as tests and
    /// the portal.
    changes: watch::Sender<u64>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            tunnels: RwLock::new(HashMap::new()),
            cuts: std::sync::Mutex::new(HashMap::new()),
            token_slots: std::sync::Mutex::new(HashMap::new()),
            changes: watch::channel(0).0,
        }
    }
}

impl Registry {
    fn bump(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Subscribes to changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Adds a tunnel, replacing (and cutting) an older one of the same connector.
    pub fn insert(&self, t: Arc<Tunnel>) {
        let old = self
            .tunnels
            .write()
            .map(|mut m| m.insert((t.company_id, t.location.clone()), t))
            .ok()
            .flatten();
        if let Some(old) = old {
            old.cut(portcullis_proto::GoodbyeReason::Replaced);
        }
        self.bump();
    }

    /// Removes `t` if it is still the registered tunnel of its connector.
    pub fn remove(&self, t: &Arc<Tunnel>) {
        if let Ok(mut m) = self.tunnels.write() {
            let key = (t.company_id, t.location.clone());
            if m.get(&key).is_some_and(|cur| Arc::ptr_eq(cur, t)) {
                m.remove(&key);
            }
        }
        self.bump();
    }

    /// Notes an inventory change.
    pub fn inventory_changed(&self) {
        self.bump();
    }

    /// The tunnel of a company's location.
    pub fn get(&self, company_id: Id, location: &str) -> Option<Arc<Tunnel>> {
        self.tunnels
            .read()
            .ok()?
            .get(&(company_id, location.to_string()))
            .cloned()
    }

    /// The tunnel of a connector, by id.
    pub fn by_connector(&self, connector_id: Id) -> Option<Arc<Tunnel>> {
        self.tunnels
            .read()
            .ok()?
            .values()
            .find(|t| t.connector_id == connector_id)
            .cloned()
    }

    /// All tunnels.
    pub fn all(&self) -> Vec<Arc<Tunnel>> {
        self.tunnels
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The cut token of an API token's sessions (created on first use).
    pub fn token_cut(&self, token_id: Id) -> CancellationToken {
        self.cut_token(CutKey::Token(token_id))
    }

    /// The cancellation token that [`Registry::cut`] cancels for `key` (created on first use).
    pub fn cut_token(&self, key: CutKey) -> CancellationToken {
        match self.cuts.lock() {
            Ok(mut m) => m.entry(key).or_default().clone(),
            // A poisoned map still must not let a session run uncut: give it a token that is
            // cut only by its tunnel.
            Err(_) => CancellationToken::new(),
        }
    }

    /// Cuts every live session that depends on `key`. Later sessions get a fresh token, so a
    /// reopened window or a new grant with a reused id is not born cut.
    pub fn cut(&self, key: CutKey) {
        if let Ok(mut m) = self.cuts.lock() {
            if let Some(t) = m.remove(&key) {
                t.cancel();
            }
        }
    }

    /// Sends a control message to a connector's tunnel, if it is connected. `false` if not.
    pub fn push(&self, connector_id: Id, m: portcullis_proto::Message) -> bool {
        self.by_connector(connector_id)
            .is_some_and(|t| t.push.send(m).is_ok())
    }

    /// The semaphore bounding an API token's concurrent sessions at `max`.
    pub fn token_slots(&self, token_id: Id, max: usize) -> Arc<tokio::sync::Semaphore> {
        match self.token_slots.lock() {
            Ok(mut m) => m
                .entry(token_id)
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(max)))
                .clone(),
            Err(_) => Arc::new(tokio::sync::Semaphore::new(max)),
        }
    }

    /// Cuts every live session of an API token (it was revoked).
    pub fn revoke_token(&self, token_id: Id) {
        self.cut(CutKey::Token(token_id));
    }

    /// Cuts every tunnel (hub shutdown).
    pub fn cut_all(&self, reason: portcullis_proto::GoodbyeReason) {
        for t in self.all() {
            t.cut(reason);
        }
    }
}
