//! `portcullis connector audit-verify`: checks the hash chain of a connector's own audit log
//! (`data_dir/audit.log`), on the connector's machine or on a copy, without the hub. The
//! customer's record of every stream decision is only worth something if an edit shows.

use std::path::PathBuf;

use anyhow::{Context, Result};
use portcullis_connector::audit::{verify_file, AuditError, AUDIT_FILE};

/// `portcullis connector audit-verify`.
#[derive(Debug, clap::Args)]
pub struct AuditVerifyArgs {
    /// The connector's configuration file: checks `<data_dir>/audit.log`.
    #[arg(
        long,
        env = "PORTCULLIS_CONNECTOR_CONFIG",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub config: Option<PathBuf>,
    /// A connector audit log (or a copy of one) to check instead.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

/// What the check found: `Ok(true)` intact, `Ok(false)` broken (the report is printed), `Err`
/// when the check could not be made (no such file, unreadable configuration).
pub fn verify(args: &AuditVerifyArgs) -> Result<bool> {
    let path = match (&args.file, &args.config) {
        (Some(f), _) => f.clone(),
        (None, Some(c)) => portcullis_connector::config::data_dir_of(c)
            .with_context(|| format!("reading {}", c.display()))?
            .join(AUDIT_FILE),
        (None, None) => anyhow::bail!("give --config or --file"),
    };
    match verify_file(&path) {
        Ok(n) => {
            println!("intact: {n} records in {}", path.display());
            Ok(true)
        }
        Err(e @ (AuditError::ChainBroken { .. } | AuditError::Corrupt { .. })) => {
            println!("BROKEN: {e}");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
