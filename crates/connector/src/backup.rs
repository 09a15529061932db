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
//! The format, the encryption and the checks every component shares live in
//! `portcullis_backup`; this module names the connector's files and verifies its audit log.
//!
//! # Layout
//! - [`manifest`]: [`Manifest`] and its checks (from `portcullis_backup`), and [`COMPONENT`].
//! - `write` (private): making a backup of a running connector consistently.
//! - `restore` (private): checking a backup and putting it in place.

pub mod manifest;
mod restore;
mod write;

pub use manifest::{FileEntry, Manifest, ManifestError, COMPONENT, FORMAT_VERSION};
pub use portcullis_backup::write::BackupSummary;
pub use portcullis_backup::{decrypt_all, encrypt_all, BackupError, Password};
pub use portcullis_backup::{DATA_PREFIX, MANIFEST_NAME};
pub use restore::{restore, RestoreOptions, Restored};
pub use write::backup;

#[allow(unused_imports)] // for the docs
use crate::data_dir::ConnectorDataDir;

/// Where the configuration file lies inside the archive.
pub const CONFIG_NAME: &str = "config/connector.toml";
