//! Backup and restore of a hub: one file holding its configuration file (when it has one) and
//! every file [`HubDataDir::files`] names: the CA's certificate and key, the server
//! certificate, its key and names, the secrets key, the first admin token, and the SQLite
//! store with every object and the audit chain. The format, its encryption and the checks every
//! component shares are `portcullis_backup`'s.
//!
//! A backup is consistent while the hub serves and writes: the files of the PKI are written
//! once and replaced whole, and the database is copied with SQLite's `VACUUM INTO` (one
//! transaction's view) into a temporary file in the data directory, never by reading
//! `hub.db` and its `-wal` byte by byte. A store that is not a local SQLite file is refused:
//! such a database is backed up with its own tools.
//!
//! Restore changes nothing until everything checked out: it extracts next to the data
//! directory, checks every file against the manifest and the version, opens the restored
//! database and verifies its audit chain, refuses while a hub holds the data directory's lock
//! ([`crate::dir_lock`]), and only then renames the directory into place and writes the
//! configuration file.

use std::path::{Path, PathBuf};

use portcullis_backup::manifest::HUB;
use portcullis_backup::restore::{extract, refuse_if_in_use, write_config, Spec, Target};
use portcullis_backup::write::{slash_path, write_backup, BackupSummary, Source};
use portcullis_backup::{BackupError, ManifestError, Password, DATA_PREFIX};
use portcullis_store::{SqliteStore, StoreConfig};

use crate::config::{HubConfig, RawHubConfig};
use crate::data_dir::HubDataDir;
use crate::dir_lock::DataDirLock;

/// Where the configuration file lies inside the archive.
pub const CONFIG_NAME: &str = "config/hub.toml";
/// The data directory a hub uses when neither its configuration nor a flag names one.
const DEFAULT_DATA_DIR: &str = "./portcullis-hub";

/// Writes a backup of the hub `config` describes to `out` (mode 0600; written as
/// `out.partial` and renamed). `config_file`, the file `config` was read from, goes in too.
/// Runs beside a serving hub. `progress` is told the bytes archived so far.
pub async fn backup(
    config: &HubConfig,
    config_file: Option<&Path>,
    out: &Path,
    password: &Password,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<BackupSummary, BackupError> {
    let dir = config.dir();
    let db = sqlite_database(&config.store)?;
    let db_name = archive_name(&dir, &db)?;
    if !db.is_file() {
        return Err(BackupError::Unsupported(format!(
            "there is no hub database at {}: is {} the hub's data directory?",
            db.display(),
            dir.root().display()
        )));
    }
    let mut sources = Vec::new();
    if let Some(c) = config_file {
        sources.push(Source {
            name: CONFIG_NAME.to_owned(),
            path: c.to_path_buf(),
            append_only: false,
        });
    }
    let store_files = config.store.local_files();
    for f in dir.files(&config.store) {
        // The store's files are copied by SQLite below; an admin token is optional.
        if store_files.contains(&f) || !f.is_file() {
            continue;
        }
        sources.push(Source {
            name: archive_name(&dir, &f)?,
            path: f,
            append_only: false,
        });
    }
    let snapshot = Snapshot(
        dir.root()
            .join(format!(".backup-{}.db", uuid::Uuid::new_v4().simple())),
    );
    SqliteStore::snapshot(&db, &snapshot.0)
        .await
        .map_err(|e| BackupError::Database(e.into()))?;
    sources.push(Source {
        name: db_name,
        path: snapshot.0.clone(),
        append_only: false,
    });
    let out = out.to_path_buf();
    let password = password.clone();
    let mut progress = progress;
    tokio::task::spawn_blocking(move || {
        let summary = write_backup(&out, HUB, &sources, &password, &mut progress);
        drop(snapshot);
        summary
    })
    .await
    .expect("the backup task does not panic")
}

/// The database copy, removed whatever happens.
struct Snapshot(PathBuf);

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The SQLite file of `store`; any other store is backed up with its own tools.
fn sqlite_database(store: &StoreConfig) -> Result<PathBuf, BackupError> {
    #[allow(unreachable_patterns)] // StoreConfig is non-exhaustive: PostgreSQL comes next
    match store {
        StoreConfig::Sqlite { path } => Ok(path.clone()),
        _ => Err(BackupError::Unsupported(
            "the hub's store is not a local SQLite database: back it up with that database's \
             own tools (for PostgreSQL, pg_dump); portcullis hub backup copies SQLite stores"
                .into(),
        )),
    }
}

/// `data/…`: where `file` (inside the data directory) lies in the archive.
fn archive_name(dir: &HubDataDir, file: &Path) -> Result<String, BackupError> {
    let rel = file.strip_prefix(dir.root()).map_err(|_| {
        BackupError::Unsupported(format!(
            "{} lies outside the data directory {}; back it up by hand",
            file.display(),
            dir.root().display()
        ))
    })?;
    Ok(format!("{DATA_PREFIX}{}", slash_path(rel)))
}

/// Where and how to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup file.
    pub from: PathBuf,
    /// Where the configuration file in the backup is written (required when it holds one).
    /// For a backup without one, an existing file here names the data directory.
    pub config: Option<PathBuf>,
    /// The data directory to restore into, instead of the one the configuration names (a
    /// fresh host with another layout); written into the restored configuration.
    pub data_dir: Option<PathBuf>,
    /// Replace a data directory with files in it, and an existing configuration file.
    pub force: bool,
}

/// What a restore put in place.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: portcullis_backup::Manifest,
    /// The data directory written.
    pub data_dir: PathBuf,
    /// The configuration file written, if the backup held one.
    pub config: Option<PathBuf>,
    /// Events in the restored audit chain (verified).
    pub audit_events: u64,
}

/// What the decision before extracting keeps: the configuration text to write, and the data
/// directory's lock if a hub ever ran there (held until the directory is replaced).
type Keep = (Option<String>, Option<DataDirLock>);

/// Restores the backup `opts.from`, opened with `password`. `progress` is told the bytes
/// extracted so far.
pub async fn restore(
    opts: &RestoreOptions,
    password: &Password,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<Restored, BackupError> {
    let running = semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("our own version");
    let (o, pw, mut progress) = (opts.clone(), password.clone(), progress);
    let extracted = tokio::task::spawn_blocking(move || {
        let spec = Spec {
            from: &o.from,
            component: HUB,
            config_name: CONFIG_NAME,
            config_required: false,
        };
        extract(spec, &pw, &running, |text| decide(&o, text), &mut progress)
    })
    .await
    .expect("the restore task does not panic")?;

    let db = HubDataDir::new(extracted.staged()).database();
    if !db.is_file() {
        return Err(ManifestError::Missing {
            path: format!("{DATA_PREFIX}hub.db"),
        }
        .into());
    }
    let audit_events = verify_audit_chain(&db).await?;

    let (manifest, data_dir, (text, _lock)) = extracted.put_in_place()?;
    let config = match (text, &opts.config) {
        (Some(text), Some(path)) => {
            write_config(path, &text)?;
            Some(path.clone())
        }
        _ => None,
    };
    Ok(Restored {
        manifest,
        data_dir,
        config,
        audit_events,
    })
}

/// Opens the restored database (applying this binary's migrations, as the hub would at its
/// start) and verifies its audit chain; closes it before the directory moves.
async fn verify_audit_chain(db: &Path) -> Result<u64, BackupError> {
    let store = SqliteStore::open(db)
        .await
        .map_err(|e| BackupError::Database(e.into()))?;
    let verified = portcullis_store::Store::verify_audit_chain(&store).await;
    store.close().await;
    verified.map_err(|e| BackupError::AuditChain(e.into()))
}

/// Where the data directory is, from the configuration in the backup (`text`) or the
/// options; refuses a running hub there, and a directory or configuration file in use
/// without `--force`. Runs before anything is written.
fn decide(opts: &RestoreOptions, text: Option<String>) -> Result<Target<Keep>, BackupError> {
    let config_error = |e: crate::config::ConfigError| BackupError::Config {
        component: HUB,
        source: e.into(),
    };
    let (data_dir, text) = match text {
        Some(text) => {
            let Some(path) = &opts.config else {
                return Err(BackupError::Unsupported(
                    "the backup holds the hub's configuration file: give --config PATH to say \
                     where to write it"
                        .into(),
                ));
            };
            let text = match &opts.data_dir {
                Some(d) => with_data_dir(&text, d)?,
                None => text,
            };
            let raw = RawHubConfig::from_toml(&text).map_err(config_error)?;
            let data_dir = match &raw.data_dir {
                Some(d) if d.is_relative() => path.parent().unwrap_or(Path::new("")).join(d),
                Some(d) => d.clone(),
                None => PathBuf::from(DEFAULT_DATA_DIR),
            };
            HubConfig::try_from(raw).map_err(config_error)?;
            (data_dir, Some(text))
        }
        None => {
            let data_dir = match (&opts.data_dir, &opts.config) {
                (Some(d), _) => d.clone(),
                (None, Some(c)) if c.exists() => RawHubConfig::load(c)
                    .map_err(config_error)?
                    .data_dir
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
                (None, _) => PathBuf::from(DEFAULT_DATA_DIR),
            };
            (data_dir, None)
        }
    };
    let data_dir = std::path::absolute(&data_dir).map_err(BackupError::io(&data_dir))?;
    let lock = match DataDirLock::acquire_existing(&HubDataDir::new(&data_dir)) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            return Err(BackupError::Running {
                component: HUB,
                path: data_dir,
                how: "it holds hub.lock",
            })
        }
        Err(e) => return Err(BackupError::io(HubDataDir::new(&data_dir).lock_file())(e)),
    };
    if !opts.force {
        let config = text.as_ref().and(opts.config.as_deref());
        refuse_if_in_use(&data_dir, config)?;
    }
    Ok(Target {
        data_dir,
        keep: (text, lock),
    })
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
