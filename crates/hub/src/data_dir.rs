//! [`HubDataDir`]: every file the hub keeps in its data directory, named in one place.
//!
//! Backup and restore, permission checks and the docs need exactly this list; code that
//! reads or writes one of these files asks this type for its path instead of joining names
//! of its own.

use std::path::{Path, PathBuf};

use portcullis_store::StoreConfig;

/// The hub's data directory (mode 0700) and the files in it (each 0600).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubDataDir {
    root: PathBuf,
}

impl HubDataDir {
    /// The data directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        HubDataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database (with its `-wal` and `-shm` companions): every object, token hash
    /// and the audit chain.
    pub fn database(&self) -> PathBuf {
        self.root.join("hub.db")
    }

    /// The store the hub uses when the configuration names no other: SQLite in
    /// [`database`](Self::database).
    pub fn default_store(&self) -> StoreConfig {
        StoreConfig::Sqlite {
            path: self.database(),
        }
    }

    /// The PKI directory (mode 0700).
    pub fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }

    /// The hub CA's certificate, which connectors and clients trust.
    pub fn ca_cert(&self) -> PathBuf {
        self.pki().join("ca.pem")
    }

    /// The hub CA's private key.
    pub fn ca_key(&self) -> PathBuf {
        self.pki().join("ca.key")
    }

    /// The server certificate chain of the API and tunnel listeners.
    pub fn server_cert(&self) -> PathBuf {
        self.pki().join("server.pem")
    }

    /// The server certificate's private key.
    pub fn server_key(&self) -> PathBuf {
        self.pki().join("server.key")
    }

    /// The names the server certificate was made for (a change of names re-issues it).
    pub fn server_names(&self) -> PathBuf {
        self.pki().join("server-names.txt")
    }

    /// The key that seals secrets the hub stores and must read back (TOTP secrets).
    pub fn secrets_key(&self) -> PathBuf {
        self.root.join("secrets.key")
    }

    /// The first vendor-admin token, written once at the first start.
    pub fn admin_token(&self) -> PathBuf {
        self.root.join(crate::ADMIN_TOKEN_FILE)
    }

    /// The lock a running hub holds ([`crate::dir_lock`]); not backed up.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("hub.lock")
    }

    /// Every file the hub owns here, for backup: the PKI and the admin token, then the
    /// files of the store when it is local.
    pub fn files(&self, store: &StoreConfig) -> Vec<PathBuf> {
        let mut files = vec![
            self.ca_cert(),
            self.ca_key(),
            self.server_cert(),
            self.server_key(),
            self.server_names(),
            self.admin_token(),
            self.secrets_key(),
        ];
        files.extend(store.local_files());
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_inside_the_directory_and_named_once() {
        let d = HubDataDir::new("/var/lib/portcullis");
        let files = d.files(&d.default_store());
        let unique: std::collections::HashSet<_> = files.iter().collect();
        assert_eq!(unique.len(), files.len());
        assert!(files.iter().all(|f| f.starts_with(d.root())));
        assert!(files.contains(&d.database()));
        assert!(files.contains(&PathBuf::from("/var/lib/portcullis/hub.db-wal")));
    }
}
