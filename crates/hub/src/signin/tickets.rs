//! What a browser holds a random ticket for between two steps of a sign-in (a password that
//! waits for its code, a flow that waits for the identity provider's answer).
//!
//! The browser gets 32 random bytes (hex) in a cookie; the hub keeps the value under the
//! ticket's SHA-256 only, for a fixed time, and at most a fixed number of tickets at once
//! (expired ones are dropped first; beyond, the oldest), so that anonymous starts cannot grow
//! memory without bound. A hub restart forgets every ticket.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use portcullis_domain::secret::Secret;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A value and its bookkeeping.
#[derive(Debug)]
pub struct Held<V> {
    /// What the ticket stands for.
    pub value: V,
    /// Issued at.
    at: Instant,
    /// How often it was used so far (what [`Tickets::use_live`] counts).
    pub uses: u32,
}

/// The tickets of one kind (see the module docs).
#[derive(Debug)]
pub struct Tickets<V> {
    inner: Mutex<HashMap<[u8; 32], Held<V>>>,
    ttl: Duration,
    max: usize,
}

fn key(ticket: &str) -> [u8; 32] {
    Sha256::digest(ticket.as_bytes()).into()
}

impl<V> Tickets<V> {
    /// Tickets that live `ttl`, at most `max` at once.
    pub fn new(ttl: Duration, max: usize) -> Self {
        Tickets {
            inner: Mutex::new(HashMap::new()),
            ttl,
            max,
        }
    }

    /// A new ticket for `value`.
    pub fn issue(&self, value: V, now: Instant) -> Secret<String> {
        let mut t = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut t);
        let ticket = hex::encode(t);
        let mut map = self.lock();
        if map.len() >= self.max {
            map.retain(|_, e| now.duration_since(e.at) < self.ttl);
            if map.len() >= self.max {
                if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
        }
        map.insert(
            key(&ticket),
            Held {
                value,
                at: now,
                uses: 0,
            },
        );
        Secret::new(ticket)
    }

    /// Takes the value of `ticket` out: `None` when it is unknown or expired. Either way the
    /// ticket is gone, so it is answered once.
    pub fn take(&self, ticket: &str, now: Instant) -> Option<V> {
        let held = self.lock().remove(&key(ticket))?;
        (now.duration_since(held.at) < self.ttl).then_some(held.value)
    }

    /// Uses the live ticket through `f`, which may count the use and say what it gives
    /// (`None`: no more). An unknown or expired ticket, or one `f` refuses, is forgotten.
    pub fn use_live<R>(
        &self,
        ticket: &str,
        now: Instant,
        f: impl FnOnce(&mut Held<V>) -> Option<R>,
    ) -> Option<R> {
        let mut map = self.lock();
        let k = key(ticket);
        let out = match map.get_mut(&k) {
            Some(held) if now.duration_since(held.at) < self.ttl => f(held),
            _ => None,
        };
        if out.is_none() {
            map.remove(&k);
        }
        out
    }

    /// The ticket was used up: forget it.
    pub fn forget(&self, ticket: &str) {
        self.lock().remove(&key(ticket));
    }

    /// How many tickets are held.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Held<V>>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn a_ticket_is_taken_once_within_its_time() {
        let t = Tickets::new(TTL, 10);
        let now = Instant::now();
        let a = t.issue(1, now);
        assert_eq!(
            t.take(a.expose(), now + TTL - Duration::from_millis(1)),
            Some(1)
        );
        assert_eq!(t.take(a.expose(), now), None, "taken already");
        let b = t.issue(2, now);
        assert_eq!(t.take(b.expose(), now + TTL), None, "expired");
        assert_eq!(t.take("made-up", now), None);
    }

    #[test]
    fn uses_are_counted_and_a_refused_use_forgets_the_ticket() {
        let t = Tickets::new(TTL, 10);
        let now = Instant::now();
        let a = t.issue("v", now);
        let twice = |h: &mut Held<&'static str>| {
            (h.uses < 2).then(|| {
                h.uses += 1;
                h.value
            })
        };
        assert_eq!(t.use_live(a.expose(), now, twice), Some("v"));
        assert_eq!(t.use_live(a.expose(), now, twice), Some("v"));
        assert_eq!(t.use_live(a.expose(), now, twice), None);
        assert_eq!(t.held(), 0, "forgotten once refused");
        let b = t.issue("w", now);
        assert_eq!(t.use_live(b.expose(), now + TTL, twice), None, "expired");
        let c = t.issue("x", now);
        t.forget(c.expose());
        assert_eq!(t.take(c.expose(), now), None);
    }

    #[test]
    fn the_store_is_bounded_dropping_the_expired_then_the_oldest() {
        let t = Tickets::new(TTL, 3);
        let now = Instant::now();
        let first = t.issue(0, now);
        let second = t.issue(1, now + Duration::from_millis(1));
        t.issue(2, now + Duration::from_millis(2));
        t.issue(3, now + Duration::from_millis(3));
        assert_eq!(t.held(), 3);
        assert_eq!(t.take(first.expose(), now), None, "the oldest made room");
        assert_eq!(t.take(second.expose(), now), Some(1));
        // Expired ones go first: after the TTL the full store takes a new one and keeps it.
        t.issue(4, now + Duration::from_millis(4));
        let late = now + TTL + Duration::from_secs(1);
        let fresh = t.issue(5, late);
        assert_eq!(t.held(), 1);
        assert_eq!(t.take(fresh.expose(), late), Some(5));
    }
}
