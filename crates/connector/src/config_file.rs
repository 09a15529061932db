//! The configuration file as the admin edits (access entries, trust store) read and rewrite
//! it: read the text, check that a changed text still loads, replace the file atomically.
//! The reload watcher then puts the change in force.

use std::path::{Path, PathBuf};

use crate::backend_tls::{BackendTls, BackendTlsError};
use crate::config::{base_dir_of, ConfigError, ConnectorConfig};

/// Why the configuration file could not be read or rewritten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The connector was started from a configuration built in code.
    #[error("this connector runs without a configuration file; nothing to edit")]
    NoFile,
    /// Reading the file failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The changed text is not a valid configuration; the file was left as it was.
    #[error("the configuration would not load, nothing changed: {0}")]
    WouldNotLoad(#[source] ConfigError),
    /// The changed `[backend_tls]` names files that do not load; the file was left as it was.
    #[error("the configuration would not load, nothing changed: {0}")]
    BackendTlsWouldNotLoad(#[source] BackendTlsError),
    /// Writing or renaming the new file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The configuration file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The configuration file (`path`, as the connector was started with it) and its text.
pub(crate) async fn read_config(path: Option<&Path>) -> Result<(PathBuf, String), ConfigFileError> {
    let path = path.ok_or(ConfigFileError::NoFile)?.to_path_buf();
    match tokio::fs::read_to_string(&path).await {
        Ok(text) => Ok((path, text)),
        Err(source) => Err(ConfigFileError::Read { path, source }),
    }
}

/// Checks that `new` loads as a configuration (its `[backend_tls]` files too, so the reload
/// puts it in force) and replaces the file at `path` with it atomically.
pub(crate) async fn write_config(path: &Path, new: &str) -> Result<(), ConfigFileError> {
    let config = ConnectorConfig::from_toml_str(new, &base_dir_of(path))
        .map_err(ConfigFileError::WouldNotLoad)?;
    BackendTls::load(&config.backend_tls).map_err(ConfigFileError::BackendTlsWouldNotLoad)?;
    let tmp = path.with_extension("toml.edit");
    let write = async {
        tokio::fs::write(&tmp, new).await?;
        if let Ok(meta) = tokio::fs::metadata(path).await {
            tokio::fs::set_permissions(&tmp, meta.permissions()).await?;
        }
        tokio::fs::rename(&tmp, path).await
    };
    if let Err(source) = write.await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(ConfigFileError::Write {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}
