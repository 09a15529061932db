//! The accept loop every listener shares (the entries, the API and the tunnel): stop on
//! shutdown, admit each connection to the pre-authentication phase through the listener's
//! [`PreauthGate`], and hand it to a handler with its [`PreauthSlot`].
//!
//! The slot is the connection's right to be a stranger. The handler drops it once the client
//! has authenticated; until then the accept loop ends the connection (drops the handler's
//! future, which closes the socket) when the slot is displaced by a lighter source (see
//! [`super::preauth`]) or when the pre-auth deadline has passed with a short grace for a
//! polite refusal. After the slot is dropped nothing here can end the connection.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::preauth::{Caps, PreauthTable, PressureLog, Refusal, SlotId, Source};
use crate::state::State;

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
}

impl PreauthGate {
    /// A gate for listener `name` with `caps`.
    pub fn new(name: &'static str, caps: Caps) -> Arc<PreauthGate> {
        Arc::new(PreauthGate {
            name,
            table: Mutex::new(PreauthTable::new(caps)),
            pressure: Mutex::new(PressureLog::new(PRESSURE_LOG_EVERY)),
        })
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
    fn ended(&self) -> impl Future<Output = &'static str> + Send + 'static {
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

/// The TLS handshake of a client within `[limits] tls_handshake_timeout_secs` and what is left
/// of the pre-auth deadline; `None` (logged at debug) when it fails or times out. `entry`
/// names the listener in the log.
pub async fn tls_within_deadline(
    state: &State,
    acceptor: &tokio_rustls::TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    slot: &PreauthSlot,
    entry: &str,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let limit = state.config.tls_handshake_timeout.min(slot.remaining());
    match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, entry, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, entry, "TLS handshake timed out");
            None
        }
    }
}

/// Accepts on `listener` until shutdown; `handle` gets the connection and its pre-auth slot,
/// which it drops once the client is authenticated. Handlers run on `state.tasks`.
pub async fn accept_loop<F, Fut>(state: State, listener: TcpListener, name: &'static str, handle: F)
where
    F: Fn(State, TcpStream, SocketAddr, PreauthSlot) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let tracker = state.tasks.clone();
    accept_loop_on(state, listener, name, &tracker, handle).await
}

/// [`accept_loop`] with handlers running on `tracker` (the tunnel endpoint uses its own, so
/// shutdown can drain sessions without waiting for tunnels).
pub async fn accept_loop_on<F, Fut>(
    state: State,
    listener: TcpListener,
    name: &'static str,
    tracker: &TaskTracker,
    handle: F,
) where
    F: Fn(State, TcpStream, SocketAddr, PreauthSlot) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let gate = PreauthGate::new(
        name,
        Caps {
            global: state.config.max_preauth,
            per_source: state.config.max_preauth_per_source,
        },
    );
    loop {
        let (tcp, peer) = tokio::select! {
            _ = state.accept_stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, entry = name, "accept failed");
                    continue;
                }
            },
        };
        let deadline = Instant::now() + state.config.preauth_timeout;
        let Ok(slot) = gate.enter(peer, deadline) else {
            // Closed at once (dropping the stream): a refused stranger costs nothing more.
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let ended = slot.ended();
        let conn = handle(state.clone(), tcp, peer, slot);
        tracker.spawn(async move {
            tokio::select! {
                () = conn => {}
                why = ended => tracing::debug!(%peer, entry = name, "unauthenticated connection ended: {why}"),
            }
        });
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
