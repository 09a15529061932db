//! What the hub answers, one type per JSON object of `crates/hub/src/api/openapi.json`.
//!
//! Each view deserializes from the hub's answer and serializes back to the same JSON (the
//! client crate's tests check both against a real hub), so a program can read a field by
//! name, and a test can still compare with the JSON it received. Unknown fields are ignored,
//! so an older client reads a newer hub's answers. Times are RFC 3339 as the hub writes them.
//! Views that hold a secret (a token, a password, an enrolment token) mask it in `Debug`.

use portcullis_domain::authz::{Authorizations, Role};
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::secret::Secret;
use portcullis_domain::system::SystemData;
use portcullis_domain::window::WindowState;
use portcullis_proto::{InventoryTarget, VersionWarning};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Row ids as the hub numbers them.
pub type Id = i64;

/// The error body of every refusal: a stable `code` and a message for people.
pub use portcullis_proto::enroll::ApiError as ErrorBody;

/// A customer company (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub id: Id,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether its users must sign in to the portal with a second factor.
    pub require_totp: bool,
}

/// A user: a person (vendor or customer) or a technical user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Id,
    /// `None` for vendor users.
    pub company_id: Option<Id>,
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub authorizations: Authorizations,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
}

/// `POST /companies/{company}/tokens`: a token with a user of its own. The only time the
/// token string is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: Id,
    pub name: String,
    pub role: Role,
    /// The user the token acts as (give it grants by this name).
    pub user: String,
    /// `pct_<public>_<secret>`.
    pub token: Secret<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// `POST /users/{id}/tokens`: a further token of an existing user, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub id: Id,
    /// The user's name.
    pub user: String,
    /// `pct_<public>_<secret>`.
    pub token: Secret<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// `POST /users/{id}/password`: the user's portal password, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordSet {
    pub user: User,
    /// The password now set (generated, or the one chosen).
    pub password: Secret<String>,
    /// Whether the user's next sign-in must change it.
    pub must_change: bool,
}

/// `POST /route-passwords`: a short-lived connection password of the caller, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedRoutePassword {
    pub id: Id,
    pub user: String,
    pub password: Secret<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenScope {
    /// The REST API and every entry point.
    Api,
    /// A route password: a connection password only.
    Route,
    /// A signed-in browser's session credential: the portal only.
    Portal,
}

/// A token as lists show it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: Id,
    pub user_id: Id,
    pub user_name: String,
    pub company_id: Option<Id>,
    pub role: Role,
    pub authorizations: Authorizations,
    #[serde(with = "time::serde::rfc3339::option")]
    pub user_disabled_at: Option<OffsetDateTime>,
    pub name: String,
    /// The token's public part (`pct_<public>_…`), how logs name it.
    pub public_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub scope: TokenScope,
    /// Last recorded use (portal sessions: for their idle timeout).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// `POST /tokens/{id}/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoked {
    pub id: Id,
    pub revoked: bool,
    /// `false` when it was revoked already.
    pub was_active: bool,
}

/// A connector's network status (RC-08; `revoked` is SAP's *canceled*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectorStatus {
    Connected,
    NotConnected,
    NotEnrolled,
    Revoked,
}

impl ConnectorStatus {
    /// The name the hub writes (`connected`, `not_connected` …).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorStatus::Connected => "connected",
            ConnectorStatus::NotConnected => "not_connected",
            ConnectorStatus::NotEnrolled => "not_enrolled",
            ConnectorStatus::Revoked => "revoked",
        }
    }
}

/// A system's network status: `connected` when every connector its service connections go
/// through is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SystemNetwork {
    Connected,
    NotConnected,
    NotSetUp,
}

impl SystemNetwork {
    /// The name the hub writes (`connected`, `not_connected`, `not_set_up`).
    pub fn as_str(self) -> &'static str {
        match self {
            SystemNetwork::Connected => "connected",
            SystemNetwork::NotConnected => "not_connected",
            SystemNetwork::NotSetUp => "not_set_up",
        }
    }
}

/// A connector location with its live status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    pub id: Id,
    pub company_id: Id,
    pub location: String,
    /// Hex fingerprint of its current client certificate (none before enrolment).
    pub cert_fingerprint: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub cert_not_after: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub enrolled_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    pub last_version: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub status: ConnectorStatus,
    /// The live tunnel, while there is one.
    pub tunnel: Option<Tunnel>,
    /// The latest health report the connector sent (absent from older hubs).
    #[serde(default)]
    pub health: Option<ConnectorHealth>,
}

/// A connector's latest health report, as the hub received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorHealth {
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub software_version: String,
    pub uptime_secs: u64,
    /// CPU busy, per mille, at the connector's last sample.
    pub cpu_permille: Option<u16>,
    pub memory_total: Option<u64>,
    pub memory_available: Option<u64>,
    /// The connector's data directory's file system, bytes.
    pub disk_total: Option<u64>,
    pub disk_free: Option<u64>,
    pub active_alerts: u32,
    /// Each access entry's last reachability check.
    pub entries: Vec<EntryHealth>,
}

/// One access entry's reachability, as the connector last checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryHealth {
    pub name: String,
    pub internal: String,
    pub reachable: bool,
    pub detail: String,
}

/// A connector's live tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// The connector's software version.
    pub version: String,
    /// The upgrade warning the hub sent it, if any.
    pub warning: Option<VersionWarning>,
    /// Its address as the hub sees it.
    pub peer: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub connected_at: Option<OffsetDateTime>,
    /// The targets it exposes.
    pub inventory: Vec<InventoryTarget>,
}

/// A connector with a fresh one-time enrolment token (creation, or a new token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorWithToken {
    pub connector: Connector,
    pub enrollment_token: Secret<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A system as created or updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    pub id: Id,
    pub company_id: Id,
    /// What its users maintain (SID, type, product, flags …).
    #[serde(flatten)]
    pub data: SystemData,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A system as lists and `GET /systems/{id}` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemView {
    #[serde(flatten)]
    pub system: System,
    /// Service connections set up for it.
    pub service_connections: u64,
    /// How many of them have a window open now.
    pub open_connections: u64,
    pub network: SystemNetwork,
    /// The caller's favourite.
    pub favourite: bool,
}

/// A connection type: the catalogue's (`company_id` none) or a company's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionType {
    pub id: Id,
    pub company_id: Option<Id>,
    #[serde(flatten)]
    pub def: ConnTypeDef,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A service connection with the names people use for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceConnection {
    pub id: Id,
    pub company_id: Id,
    pub system_id: Id,
    pub connection_type_id: Id,
    pub connector_id: Id,
    pub virtual_host: String,
    pub virtual_port: u16,
    /// The start URL (web types).
    pub url: Option<String>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The system's SID.
    pub sid: String,
    /// The connection type's key.
    pub connection_type: String,
    /// The connection type's name, as people read it.
    pub connection_type_name: String,
    /// The connector's location.
    pub location: String,
    /// What entry points take: `<type>.<sid>.<company>.portcullis`.
    pub entry_host: String,
    /// Of its windows, now.
    pub state: WindowState,
    /// Its connector's network status now.
    pub network: ConnectorStatus,
}

/// A window on a service connection and its state now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub id: Id,
    pub company_id: Id,
    pub service_connection_id: Id,
    #[serde(with = "time::serde::rfc3339")]
    pub start_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub closed_by: Option<String>,
    pub contact: String,
    pub opened_by: String,
    /// Engineers it is for (empty: any).
    pub engineers: Vec<String>,
    /// Opened by a support engineer for himself (RC-13).
    pub independent: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub state: WindowState,
}

/// A technical user's standing grant to a service connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: Id,
    pub company_id: Id,
    pub user_id: Id,
    pub service_connection_id: Id,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A company's dashboard figures (RC-12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub company_id: Id,
    pub systems: u64,
    pub service_connections: u64,
    /// Service connections with a window open now.
    pub open_connections: u64,
    /// Reserved windows still to come.
    pub reserved_windows: u64,
}

/// An audit event with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub company_id: Option<Id>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    /// What the action's event records; its shape depends on the action.
    pub detail: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// `GET /audit/verify`: whether the chain is intact, and where it breaks if not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// Events checked (intact chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// The first event that does not follow from the one before (broken chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
    /// Events, from `seq` 1, that verify before the break.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_before: Option<u64>,
}

/// `POST /service-connections/{id}/web-link`: a one-time browser link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebLink {
    /// Works once, within `expires_in_secs`; the ticket is in the fragment.
    pub url: String,
    /// The service connection's own browser origin.
    pub origin: String,
    pub expires_in_secs: u64,
    /// `company/SID/type`.
    pub service: String,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// `GET /version`: the hub's version and its connector version policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubVersion {
    pub version: String,
    pub min_connector_version: String,
    pub warn_below: Option<String>,
    pub sunset_date: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_serialized_ones() {
        for s in [
            ConnectorStatus::Connected,
            ConnectorStatus::NotConnected,
            ConnectorStatus::NotEnrolled,
            ConnectorStatus::Revoked,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [
            SystemNetwork::Connected,
            SystemNetwork::NotConnected,
            SystemNetwork::NotSetUp,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn views_holding_a_secret_keep_it_out_of_debug_and_in_json() {
        let json = serde_json::json!({
            "id": 7, "name": "ci", "role": "technical", "user": "ci",
            "token": "pct_0123456789ab_feedfacefeedface", "expires_at": null,
        });
        let t: CreatedToken = serde_json::from_value(json.clone()).unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("feedface"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
        assert_eq!(serde_json::to_value(&t).unwrap(), json);
    }
}
