//! Backup and restore of a connector: one file holding its configuration file and every file
//! [`ConnectorDataDir::backed_up`] names, encrypted with a password.
//!
//! The file is an [age](https://age-encryption.org) file with one scrypt (passphrase)
//! recipient: a small, reviewed format that tools other than Portcullis can open (`age -d`),
//! so an operator is never locked out of his own backup. Inside is a tar archive: the
//! configuration file (`config/connector.toml`), the data files (`data/…`), and last the
//! [`Manifest`] (`manifest.json`) with every file's size and SHA-256.
//!
//! Restore changes nothing until everything checked out: it decrypts into a directory next
//! to the data directory, checks each file against the manifest, the manifest against the
//! running binary's version, and the restored audit log's hash chain; only then does it
//! rename the directory into place and replace the configuration file.
//!
//! # Layout
//! - [`manifest`]: [`Manifest`], what the archive holds, and its checks (format, version,
//!   component, every file's hash, safe paths).
//! - `seal` (private): the age encryption around the archive; [`encrypt_all`] and
//!   [`decrypt_all`] for tools and tests.
//! - `write` (private): making a backup of a running connector consistently.
//! - `restore` (private): checking a backup and putting it in place.

use std::path::PathBuf;

use crate::audit::AuditError;
use crate::config::ConfigError;

pub mod manifest;
mod restore;
mod seal;
mod write;

pub use manifest::{FileEntry, Manifest, ManifestError, COMPONENT, FORMAT_VERSION};
pub use restore::{restore, RestoreOptions, Restored};
pub use seal::{decrypt_all, encrypt_all};
pub use write::{backup, BackupSummary};

#[allow(unused_imports)] // for the docs
use crate::data_dir::ConnectorDataDir;

/// The name of the manifest inside the archive (its last entry).
pub const MANIFEST_NAME: &str = "manifest.json";
/// Where the configuration file lies inside the archive.
pub const CONFIG_NAME: &str = "config/connector.toml";
/// The directory of the data files inside the archive.
pub const DATA_PREFIX: &str = "data/";

/// The password a backup is encrypted with. Never empty; masked in `Debug`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Takes a password; refuses an empty one (a backup anyone can open is no backup of
    /// private keys one should keep).
    pub fn new(password: impl Into<String>) -> Result<Password, BackupError> {
        let p = password.into();
        if p.is_empty() {
            return Err(BackupError::EmptyPassword);
        }
        Ok(Password(p))
    }

    pub(crate) fn secret(&self) -> age::secrecy::SecretString {
        age::secrecy::SecretString::from(self.0.clone())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Why a backup could not be made or restored. Restore changed nothing in every case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The password is empty.
    #[error("the backup password is empty; give a non-empty one")]
    EmptyPassword,
    /// The configuration file does not load.
    #[error("the connector configuration does not load: {0}")]
    Config(#[source] ConfigError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The password does not open the file, or the file is no age file at all.
    #[error("wrong password or not a Portcullis backup")]
    WrongPasswordOrNotBackup,
    /// The encrypted payload does not authenticate: bytes were changed, or it is cut short.
    #[error("the backup file is damaged or was altered: its encrypted content does not check out")]
    Damaged,
    /// The archive inside does not match its manifest, or the manifest is not acceptable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The restored audit log's hash chain is broken.
    #[error("the audit log in the backup does not verify: {0}")]
    AuditChain(#[source] AuditError),
    /// The data directory holds files and `--force` was not given.
    #[error(
        "{} is not empty; restore over it only with --force (its files are replaced)",
        path.display()
    )]
    NotEmpty {
        /// The data directory.
        path: PathBuf,
    },
    /// The configuration file exists and `--force` was not given.
    #[error("{} exists; restore over it only with --force (it is replaced)", path.display())]
    ConfigExists {
        /// The configuration file.
        path: PathBuf,
    },
    /// A connector runs on the data directory (its admin socket answers): replacing its
    /// files under it would mix two states. `--force` does not override this.
    #[error(
        "a connector is running on {} (its admin socket answers); stop it before restoring",
        path.display()
    )]
    Running {
        /// The data directory.
        path: PathBuf,
    },
}

impl BackupError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.into();
        move |source| BackupError::Io { path, source }
    }
}
