//! [`ConnectorDataDir`]: every file the connector keeps in its data directory, named in one
//! place.
//!
//! Backup and restore, the admin UI's security checks and the docs need exactly this list;
//! code that reads or writes one of these files asks this type for its path. The names are
//! here ([`names`]), and the modules that own each file's format re-export theirs; this module
//! imports none of them, so every module can use it.

use std::path::{Path, PathBuf};

use names::*;

/// The names of the files and directories under `data_dir`.
pub mod names {
    /// Directory holding the identity.
    pub const IDENTITY_DIR: &str = "identity";
    /// Client certificate file name (in [`IDENTITY_DIR`]).
    pub const CERT_FILE: &str = "client.pem";
    /// Private key file name (in [`IDENTITY_DIR`]).
    pub const KEY_FILE: &str = "client.key";
    /// Hub CA file name (in [`IDENTITY_DIR`]).
    pub const CA_FILE: &str = "ca.pem";
    /// A renewed certificate and its key, not yet in use (in [`IDENTITY_DIR`]).
    pub const RENEWED_FILE: &str = "renewed.json";
    /// Enrolment facts file name (in [`IDENTITY_DIR`]).
    pub const ENROLLMENT_FILE: &str = "enrollment.json";
    /// The key of an enrolment under way (in [`IDENTITY_DIR`]).
    pub const PENDING_ENROLLMENT_FILE: &str = "enroll-pending.json";
    /// The hash-chained audit log.
    pub const AUDIT_FILE: &str = "audit.log";
    /// Window closes made at the connector that the hub has not confirmed.
    pub const CLOSED_WINDOWS_FILE: &str = "closed-windows.json";
    /// Where added back-end CA certificates are kept.
    pub const TRUST_DIR: &str = "trust";
    /// The local admin socket.
    pub const SOCKET_FILE: &str = "connector.sock";
    /// The last 24 hours of hardware samples (monitoring).
    pub const HARDWARE_HISTORY_FILE: &str = "hardware-history.json";
    /// Alerts raised and deliveries not yet made.
    pub const ALERTS_FILE: &str = "alerts.json";
    /// Usage per virtual host and resource (monitoring).
    pub const USAGE_FILE: &str = "usage.json";
    /// Directory of the admin UI's files.
    pub const ADMIN_DIR: &str = "admin";
    /// The admin UI's certificate (in [`ADMIN_DIR`]).
    pub const UI_CERT_FILE: &str = "ui-cert.pem";
    /// The admin UI's private key (in [`ADMIN_DIR`]).
    pub const UI_KEY_FILE: &str = "ui-key.pem";
    /// The admin UI's users (in [`ADMIN_DIR`]).
    pub const USERS_FILE: &str = "users.json";
    /// The logon-screen text (in [`ADMIN_DIR`]).
    pub const LOGON_TEXT_FILE: &str = "logon-text.html";
    /// The one-time initial password of `Administrator` (in [`ADMIN_DIR`]), removed when it
    /// is changed.
    pub const INITIAL_PASSWORD_FILE: &str = "initial-password";
}

/// The connector's data directory (mode 0700) and the files in it (each 0600).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorDataDir {
    root: PathBuf,
}

impl ConnectorDataDir {
    /// The data directory at `root` (the configuration's `data_dir`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ConnectorDataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The enrolled identity's directory.
    pub fn identity(&self) -> PathBuf {
        self.root.join(IDENTITY_DIR)
    }

    /// The client certificate the hub issued.
    pub fn client_cert(&self) -> PathBuf {
        self.identity().join(CERT_FILE)
    }

    /// The client certificate's private key.
    pub fn client_key(&self) -> PathBuf {
        self.identity().join(KEY_FILE)
    }

    /// The hub CA, pinned at enrolment.
    pub fn hub_ca(&self) -> PathBuf {
        self.identity().join(CA_FILE)
    }

    /// What the enrolment said (company, location, connector id, tunnel address).
    pub fn enrollment(&self) -> PathBuf {
        self.identity().join(ENROLLMENT_FILE)
    }

    /// The key of an enrolment redeemed but not yet stored (retried with the same token).
    pub fn pending_enrollment(&self) -> PathBuf {
        self.identity().join(PENDING_ENROLLMENT_FILE)
    }

    /// The hash-chained audit log.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join(AUDIT_FILE)
    }

    /// Window closes made at the connector that the hub has not confirmed.
    pub fn closed_windows(&self) -> PathBuf {
        self.root.join(CLOSED_WINDOWS_FILE)
    }

    /// The trust store of back-end CAs (one PEM file per trusted certificate).
    pub fn trust(&self) -> PathBuf {
        self.root.join(TRUST_DIR)
    }

    /// The last 24 hours of hardware samples.
    pub fn hardware_history(&self) -> PathBuf {
        self.root.join(HARDWARE_HISTORY_FILE)
    }

    /// Usage statistics per virtual host and resource.
    pub fn usage(&self) -> PathBuf {
        self.root.join(USAGE_FILE)
    }

    /// The local admin socket (made at start, not backed up).
    pub fn admin_socket(&self) -> PathBuf {
        self.root.join(SOCKET_FILE)
    }

    /// The admin UI's directory.
    pub fn admin(&self) -> PathBuf {
        self.root.join(ADMIN_DIR)
    }

    /// The admin UI's certificate (self-signed, made at the first start).
    pub fn ui_cert(&self) -> PathBuf {
        self.admin().join(UI_CERT_FILE)
    }

    /// The admin UI's private key.
    pub fn ui_key(&self) -> PathBuf {
        self.admin().join(UI_KEY_FILE)
    }

    /// The admin UI's users and their password hashes.
    pub fn users(&self) -> PathBuf {
        self.admin().join(USERS_FILE)
    }

    /// The logon-screen text an Administrator set, as typed.
    pub fn logon_text(&self) -> PathBuf {
        self.admin().join(LOGON_TEXT_FILE)
    }

    /// The one-time initial password of `Administrator` (until it is changed; not backed up).
    pub fn initial_password(&self) -> PathBuf {
        self.admin().join(INITIAL_PASSWORD_FILE)
    }

    /// A renewed client certificate and its key, waiting for the next connection.
    pub fn renewed(&self) -> PathBuf {
        self.identity().join(RENEWED_FILE)
    }

    /// The alert book: alerts raised and deliveries not yet made.
    pub fn alerts(&self) -> PathBuf {
        self.root.join(ALERTS_FILE)
    }

    /// What a backup holds: every file above but the socket, and the trust store's directory
    /// (all files in it). Set-aside files (`audit.log.torn-*`, `closed-windows.json.corrupt-*`)
    /// are the operator's to keep or drop.
    pub fn backed_up(&self) -> Vec<PathBuf> {
        vec![
            self.client_cert(),
            self.client_key(),
            self.hub_ca(),
            self.enrollment(),
            self.renewed(),
            self.pending_enrollment(),
            self.audit_log(),
            self.closed_windows(),
            self.trust(),
            self.hardware_history(),
            self.usage(),
            self.alerts(),
            self.ui_cert(),
            self.ui_key(),
            self.users(),
            self.logon_text(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_inside_the_directory_and_named_once() {
        let d = ConnectorDataDir::new("/var/lib/portcullis-connector");
        let mut all = d.backed_up();
        all.push(d.admin_socket());
        all.push(d.initial_password());
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        assert!(all.iter().all(|f| f.starts_with(d.root())));
        assert_eq!(
            d.audit_log(),
            PathBuf::from("/var/lib/portcullis-connector/audit.log")
        );
        assert_eq!(
            d.client_key(),
            PathBuf::from("/var/lib/portcullis-connector/identity/client.key")
        );
    }
}
