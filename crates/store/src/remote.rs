//! Records of the remote-connection part (issue #4): users, systems, connection types,
//! service connections, windows, standing grants. The rules these fields follow live in
//! `portcullis_domain` (validation, window arithmetic); the store keeps them and guards the
//! few invariants that must hold under concurrent writers (unique names, no overlapping live
//! windows, one active grant per user and service connection).

use portcullis_domain::authz::{Authorizations, Role};
use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::system::SystemData;
use portcullis_domain::window::{Span, WindowState};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Id;
use portcullis_domain::secret::Secret;

/// What the caller supplies to create a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// `None` for vendor users. The store checks that a given company exists, not that the
    /// role fits (that is [`Role::check_company`], a domain rule).
    pub company_id: Option<Id>,
    /// Login name, unique across the hub.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// For notifications.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Granted authorizations (for `company_user`).
    pub authorizations: Authorizations,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: Id,
    /// Company, `None` for vendor users.
    pub company_id: Option<Id>,
    /// Login name.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// Granted authorizations.
    pub authorizations: Authorizations,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Once set, the user's tokens are refused and live sessions cut.
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
}

/// A user's password as stored: never the password, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRecord {
    /// The PHC string of the argon2id hash (`$argon2id$v=19$m=…`), masked in `Debug`.
    pub hash: Secret<String>,
    /// Set while the password is one an admin chose (initial or reset): the next sign-in must
    /// change it before anything else.
    pub must_change: bool,
}

/// A user's second factor as stored: the sealed TOTP secret and the last step used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// The secret, sealed by the hub (the store never sees it in the clear); masked in `Debug`.
    pub sealed: Secret<Vec<u8>>,
    /// The last 30-second step a code was accepted for.
    pub last_step: Option<i64>,
}

/// A stored system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct System {
    /// Id.
    pub id: Id,
    /// Owning company.
    pub company_id: Id,
    /// The maintained fields.
    #[serde(flatten)]
    pub data: SystemData,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A stored connection type: the hub-wide catalogue (`company_id` `None`) or a company's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionType {
    /// Id.
    pub id: Id,
    /// `None` for the catalogue.
    pub company_id: Option<Id>,
    /// The definition.
    #[serde(flatten)]
    pub def: ConnTypeDef,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What the caller supplies to set up a connection type for a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServiceConnection {
    /// The system (its company becomes the service connection's).
    pub system_id: Id,
    /// The connection type (the catalogue's or the same company's).
    pub connection_type_id: Id,
    /// The connector location that reaches it (same company).
    pub connector_id: Id,
    /// Virtual host the connector exposes (lower-case).
    pub virtual_host: String,
    /// Virtual port.
    pub virtual_port: u16,
    /// The URL for web types.
    pub url: Option<String>,
    /// Who set it up (user label).
    pub created_by: String,
}

/// A stored service connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceConnection {
    /// Id.
    pub id: Id,
    /// Owning company (the system's).
    pub company_id: Id,
    /// System.
    pub system_id: Id,
    /// Connection type.
    pub connection_type_id: Id,
    /// Connector location.
    pub connector_id: Id,
    /// Virtual host.
    pub virtual_host: String,
    /// Virtual port.
    pub virtual_port: u16,
    /// URL for web types.
    pub url: Option<String>,
    /// Who set it up.
    pub created_by: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What the caller supplies to open or reserve a window. The caller has applied the domain
/// rules ([`portcullis_domain::window`]); the store still refuses an overlap with another
/// live window of the same service connection, atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWindow {
    /// The service connection.
    pub service_connection_id: Id,
    /// Opens at (now, for a window opened at once).
    pub start_at: OffsetDateTime,
    /// Closes by itself at.
    pub end_at: OffsetDateTime,
    /// Contact person at the customer.
    pub contact: String,
    /// Who opened it (user label).
    pub opened_by: String,
    /// User names of the engineers it admits; empty: any support engineer.
    pub engineers: Vec<String>,
    /// Opened by a support engineer himself on a system that allows independent opening.
    pub independent: bool,
}

/// A stored window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Id.
    pub id: Id,
    /// Owning company.
    pub company_id: Id,
    /// Service connection.
    pub service_connection_id: Id,
    /// Opens at.
    #[serde(with = "time::serde::rfc3339")]
    pub start_at: OffsetDateTime,
    /// Closes by itself at.
    #[serde(with = "time::serde::rfc3339")]
    pub end_at: OffsetDateTime,
    /// Closed early at.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// Who closed it early (a user label, or `connector:<location>` when closed at the
    /// connector).
    pub closed_by: Option<String>,
    /// Contact person.
    pub contact: String,
    /// Who opened it.
    pub opened_by: String,
    /// Engineers it admits; empty: any.
    pub engineers: Vec<String>,
    /// Opened by a support engineer himself (independent opening, RC-13).
    pub independent: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Window {
    /// The times that decide the state.
    pub fn span(&self) -> Span {
        Span {
            start: self.start_at,
            end: self.end_at,
            closed_at: self.closed_at,
        }
    }

    /// The state at `now`.
    pub fn state(&self, now: OffsetDateTime) -> WindowState {
        self.span().state(now)
    }
}

/// A company admin's standing grant: a technical user may reach a service connection
/// without a window (the cloud-application case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Id.
    pub id: Id,
    /// Owning company.
    pub company_id: Id,
    /// The technical user.
    pub user_id: Id,
    /// The service connection.
    pub service_connection_id: Id,
    /// Who gave it.
    pub created_by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was taken back.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}
