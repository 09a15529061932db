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
//! **Every service connection has its own origin**, `https://sc<id>.<web domain>:<port>/`
//! ([`WebOrigins`]): the browser keeps cookies, storage and scripts of two services apart as
//! it keeps two sites apart, so one company's application never sees another's cookies. The
//! web-session cookie is `__Host-` prefixed (`Secure`, `Path=/`, no `Domain`): it belongs to
//! that one origin, and a session opens only the service of the origin it was made on.
//!
//! Tickets and web sessions live in memory only: a hub restart ends them (the engineer asks
//! for a new link). Only SHA-256 hashes of their secrets are kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::target::Target;

/// How long a link can be opened.
pub const TICKET_TTL: Duration = Duration::from_secs(120);
/// How long a web session lasts at most (the window and the token may end it sooner).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The cookie that carries a web session: host-only, `Secure`, `Path=/` (the `__Host-`
/// prefix makes the browser insist on all three).
pub const COOKIE: &str = "__Host-portcullis_web";
/// Most tickets plus sessions kept; beyond it the expired ones are dropped, then new ones
/// refused (bounded memory whatever clients do).
const MAX_ENTRIES: usize = 10_000;

/// The web entry's origins: service connection `id` is `https://sc<id>.<domain>:<port>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOrigins {
    /// The domain under which the origins live (`web.localhost`, `web.hub.example.com`).
    pub domain: String,
    /// The port in links (the bound one, or the advertised one behind a proxy).
    pub port: u16,
}

impl WebOrigins {
    /// The host name of service connection `id`'s origin.
    pub fn host(&self, id: i64) -> String {
        format!("sc{id}.{}", self.domain)
    }

    /// The origin of service connection `id`, as browsers send it in `Origin`.
    pub fn origin(&self, id: i64) -> String {
        if self.port == 443 {
            format!("https://{}", self.host(id))
        } else {
            format!("https://{}:{}", self.host(id), self.port)
        }
    }

    /// The service connection whose origin `host` (a `Host` header: name, optional port)
    /// names; `None` for any other name.
    pub fn service_of(&self, host: &str) -> Option<i64> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let label = name.strip_suffix(&self.domain)?.strip_suffix('.')?;
        let digits = label.strip_prefix("sc")?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits.parse().ok()
    }
}

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
    /// The customer company's name, the system's SID and the connection type's name, for
    /// the banner on the service's pages.
    pub company: String,
    /// The system's SID.
    pub sid: String,
    /// The connection type's display name (`HTTP Connect`, or a company's own).
    pub connection_type: String,
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
    crate::auth::new_secret_sized(0, 32).secret.into_inner()
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
            company: "acme".into(),
            sid: "PRD".into(),
            connection_type: "HTTP Connect".into(),
            landing: "/".into(),
        }
    }

    #[test]
    fn every_service_connection_has_its_own_origin() {
        let o = WebOrigins {
            domain: "web.localhost".into(),
            port: 8445,
        };
        assert_eq!(o.origin(42), "https://sc42.web.localhost:8445");
        assert_eq!(o.service_of("sc42.web.localhost:8445"), Some(42));
        assert_eq!(o.service_of("SC42.Web.Localhost"), Some(42));
        for other in [
            "web.localhost",
            "localhost:8445",
            "sc.web.localhost",
            "sc042.web.localhost",
            "scx.web.localhost",
            "a.sc42.web.localhost",
            "sc42.web.localhost.evil",
            "sc42xweb.localhost",
            "sc99999999999999999999.web.localhost",
        ] {
            assert_eq!(o.service_of(other), None, "{other}");
        }
        let standard = WebOrigins { port: 443, ..o };
        assert_eq!(standard.origin(1), "https://sc1.web.localhost");
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
