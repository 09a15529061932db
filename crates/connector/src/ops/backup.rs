//! A backup of the running connector, made for the admin UI and the REST API: the same file
//! `portcullis connector backup` writes ([`crate::backup::backup`]), handed back as bytes.
//!
//! Made in a temporary file in the data directory (not among the files a backup holds) and
//! removed before the answer; audited as `admin.settings` `backup_made` with who asked, the
//! files and bytes it holds (never the password).

use std::path::PathBuf;

use crate::audit::{AuditAction, AuditEvent};
use crate::backup::{BackupError, Password};
use crate::shared::{LocalCaller, Shared};

/// Why no backup was made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupRefused {
    /// The password is empty.
    #[error("give a password for the backup (it cannot be opened without it)")]
    EmptyPassword,
    /// The connector runs without a configuration file: there is nothing to restore from.
    #[error("this connector runs without a configuration file; a backup needs one")]
    NoConfigFile,
    /// Writing it failed.
    #[error("the backup could not be made: {0}")]
    Failed(String),
}

/// A finished backup.
#[derive(Debug)]
pub struct Made {
    /// The encrypted file.
    pub bytes: Vec<u8>,
    /// Files in it.
    pub files: usize,
}

/// Makes a backup encrypted with `password`, as `caller`.
pub(crate) async fn make(
    shared: &Shared,
    caller: &LocalCaller,
    password: String,
) -> Result<Made, BackupRefused> {
    let password = Password::new(password).map_err(|_| BackupRefused::EmptyPassword)?;
    let config = shared
        .config_path
        .clone()
        .ok_or(BackupRefused::NoConfigFile)?;
    let dir = shared
        .outbox_path
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let out = dir.join(format!(".backup-{}.age", uuid::Uuid::new_v4().simple()));
    let made = {
        let out = out.clone();
        tokio::task::spawn_blocking(move || -> Result<Made, BackupError> {
            let summary = crate::backup::backup(&config, &out, &password, &mut |_| {})?;
            let bytes = std::fs::read(&out).map_err(|source| BackupError::Io {
                path: out.clone(),
                source,
            });
            let _ = std::fs::remove_file(&out);
            Ok(Made {
                bytes: bytes?,
                files: summary.manifest.files.len(),
            })
        })
        .await
    };
    let _ = std::fs::remove_file(&out);
    let made = made
        .map_err(|e| BackupRefused::Failed(e.to_string()))?
        .map_err(|e| BackupRefused::Failed(e.to_string()))?;
    let mut ev = AuditEvent::new(
        AuditAction::AdminSettings,
        "backup_made",
        serde_json::json!({
            "by": caller.by, "via": caller.via, "files": made.files, "bytes": made.bytes.len(),
        }),
    );
    ev.principal = Some(caller.by.clone());
    shared.audit.record_or_log(ev);
    Ok(made)
}
