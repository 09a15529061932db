//! Why a session ended and who was at fault: one vocabulary for the hub and the connector.
//!
//! Both sides audit and log the end of every relayed stream. They used to describe it in two
//! sets of free-form strings; [`EndCause`] is the one set both use now, with a stable
//! snake_case [`code`](EndCause::code) for audit fields and metric labels, a human
//! [`Display`](std::fmt::Display) text for people, and the [`Fault`] that says which party
//! made a session end badly (STYLE rule 4: logs and metrics are keyed on it).

use serde::{Deserialize, Serialize};

/// Which party a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The engineer's or application's side: its client, its network, its credentials.
    Client,
    /// The hub.
    Hub,
    /// The connector, or the tunnel as seen from the hub.
    Connector,
    /// The back-end system inside the customer's network.
    Backend,
}

impl Fault {
    /// Stable lower-case name, as in audit records and metric labels.
    pub fn code(self) -> &'static str {
        match self {
            Fault::Client => "client",
            Fault::Hub => "hub",
            Fault::Connector => "connector",
            Fault::Backend => "backend",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Why one session (one relayed stream) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndCause {
    /// The client closed its side first: the normal end.
    ClientClosed,
    /// The back end closed its side first: also a normal end.
    BackendClosed,
    /// Both sides closed and neither was seen first.
    Closed,
    /// Reading from or writing to the client failed.
    ClientError,
    /// Reading from or writing to the back end failed.
    BackendError,
    /// The relay failed on one of its two sides, and which one is not known (the error text
    /// beside the cause says what failed).
    RelayError,
    /// Seen by the hub: the connector's tunnel went down or stopped answering.
    ConnectorGone,
    /// Seen by the connector: the hub's side of the tunnel went away.
    HubGone,
    /// The principal's token was revoked.
    TokenRevoked,
    /// The principal's token expired.
    TokenExpired,
    /// The principal's user was disabled (which also revokes his tokens).
    UserDisabled,
    /// The window the session ran under was closed (by the customer, the hub or at the
    /// connector).
    WindowClosed,
    /// The window the session ran under reached its end.
    WindowExpired,
    /// The standing grant the session ran under was revoked.
    GrantRevoked,
    /// The connector's access control list no longer allows the target.
    AccessRemoved,
    /// The connector was revoked: the hub cut its tunnel.
    ConnectorRevoked,
    /// The hub is shutting down.
    HubShutdown,
    /// The connector is shutting down.
    ConnectorShutdown,
    /// A customer administrator cut the session (the portal's live sessions, or the API).
    CutByAdmin,
}

impl EndCause {
    /// Every cause, for catalogues and exhaustive tests.
    pub const ALL: [EndCause; 19] = [
        EndCause::ClientClosed,
        EndCause::BackendClosed,
        EndCause::Closed,
        EndCause::ClientError,
        EndCause::BackendError,
        EndCause::RelayError,
        EndCause::ConnectorGone,
        EndCause::HubGone,
        EndCause::CutByAdmin,
        EndCause::TokenRevoked,
        EndCause::TokenExpired,
        EndCause::UserDisabled,
        EndCause::WindowClosed,
        EndCause::WindowExpired,
        EndCause::GrantRevoked,
        EndCause::AccessRemoved,
        EndCause::ConnectorRevoked,
        EndCause::HubShutdown,
        EndCause::ConnectorShutdown,
    ];

    /// Stable snake_case name: the `cause` field of `session.end` records, a metric label.
    pub fn code(self) -> &'static str {
        match self {
            EndCause::ClientClosed => "client_closed",
            EndCause::BackendClosed => "backend_closed",
            EndCause::Closed => "closed",
            EndCause::ClientError => "client_error",
            EndCause::BackendError => "backend_error",
            EndCause::RelayError => "relay_error",
            EndCause::ConnectorGone => "connector_gone",
            EndCause::HubGone => "hub_gone",
            EndCause::TokenRevoked => "token_revoked",
            EndCause::TokenExpired => "token_expired",
            EndCause::UserDisabled => "user_disabled",
            EndCause::WindowClosed => "window_closed",
            EndCause::WindowExpired => "window_expired",
            EndCause::GrantRevoked => "grant_revoked",
            EndCause::AccessRemoved => "access_removed",
            EndCause::ConnectorRevoked => "connector_revoked",
            EndCause::HubShutdown => "hub_shutdown",
            EndCause::ConnectorShutdown => "connector_shutdown",
            EndCause::CutByAdmin => "cut_by_admin",
        }
    }

    /// Who made the session end badly; `None` for a normal close or a policy decision
    /// (a window that ended, a token revoked), which are nobody's failure.
    pub fn fault(self) -> Option<Fault> {
        match self {
            EndCause::ClientError => Some(Fault::Client),
            EndCause::BackendError => Some(Fault::Backend),
            EndCause::ConnectorGone => Some(Fault::Connector),
            EndCause::HubGone => Some(Fault::Hub),
            _ => None,
        }
    }

    /// Whether the session ended by itself (a side closed) rather than being cut.
    pub fn is_normal(self) -> bool {
        matches!(
            self,
            EndCause::ClientClosed | EndCause::BackendClosed | EndCause::Closed
        )
    }
}

impl std::fmt::Display for EndCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndCause::ClientClosed => "client closed",
            EndCause::BackendClosed => "target closed",
            EndCause::Closed => "closed",
            EndCause::ClientError => "client connection failed",
            EndCause::BackendError => "back-end connection failed",
            EndCause::RelayError => "relay failed",
            EndCause::ConnectorGone => "connector tunnel lost",
            EndCause::HubGone => "hub went away",
            EndCause::TokenRevoked => "token revoked",
            EndCause::TokenExpired => "token expired",
            EndCause::UserDisabled => "user disabled",
            EndCause::WindowClosed => "window closed",
            EndCause::WindowExpired => "window expired",
            EndCause::GrantRevoked => "grant revoked",
            EndCause::AccessRemoved => "access removed",
            EndCause::ConnectorRevoked => "connector revoked",
            EndCause::HubShutdown => "hub shutting down",
            EndCause::ConnectorShutdown => "connector shutting down",
            EndCause::CutByAdmin => "cut by an administrator",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_match_serde() {
        let mut seen = std::collections::HashSet::new();
        for c in EndCause::ALL {
            assert!(seen.insert(c.code()), "duplicate code {}", c.code());
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.code()));
            let back: EndCause = serde_json::from_str(&json).unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn only_failures_name_a_fault() {
        assert_eq!(EndCause::BackendError.fault(), Some(Fault::Backend));
        assert_eq!(EndCause::ConnectorGone.fault(), Some(Fault::Connector));
        assert_eq!(EndCause::HubGone.fault(), Some(Fault::Hub));
        assert_eq!(EndCause::ClientError.fault(), Some(Fault::Client));
        for c in EndCause::ALL {
            if c.is_normal() {
                assert_eq!(c.fault(), None, "{c:?}");
            }
        }
        assert_eq!(EndCause::WindowExpired.fault(), None);
    }
}
