//! Admission to the pre-authentication phase, without I/O: who may hold one of a listener's
//! pre-auth slots, and whose slot a newcomer takes when they are all held.
//!
//! Every listener of the hub (the entries, the API and the tunnel), and the connector's admin
//! UI, lets a connection in only while it holds a slot, from accept until the client has authenticated. Two caps bound the
//! slots:
//!
//! - a **global** cap (`[limits] max_preauth`): the work and memory the listener spends on
//!   strangers;
//! - a cap **per source** (`[limits] max_preauth_per_source`): what one address may hold.
//!   A newcomer from a source at its cap is refused.
//!
//! When the global cap is full, a newcomer from a source below its cap is not refused: it
//! **displaces** the oldest slot of the heaviest source (the one holding most slots; on a tie,
//! the one whose oldest slot is oldest), when
//!
//! - its own source holds no slot at all (a new client always gets in), or
//! - the heaviest source holds at least two more slots than its own (the slots end up more
//!   evenly shared).
//!
//! Otherwise it is refused. So a flood from a few addresses can fill the listener but cannot
//! lock anyone else out: each client from elsewhere takes a slot from the flood, and the flood
//! cannot win it back (the client's source holds one slot, the flood's many). Two flooding
//! sources with as many slots each do not take slots from each other for ever either: one slot
//! more or less is no reason to displace.
//!
//! # Sources
//! An IPv4 client is its address. An IPv6 client is its /64: a single host or subscriber is
//! normally given a whole /64 (SLAAC, RFC 6177), so it can pick a fresh address for every
//! connection for free, while a new IPv4 address costs something. An IPv4-mapped IPv6 address
//! (`::ffff:a.b.c.d`, from dual-stack sockets) is the IPv4 address. Many clients behind one
//! NAT share a source; the per-source cap is therefore generous (handshakes take milliseconds,
//! so 32 slots serve a large office), and displacement hits the heaviest source first.
//!
//! The table is generic over the handle `T` it keeps per slot (the driver keeps a cancellation
//! token, the tests a number) and returns the displaced slot's handle, so the caller ends that
//! connection. Costs: admission and release are O(log n) in the slots of one source, except a
//! displacement, which scans the sources (at most `global` of them).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The source a connection counts against: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPv4 address (IPv4-mapped IPv6 included).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Prefix([u8; 8]),
}

impl Source {
    /// The source of a peer address.
    pub fn of(ip: IpAddr) -> Source {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Source::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let o = v6.octets();
                let mut p = [0u8; 8];
                p.copy_from_slice(&o[..8]);
                Source::V6Prefix(p)
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::V4(o) => write!(f, "{}", std::net::Ipv4Addr::from(*o)),
            Source::V6Prefix(p) => {
                let mut o = [0u8; 16];
                o[..8].copy_from_slice(p);
                write!(f, "{}/64", std::net::Ipv6Addr::from(o))
            }
        }
    }
}

/// The caps of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Slots in all.
    pub global: usize,
    /// Slots one source may hold (at most `global`).
    pub per_source: usize,
}

/// One slot, as the table names it. Ids grow with time: a smaller id is an older slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotId(u64);

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Its source already holds `per_source` slots.
    #[error("this source holds its share of unauthenticated connections")]
    SourceFull,
    /// Every slot is held and no source holds more than this one's.
    #[error("every unauthenticated slot is held, none by a heavier source")]
    Full,
}

/// A slot given, and the slot it was taken from when the listener was full.
#[derive(Debug)]
pub struct Admitted<T> {
    /// The new slot.
    pub id: SlotId,
    /// The displaced slot's source and handle: the caller ends that connection.
    pub displaced: Option<(Source, T)>,
}

/// The slots of one listener.
#[derive(Debug)]
pub struct PreauthTable<T> {
    caps: Caps,
    next: u64,
    slots: HashMap<SlotId, (Source, T)>,
    by_source: HashMap<Source, BTreeSet<SlotId>>,
}

impl<T> PreauthTable<T> {
    /// An empty table; `per_source` is clamped to `1..=global` and `global` to at least 1.
    pub fn new(caps: Caps) -> PreauthTable<T> {
        let global = caps.global.max(1);
        PreauthTable {
            caps: Caps {
                global,
                per_source: caps.per_source.clamp(1, global),
            },
            next: 0,
            slots: HashMap::new(),
            by_source: HashMap::new(),
        }
    }

    /// Slots held in all.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no slot is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Slots `source` holds.
    pub fn held_by(&self, source: Source) -> usize {
        self.by_source.get(&source).map_or(0, BTreeSet::len)
    }

    /// Gives a connection from `source` a slot that keeps `handle`, displacing the heaviest
    /// source's oldest slot when every slot is held (see the module documentation).
    pub fn admit(&mut self, source: Source, handle: T) -> Result<Admitted<T>, Refusal> {
        let own = self.held_by(source);
        if own >= self.caps.per_source {
            return Err(Refusal::SourceFull);
        }
        let displaced = if self.slots.len() >= self.caps.global {
            let (victim_source, victim) = self.heaviest().ok_or(Refusal::Full)?;
            let heaviest = self.held_by(victim_source);
            if !(own == 0 || heaviest >= own + 2) {
                return Err(Refusal::Full);
            }
            self.remove(victim)
        } else {
            None
        };
        let id = SlotId(self.next);
        self.next += 1;
        self.slots.insert(id, (source, handle));
        self.by_source.entry(source).or_default().insert(id);
        Ok(Admitted { id, displaced })
    }

    /// Gives a slot back (the client authenticated or the connection ended). Returns its handle,
    /// or `None` when the slot was displaced already.
    pub fn release(&mut self, id: SlotId) -> Option<T> {
        self.remove(id).map(|(_, h)| h)
    }

    fn remove(&mut self, id: SlotId) -> Option<(Source, T)> {
        let (source, handle) = self.slots.remove(&id)?;
        if let Some(ids) = self.by_source.get_mut(&source) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_source.remove(&source);
            }
        }
        Some((source, handle))
    }

    /// The source holding most slots (on a tie, the one with the oldest slot) and that oldest
    /// slot.
    fn heaviest(&self) -> Option<(Source, SlotId)> {
        self.by_source
            .iter()
            .filter_map(|(s, ids)| ids.first().map(|oldest| (*s, ids.len(), *oldest)))
            .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
            .map(|(s, _, oldest)| (s, oldest))
    }
}

/// What a listener did with its strangers since it last said so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pressure {
    /// Connections refused because their source was at its cap.
    pub refused_source_full: u64,
    /// Connections refused because every slot was held by sources no heavier than theirs.
    pub refused_full: u64,
    /// Connections ended to make room for a lighter source.
    pub displaced: u64,
}

impl Pressure {
    fn is_quiet(&self) -> bool {
        *self == Pressure::default()
    }
}

/// Counts refusals and displacements and lets them be reported at most once per `every`, so
/// a flood does not flood the log.
#[derive(Debug)]
pub struct PressureLog {
    every: Duration,
    last: Option<Instant>,
    pending: Pressure,
}

impl PressureLog {
    /// Reports at most once per `every`.
    pub fn new(every: Duration) -> PressureLog {
        PressureLog {
            every,
            last: None,
            pending: Pressure::default(),
        }
    }

    /// Counts a refusal.
    pub fn refused(&mut self, why: Refusal) {
        match why {
            Refusal::SourceFull => self.pending.refused_source_full += 1,
            Refusal::Full => self.pending.refused_full += 1,
        }
    }

    /// Counts a displacement.
    pub fn displaced(&mut self) {
        self.pending.displaced += 1;
    }

    /// What to report at `now`, if anything: the counts since the last report, once at least
    /// `every` has passed since it.
    pub fn due(&mut self, now: Instant) -> Option<Pressure> {
        if self.pending.is_quiet() {
            return None;
        }
        if self
            .last
            .is_some_and(|l| now.saturating_duration_since(l) < self.every)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8) -> Source {
        Source::of(IpAddr::from([10, 0, 0, last]))
    }

    fn table(global: usize, per_source: usize) -> PreauthTable<u32> {
        PreauthTable::new(Caps { global, per_source })
    }

    #[test]
    fn ipv6_sources_are_their_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Source::of(a), Source::of(b));
        assert_ne!(Source::of(a), Source::of(c));
        assert_eq!(Source::of(a).to_string(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(Source::of(mapped), v4(7));
        assert_eq!(v4(7).to_string(), "10.0.0.7");
        assert_ne!(v4(7), v4(8));
    }

    #[test]
    fn a_source_at_its_cap_is_refused_and_admitted_again_after_a_release() {
        let mut t = table(10, 2);
        let a = t.admit(v4(1), 1).unwrap();
        t.admit(v4(1), 2).unwrap();
        assert_eq!(t.admit(v4(1), 3).unwrap_err(), Refusal::SourceFull);
        assert_eq!(t.held_by(v4(1)), 2);
        // Another source is not affected.
        assert!(t.admit(v4(2), 4).unwrap().displaced.is_none());
        assert_eq!(t.release(a.id), Some(1));
        assert_eq!(t.release(a.id), None, "released once");
        assert!(t.admit(v4(1), 5).is_ok());
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn a_full_listener_gives_a_newcomer_the_heaviest_sources_oldest_slot() {
        let mut t = table(4, 4);
        for h in 1..=3 {
            t.admit(v4(1), h).unwrap();
        }
        t.admit(v4(2), 10).unwrap();
        // Full: 10.0.0.1 holds 3, 10.0.0.2 holds 1. A newcomer from 10.0.0.3 takes the oldest
        // slot of 10.0.0.1.
        let got = t.admit(v4(3), 20).unwrap();
        assert_eq!(got.displaced, Some((v4(1), 1)));
        assert_eq!((t.held_by(v4(1)), t.len()), (2, 4));
        // And the next one takes 10.0.0.1's next oldest.
        assert_eq!(t.admit(v4(4), 30).unwrap().displaced, Some((v4(1), 2)));
        // Now everyone holds one: a newcomer from 10.0.0.5 (holding none) still displaces,
        // the oldest slot of all (10.0.0.1's third).
        assert_eq!(t.admit(v4(5), 40).unwrap().displaced, Some((v4(1), 3)));
        // But a source that already holds as much as the heaviest is refused.
        assert_eq!(t.admit(v4(2), 11).unwrap_err(), Refusal::Full);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn a_flood_from_one_source_cannot_win_its_slots_back() {
        let mut t = table(8, 8);
        for h in 0..8 {
            t.admit(v4(1), h).unwrap();
        }
        assert_eq!(t.admit(v4(1), 99).unwrap_err(), Refusal::SourceFull);
        let legit = t.admit(v4(2), 100).unwrap();
        assert_eq!(legit.displaced, Some((v4(1), 0)));
        // The flood, one below its cap now, is the heaviest itself: refused, never displacing
        // the legitimate client.
        assert_eq!(t.admit(v4(1), 101).unwrap_err(), Refusal::Full);
        assert_eq!(t.held_by(v4(2)), 1);
        // Once the legitimate client authenticates, its slot goes back to whoever asks.
        t.release(legit.id);
        assert!(t.admit(v4(1), 102).unwrap().displaced.is_none());
    }

    #[test]
    fn sources_that_hold_slots_displace_only_to_even_the_shares() {
        let mut t = table(6, 6);
        let ids: Vec<SlotId> = (0..6)
            .map(|h| t.admit(v4(1 + (h / 3) as u8), h).unwrap().id)
            .collect();
        // Full, 3 against 3: neither side takes from the other.
        assert_eq!(t.admit(v4(1), 10).unwrap_err(), Refusal::Full);
        assert_eq!(t.admit(v4(2), 20).unwrap_err(), Refusal::Full);
        // 10.0.0.2 is down to 1, 10.0.0.4 takes the free slots: 3, 1, 2.
        t.release(ids[3]);
        t.release(ids[4]);
        for h in [40, 41] {
            assert!(
                t.admit(v4(4), h).unwrap().displaced.is_none(),
                "a free slot"
            );
        }
        // 1 against 3: 10.0.0.2 evens it with 10.0.0.1's oldest slot; then 2, 2, 2.
        assert_eq!(t.admit(v4(2), 21).unwrap().displaced, Some((v4(1), 0)));
        assert_eq!(t.admit(v4(2), 22).unwrap_err(), Refusal::Full);
        assert_eq!(t.admit(v4(1), 11).unwrap_err(), Refusal::Full);
    }

    #[test]
    fn ties_displace_the_oldest_slot_among_the_heaviest_sources() {
        let mut t = table(4, 2);
        t.admit(v4(2), 20).unwrap();
        t.admit(v4(1), 10).unwrap();
        t.admit(v4(1), 11).unwrap();
        t.admit(v4(2), 21).unwrap();
        // Both hold 2; 10.0.0.2 holds the oldest slot.
        assert_eq!(t.admit(v4(3), 30).unwrap().displaced, Some((v4(2), 20)));
    }

    #[test]
    fn caps_are_clamped_to_something_usable() {
        let mut t = table(0, 0);
        assert!(t.admit(v4(1), 1).is_ok());
        assert_eq!(t.admit(v4(1), 2).unwrap_err(), Refusal::SourceFull);
        let mut t = table(2, 5);
        t.admit(v4(1), 1).unwrap();
        t.admit(v4(1), 2).unwrap();
        assert_eq!(t.admit(v4(1), 3).unwrap_err(), Refusal::SourceFull);
    }

    #[test]
    fn the_table_stays_within_its_caps_whatever_happens() {
        // A deterministic random walk of admissions and releases from 6 sources.
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut t = table(16, 5);
        let mut live: Vec<SlotId> = Vec::new();
        for i in 0..10_000u32 {
            if rnd() % 3 == 0 && !live.is_empty() {
                let k = (rnd() as usize) % live.len();
                t.release(live.swap_remove(k));
            } else {
                let src = v4((rnd() % 6) as u8);
                let before = t.held_by(src);
                match t.admit(src, i) {
                    Ok(a) => {
                        live.push(a.id);
                        if let Some((vs, _)) = a.displaced {
                            assert!(t.held_by(vs) >= before, "displaced a lighter source");
                        }
                    }
                    Err(Refusal::SourceFull) => assert_eq!(before, 5),
                    Err(Refusal::Full) => assert_eq!(t.len(), 16),
                }
            }
            assert!(t.len() <= 16);
            for x in 0..6 {
                assert!(t.held_by(v4(x)) <= 5);
            }
        }
    }

    #[test]
    fn pressure_is_reported_at_most_once_per_period() {
        let t0 = Instant::now();
        let mut log = PressureLog::new(Duration::from_secs(10));
        assert_eq!(log.due(t0), None);
        log.refused(Refusal::SourceFull);
        log.displaced();
        assert_eq!(
            log.due(t0),
            Some(Pressure {
                refused_source_full: 1,
                refused_full: 0,
                displaced: 1
            })
        );
        for _ in 0..1000 {
            log.refused(Refusal::Full);
        }
        assert_eq!(log.due(t0 + Duration::from_secs(5)), None);
        let p = log.due(t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(p.refused_full, 1000);
        assert_eq!(log.due(t0 + Duration::from_secs(30)), None, "nothing new");
    }
}
