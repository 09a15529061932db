//! [`StoreConfig`] and [`open`]: the one place that picks a backend.
//!
//! The hub is handed an `Arc<dyn Store>`; which backend stands behind it is decided here, from
//! configuration, and nowhere else. SQLite (one file) is the embedded default; a PostgreSQL
//! URL for hubs of several nodes is the next variant, and only this module and its backend
//! will change when it comes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{SqliteStore, Store, StoreError};

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfig {
    /// A SQLite database file (created if missing, its directory must exist). The file and
    /// its `-wal`/`-shm` companions are kept readable by their owner only.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
}

impl StoreConfig {
    /// The files this store keeps on the local disk (for backups and permission checks);
    /// empty for a store behind a network address.
    pub fn local_files(&self) -> Vec<PathBuf> {
        match self {
            StoreConfig::Sqlite { path } => sqlite_files(path).to_vec(),
        }
    }
}

fn sqlite_files(db: &Path) -> [PathBuf; 3] {
    [
        db.to_path_buf(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ]
}

/// Opens the store `config` names, applying pending migrations.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Sqlite { path } => {
            private_files(path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
            Ok(Arc::new(SqliteStore::open(path).await?))
        }
    }
}

/// The database and its WAL hold token hashes and the audit log: 0600 from the first byte
/// (SQLite gives `-wal` and `-shm` the database file's mode), also for older installs whose
/// files were made with a wider mode.
fn private_files(db: &Path) -> std::io::Result<()> {
    for (i, f) in sqlite_files(db).iter().enumerate() {
        if i > 0 && !f.exists() {
            continue;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            opts.mode(0o600);
            opts.open(f)?;
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600))?;
        }
        #[cfg(not(unix))]
        opts.open(f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_files_are_private_even_when_made_wide_before() {
        let dir = std::env::temp_dir().join(format!("pct-open-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.db");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(&path, b"").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let config = StoreConfig::Sqlite { path: path.clone() };
        let store = open(&config).await.unwrap();
        store.put_setting("k", "v").await.unwrap();
        #[cfg(unix)]
        for f in config.local_files() {
            use std::os::unix::fs::PermissionsExt;
            if f.exists() {
                let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", f.display());
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
