//! What a backup of a Portcullis component is, shared by the hub and the connector: one file,
//! encrypted with a password, holding a configuration file, data files and a manifest.
//!
//! The file is an [age](https://age-encryption.org) file with one scrypt (passphrase)
//! recipient: a small, reviewed format that tools other than Portcullis can open (`age -d`),
//! so an operator is never locked out of his own backup. Inside is a tar archive: the
//! component's configuration file (`config/…`, when it has one), the data files (`data/…`),
//! and last the [`Manifest`] (`manifest.json`) naming the component (`connector` or `hub`)
//! and every file's size and SHA-256.
//!
//! This crate knows nothing of either component: which files a backup holds, how a
//! consistent copy of them is taken, and what is verified beyond the manifest (the audit
//! chain, a running instance) stay with the component (`portcullis_connector::backup`,
//! `portcullis_hub::backup`). Both depend on this crate, never on each other; it is the
//! `backup` row of the crate map (the architecture test lists it; `ARCHITECTURE.md`'s table
//! is to follow).
//!
//! # Layout
//! - [`manifest`]: [`Manifest`], what the archive holds, and its checks (format, version,
//!   component, every file's hash, safe paths).
//! - `seal` (private): the age encryption around the archive; [`encrypt_all`] and
//!   [`decrypt_all`] for tools and tests.
//! - [`write`]: writing an archive of named files, each hashed as it is read, with progress.
//! - [`restore`]: extracting into a staging directory next to the data directory, checking
//!   everything, then renaming it into place.

use std::path::PathBuf;

pub mod manifest;
pub mod restore;
mod seal;
pub mod write;

pub use manifest::{FileEntry, Manifest, ManifestError, FORMAT_VERSION};
pub use seal::{decrypt_all, encrypt_all};

/// The name of the manifest inside the archive (its last entry).
pub const MANIFEST_NAME: &str = "manifest.json";
/// The directory of the data files inside the archive.
pub const DATA_PREFIX: &str = "data/";

/// An error of a component's own (its configuration, its audit chain), carried by name.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    #[error("the {component} configuration does not load: {source}")]
    Config {
        /// `connector` or `hub`.
        component: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
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
    /// The component's database could not be copied or opened.
    #[error("the database: {0}")]
    Database(#[source] BoxError),
    /// The restored audit log's hash chain is broken.
    #[error("the audit log in the backup does not verify: {0}")]
    AuditChain(#[source] BoxError),
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
    /// The component runs on the data directory: replacing its files under it would mix two
    /// states. `--force` does not override this.
    #[error(
        "a {component} is running on {} ({how}); stop it before restoring",
        path.display()
    )]
    Running {
        /// `connector` or `hub`.
        component: &'static str,
        /// The data directory.
        path: PathBuf,
        /// How that was seen (`its admin socket answers`).
        how: &'static str,
    },
    /// What this backup cannot do, said with what to do instead.
    #[error("{0}")]
    Unsupported(String),
}

impl BackupError {
    /// Maps an I/O error on `path` (for `map_err`).
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.into();
        move |source| BackupError::Io { path, source }
    }
}
