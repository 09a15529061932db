//! Failed sign-ins slow down: per user name and per source address.
//!
//! Why both: per user stops a guesser working through one account from many addresses; per
//! address stops one source trying one password on many accounts. The first
//! [`FREE_FAILURES`] failures cost nothing (people mistype); after that each further attempt
//! must wait twice as long as the one before, from 1 s up to [`MAX_DELAY`], and is refused
//! unchecked until then, so a guesser gains nothing by hammering. A success clears the user's
//! count (not the address's: one valid account must not reset a guesser's address), and
//! counts are forgotten [`FORGET_AFTER`] after the last failure.
//!
//! The counts live in this process's memory: a restart forgets them, which a guesser cannot
//! cause, and they are bounded ([`MAX_KEYS`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures before the slowing starts.
pub const FREE_FAILURES: u32 = 3;
/// Longest wait between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// Counts are forgotten this long after their last failure.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Most keys kept; beyond it stale keys are pruned, then the address keys dropped.
pub const MAX_KEYS: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Source(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: Instant,
}

impl Count {
    /// When the next attempt may be checked.
    fn next_allowed(&self) -> Instant {
        if self.failures < FREE_FAILURES {
            return self.last;
        }
        let doublings = (self.failures - FREE_FAILURES).min(16);
        let delay = Duration::from_secs(1u64 << doublings).min(MAX_DELAY);
        self.last + delay
    }
}

/// The failure counts (see the module docs).
#[derive(Debug, Default)]
pub struct SignInThrottle {
    counts: Mutex<HashMap<Key, Count>>,
}

/// The source key of an address: IPv4 as is, IPv6 by its /64 (one host holds a whole /64).
fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl SignInThrottle {
    /// How long `user` from `ip` must still wait before an attempt is checked; `None` when it
    /// may be checked now.
    pub fn wait(&self, user: &str, ip: IpAddr, now: Instant) -> Option<Duration> {
        let counts = self.lock();
        [Key::User(user.to_lowercase()), Key::Source(source(ip))]
            .iter()
            .filter_map(|k| counts.get(k))
            .map(|c| c.next_allowed())
            .max()
            .filter(|at| *at > now)
            .map(|at| at - now)
    }

    /// How long an attempt from `ip` must still wait, whatever the user: a sign-in through an
    /// identity provider, which names no user before it succeeds.
    pub fn wait_from(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        self.lock()
            .get(&Key::Source(source(ip)))
            .map(|c| c.next_allowed())
            .filter(|at| *at > now)
            .map(|at| at - now)
    }

    /// Counts a failed attempt from `ip` that names no user (see [`Self::wait_from`]): only
    /// the address slows down, so nobody can slow a user down by failing in his name.
    pub fn failed_from(&self, ip: IpAddr, now: Instant) {
        self.count(&[Key::Source(source(ip))], now);
    }

    /// Counts a failed attempt of `user` from `ip`.
    pub fn failed(&self, user: &str, ip: IpAddr, now: Instant) {
        self.count(
            &[Key::User(user.to_lowercase()), Key::Source(source(ip))],
            now,
        );
    }

    fn count(&self, keys: &[Key], now: Instant) {
        let mut counts = self.lock();
        if counts.len() >= MAX_KEYS {
            counts.retain(|_, c| now.duration_since(c.last) < FORGET_AFTER);
            if counts.len() >= MAX_KEYS {
                counts.retain(|k, _| matches!(k, Key::User(_)));
            }
        }
        for k in keys {
            let c = counts.entry(k.clone()).or_insert(Count {
                failures: 0,
                last: now,
            });
            if now.duration_since(c.last) >= FORGET_AFTER {
                c.failures = 0;
            }
            c.failures = c.failures.saturating_add(1);
            c.last = now;
        }
    }

    /// A successful sign-in of `user`: his count starts again.
    pub fn succeeded(&self, user: &str) {
        self.lock().remove(&Key::User(user.to_lowercase()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Count>> {
        // The map holds counts only; a panicking holder leaves nothing inconsistent.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_beyond_the_free_ones_wait_longer_each_time() {
        let t = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.wait("anna", ip("10.0.0.1"), now), None);
            t.failed("anna", ip("10.0.0.1"), now);
        }
        assert_eq!(
            t.wait("anna", ip("10.0.0.1"), now),
            Some(Duration::from_secs(1))
        );
        // Per user: another address waits for Anna too; per address: another user too.
        assert!(t.wait("ANNA", ip("10.9.9.9"), now).is_some());
        assert!(t.wait("bert", ip("10.0.0.1"), now).is_some());
        assert_eq!(t.wait("bert", ip("10.9.9.9"), now), None);
        let later = now + Duration::from_secs(1);
        assert_eq!(t.wait("anna", ip("10.0.0.1"), later), None);
        t.failed("anna", ip("10.0.0.1"), later);
        assert_eq!(
            t.wait("anna", ip("10.0.0.1"), later),
            Some(Duration::from_secs(2))
        );
        for i in 0..20 {
            t.failed("anna", ip("10.0.0.1"), later + Duration::from_secs(i));
        }
        assert!(
            t.wait("anna", ip("10.0.0.1"), later).unwrap() <= MAX_DELAY + Duration::from_secs(20)
        );
        // Forgotten after a quiet period.
        let quiet = later + FORGET_AFTER + Duration::from_secs(100);
        assert_eq!(t.wait("anna", ip("10.0.0.1"), quiet), None);
        t.failed("anna", ip("10.0.0.1"), quiet);
        assert_eq!(t.wait("anna", ip("10.0.0.1"), quiet), None, "a fresh count");
    }

    #[test]
    fn a_success_clears_the_user_but_not_the_address() {
        let t = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..=FREE_FAILURES {
            t.failed("anna", ip("10.0.0.1"), now);
        }
        t.succeeded("anna");
        assert_eq!(t.wait("anna", ip("10.0.0.2"), now), None);
        assert!(t.wait("anna", ip("10.0.0.1"), now).is_some());
    }

    #[test]
    fn ipv6_sources_count_by_their_64() {
        let t = SignInThrottle::default();
        let now = Instant::now();
        for i in 0..=FREE_FAILURES {
            t.failed(&format!("u{i}"), ip(&format!("2001:db8::{i}")), now);
        }
        assert!(t.wait("other", ip("2001:db8::ffff"), now).is_some());
        assert_eq!(t.wait("other", ip("2001:db8:0:1::1"), now), None);
    }

    #[test]
    fn failures_without_a_user_slow_down_the_address_only() {
        let t = SignInThrottle::default();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.wait_from(ip("192.0.2.7"), now), None);
            t.failed_from(ip("192.0.2.7"), now);
        }
        assert_eq!(
            t.wait_from(ip("192.0.2.7"), now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            t.wait("anna", ip("192.0.2.7"), now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            t.wait("anna", ip("192.0.2.8"), now),
            None,
            "no user counted"
        );
        assert_eq!(t.wait_from(ip("192.0.2.8"), now), None);
    }
}
