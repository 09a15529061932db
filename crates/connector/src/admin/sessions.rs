//! The admin UI's browser sessions, in this process's memory (a restart signs everybody
//! out): a random id per session, its user, when it began and was last used.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept; the oldest goes beyond it.
const MAX_SESSIONS: usize = 1024;

#[derive(Debug, Clone)]
struct Rec {
    user: String,
    created: Instant,
    last: Instant,
}

/// The live sessions, by id.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Rec>>,
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
    /// A new session of `user`; its id.
    pub fn start(&self, user: &str) -> String {
        let id = random_id();
        let now = Instant::now();
        let mut m = self.lock();
        m.retain(|_, r| alive(r, now));
        if m.len() >= MAX_SESSIONS {
            if let Some(oldest) = m.iter().min_by_key(|(_, r)| r.last).map(|(k, _)| k.clone()) {
                m.remove(&oldest);
            }
        }
        m.insert(
            id.clone(),
            Rec {
                user: user.into(),
                created: now,
                last: now,
            },
        );
        id
    }

    /// The user of session `id` if it is alive (and marks it used).
    pub fn touch(&self, id: &str) -> Option<String> {
        let now = Instant::now();
        let mut m = self.lock();
        let r = m.get_mut(id)?;
        if !alive(r, now) {
            m.remove(id);
            return None;
        }
        r.last = now;
        Some(r.user.clone())
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Rec>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn alive(r: &Rec, now: Instant) -> bool {
    now.duration_since(r.last) < IDLE && now.duration_since(r.created) < ABSOLUTE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_until_it_ends() {
        let s = Sessions::default();
        let id = s.start("anna");
        assert_eq!(s.touch(&id).as_deref(), Some("anna"));
        assert_eq!(s.touch("other"), None);
        s.end(&id);
        assert_eq!(s.touch(&id), None);
        assert_ne!(random_id(), random_id());
    }
}
