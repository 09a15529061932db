//! `portcullis hub backup|restore`: the hub's configuration and data directory (CA key
//! included) in one password-encrypted file, and back. What is in it and the checks live in
//! `portcullis_hub::backup`; the password and the progress are the connector's
//! ([`PasswordArgs`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use portcullis_hub::backup::{self, RestoreOptions};
use portcullis_hub::{HubConfig, RawHubConfig};

use crate::connector_backup::{PasswordArgs, Progress};

/// `portcullis hub backup|restore`; `portcullis hub` without one runs the hub.
#[derive(Debug, clap::Subcommand)]
pub enum HubCmd {
    /// Writes a backup of the hub (configuration, CA and server keys, secrets key, database),
    /// encrypted with a password; runs while the hub serves.
    Backup(BackupArgs),
    /// Restores a backup into a fresh (or, with --force, an existing) data directory, after
    /// checking it; refused while a hub runs on that directory.
    Restore(RestoreArgs),
}

/// `portcullis hub backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// The hub's configuration file; it is backed up with the data directory it names.
    #[arg(long, env = "PORTCULLIS_HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// The hub's data directory, when the configuration does not name it (as `portcullis hub
    /// --data-dir`).
    #[arg(long, env = "PORTCULLIS_HUB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// `portcullis hub restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub from: PathBuf,
    /// Where to write the configuration file the backup holds (the data directory it names is
    /// restored). Without one in the backup: an existing file that names the data directory.
    #[arg(long, env = "PORTCULLIS_HUB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Restore the data into this directory instead of the one the configuration names
    /// (written into the restored configuration).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Replace a data directory that has files in it and an existing configuration file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// Runs `cmd`.
pub async fn run(cmd: &HubCmd) -> Result<()> {
    match cmd {
        HubCmd::Backup(a) => backup(a).await,
        HubCmd::Restore(a) => restore(a).await,
    }
}

/// Makes the backup; prints what it holds.
pub async fn backup(a: &BackupArgs) -> Result<()> {
    let password = a.password.password()?;
    let mut raw = match &a.config {
        Some(p) => RawHubConfig::load(p)?,
        None => RawHubConfig::default(),
    };
    if let Some(d) = &a.data_dir {
        raw.data_dir = Some(d.clone());
    }
    let config = HubConfig::try_from(raw)?;
    let progress = Arc::new(Mutex::new(Progress::new("backed up")));
    let tell = progress.clone();
    let summary = backup::backup(&config, a.config.as_deref(), &a.out, &password, move |n| {
        tell.lock().expect("progress").tell(n)
    })
    .await?;
    progress.lock().expect("progress").done();
    println!(
        "Backup written to {}: {} files, {} bytes, portcullis {}. It holds the hub CA's key: keep it as secret as the CA.",
        a.out.display(),
        summary.manifest.files.len(),
        summary.bytes,
        summary.manifest.portcullis_version
    );
    Ok(())
}

/// Restores the backup; prints where.
pub async fn restore(a: &RestoreArgs) -> Result<()> {
    let password = a.password.password()?;
    let opts = RestoreOptions {
        from: a.from.clone(),
        config: a.config.clone(),
        data_dir: a.data_dir.clone(),
        force: a.force,
    };
    let progress = Arc::new(Mutex::new(Progress::new("restored")));
    let tell = progress.clone();
    let restored = backup::restore(&opts, &password, move |n| {
        tell.lock().expect("progress").tell(n)
    })
    .await?;
    progress.lock().expect("progress").done();
    let start = match &restored.config {
        Some(c) => format!("portcullis hub --config {}", c.display()),
        None => format!("portcullis hub --data-dir {}", restored.data_dir.display()),
    };
    println!(
        "Restored the hub backup of {} (portcullis {}) into {}; audit chain verified ({} events). Start it with: {start}",
        restored.manifest.created,
        restored.manifest.portcullis_version,
        restored.data_dir.display(),
        restored.audit_events,
    );
    Ok(())
}
