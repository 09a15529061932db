//! What a resolution is ([`Resolved`], with the [`SessionPermit`] only the resolver makes)
//! and the cache of recent ones. No hub state here: the resolver ([`super`]) fills the cache,
//! the hub state holds it, and a committed change forgets it.

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::window::WindowState;
use portcullis_store::{Grant, Id, ServiceConnection, Window};
use time::OffsetDateTime;

use crate::auth::Principal;
use crate::target::Target;

/// What permits a stream.
#[derive(Debug, Clone)]
pub enum Permission {
    /// An open window.
    Window(Window),
    /// A technical user's standing grant.
    Grant(Grant),
}

/// What only [`resolve`] can hand out: the decision that this principal may open a session
/// to this service connection now, with the `OpenSession` permit `authorize` gave for it.
/// Its fields are private and it has no public constructor, so a session cannot be opened
/// on a resolution made anywhere else ([`crate::session`] takes it).
#[derive(Debug, Clone)]
pub struct SessionPermit {
    pub(super) permit: Permit,
    pub(super) service: Id,
}

impl SessionPermit {
    /// Whether this permit was made for `principal`'s user and `service`: a session checks
    /// it before it opens a stream.
    pub fn admits(&self, principal: &Principal, service: Id) -> bool {
        self.permit.op() == Op::OpenSession
            && self.permit.user_id() == principal.user_id
            && self.service == service
    }
}

/// A resolved, permitted target.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Company of the service connection.
    pub company_id: Id,
    /// Connector location, virtual host and port to open.
    pub target: Target,
    /// The service connection.
    pub service: ServiceConnection,
    /// `company/SID/type`, for audit records.
    pub label: String,
    /// The window or grant.
    pub permission: Permission,
    /// The permit the session opens with.
    pub permit: SessionPermit,
}

/// How long a resolution is reused. Every change made through this hub (any successful
/// write to the API, window closes and expiries, a close at a connector) forgets all of them
/// at once ([`ResolveCache::forget_all`]); the TTL bounds how long a change made behind the
/// hub's back can go unseen, as for [`crate::auth::TOKEN_CACHE_TTL`].
pub const RESOLVE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// Most resolutions kept; beyond it the cache is cleared.
const RESOLVE_CACHE_MAX: usize = 10_000;

/// User, location, lower-cased host, port.
pub(super) type CacheKey = (Id, String, String, u16);

/// Recent successful resolutions per (user, location, host, port): without it every
/// connection costs about seven store reads (company, system, type, service connection,
/// grant or windows, connector, names) before the stream opens. A hit is used only while its
/// window is still open by the clock.
#[derive(Debug, Default)]
pub struct ResolveCache {
    inner: std::sync::Mutex<ResolveInner>,
}

#[derive(Debug, Default)]
struct ResolveInner {
    entries: std::collections::HashMap<CacheKey, (Resolved, std::time::Instant)>,
    /// Bumped by every `forget_all`: a resolution computed before a change must not be
    /// cached after it.
    generation: u64,
}

impl ResolveCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, ResolveInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets every resolution (something they may depend on changed).
    pub fn forget_all(&self) {
        let mut g = self.lock();
        g.entries.clear();
        g.generation += 1;
    }

    /// A resolution of `key` still usable at `now`, and the generation it was read in.
    pub(super) fn get(&self, key: &CacheKey, now: OffsetDateTime) -> (Option<Resolved>, u64) {
        let g = self.lock();
        let hit = g
            .entries
            .get(key)
            .filter(|(r, at)| at.elapsed() < RESOLVE_CACHE_TTL && still_valid(r, now))
            .map(|(r, _)| r.clone());
        (hit, g.generation)
    }

    /// Keeps `r` for `key`, unless something was forgotten since `generation` was read.
    pub(super) fn put(&self, key: CacheKey, r: &Resolved, generation: u64) {
        let mut g = self.lock();
        if g.generation == generation {
            if g.entries.len() >= RESOLVE_CACHE_MAX {
                g.entries.clear();
            }
            g.entries
                .insert(key, (r.clone(), std::time::Instant::now()));
        }
    }
}

fn still_valid(r: &Resolved, now: OffsetDateTime) -> bool {
    match &r.permission {
        Permission::Window(w) => w.state(now) == WindowState::Open,
        Permission::Grant(g) => g.revoked_at.is_none(),
    }
}
