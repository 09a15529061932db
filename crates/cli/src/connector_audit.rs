//! `portcullis connector audit-verify`: checks the hash chain of a connector's own audit log
//! (`data_dir/audit.log`), on the connector's machine or on a copy, without the hub. The
//! customer's record of every stream decision is only worth something if an edit shows.

use std::path::PathBuf;

use anyhow::{Context, Result};
use portcullis_connector::audit::{set_aside_matches, verify_report, AuditError, AUDIT_FILE};

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

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every record verifies (exit 0). Torn tails the connector repaired count as intact.
    Intact,
    /// A complete line is not the record the chain expects: edited, inserted, removed or
    /// reordered (exit 1).
    Edited,
    /// Only the last line is incomplete (no end of line): a write cut short by a crash or a
    /// full disk, not an edit (exit 3).
    TornTail,
}

/// Checks the log and prints the report. `Err` when the check could not be made (no such
/// file, unreadable configuration).
pub fn verify(args: &AuditVerifyArgs) -> Result<Outcome> {
    let path = match (&args.file, &args.config) {
        (Some(f), _) => f.clone(),
        (None, Some(c)) => portcullis_connector::config::data_dir_of(c)
            .with_context(|| format!("reading {}", c.display()))?
            .join(AUDIT_FILE),
        (None, None) => anyhow::bail!("give --config or --file"),
    };
    match verify_report(&path) {
        Ok(v) => {
            println!("intact: {} records in {}", v.records, path.display());
            for r in &v.repairs {
                let d = &r.detail;
                let kept = match set_aside_matches(&path, r) {
                    Some(true) => "kept, SHA-256 matches",
                    Some(false) => "the file's SHA-256 does NOT match the record",
                    None => "the file is not beside the log",
                };
                println!(
                    "repaired at seq {} ({}): a torn tail of {} bytes was set aside as {} \
                     (sha256 {}; {kept})",
                    r.seq,
                    r.at,
                    d["bytes"],
                    d["file"],
                    d["sha256"].as_str().unwrap_or_default()
                );
            }
            for r in &v.resumptions {
                println!(
                    "resumed at seq {} ({}): the log could not be written from {} ({} records \
                     lost: {})",
                    r.seq,
                    r.at,
                    r.detail["failing_since"].as_str().unwrap_or("?"),
                    r.detail["lost_records"],
                    r.detail["error"].as_str().unwrap_or("?")
                );
            }
            Ok(Outcome::Intact)
        }
        Err(e @ AuditError::TornTail { .. }) => {
            println!("TORN TAIL: {e}. Not an edit; the connector sets it aside at its next start.");
            Ok(Outcome::TornTail)
        }
        Err(e @ (AuditError::ChainBroken { .. } | AuditError::Corrupt { .. })) => {
            println!("BROKEN (edited): {e}");
            Ok(Outcome::Edited)
        }
        Err(e) => Err(e.into()),
    }
}
