//! Restoring a connector's backup: `portcullis_backup::restore` extracts and checks it next
//! to the data directory; this module says where that directory is (from the configuration
//! in the backup), refuses while a connector runs on it, verifies the restored audit log, and
//! writes the configuration file after the data directory is in place. Any refusal leaves the
//! data directory and the configuration file as they were.

use std::path::{Path, PathBuf};

use portcullis_backup::restore::{extract, refuse_if_in_use, write_config, Spec, Target};

use super::manifest::{Manifest, ManifestError};
use super::{BackupError, Password, COMPONENT, CONFIG_NAME};
use crate::config::{base_dir_of, ConnectorConfig};
use crate::data_dir::ConnectorDataDir;

/// Where and how to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup file.
    pub from: PathBuf,
    /// Where the configuration file is written. Its `data_dir` (relative paths resolve
    /// against this file's directory) receives the data files.
    pub config: PathBuf,
    /// Another data directory than the backed-up configuration names (a fresh host with
    /// another layout); written into the restored configuration.
    pub data_dir: Option<PathBuf>,
    /// Replace a data directory with files in it, and an existing configuration file.
    pub force: bool,
}

/// What a restore put in place.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// The data directory written.
    pub data_dir: PathBuf,
    /// Records in the restored audit log (its chain verified).
    pub audit_records: u64,
}

/// Restores the backup `opts.from`, opened with `password`. `progress` is told the bytes
/// extracted so far.
pub fn restore(
    opts: &RestoreOptions,
    password: &Password,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, BackupError> {
    let spec = Spec {
        from: &opts.from,
        component: COMPONENT,
        config_name: CONFIG_NAME,
        config_required: true,
    };
    let running = semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("our own version");
    let decide =
        |text: Option<String>| {
            let text = text.unwrap_or_default();
            let text = match &opts.data_dir {
                Some(d) => with_data_dir(&text, d)?,
                None => text,
            };
            let config = ConnectorConfig::from_toml_str(&text, &base_dir_of(&opts.config))
                .map_err(|e| BackupError::Config {
                    component: COMPONENT,
                    source: e.into(),
                })?;
            let data_dir = config.data_dir.clone();
            refuse_if_running(&data_dir)?;
            if !opts.force {
                refuse_if_in_use(&data_dir, Some(&opts.config))?;
            }
            Ok(Target {
                data_dir,
                keep: text,
            })
        };
    let extracted = extract(spec, password, &running, decide, progress)?;
    let staged_audit = ConnectorDataDir::new(extracted.staged()).audit_log();
    let audit_records = if staged_audit.exists() {
        crate::audit::verify_file(&staged_audit).map_err(|e| BackupError::AuditChain(e.into()))?
    } else {
        0
    };

    refuse_if_running(&extracted.data_dir)?;
    let (manifest, data_dir, config_text) = extracted.put_in_place()?;
    write_config(&opts.config, &config_text)?;
    Ok(Restored {
        manifest,
        data_dir,
        audit_records,
    })
}

/// Refuses while a connector runs on `data_dir`: its admin socket accepts a connection.
fn refuse_if_running(data_dir: &Path) -> Result<(), BackupError> {
    let socket = ConnectorDataDir::new(data_dir).admin_socket();
    #[cfg(unix)]
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Err(BackupError::Running {
            component: COMPONENT,
            path: data_dir.to_path_buf(),
            how: "its admin socket answers",
        });
    }
    Ok(())
}

/// The configuration text with `data_dir` set to `dir` (absolute), the rest as it was.
fn with_data_dir(text: &str, dir: &Path) -> Result<String, BackupError> {
    let abs = std::path::absolute(dir).map_err(BackupError::io(dir))?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|_| {
        BackupError::from(ManifestError::NotAManifest(
            "the configuration is not TOML".into(),
        ))
    })?;
    doc["data_dir"] = toml_edit::value(abs.to_string_lossy().into_owned());
    Ok(doc.to_string())
}
