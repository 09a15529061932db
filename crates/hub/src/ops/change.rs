//! [`Change`]: what a committed write means for the rest of the hub, and [`apply`], the one
//! place that carries it out.
//!
//! An operation stores its change and its audit event in one transaction and returns the
//! `Change`s it made. Nothing else reacts to writes: the caches the hub keeps (verified
//! tokens, target resolutions) are forgotten, live sessions that lost their footing are cut,
//! and a revoked connector's tunnel is closed, here and only here, whichever door (API,
//! portal, CLI-facing endpoint) the write came through.
//!
//! A `Change` names objects by id and holds nothing else, and it is `Serialize`: a hub of
//! several nodes will write it to an events table and ring a doorbell (PostgreSQL
//! `LISTEN/NOTIFY`) so that every node applies it to its own caches and sessions; the
//! operations will not change for that.

use portcullis_proto::GoodbyeReason;
use portcullis_store::Id;
use serde::{Deserialize, Serialize};

use crate::registry::CutKey;
use crate::state::HubState;

/// One consequence of a committed write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// What decides sessions changed (a system, connection type, service connection,
    /// window or grant; a company's flags): resolutions made before must not be reused.
    Resolution,
    /// A user's authorizations changed: principals verified before must be read again.
    UserChanged {
        /// The user.
        user: Id,
    },
    /// A user was disabled, with every token of his: his live sessions end.
    UserDisabled {
        /// The user.
        user: Id,
    },
    /// A token (an API token or a route password) was revoked: its live sessions end.
    TokenRevoked {
        /// The token.
        token: Id,
    },
    /// A standing grant was revoked: sessions it admitted end.
    GrantRevoked {
        /// The grant.
        grant: Id,
    },
    /// A window closed, or it now admits fewer engineers: sessions under it end (those still
    /// admitted reconnect).
    WindowCut {
        /// The window.
        window: Id,
    },
    /// A connector was revoked, or its identity replaced by a new enrolment: its tunnel goes.
    ConnectorCut {
        /// The connector.
        connector: Id,
    },
    /// A company's OpenID Connect settings changed: providers' documents and keys fetched
    /// with the old ones (another CA, another issuer) are fetched again.
    OidcChanged {
        /// The company.
        company: Id,
    },
}

/// Applies committed changes to this hub's caches, sessions and tunnels.
pub fn apply(st: &HubState, changes: &[Change]) {
    // Every write may change what a session resolves to; writes are rare and sessions many,
    // so forgetting every resolution is simpler than tracking what depends on what.
    st.resolved.forget_all();
    for change in changes {
        match *change {
            Change::Resolution => {}
            Change::UserChanged { .. } => st.tokens.forget_all(),
            Change::UserDisabled { user } => {
                st.tokens.forget_all();
                // Every session of his, whichever of his tokens opened it.
                st.registry.cut(CutKey::User(user));
            }
            Change::TokenRevoked { token } => {
                st.tokens.forget_all();
                st.registry.revoke_token(token);
            }
            Change::GrantRevoked { grant } => st.registry.cut(CutKey::Grant(grant)),
            Change::WindowCut { window } => st.registry.cut(CutKey::Window(window)),
            Change::ConnectorCut { connector } => {
                if let Some(t) = st.registry.by_connector(connector) {
                    t.cut(GoodbyeReason::Revoked);
                }
            }
            Change::OidcChanged { .. } => st.oidc.providers.forget_all(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_travels_as_json_and_back() {
        for c in [
            Change::Resolution,
            Change::UserChanged { user: 3 },
            Change::UserDisabled { user: 4 },
            Change::TokenRevoked { token: 5 },
            Change::GrantRevoked { grant: 6 },
            Change::WindowCut { window: 7 },
            Change::ConnectorCut { connector: 8 },
            Change::OidcChanged { company: 9 },
        ] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Change::TokenRevoked { token: 5 }).unwrap(),
            r#"{"change":"token_revoked","token":5}"#
        );
    }
}
