//! Sign-ins whose password was right and whose second factor is still to come.
//!
//! The browser holds a random ticket (in a `__Host-` cookie; [`super::tickets`]) for at most
//! [`TTL`] and [`ATTEMPTS`] codes; the hub keeps only the ticket's hash. A hub restart forgets tickets:
//! the user types his password again.

use std::time::{Duration, Instant};

use portcullis_domain::secret::Secret;
use portcullis_store::Id;

use super::tickets::Tickets;

/// How long a ticket waits for its code.
pub const TTL: Duration = Duration::from_secs(300);
/// Codes one ticket may try.
pub const ATTEMPTS: u32 = 5;
/// Most tickets kept at once (expired ones are dropped first; beyond, the oldest).
pub const MAX: usize = 10_000;

/// What a ticket stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The user whose password was right.
    pub user: Id,
    /// Whether his password must be changed after the code.
    pub must_change: bool,
    /// How the first step proved who he is.
    pub method: super::Method,
}

/// The tickets (see the module docs).
#[derive(Debug)]
pub struct PendingSignIns {
    tickets: Tickets<Pending>,
}

impl Default for PendingSignIns {
    fn default() -> Self {
        PendingSignIns {
            tickets: Tickets::new(TTL, MAX),
        }
    }
}

/// Why a ticket did not lead to a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Unknown, expired, or out of attempts: sign in again.
    #[error("the sign-in expired; enter your user name and password again")]
    Expired,
}

impl PendingSignIns {
    /// A new ticket for `pending`.
    pub fn issue(&self, pending: Pending, now: Instant) -> Secret<String> {
        self.tickets.issue(pending, now)
    }

    /// What `ticket` stands for, counting one attempt; `Expired` when it is unknown, too old
    /// or out of attempts (it is then forgotten).
    pub fn attempt(&self, ticket: &str, now: Instant) -> Result<Pending, TicketError> {
        self.tickets
            .use_live(ticket, now, |held| {
                (held.uses < ATTEMPTS).then(|| {
                    held.uses += 1;
                    held.value
                })
            })
            .ok_or(TicketError::Expired)
    }

    /// The ticket was used: forget it.
    pub fn done(&self, ticket: &str) {
        self.tickets.forget(ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_lives_for_its_ttl_and_its_attempts() {
        let p = PendingSignIns::default();
        let now = Instant::now();
        let want = Pending {
            user: 7,
            must_change: false,
            method: crate::signin::Method::Password,
        };
        let t = p.issue(want, now);
        for _ in 0..ATTEMPTS {
            assert_eq!(p.attempt(t.expose(), now), Ok(want));
        }
        assert_eq!(p.attempt(t.expose(), now), Err(TicketError::Expired));
        let t = p.issue(want, now);
        assert_eq!(p.attempt(t.expose(), now + TTL), Err(TicketError::Expired));
        let t = p.issue(want, now);
        p.done(t.expose());
        assert_eq!(p.attempt(t.expose(), now), Err(TicketError::Expired));
        assert_eq!(p.attempt("made-up", now), Err(TicketError::Expired));
    }
}
