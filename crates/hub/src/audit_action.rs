//! [`AuditAction`]: every action the hub writes to its audit log, as one enum.
//!
//! The stored `action` field is the enum's [`code`](AuditAction::code) (`window.opened`); the
//! catalogue of every action, who writes it and its fields is `docs/audit.md`. A test there
//! keeps the two in step ([`AuditAction::ALL`]).

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditAction {
    /// A vendor admin created a customer company.
    CompanyCreated,
    /// A user was created.
    UserCreated,
    /// A user's authorizations were changed.
    UserAuthorizationsChanged,
    /// A user was disabled, with every token of his.
    UserDisabled,
    /// An admin set a user's one-time password (at creation or as a reset).
    UserPasswordSet,
    /// A user changed his own password.
    UserPasswordChanged,
    /// A user turned his second factor on.
    UserTotpEnabled,
    /// A user turned his second factor off.
    UserTotpDisabled,
    /// An admin removed a user's second factor.
    UserTotpReset,
    /// A company's super administrator made the second factor mandatory, or not.
    CompanyTotpRequirement,
    /// A company's super administrator set the company's OpenID Connect sign-in.
    CompanyOidcSet,
    /// A company's super administrator removed the company's OpenID Connect sign-in.
    CompanyOidcRemoved,
    /// A user signed in to the portal.
    UserSignedIn,
    /// A sign-in to the portal failed (wrong name or password, disabled, slowed down).
    UserSignInFailed,
    /// A user signed out of the portal.
    UserSignedOut,
    /// An API token was created (also the bootstrap admin token).
    TokenCreated,
    /// An API token was revoked (and the route passwords made with it).
    TokenRevoked,
    /// A dialog user made a route password for himself.
    RoutePasswordCreated,
    /// A connector was registered.
    ConnectorCreated,
    /// A new one-time enrolment token was issued for a connector.
    ConnectorEnrollmentToken,
    /// A connector enrolled (or re-enrolled) and got its certificate.
    ConnectorEnrolled,
    /// A connector renewed its client certificate over its tunnel.
    ConnectorRenewed,
    /// A connector was revoked and its tunnel cut.
    ConnectorRevoked,
    /// A system was created.
    SystemCreated,
    /// A system's data was changed.
    SystemUpdated,
    /// A system was deleted.
    SystemDeleted,
    /// A company's own connection type was created.
    ConnectionTypeCreated,
    /// A company's own connection type was deleted.
    ConnectionTypeDeleted,
    /// A service connection was set up.
    ServiceConnectionCreated,
    /// A service connection was deleted.
    ServiceConnectionDeleted,
    /// A window was opened now.
    WindowOpened,
    /// A window was reserved for later.
    WindowReserved,
    /// A reserved window's start came: it is open now.
    WindowReservationOpened,
    /// A window was edited (end, start, contact, engineers).
    WindowEdited,
    /// A window was closed (by the customer, an engineer on his own, or at the connector).
    WindowClosed,
    /// A window reached its end.
    WindowExpired,
    /// A technical user got a standing grant.
    GrantCreated,
    /// A standing grant was revoked.
    GrantRevoked,
    /// A session was refused before it reached a connector.
    SessionRefused,
    /// A session started.
    SessionStart,
    /// A session ended.
    SessionEnd,
    /// A customer administrator cut a live session.
    SessionCut,
    /// A connector's tunnel came up.
    TunnelConnected,
    /// A connector's tunnel went down.
    TunnelDisconnected,
    /// A connector's tunnel was refused (revoked, too old …).
    TunnelRefused,
    /// A browser signed in to the web entry with a one-time link.
    WebLogin,
    /// A one-time web-entry link was handed out.
    WebLinkCreated,
    /// Someone checked the audit chain.
    AuditVerified,
    /// Someone exported the audit log.
    AuditExported,
}

impl AuditAction {
    /// Every action, for the catalogue test.
    pub const ALL: [AuditAction; 49] = [
        AuditAction::CompanyCreated,
        AuditAction::UserCreated,
        AuditAction::UserAuthorizationsChanged,
        AuditAction::UserDisabled,
        AuditAction::UserPasswordSet,
        AuditAction::UserPasswordChanged,
        AuditAction::UserTotpEnabled,
        AuditAction::UserTotpDisabled,
        AuditAction::UserTotpReset,
        AuditAction::CompanyTotpRequirement,
        AuditAction::CompanyOidcSet,
        AuditAction::CompanyOidcRemoved,
        AuditAction::UserSignedIn,
        AuditAction::UserSignInFailed,
        AuditAction::UserSignedOut,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::RoutePasswordCreated,
        AuditAction::ConnectorCreated,
        AuditAction::ConnectorEnrollmentToken,
        AuditAction::ConnectorEnrolled,
        AuditAction::ConnectorRenewed,
        AuditAction::ConnectorRevoked,
        AuditAction::SystemCreated,
        AuditAction::SystemUpdated,
        AuditAction::SystemDeleted,
        AuditAction::ConnectionTypeCreated,
        AuditAction::ConnectionTypeDeleted,
        AuditAction::ServiceConnectionCreated,
        AuditAction::ServiceConnectionDeleted,
        AuditAction::WindowOpened,
        AuditAction::WindowReserved,
        AuditAction::WindowReservationOpened,
        AuditAction::WindowEdited,
        AuditAction::WindowClosed,
        AuditAction::WindowExpired,
        AuditAction::GrantCreated,
        AuditAction::GrantRevoked,
        AuditAction::SessionRefused,
        AuditAction::SessionStart,
        AuditAction::SessionEnd,
        AuditAction::SessionCut,
        AuditAction::TunnelConnected,
        AuditAction::TunnelDisconnected,
        AuditAction::TunnelRefused,
        AuditAction::WebLogin,
        AuditAction::WebLinkCreated,
        AuditAction::AuditVerified,
        AuditAction::AuditExported,
    ];

    /// The stored name, `<object>.<verb>`.
    pub fn code(self) -> &'static str {
        use AuditAction::*;
        match self {
            CompanyCreated => "company.created",
            UserCreated => "user.created",
            UserAuthorizationsChanged => "user.authorizations_changed",
            UserDisabled => "user.disabled",
            UserPasswordSet => "user.password_set",
            UserPasswordChanged => "user.password_changed",
            UserTotpEnabled => "user.totp_enabled",
            UserTotpDisabled => "user.totp_disabled",
            UserTotpReset => "user.totp_reset",
            CompanyTotpRequirement => "company.totp_requirement",
            CompanyOidcSet => "company.oidc_set",
            CompanyOidcRemoved => "company.oidc_removed",
            UserSignedIn => "user.signed_in",
            UserSignInFailed => "user.sign_in_failed",
            UserSignedOut => "user.signed_out",
            TokenCreated => "token.created",
            TokenRevoked => "token.revoked",
            RoutePasswordCreated => "route_password.created",
            ConnectorCreated => "connector.created",
            ConnectorEnrollmentToken => "connector.enrollment_token",
            ConnectorEnrolled => "connector.enrolled",
            ConnectorRenewed => "connector.renewed",
            ConnectorRevoked => "connector.revoked",
            SystemCreated => "system.created",
            SystemUpdated => "system.updated",
            SystemDeleted => "system.deleted",
            ConnectionTypeCreated => "connection_type.created",
            ConnectionTypeDeleted => "connection_type.deleted",
            ServiceConnectionCreated => "service_connection.created",
            ServiceConnectionDeleted => "service_connection.deleted",
            WindowOpened => "window.opened",
            WindowReserved => "window.reserved",
            WindowReservationOpened => "window.reservation_opened",
            WindowEdited => "window.edited",
            WindowClosed => "window.closed",
            WindowExpired => "window.expired",
            GrantCreated => "grant.created",
            GrantRevoked => "grant.revoked",
            SessionRefused => "session.refused",
            SessionStart => "session.start",
            SessionEnd => "session.end",
            SessionCut => "session.cut",
            TunnelConnected => "tunnel.connected",
            TunnelDisconnected => "tunnel.disconnected",
            TunnelRefused => "tunnel.refused",
            WebLogin => "web.login",
            WebLinkCreated => "web.link_created",
            AuditVerified => "audit.verified",
            AuditExported => "audit.exported",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_shaped_object_dot_verb() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            let code = a.code();
            assert!(seen.insert(code), "duplicate {code}");
            let (object, verb) = code.split_once('.').expect("object.verb");
            let ok =
                |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            assert!(ok(object) && ok(verb), "{code}");
        }
    }

    /// The catalogue in `docs/audit.md` names every action the hub writes.
    #[test]
    fn docs_catalogue_names_every_action() {
        let doc = include_str!("../../../docs/audit.md");
        let missing: Vec<_> = AuditAction::ALL
            .iter()
            .map(|a| a.code())
            .filter(|c| !doc.contains(&format!("`{c}`")))
            .collect();
        assert!(missing.is_empty(), "docs/audit.md lacks {missing:?}");
    }
}
