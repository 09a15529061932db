//! Making a backup, also of a running connector.
//!
//! Consistency without stopping it: every data file but the audit log is replaced by rename,
//! so a file opened once is one whole version of it; the audit log only grows, so its bytes
//! up to the last line end seen at the start are final and a record being written is left
//! for the next backup (`portcullis_backup::write` takes only its complete lines).

use std::path::Path;

use portcullis_backup::write::{files_under, slash_path, write_backup, BackupSummary, Source};

use super::{BackupError, Password, COMPONENT, CONFIG_NAME, DATA_PREFIX};
use crate::config::ConnectorConfig;
use crate::data_dir::ConnectorDataDir;

/// Writes a backup of the connector configured by `config_path` to `out` (mode 0600; written
/// as `out.partial` and renamed, so `out` is a whole backup or not there). `progress` is told
/// the bytes archived so far as they grow.
pub fn backup(
    config_path: &Path,
    out: &Path,
    password: &Password,
    progress: &mut dyn FnMut(u64),
) -> Result<BackupSummary, BackupError> {
    let config = ConnectorConfig::load(config_path).map_err(|e| BackupError::Config {
        component: COMPONENT,
        source: e.into(),
    })?;
    let dir = ConnectorDataDir::new(&config.data_dir);
    let mut sources = vec![Source {
        name: CONFIG_NAME.to_owned(),
        path: config_path.to_path_buf(),
        append_only: false,
    }];
    for path in dir.backed_up() {
        for file in files_under(&path)? {
            let rel = file
                .strip_prefix(dir.root())
                .expect("backed_up() names paths inside the data directory");
            sources.push(Source {
                name: format!("{DATA_PREFIX}{}", slash_path(rel)),
                append_only: file == dir.audit_log(),
                path: file,
            });
        }
    }
    write_backup(out, COMPONENT, &sources, password, progress)
}
