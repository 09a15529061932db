//! The configuration file as the admin edits (access entries, trust store) read and rewrite
//! it: read the text, check that a changed text still loads, replace the file atomically.
//! The reload watcher then puts the change in force.

use std::path::{Path, PathBuf};

use crate::local::protocol::{error, ErrorCode, Response};
use crate::shared::Shared;

/// The configuration file's path and text; `Err` when the connector runs without one or it
/// cannot be read.
pub(crate) async fn read_config(shared: &Shared) -> Result<(PathBuf, String), String> {
    let path = shared
        .config_path
        .clone()
        .ok_or("this connector runs without a configuration file; nothing to edit")?;
    let text = tokio::fs::read_to_string(&path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((path, text))
}

/// Checks that `new` loads as a configuration (its `[backend_tls]` files too, so the reload
/// puts it in force) and replaces the file at `path` with it atomically.
pub(crate) async fn write_config(path: &Path, new: &str) -> Result<(), Response> {
    let base = crate::config::base_dir_of(path);
    let loaded = crate::config::ConnectorConfig::from_toml_str(new, &base)
        .map_err(|e| e.to_string())
        .and_then(|c| {
            crate::backend_tls::BackendTls::load(&c.backend_tls)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = loaded {
        return Err(error(
            ErrorCode::EditRefused,
            &format!("the configuration would not load, nothing changed: {e}"),
        ));
    }
    let tmp = path.with_extension("toml.edit");
    let write = async {
        tokio::fs::write(&tmp, new).await?;
        if let Ok(meta) = tokio::fs::metadata(path).await {
            tokio::fs::set_permissions(&tmp, meta.permissions()).await?;
        }
        tokio::fs::rename(&tmp, path).await
    };
    if let Err(e) = write.await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(error(
            ErrorCode::EditRefused,
            &format!("cannot write {}: {e}", path.display()),
        ));
    }
    Ok(())
}
