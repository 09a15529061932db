//! The pre-authentication phase of a listener: every connection holds a slot from accept
//! until its client has authenticated (or sent its first request, for an HTTPS UI), so a
//! flood of strangers can neither exhaust the listener nor lock others out.
//!
//! - [`table`]: who may hold a slot (caps in all and per source, displacement), without I/O.
//! - this file: [`PreauthGate`], the table of one listener with its log, and [`PreauthSlot`],
//!   a connection's slot, which ends the connection when it is displaced or past its deadline.
//!
//! Shared by every listener of the hub (the entries, the API, the tunnel) and by the
//! connector's admin UI.

pub mod table;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use table::{Caps, PreauthTable, PressureLog, Refusal, SlotId, Source};

/// How long a handler may go past the pre-auth deadline to send its own refusal (an NI
/// timeout error, a tunnel `Reject`) before the accept loop cuts the connection.
const REFUSAL_GRACE: Duration = Duration::from_secs(2);

/// How often a listener under pressure says so in the log (at warn); single refusals and
/// displacements are logged at debug.
const PRESSURE_LOG_EVERY: Duration = Duration::from_secs(10);

/// The pre-auth slots of one listener.
#[derive(Debug)]
pub struct PreauthGate {
    name: &'static str,
    table: Mutex<PreauthTable<CancellationToken>>,
    pressure: Mutex<PressureLog>,
    /// Connections refused since the start (for metrics).
    refused: AtomicU64,
    /// Connections displaced since the start (for metrics).
    displaced: AtomicU64,
}

impl PreauthGate {
    /// A gate for listener `name` with `caps`.
    pub fn new(name: &'static str, caps: Caps) -> Arc<PreauthGate> {
        Arc::new(PreauthGate {
            name,
            table: Mutex::new(PreauthTable::new(caps)),
            pressure: Mutex::new(PressureLog::new(PRESSURE_LOG_EVERY)),
            refused: AtomicU64::new(0),
            displaced: AtomicU64::new(0),
        })
    }

    /// The listener's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Slots held now: connections that have not authenticated yet.
    pub fn held(&self) -> usize {
        self.table().len()
    }

    /// Connections refused and displaced since the start.
    pub fn refused_and_displaced(&self) -> (u64, u64) {
        (
            self.refused.load(Ordering::Relaxed),
            self.displaced.load(Ordering::Relaxed),
        )
    }

    fn table(&self) -> MutexGuard<'_, PreauthTable<CancellationToken>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a connection from `peer`, accepted now, whose pre-auth phase ends at `deadline`.
    /// A displaced connection's slot is cancelled here: its accept loop ends it.
    pub fn enter(
        self: &Arc<Self>,
        peer: SocketAddr,
        deadline: Instant,
    ) -> Result<PreauthSlot, Refusal> {
        let source = Source::of(peer.ip());
        let displaced = CancellationToken::new();
        let admitted = self.table().admit(source, displaced.clone());
        let mut pressure = self.pressure.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match admitted {
            Ok(a) => {
                if let Some((victim, cut)) = a.displaced {
                    cut.cancel();
                    pressure.displaced();
                    self.displaced.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, %victim, entry = self.name,
                        "pre-auth slots full: displaced the oldest connection of the heaviest source");
                }
                Ok(PreauthSlot {
                    gate: self.clone(),
                    id: a.id,
                    displaced,
                    released: CancellationToken::new(),
                    deadline,
                })
            }
            Err(why) => {
                pressure.refused(why);
                self.refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%peer, %source, entry = self.name, reason = %why,
                    "unauthenticated connection refused");
                Err(why)
            }
        };
        if let Some(p) = pressure.due(std::time::Instant::now()) {
            tracing::warn!(
                entry = self.name,
                refused_source_full = p.refused_source_full,
                refused_full = p.refused_full,
                displaced = p.displaced,
                "many unauthenticated connections: refused or displaced some (counts since the last report)"
            );
        }
        slot
    }
}

/// A connection's pre-auth slot: drop it once the client has authenticated.
#[derive(Debug)]
pub struct PreauthSlot {
    gate: Arc<PreauthGate>,
    id: SlotId,
    displaced: CancellationToken,
    released: CancellationToken,
    deadline: Instant,
}

impl PreauthSlot {
    /// When the pre-auth phase must be over (counted from accept).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// What is left of the pre-auth phase.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Resolves when the connection must end: displaced, or still a stranger past the deadline
    /// plus [`REFUSAL_GRACE`]. Never resolves once the slot was dropped.
    pub fn ended(&self) -> impl Future<Output = &'static str> + Send + 'static {
        let (displaced, released) = (self.displaced.clone(), self.released.clone());
        let hard = self.deadline + REFUSAL_GRACE;
        async move {
            tokio::select! {
                biased;
                _ = released.cancelled() => std::future::pending().await,
                _ = displaced.cancelled() => "displaced by a connection from a lighter source",
                _ = tokio::time::sleep_until(hard) => "pre-auth deadline passed",
            }
        }
    }
}

impl Drop for PreauthSlot {
    fn drop(&mut self) {
        self.released.cancel();
        self.gate.table().release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn peer(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last], port))
    }

    #[tokio::test]
    async fn a_displaced_slot_ends_its_connection_and_a_released_one_gives_its_place_back() {
        let gate = PreauthGate::new(
            "test",
            Caps {
                global: 2,
                per_source: 2,
            },
        );
        let later = Instant::now() + Duration::from_secs(60);
        let first = gate.enter(peer(1, 1), later).unwrap();
        let second = gate.enter(peer(1, 2), later).unwrap();
        let first_ended = first.ended();
        assert_eq!(
            gate.enter(peer(1, 3), later).unwrap_err(),
            Refusal::SourceFull
        );
        // Full: a client from elsewhere takes 10.0.0.1's oldest slot.
        let newcomer = gate.enter(peer(2, 1), later).unwrap();
        assert_eq!(
            first_ended.await,
            "displaced by a connection from a lighter source"
        );
        // What the metrics read: held now, refused and displaced since the start.
        assert_eq!(gate.held(), 2);
        assert_eq!(gate.refused_and_displaced(), (1, 1));
        // An authenticated client's slot is dropped: its place is free.
        drop(second);
        assert_eq!(gate.table().len(), 1);
        drop(first);
        drop(newcomer);
        assert!(gate.table().is_empty());
    }

    #[tokio::test]
    async fn a_stranger_past_the_deadline_and_its_grace_is_ended_an_authenticated_client_not() {
        let gate = PreauthGate::new(
            "test",
            Caps {
                global: 4,
                per_source: 4,
            },
        );
        let now = Instant::now();
        let stranger = gate.enter(peer(1, 1), now).unwrap();
        let authenticated = gate.enter(peer(1, 2), now).unwrap();
        assert_eq!(stranger.remaining(), Duration::ZERO);
        let (stranger_ended, authenticated_ended) = (stranger.ended(), authenticated.ended());
        drop(authenticated);
        let ended = tokio::time::timeout(REFUSAL_GRACE * 3, stranger_ended).await;
        assert_eq!(ended, Ok("pre-auth deadline passed"));
        // The same deadline has passed for the client that authenticated in time: it stays.
        assert_eq!(authenticated_ended.now_or_never(), None);
    }
}
