//! A backup of the running connector, made for the admin UI and the REST API: the same file
//! `portcullis connector backup` writes ([`crate::backup::backup`]), handed back as bytes.
//!
//! Made in a temporary file in the data directory (not among the files a backup holds), which
//! is opened and then removed: the answer streams from the open file, so a large audit log
//! never sits in memory and nothing is left behind whatever happens to the request. Audited as
//! `admin.settings` `backup_made` with who asked, the files and bytes it holds (never the
//! password).

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
    /// The encrypted file, open and already removed from the directory.
    pub file: std::fs::File,
    /// Its length, bytes.
    pub len: u64,
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
            let io = |source| BackupError::Io {
                path: out.clone(),
                source,
            };
            let file = std::fs::File::open(&out).map_err(io)?;
            let len = file.metadata().map_err(io)?.len();
            std::fs::remove_file(&out).map_err(io)?;
            Ok(Made {
                file,
                len,
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
            "by": caller.by, "via": caller.via, "files": made.files, "bytes": made.len,
        }),
    );
    ev.principal = Some(caller.by.clone());
    shared.audit.record_or_log(ev);
    Ok(made)
}
