//! Browser sessions of the web entry: a support engineer opens an HTTP service connection in
//! a browser through the hub (PE-01, "HTTP Connect – URLAccess").
//!
//! A browser carries no API token, so the engineer's client asks the API for a **link**
//! (`POST /api/v1/service-connections/{id}/web-link`): a one-time ticket, valid for
//! [`TICKET_TTL`], bound to his token and the service connection. Opening the link redeems
//! the ticket for a **web session**: a random secret in an `HttpOnly; Secure; SameSite=Lax`
//! cookie, bound to the same token and service connection. Every connection the browser opens
//! is a session through `session::open`, so the window, the two keys and the audit apply to
//! each one exactly as to SOCKS5 or the HTTP proxy; the token is re-read from the store each
//! time, so revoking it (or disabling the user) ends the web session too.
//!
//! Tickets and web sessions live in memory only: a hub restart ends them (the engineer asks
//! for a new link). Only SHA-256 hashes of their secrets are kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::session::Target;

/// How long a link can be opened.
pub const TICKET_TTL: Duration = Duration::from_secs(120);
/// How long a web session lasts at most (the window and the token may end it sooner).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The cookie that carries a web session.
pub const COOKIE: &str = "portcullis_web";
/// Most tickets plus sessions kept; beyond it the expired ones are dropped, then new ones
/// refused (bounded memory whatever clients do).
const MAX_ENTRIES: usize = 10_000;

/// What a ticket or a web session is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The API token's public id: the credential re-read on every connection.
    pub token_public_id: String,
    /// The service connection, as entry points name it.
    pub target: Target,
    /// The service connection's id (for the audit and the page titles).
    pub service_connection_id: i64,
    /// The customer's company (whose audit the web events go to).
    pub company_id: i64,
    /// The virtual `host:port` the connector exposes: the `Host` sent, and the authority of
    /// redirects that are mapped back to the web entry.
    pub authority: String,
    /// Its label, e.g. `acme/PRD/http_connect`.
    pub label: String,
    /// Where the browser lands first: the path of the service connection's URL, or `/`.
    pub landing: String,
}

#[derive(Debug)]
struct Entry {
    binding: Binding,
    expires: Instant,
}

/// Tickets and web sessions, by the hash of their secret.
#[derive(Debug, Default)]
pub struct WebSessions {
    tickets: Mutex<HashMap<[u8; 32], Entry>>,
    sessions: Mutex<HashMap<[u8; 32], Entry>>,
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn secret() -> String {
    crate::auth::new_secret_sized(0, 32).secret
}

fn insert(
    map: &Mutex<HashMap<[u8; 32], Entry>>,
    binding: Binding,
    ttl: Duration,
) -> Option<String> {
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    if m.len() >= MAX_ENTRIES {
        let now = Instant::now();
        m.retain(|_, e| e.expires > now);
        if m.len() >= MAX_ENTRIES {
            return None;
        }
    }
    let s = secret();
    m.insert(
        hash(&s),
        Entry {
            binding,
            expires: Instant::now() + ttl,
        },
    );
    Some(s)
}

impl WebSessions {
    /// A new one-time ticket for `binding`; `None` when too many are outstanding.
    pub fn ticket(&self, binding: Binding) -> Option<String> {
        insert(&self.tickets, binding, TICKET_TTL)
    }

    /// Redeems a ticket (once) for a web session: its cookie secret and binding.
    pub fn redeem(&self, ticket: &str) -> Option<(String, Binding)> {
        let entry = self
            .tickets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&hash(ticket))?;
        if entry.expires <= Instant::now() {
            return None;
        }
        let s = insert(&self.sessions, entry.binding.clone(), SESSION_TTL)?;
        Some((s, entry.binding))
    }

    /// The binding of a live web session.
    pub fn session(&self, secret: &str) -> Option<Binding> {
        let mut m = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let key = hash(secret);
        match m.get(&key) {
            Some(e) if e.expires > Instant::now() => Some(e.binding.clone()),
            Some(_) => {
                m.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a web session (logout).
    pub fn end(&self, secret: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&hash(secret));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding() -> Binding {
        Binding {
            token_public_id: "abc".into(),
            target: Target {
                location: "-".into(),
                host: "http_connect.prd.acme.portcullis".into(),
                port: 80,
            },
            service_connection_id: 7,
            company_id: 1,
            authority: "erp.internal:80".into(),
            label: "acme/PRD/http_connect".into(),
            landing: "/".into(),
        }
    }

    #[test]
    fn a_ticket_is_redeemed_once_for_a_session() {
        let w = WebSessions::default();
        let t = w.ticket(binding()).unwrap();
        assert_eq!(t.len(), 64);
        let (cookie, b) = w.redeem(&t).unwrap();
        assert_eq!(b, binding());
        assert!(w.redeem(&t).is_none(), "once only");
        assert_eq!(w.session(&cookie), Some(binding()));
        assert!(w.session(&t).is_none(), "a ticket is no cookie");
        w.end(&cookie);
        assert!(w.session(&cookie).is_none());
        assert!(w.redeem("nonsense").is_none());
    }
}
