//! Who may do what: roles, a company's authorizations, and the one function that decides.
//!
//! Every API handler asks [`authorize`] for a [`Permit`] and passes it to the operation, so a
//! handler that forgets to ask does not compile (STYLE.md rule 5). The rules, in one place:
//!
//! | role | side | may |
//! |---|---|---|
//! | `vendor_admin` | vendor | run the hub: companies, vendor users and their tokens, read every company's data and audit; of a company's credentials only its *first* admin ([`Op::BootstrapCompanyAdmin`]) |
//! | `support_engineer` | vendor | read systems and service connections; open sessions while a window is open and names him (or names nobody); open a window for himself alone on a system that allows independent opening ([`Op::OpenIndependently`]) |
//! | `auditor` | vendor (all companies) or one company | read audit data and log books, nothing else |
//! | `company_admin` | one company | the company's *super administrator*: everything in the company, users and their authorizations, standing grants |
//! | `company_user` | one company | read the company's data; more only through [`Authorization`]s the super administrator grants |
//! | `technical` | one company | a non-dialog user (a cloud application): opens sessions only through a standing grant |
//!
//! Nothing crosses companies: a company role never gets a permit for another company's data.
//!
//! # The customer's key stays the customer's (BY-01)
//!
//! The vendor runs the hub, but a customer's systems are opened by the customer alone. So a
//! vendor admin gets no permit, on a company's data, for what opens a way in or makes a
//! credential: windows and service connections ([`Op::OperateConnections`]), standing grants
//! ([`Op::ManageGrants`]), the company's users and tokens ([`Op::ManageUsers`],
//! [`Op::ManageTokens`]), its connectors and their enrolment tokens ([`Op::ManageConnectors`]),
//! its systems and their *allow independent opening* flag ([`Op::MaintainSystems`]), the logon
//! depot. He reads (systems, connectors, users, audit) and creates companies; to hand a new
//! company over he makes its **first** company admin and that admin's token
//! ([`Op::BootstrapCompanyAdmin`]), which the operation allows only while the company has no
//! enabled company admin (a company that lost its last admin can be handed over again; that,
//! too, is audited). Vendor engineers open windows only independently, where the customer's
//! system flag allows it ([`Op::OpenIndependently`], RC-13).
//!
//! Every dialog user (every role but `technical`) may create a route password for himself
//! ([`Op::CreateRoutePassword`]): a short-lived credential typed as the `/W/` password of an SAP
//! route string. It is one more credential of the same user, so it lets him reach exactly what
//! [`Op::OpenSession`] and the windows already let him reach, nothing more. A technical user (a
//! cloud application) gets none: nobody types its password into SAP GUI, its own API token is
//! already a valid connection password, and a leaked technical token should not be able to mint
//! further credentials.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Primary key of a stored row (the same type the store uses).
pub type Id = i64;

/// A user's role. Stored and serialized as the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the hub.
    VendorAdmin,
    /// A vendor's support engineer.
    SupportEngineer,
    /// Reads audit data (of every company, or of one).
    Auditor,
    /// A company's super administrator.
    CompanyAdmin,
    /// A company's dialog user; powers come from [`Authorization`]s.
    CompanyUser,
    /// A company's non-dialog user (cloud application), reaching targets through grants.
    Technical,
}

impl Role {
    /// Every role, for exhaustive tests and pickers.
    pub const ALL: [Role; 6] = [
        Role::VendorAdmin,
        Role::SupportEngineer,
        Role::Auditor,
        Role::CompanyAdmin,
        Role::CompanyUser,
        Role::Technical,
    ];

    /// The stored (and serialized) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::VendorAdmin => "vendor_admin",
            Role::SupportEngineer => "support_engineer",
            Role::Auditor => "auditor",
            Role::CompanyAdmin => "company_admin",
            Role::CompanyUser => "company_user",
            Role::Technical => "technical",
        }
    }

    /// Whether a user with this role belongs to one company (`true`), to the vendor
    /// (`false`), or may be either (`None`: auditors).
    pub fn company_scoped(self) -> Option<bool> {
        match self {
            Role::VendorAdmin | Role::SupportEngineer => Some(false),
            Role::CompanyAdmin | Role::CompanyUser | Role::Technical => Some(true),
            Role::Auditor => None,
        }
    }

    /// Checks that `company` fits the role: vendor roles have none, company roles have one.
    pub fn check_company(self, company: Option<Id>) -> Result<(), AuthzError> {
        match (self.company_scoped(), company) {
            (Some(true), None) => Err(AuthzError::NeedsCompany(self)),
            (Some(false), Some(_)) => Err(AuthzError::VendorRole(self)),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not the name of any [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (one of: vendor_admin, support_engineer, auditor, company_admin, company_user, technical)")]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

/// What a company's super administrator grants a `company_user` (SAP's S-user
/// authorizations, sap-reference §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authorization {
    /// Set up, delete, open, edit, close and reserve service connections.
    OpenServiceConnections,
    /// Maintain systems and the company's own connection types.
    MaintainSystemData,
    /// Maintain logon data in the logon depot.
    MaintainAccessData,
}

impl Authorization {
    /// Every authorization.
    pub const ALL: [Authorization; 3] = [
        Authorization::OpenServiceConnections,
        Authorization::MaintainSystemData,
        Authorization::MaintainAccessData,
    ];

    /// The stored (and serialized) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Authorization::OpenServiceConnections => "open_service_connections",
            Authorization::MaintainSystemData => "maintain_system_data",
            Authorization::MaintainAccessData => "maintain_access_data",
        }
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Authorization {
    type Err = AuthzError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Authorization::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| AuthzError::UnknownAuthorization(s.to_owned()))
    }
}

/// A set of authorizations, stored as a comma-separated list of names in a fixed order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Authorizations(BTreeSet<Authorization>);

impl Authorizations {
    /// No authorization.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every authorization.
    pub fn all() -> Self {
        Authorization::ALL.into_iter().collect()
    }

    /// Whether `a` is in the set.
    pub fn has(&self, a: Authorization) -> bool {
        self.0.contains(&a)
    }

    /// The members, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = Authorization> + '_ {
        self.0.iter().copied()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses the stored form (`""` is the empty set). Unknown names are an error, so a
    /// typo never silently grants less (or more) than was meant.
    pub fn parse(s: &str) -> Result<Self, AuthzError> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        self.iter()
            .map(Authorization::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromIterator<Authorization> for Authorizations {
    fn from_iter<T: IntoIterator<Item = Authorization>>(iter: T) -> Self {
        Authorizations(iter.into_iter().collect())
    }
}

/// The authenticated user an operation is for, as the hub resolved it from a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user's id.
    pub user_id: Id,
    /// The user's role.
    pub role: Role,
    /// The user's company; `None` for vendor users (and vendor-wide auditors).
    pub company_id: Option<Id>,
    /// Granted authorizations (meaningful for `company_user`; a `company_admin` holds all).
    pub authorizations: Authorizations,
}

impl Actor {
    /// Whether the actor belongs to the vendor (not to a company).
    pub fn is_vendor(&self) -> bool {
        self.company_id.is_none()
    }

    fn holds(&self, a: Authorization) -> bool {
        self.role == Role::CompanyAdmin
            || (self.role == Role::CompanyUser && self.authorizations.has(a))
    }
}

/// Every operation the API offers, grouped by what it touches. The company an operation
/// is about is passed to [`authorize`] separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Create a company (vendor only).
    CreateCompany,
    /// Read a company's name and summary (the open-connection count).
    ReadCompany,
    /// Create, change, disable users of a company, or vendor users (company `None`).
    ManageUsers,
    /// List users of a company (or vendor users).
    ReadUsers,
    /// Create a token for another user of the company (`None`: a vendor user) or revoke one.
    /// Never for oneself: a token may not mint tokens (the API refuses before asking).
    ManageTokens,
    /// Register, revoke connectors and issue enrollment tokens.
    ManageConnectors,
    /// List connectors and their status.
    ReadConnectors,
    /// List systems, service connections, windows and connection types.
    ReadSystems,
    /// Create, change, delete systems and the company's own connection types.
    MaintainSystems,
    /// Set up and delete service connections; open, edit, close, reserve windows.
    OperateConnections,
    /// Give or take a technical user's standing grant.
    ManageGrants,
    /// Read and change logon data (the logon depot).
    MaintainAccessData,
    /// Read the audit log and export it.
    ReadAudit,
    /// Read a system's log book (the audit of that system).
    ReadLogBook,
    /// Open a session through an entry point (further checked against windows or grants).
    OpenSession,
    /// Keep one's own favourites.
    KeepFavourites,
    /// Create a route password for oneself (pass one's own company, `None` for vendor users).
    CreateRoutePassword,
    /// Make a company's first company admin and his token: how a vendor admin hands a new
    /// company over. The operation also requires that the company has no enabled company
    /// admin yet; everything after that is the company's own.
    BootstrapCompanyAdmin,
    /// Open a window now that admits only oneself, and close it again: a support engineer's
    /// *independent opening* (SAP's semi-automatic opening, RC-13). The permit alone is not
    /// enough: the operation also requires the system's `allow_independent_opening` flag,
    /// which only the customer sets.
    OpenIndependently,
}

impl Op {
    /// Every operation, for the authorization matrix test.
    pub const ALL: [Op; 19] = [
        Op::CreateCompany,
        Op::ReadCompany,
        Op::ManageUsers,
        Op::ReadUsers,
        Op::ManageTokens,
        Op::ManageConnectors,
        Op::ReadConnectors,
        Op::ReadSystems,
        Op::MaintainSystems,
        Op::OperateConnections,
        Op::ManageGrants,
        Op::MaintainAccessData,
        Op::ReadAudit,
        Op::ReadLogBook,
        Op::OpenSession,
        Op::KeepFavourites,
        Op::CreateRoutePassword,
        Op::BootstrapCompanyAdmin,
        Op::OpenIndependently,
    ];
}

/// Proof that [`authorize`] allowed `op` on `company` for an actor. Only this module makes
/// one; operations take it as an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    op: Op,
    company: Option<Id>,
    user_id: Id,
}

impl Permit {
    /// The operation allowed.
    pub fn op(&self) -> Op {
        self.op
    }
    /// The company it is about (`None`: vendor-wide, e.g. a vendor admin listing all).
    pub fn company(&self) -> Option<Id> {
        self.company
    }
    /// Who it was given to.
    pub fn user_id(&self) -> Id {
        self.user_id
    }
}

/// Why an operation is not allowed, or a role or authorization is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthzError {
    /// The role never may.
    #[error("the role {role} may not {op:?}")]
    RoleDenied {
        /// The actor's role.
        role: Role,
        /// The operation.
        op: Op,
    },
    /// A company user lacks the authorization the operation needs.
    #[error("this needs the authorization {0}, which a super administrator of the company grants")]
    MissingAuthorization(Authorization),
    /// The data belongs to another company (reported without saying whether it exists).
    #[error("not found")]
    OtherCompany,
    /// A company role was given without a company.
    #[error("the role {0} belongs to a company; name one")]
    NeedsCompany(Role),
    /// A vendor role was given with a company.
    #[error("the role {0} is a vendor role and has no company")]
    VendorRole(Role),
    /// Unknown authorization name.
    #[error("unknown authorization {0:?} (one of: open_service_connections, maintain_system_data, maintain_access_data)")]
    UnknownAuthorization(String),
}

/// Decides whether `actor` may do `op` on data of `company` (`None`: vendor-wide data, or a
/// listing across companies). Returns the [`Permit`] or why not.
pub fn authorize(actor: &Actor, op: Op, company: Option<Id>) -> Result<Permit, AuthzError> {
    let permit = Permit {
        op,
        company,
        user_id: actor.user_id,
    };
    let deny = || {
        Err(AuthzError::RoleDenied {
            role: actor.role,
            op,
        })
    };
    // Company roles: only their own company, never vendor-wide data.
    if let Some(own) = actor.company_id {
        if company != Some(own) {
            return Err(AuthzError::OtherCompany);
        }
    }
    let need = |a: Authorization| {
        if actor.holds(a) {
            Ok(permit)
        } else if actor.role == Role::CompanyUser {
            Err(AuthzError::MissingAuthorization(a))
        } else {
            deny()
        }
    };
    match (actor.role, op) {
        // A vendor admin opens no sessions, so a window for himself alone means nothing.
        (Role::VendorAdmin, Op::OpenSession | Op::MaintainAccessData | Op::OpenIndependently) => {
            deny()
        }
        // The customer's key (module docs): nothing on a company's data that opens a way in
        // or makes a credential, but its first admin.
        (
            Role::VendorAdmin,
            Op::OperateConnections
            | Op::ManageGrants
            | Op::ManageUsers
            | Op::ManageTokens
            | Op::ManageConnectors
            | Op::MaintainSystems,
        ) if company.is_some() => deny(),
        (Role::VendorAdmin, Op::BootstrapCompanyAdmin) if company.is_none() => deny(),
        (Role::VendorAdmin, _) => Ok(permit),

        (Role::SupportEngineer, Op::ReadCompany | Op::ReadSystems | Op::ReadConnectors) => {
            Ok(permit)
        }
        (
            Role::SupportEngineer,
            Op::OpenSession | Op::KeepFavourites | Op::CreateRoutePassword | Op::OpenIndependently,
        ) => Ok(permit),
        (Role::SupportEngineer, _) => deny(),

        (
            Role::Auditor,
            Op::ReadAudit
            | Op::ReadLogBook
            | Op::ReadCompany
            | Op::ReadSystems
            | Op::CreateRoutePassword,
        ) => Ok(permit),
        (Role::Auditor, _) => deny(),

        // A company opens its windows with OperateConnections; independent opening is the
        // vendor engineer's.
        (
            Role::CompanyAdmin | Role::CompanyUser,
            Op::CreateCompany | Op::OpenSession | Op::OpenIndependently | Op::BootstrapCompanyAdmin,
        ) => deny(),
        (Role::CompanyAdmin, _) => Ok(permit),
        (
            Role::CompanyUser,
            Op::ReadCompany
            | Op::ReadUsers
            | Op::ReadConnectors
            | Op::ReadSystems
            | Op::ReadLogBook
            | Op::KeepFavourites
            | Op::CreateRoutePassword,
        ) => Ok(permit),
        (Role::CompanyUser, Op::MaintainSystems) => need(Authorization::MaintainSystemData),
        (Role::CompanyUser, Op::OperateConnections) => need(Authorization::OpenServiceConnections),
        (Role::CompanyUser, Op::MaintainAccessData) => need(Authorization::MaintainAccessData),
        (Role::CompanyUser, _) => deny(),

        (Role::Technical, Op::OpenSession | Op::ReadSystems) => Ok(permit),
        // Not CreateRoutePassword: see the module docs.
        (Role::Technical, _) => deny(),
    }
}

#[cfg(test)]
mod tests;
