//! [`Admin`]: what the admin UI's handlers share: the connector's shared state (for the
//! operations), the users, the browser sessions, the failed-logon throttle.

use std::sync::Arc;

use portcullis_webui::throttle::SignInThrottle;

use super::{sessions, users};
use crate::audit::{AuditAction, AuditEvent};
use crate::shared::Shared;

/// What the admin UI's handlers share.
#[derive(Debug, Clone)]
pub struct Admin(Arc<Inner>);

/// The admin UI's state.
#[derive(Debug)]
pub struct Inner {
    pub(crate) shared: Arc<Shared>,
    /// The users.
    pub users: users::UserStore,
    /// Live browser sessions.
    pub sessions: sessions::Sessions,
    /// Failed logons slow down (UI and API alike).
    pub throttle: SignInThrottle,
    /// The logon-screen text.
    pub logon_text: super::logon_text::LogonText,
    /// The LDAP user store (`[admin.ldap]`), if configured.
    pub directory: Option<super::ldap::Directory>,
    /// The listener's TLS: its certificate and where it lives.
    pub ui: UiTls,
}

/// The admin listener's certificate: served from `live`, kept in `dir`, and the address it
/// listens on (the security status looks at both).
#[derive(Debug)]
pub struct UiTls {
    /// The certificate served now.
    pub live: Arc<super::cert::LiveUiCert>,
    /// The data directory (its `admin/` holds the certificate and key).
    pub dir: crate::data_dir::ConnectorDataDir,
    /// The bound address.
    pub listen: std::net::SocketAddr,
}

impl std::ops::Deref for Admin {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Admin {
    /// The state of a new admin listener.
    pub(crate) fn new(
        shared: Arc<Shared>,
        users: users::UserStore,
        logon_text: super::logon_text::LogonText,
        config: &crate::config::AdminConfig,
        directory: Option<super::ldap::Directory>,
        ui: UiTls,
    ) -> Admin {
        Admin(Arc::new(Inner {
            shared,
            users,
            logon_text,
            directory,
            sessions: sessions::Sessions::new(config.idle_timeout, config.absolute_timeout),
            ui,
            throttle: Default::default(),
        }))
    }
}

impl Admin {
    /// Records an admin-UI event in the connector's audit log: `admin.signin` (ok, denied)
    /// or `admin.user` (password_changed), with the user, the door and the address.
    pub(crate) fn audit(
        &self,
        action: AuditAction,
        outcome: &str,
        user: &str,
        via: &str,
        from: std::net::SocketAddr,
    ) {
        let mut ev = AuditEvent::new(
            action,
            outcome,
            serde_json::json!({ "user": user, "via": via, "from": from.ip().to_string() }),
        );
        ev.principal = Some(user.to_owned());
        self.shared.audit.record_or_log(ev);
    }
}
