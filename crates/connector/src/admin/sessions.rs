//! The admin UI's browser sessions, in this process's memory (a restart signs everybody
//! out): a random id per session, its user, when it began and was last used. A session ends
//! when unused for the idle timeout or at the absolute timeout after logon (`[admin]
//! idle_timeout_minutes`, `absolute_timeout_hours`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::roles::Role;

/// Most sessions kept; the oldest goes beyond it.
const MAX_SESSIONS: usize = 1024;

#[derive(Debug, Clone)]
struct Rec {
    user: String,
    source: Source,
    created: Instant,
    last: Instant,
}

/// Where a logged-on user comes from. A directory user's role is fixed at logon (his groups
/// then); a file user's is read again at every request, so a disable or a role change acts
/// at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `data_dir/admin/users.json`.
    File,
    /// The LDAP directory, with the role his groups gave.
    Directory(Role),
}

/// The live sessions, by id.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Rec>>,
    idle: Duration,
    absolute: Duration,
}

/// A fresh random value for a cookie (244 bits).
pub fn random_id() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    /// No sessions yet; each ends after `idle` unused or `absolute` after it began.
    pub fn new(idle: Duration, absolute: Duration) -> Sessions {
        Sessions {
            map: Mutex::default(),
            idle,
            absolute,
        }
    }

    /// A new session of `user` from `source`; its id.
    pub fn start(&self, user: &str, source: Source) -> String {
        self.start_at(user, source, Instant::now())
    }

    fn start_at(&self, user: &str, source: Source, now: Instant) -> String {
        let id = random_id();
        let mut m = self.lock();
        m.retain(|_, r| self.alive(r, now));
        if m.len() >= MAX_SESSIONS {
            if let Some(oldest) = m.iter().min_by_key(|(_, r)| r.last).map(|(k, _)| k.clone()) {
                m.remove(&oldest);
            }
        }
        m.insert(
            id.clone(),
            Rec {
                user: user.into(),
                source,
                created: now,
                last: now,
            },
        );
        id
    }

    /// The user of session `id` and where he logged on, if it is alive (and marks it used).
    pub fn touch(&self, id: &str) -> Option<(String, Source)> {
        self.touch_at(id, Instant::now())
    }

    fn touch_at(&self, id: &str, now: Instant) -> Option<(String, Source)> {
        let mut m = self.lock();
        let r = m.get_mut(id)?;
        if !self.alive(r, now) {
            m.remove(id);
            return None;
        }
        r.last = now;
        Some((r.user.clone(), r.source))
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Rec>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn alive(&self, r: &Rec, now: Instant) -> bool {
        now.saturating_duration_since(r.last) < self.idle
            && now.saturating_duration_since(r.created) < self.absolute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn anna() -> (String, Source) {
        ("anna".into(), Source::File)
    }

    #[test]
    fn a_session_ends_when_idle_for_the_idle_timeout() {
        let s = Sessions::new(5 * MIN, 60 * MIN);
        let t0 = Instant::now();
        let id = s.start_at("anna", Source::File, t0);
        // Used every four minutes, it lives on past five.
        assert_eq!(s.touch_at(&id, t0 + 4 * MIN), Some(anna()));
        assert_eq!(s.touch_at(&id, t0 + 8 * MIN), Some(anna()));
        // Five minutes without a request: over, and it stays over.
        assert_eq!(s.touch_at(&id, t0 + 13 * MIN), None);
        assert_eq!(
            s.touch_at(&id, t0 + 13 * MIN + Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn a_session_ends_at_the_absolute_timeout_however_busy() {
        let s = Sessions::new(5 * MIN, 10 * MIN);
        let t0 = Instant::now();
        let id = s.start_at("anna", Source::File, t0);
        for m in 1..10 {
            assert_eq!(s.touch_at(&id, t0 + m * MIN), Some(anna()), "{m}");
        }
        assert_eq!(s.touch_at(&id, t0 + 10 * MIN), None);
    }

    #[test]
    fn a_session_lives_until_it_ends() {
        let s = Sessions::new(30 * MIN, 600 * MIN);
        let id = s.start("anna", Source::File);
        assert_eq!(s.touch(&id), Some(anna()));
        assert_eq!(s.touch("other"), None);
        s.end(&id);
        assert_eq!(s.touch(&id), None);
        assert_ne!(random_id(), random_id());
    }
}
