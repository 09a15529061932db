//! Sign-ins that went to a company's identity provider and have not come back yet.
//!
//! The browser that starts one gets a random value in a cookie of its own
//! (`__Host-portcullis-oidc`, `SameSite=Lax` so that the provider's redirect back carries it);
//! the hub keeps the flow under the value's SHA-256 only. The callback must bring that cookie
//! *and* the flow's `state`: a `state` alone (seen in a log, a referrer, another browser) is
//! worth nothing, and a flow is taken out when its callback arrives, so it is used once,
//! whatever its outcome. A flow lives [`TTL`]; a hub restart forgets flows.

use std::time::{Duration, Instant};

use portcullis_domain::secret::Secret;
use portcullis_store::Id;

use crate::signin::tickets::Tickets;

/// How long a flow waits for the provider's answer.
pub const TTL: Duration = Duration::from_secs(600);
/// Most flows kept at once (expired ones are dropped first; beyond, the oldest).
pub const MAX: usize = 10_000;

/// What the hub must remember between sending the browser to the provider and its return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The company whose provider it went to.
    pub company: Id,
    /// The issuer it went to (the callback refuses if the company's settings changed since).
    pub issuer: String,
    /// The `state` sent along, which must come back.
    pub state: Secret<String>,
    /// The `nonce` the ID token must carry.
    pub nonce: Secret<String>,
    /// The PKCE verifier whose S256 challenge was sent.
    pub pkce_verifier: Secret<String>,
}

/// The flows (see the module docs).
#[derive(Debug)]
pub struct PendingFlows {
    tickets: Tickets<Flow>,
}

impl Default for PendingFlows {
    fn default() -> Self {
        PendingFlows {
            tickets: Tickets::new(TTL, MAX),
        }
    }
}

/// Why a callback did not match a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// No flow for this browser: never started here, already used, expired, or forgotten.
    #[error("this sign-in is unknown, expired or was already used; start again")]
    Unknown,
    /// The browser's flow is another one than the `state` names.
    #[error("this sign-in does not belong to this browser; start again")]
    WrongState,
}

impl PendingFlows {
    /// Stores `flow`; returns the value for the browser's cookie.
    pub fn start(&self, flow: Flow, now: Instant) -> Secret<String> {
        self.tickets.issue(flow, now)
    }

    /// Takes the flow of `browser` (its cookie's value) whose `state` came back: it is
    /// forgotten whatever the outcome, so a callback is answered once.
    pub fn take(&self, browser: &str, state: &str, now: Instant) -> Result<Flow, FlowError> {
        let flow = self.tickets.take(browser, now).ok_or(FlowError::Unknown)?;
        let expected = flow.state.expose().as_bytes();
        if !crate::signin::oidc::same(state.as_bytes(), expected) {
            return Err(FlowError::WrongState);
        }
        Ok(flow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(state: &str) -> Flow {
        Flow {
            company: 3,
            issuer: "https://idp.test".into(),
            state: Secret::new(state.into()),
            nonce: Secret::new("n".into()),
            pkce_verifier: Secret::new("v".into()),
        }
    }

    #[test]
    fn a_flow_is_taken_once_by_its_browser_with_its_state() {
        let f = PendingFlows::default();
        let now = Instant::now();
        let b = f.start(flow("s1"), now);
        assert_eq!(f.take(b.expose(), "s1", now), Ok(flow("s1")));
        assert_eq!(
            f.take(b.expose(), "s1", now),
            Err(FlowError::Unknown),
            "replayed"
        );
    }

    #[test]
    fn a_wrong_state_or_another_browser_is_refused_and_ends_the_flow() {
        let f = PendingFlows::default();
        let now = Instant::now();
        let b = f.start(flow("s1"), now);
        assert_eq!(
            f.take("another-browser", "s1", now),
            Err(FlowError::Unknown)
        );
        assert_eq!(f.take(b.expose(), "s2", now), Err(FlowError::WrongState));
        assert_eq!(f.take(b.expose(), "s1", now), Err(FlowError::Unknown));
        assert_eq!(f.take(b.expose(), "", now), Err(FlowError::Unknown));
    }

    #[test]
    fn a_flow_expires() {
        let f = PendingFlows::default();
        let now = Instant::now();
        let b = f.start(flow("s1"), now);
        assert_eq!(
            f.take(b.expose(), "s1", now + TTL - Duration::from_millis(1)),
            Ok(flow("s1"))
        );
        let b = f.start(flow("s1"), now);
        assert_eq!(f.take(b.expose(), "s1", now + TTL), Err(FlowError::Unknown));
    }

    #[test]
    fn the_store_is_bounded() {
        let f = PendingFlows::default();
        let now = Instant::now();
        let first = f.start(flow("s0"), now);
        for i in 1..=MAX {
            f.start(flow("x"), now + Duration::from_millis(i as u64));
        }
        assert_eq!(f.tickets.held(), MAX);
        assert_eq!(
            f.take(first.expose(), "s0", now),
            Err(FlowError::Unknown),
            "the oldest made room"
        );
    }
}
