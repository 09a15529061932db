//! `portcullis connector backup|restore`: the connector's configuration and data directory
//! in one password-encrypted file, and back (the format and its checks live in
//! `portcullis_connector::backup`).
//!
//! The password never comes from the command line, where `ps` and shell history would show
//! it: `--password-file` or `PORTCULLIS_BACKUP_PASSWORD`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use portcullis_connector::backup::{self, Password, RestoreOptions};

/// The environment variable holding the backup password.
pub const PASSWORD_ENV: &str = "PORTCULLIS_BACKUP_PASSWORD";

/// Where the password comes from.
#[derive(Debug, clap::Args)]
pub struct PasswordArgs {
    /// A file whose first line is the password (otherwise `PORTCULLIS_BACKUP_PASSWORD`).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

/// `portcullis connector backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// The connector's configuration file; its `data_dir` is backed up with it.
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: PathBuf,
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// `portcullis connector restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub from: PathBuf,
    /// Where to write the configuration file; the data directory it names is restored.
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: PathBuf,
    /// Restore the data into this directory instead of the one the backed-up configuration
    /// names (written into the restored configuration).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Replace a data directory that has files in it and an existing configuration file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
}

impl PasswordArgs {
    /// The password from the file, else from the environment; refuses an empty one.
    pub fn password(&self) -> Result<Password> {
        let text = match &self.password_file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the password file {}", p.display()))?;
                text.lines().next().unwrap_or_default().to_owned()
            }
            None => match std::env::var(PASSWORD_ENV) {
                Ok(v) => v,
                Err(_) => {
                    bail!("no backup password: give --password-file FILE or set {PASSWORD_ENV}")
                }
            },
        };
        Ok(Password::new(text)?)
    }
}

/// Makes the backup; prints what it holds.
pub fn backup(a: &BackupArgs) -> Result<()> {
    let password = a.password.password()?;
    let mut progress = Progress::new("backed up");
    let summary = backup::backup(&a.config, &a.out, &password, &mut |n| progress.tell(n))?;
    progress.done();
    println!(
        "Backup written to {}: {} files, {} bytes, portcullis {}",
        a.out.display(),
        summary.manifest.files.len(),
        summary.bytes,
        summary.manifest.portcullis_version
    );
    Ok(())
}

/// Restores the backup; prints where.
pub fn restore(a: &RestoreArgs) -> Result<()> {
    let password = a.password.password()?;
    let opts = RestoreOptions {
        from: a.from.clone(),
        config: a.config.clone(),
        data_dir: a.data_dir.clone(),
        force: a.force,
    };
    let mut progress = Progress::new("restored");
    let restored = backup::restore(&opts, &password, &mut |n| progress.tell(n))?;
    progress.done();
    println!(
        "Restored the backup of {} (portcullis {}) into {} and {}; audit log verified ({} records). Start it with: portcullis connector run --config {}",
        restored.manifest.created,
        restored.manifest.portcullis_version,
        restored.data_dir.display(),
        a.config.display(),
        restored.audit_records,
        a.config.display()
    );
    Ok(())
}

/// Bytes done on stderr, at most once a second, for runs that take longer than that. The
/// clock starts at the first byte: the password's key derivation (about a second, on
/// purpose) is not progress. Shared with `portcullis hub backup|restore`.
#[derive(Debug)]
pub(crate) struct Progress {
    what: &'static str,
    start: Option<Instant>,
    last: Option<Instant>,
    shown: bool,
    bytes: u64,
}

impl Progress {
    pub(crate) fn new(what: &'static str) -> Progress {
        Progress {
            what,
            start: None,
            last: None,
            shown: false,
            bytes: 0,
        }
    }

    pub(crate) fn tell(&mut self, bytes: u64) {
        self.bytes = bytes;
        let now = Instant::now();
        let last = *self.last.get_or_insert(now);
        self.start.get_or_insert(now);
        if now.duration_since(last) >= Duration::from_secs(1) {
            self.last = Some(now);
            self.shown = true;
            eprintln!("{} {bytes} bytes…", self.what);
        }
    }

    pub(crate) fn done(&self) {
        if let (true, Some(start)) = (self.shown, self.start) {
            eprintln!(
                "{} {} bytes in {:.1} s",
                self.what,
                self.bytes,
                start.elapsed().as_secs_f64()
            );
        }
    }
}
