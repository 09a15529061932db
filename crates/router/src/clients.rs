//! The client table: every connection the router holds, with the id `-c` cancels by and the
//! facts `-l` lists.
//!
//! Like SAProuter, the router counts *clients*, not routes: the connection a client opened is
//! one, the connection the router opened to the next hop another, so a routed connection takes
//! two. Ids increase from 1 and are not reused while the router runs (SAProuter reuses table
//! slots; an id that could name a later connection would let a delayed `-c` cancel the wrong
//! one).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_ni::ClientRecord;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Why a connection ended by the administrator's or the router's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `saprouter -c id`.
    Canceled,
    /// `saprouter -s`.
    Shutdown,
}

/// Stops a connection pair: shared by a client and its partner.
#[derive(Debug, Clone, Default)]
pub struct Stopper {
    token: CancellationToken,
    reason: Arc<Mutex<Option<EndReason>>>,
}

impl Stopper {
    /// Stops the pair for `reason` (the first reason given wins).
    pub fn stop(&self, reason: EndReason) {
        let mut r = lock(&self.reason);
        r.get_or_insert(reason);
        drop(r);
        self.token.cancel();
    }

    /// Resolves once stopped.
    pub async fn stopped(&self) -> EndReason {
        self.token.cancelled().await;
        lock(&self.reason).unwrap_or(EndReason::Shutdown)
    }
}

#[derive(Debug, Clone)]
struct Client {
    partner_id: Option<u32>,
    connected_on: u64,
    address: String,
    partner: String,
    service: String,
    routed: bool,
    traced: bool,
    stopper: Stopper,
}

/// The table. Cheap to clone; all clones share it.
#[derive(Debug, Clone)]
pub struct ClientTable {
    inner: Arc<Mutex<Inner>>,
    max: usize,
    /// The number of clients, for whoever waits for the table to empty.
    count: Arc<watch::Sender<usize>>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u32,
    clients: BTreeMap<u32, Client>,
}

/// A client's place in the table; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    id: u32,
    table: ClientTable,
    stopper: Stopper,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock must not take the router down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl ClientTable {
    /// A table of at most `max` clients.
    pub fn new(max: usize) -> ClientTable {
        ClientTable {
            inner: Arc::new(Mutex::new(Inner::default())),
            max,
            count: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Takes a place for a connection from `address`, or `None` when the table is full.
    /// `stopper` is shared with the partner, if any.
    pub fn admit(&self, address: &str, stopper: Stopper) -> Option<Slot> {
        let mut inner = lock(&self.inner);
        if inner.clients.len() >= self.max {
            return None;
        }
        let mut id = inner.next_id.wrapping_add(1).max(1);
        while inner.clients.contains_key(&id) {
            id = id.wrapping_add(1).max(1);
        }
        inner.next_id = id;
        inner.clients.insert(
            id,
            Client {
                partner_id: None,
                connected_on: now_secs(),
                address: address.to_owned(),
                partner: String::new(),
                service: String::new(),
                routed: false,
                traced: false,
                stopper: stopper.clone(),
            },
        );
        self.count.send_replace(inner.clients.len());
        Some(Slot {
            id,
            table: self.clone(),
            stopper,
        })
    }

    /// Records that `client` is routed to `partner` (the router's own connection to
    /// `host`, `service`).
    pub fn set_routed(&self, client: &Slot, partner: &Slot, host: &str, service: &str) {
        let mut inner = lock(&self.inner);
        let client_address = inner
            .clients
            .get(&client.id)
            .map(|c| c.address.clone())
            .unwrap_or_default();
        if let Some(c) = inner.clients.get_mut(&client.id) {
            c.partner_id = Some(partner.id);
            c.partner = host.to_owned();
            c.service = service.to_owned();
            c.routed = true;
        }
        if let Some(p) = inner.clients.get_mut(&partner.id) {
            p.partner_id = Some(client.id);
            p.partner = client_address;
            p.routed = true;
            p.service = service.to_owned();
        }
    }

    /// Stops the connections with these ids (and their partners). Returns the ids not found.
    pub fn cancel(&self, ids: &[u32]) -> Vec<u32> {
        let inner = lock(&self.inner);
        let mut missing = Vec::new();
        for id in ids {
            match inner.clients.get(id) {
                Some(c) => c.stopper.stop(EndReason::Canceled),
                None => missing.push(*id),
            }
        }
        missing
    }

    /// Marks clients as traced; returns the ids not found.
    pub fn trace(&self, ids: &[u32]) -> Vec<u32> {
        let mut inner = lock(&self.inner);
        let mut missing = Vec::new();
        for id in ids {
            match inner.clients.get_mut(id) {
                Some(c) => c.traced = true,
                None => missing.push(*id),
            }
        }
        missing
    }

    /// Stops every connection.
    pub fn stop_all(&self, reason: EndReason) {
        for c in lock(&self.inner).clients.values() {
            c.stopper.stop(reason);
        }
    }

    /// Clients in the table now.
    pub fn len(&self) -> usize {
        lock(&self.inner).clients.len()
    }

    /// Watches the number of clients.
    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records an information request lists, by id.
    pub fn records(&self) -> Vec<ClientRecord> {
        lock(&self.inner)
            .clients
            .iter()
            .map(|(id, c)| {
                let mut flags = ClientRecord::CONNECTED;
                if c.routed {
                    flags |= ClientRecord::ROUTED;
                }
                if c.traced {
                    flags |= ClientRecord::TRACED;
                }
                ClientRecord {
                    id: *id,
                    flags,
                    connected_on: c.connected_on,
                    address: c.address.clone(),
                    partner: c.partner.clone(),
                    service: c.service.clone(),
                    unknown: [0; 7],
                }
            })
            .collect()
    }
}

impl Slot {
    /// The client id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The pair's stopper.
    pub fn stopper(&self) -> &Stopper {
        &self.stopper
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = lock(&self.table.inner);
        inner.clients.remove(&self.id);
        self.table.count.send_replace(inner.clients.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_and_frees_on_drop() {
        let table = ClientTable::new(2);
        let a = table.admit("10.0.0.1", Stopper::default()).unwrap();
        let b = table.admit("10.0.0.2", Stopper::default()).unwrap();
        assert!(table.admit("10.0.0.3", Stopper::default()).is_none());
        assert_ne!(a.id(), b.id());
        drop(a);
        let c = table.admit("10.0.0.3", Stopper::default()).unwrap();
        assert!(c.id() > b.id(), "ids are not reused");
        assert_eq!(table.len(), 2);
    }

    #[tokio::test]
    async fn cancel_stops_both_sides_of_a_route() {
        let table = ClientTable::new(10);
        let stopper = Stopper::default();
        let client = table.admit("10.0.0.1", stopper.clone()).unwrap();
        let server = table.admit("10.0.0.2", stopper.clone()).unwrap();
        table.set_routed(&client, &server, "target", "3200");
        let records = table.records();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.is_routed() && r.is_connected()));
        assert_eq!(records[0].partner, "target");
        assert_eq!(records[1].partner, "10.0.0.1");

        assert_eq!(table.cancel(&[server.id(), 999]), vec![999]);
        assert_eq!(client.stopper().stopped().await, EndReason::Canceled);
        table.stop_all(EndReason::Shutdown);
        assert_eq!(
            server.stopper().stopped().await,
            EndReason::Canceled,
            "the first reason wins"
        );
    }
}
