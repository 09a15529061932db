//! `portcullis audit …`: list the hub's audit events, check the hash chain (on the hub, or
//! offline in an exported file), export it as JSON Lines.
//!
//! The offline check ([`verify_export`]) needs no hub and trusts nothing in the file: it
//! recomputes every event's hash with the store's own rule ([`portcullis_store::audit_hash`])
//! and follows the links wherever two events are consecutive. The format it reads is written
//! down in `docs/audit.md` and in `portcullis_hub::api::audit`.
//!
//! # Layout
//! - this file: the commands and what they print.
//! - `audit/verify_file.rs`: [`verify_export`], the offline check.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use portcullis_client::requests::AuditQuery;
use portcullis_client::views::{AuditEvent, VerifyReport};

use crate::connect::query_escape;
use crate::output::{sanitize, OutputArgs, Table};
use portcullis_client::ApiClient;

mod verify_file;
pub use verify_file::{verify_export, BadLine, ExportSummary, Problem};

/// Where the hub is. Optional here because `audit verify --file` needs no hub.
#[derive(Debug, Clone, Args)]
pub struct HubOpts {
    /// Hub API URL, e.g. https://hub.example.com:8443.
    #[arg(long, env = "PORTCULLIS_HUB", global = true)]
    pub hub: Option<String>,
    /// The hub's CA certificate (PEM), e.g. hub-data/pki/ca.pem.
    #[arg(long, env = "PORTCULLIS_CA", global = true)]
    pub ca: Option<PathBuf>,
    /// API token.
    #[arg(long, env = "PORTCULLIS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

impl HubOpts {
    /// A client for the hub; an error naming what is missing.
    pub fn client(&self) -> Result<ApiClient> {
        let (Some(hub), Some(ca), Some(token)) = (&self.hub, &self.ca, &self.token) else {
            return Err(anyhow!(
                "this needs the hub: give --hub, --ca and --token (or PORTCULLIS_HUB, PORTCULLIS_CA, PORTCULLIS_TOKEN)"
            ));
        };
        let pem = std::fs::read_to_string(ca)
            .with_context(|| format!("cannot read the hub CA {}", ca.display()))?;
        Ok(ApiClient::new(hub, &pem, Some(token.clone()))?)
    }
}

/// `portcullis audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Lists audit events, oldest first.
    List {
        /// Company id or name (vendor admins may omit it to see every company's).
        #[arg(long)]
        company: Option<String>,
        /// Only actions starting with this, e.g. `session.`.
        #[arg(long)]
        action: Option<String>,
        /// Only events after this sequence number (to page on).
        #[arg(long)]
        after: Option<i64>,
        /// At most this many events (at most 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Checks the hash chain: on the hub (vendor admins), or offline in an exported file.
    ///
    /// Exit status: 0 when intact, 1 when broken (the first bad event is named), 2 when the
    /// check could not be made.
    Verify {
        /// An export (`portcullis audit export`) to check offline, without a hub; `-` reads
        /// standard input.
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Exports events as JSON Lines with their hashes, for a second party to keep and verify.
    Export {
        /// Company id or name (vendor admins may omit it to export the whole chain).
        #[arg(long)]
        company: Option<String>,
        /// Only actions starting with this.
        #[arg(long)]
        action: Option<String>,
        /// First sequence number to export.
        #[arg(long)]
        from_seq: Option<i64>,
        /// Last sequence number to export.
        #[arg(long)]
        to_seq: Option<i64>,
        /// Write here (created with mode 0600) instead of standard output; the file is checked
        /// once written.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The query of `GET /api/v1/audit` with these conditions.
pub fn list_query(
    company: Option<&str>,
    action: Option<&str>,
    after: Option<i64>,
    limit: u32,
) -> AuditQuery {
    AuditQuery {
        company: company.map(str::to_string),
        action: action.map(str::to_string),
        after,
        limit: Some(limit),
    }
}

/// Runs one audit verb. `Ok(false)` when a chain was found broken (exit status 1).
pub async fn run(hub: &HubOpts, cmd: AuditCmd) -> Result<bool> {
    match cmd {
        AuditCmd::List {
            company,
            action,
            after,
            limit,
            out,
        } => {
            let query = list_query(company.as_deref(), action.as_deref(), after, limit);
            let events = hub.client()?.list_audit(&query).await?;
            out.print(&events, |ev| events_table(ev).to_string())?;
            if !out.json && events.len() as u32 >= limit.min(1000) {
                if let Some(last) = events.last() {
                    eprintln!("(more may follow: --after {})", last.seq);
                }
            }
            Ok(true)
        }
        AuditCmd::Verify { file: None, out } => {
            let report = hub.client()?.verify_audit().await?;
            out.print(&report, hub_report_text)?;
            Ok(report.ok)
        }
        AuditCmd::Verify {
            file: Some(file),
            out,
        } => {
            let result = if file == Path::new("-") {
                verify_export(std::io::stdin().lock())
            } else {
                let f = std::fs::File::open(&file)
                    .with_context(|| format!("cannot open {}", file.display()))?;
                verify_export(std::io::BufReader::new(f))
            };
            print_file_result(&file, &result, out)?;
            Ok(result.is_ok())
        }
        AuditCmd::Export {
            company,
            action,
            from_seq,
            to_seq,
            out,
        } => export(hub, company, action, from_seq, to_seq, out).await,
    }
}

fn events_table(events: &[AuditEvent]) -> Table {
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    Table::from_rows(events.iter().map(|e| {
        let at = e.at.replace_nanosecond(0).unwrap_or(e.at);
        [
            ("SEQ", e.seq.to_string()),
            ("TIME", at.format(rfc3339).unwrap_or_default()),
            (
                "COMPANY",
                e.company_id.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("ACTOR", e.actor.clone()),
            ("ACTION", e.action.clone()),
            ("TARGET", e.target.clone()),
            ("OUTCOME", e.outcome.clone()),
            ("DETAIL", portcullis_store::canonical_json(&e.detail)),
        ]
    }))
    .empty("no audit events")
}

fn hub_report_text(r: &VerifyReport) -> String {
    if r.ok {
        return format!(
            "audit log intact: {} events verified",
            r.events.unwrap_or_default()
        );
    }
    let bad = r.first_bad_seq.unwrap_or_default();
    let before = r.events_before.unwrap_or_default();
    let mut s = format!(
        "AUDIT LOG BROKEN at seq {bad}: this event does not follow from the one before it \
         (an event was changed, inserted or deleted); nothing from seq {bad} on can be trusted.\n\
         Events seq 1..={before} verify."
    );
    let missing = bad - before as i64 - 1;
    if missing > 0 {
        s.push_str(&format!(
            " {missing} event(s) right before seq {bad} are missing."
        ));
    }
    s
}

async fn export(
    hub: &HubOpts,
    company: Option<String>,
    action: Option<String>,
    from_seq: Option<i64>,
    to_seq: Option<i64>,
    out: Option<PathBuf>,
) -> Result<bool> {
    let mut q = Vec::new();
    if let Some(c) = &company {
        q.push(format!("company={}", query_escape(c)));
    }
    if let Some(a) = &action {
        q.push(format!("action={}", query_escape(a)));
    }
    if let Some(s) = from_seq {
        q.push(format!("from_seq={s}"));
    }
    if let Some(s) = to_seq {
        q.push(format!("to_seq={s}"));
    }
    let path = if q.is_empty() {
        "/api/v1/audit/export".to_string()
    } else {
        format!("/api/v1/audit/export?{}", q.join("&"))
    };
    let client = hub.client()?;
    let Some(file) = out else {
        client.download(&path, &mut tokio::io::stdout()).await?;
        return Ok(true);
    };
    // Written aside and renamed when whole: a file at `file` is never half an export.
    let mut part = file.clone().into_os_string();
    part.push(".part");
    let part = PathBuf::from(part);
    let mut open = tokio::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    open.mode(0o600);
    let mut f = open
        .open(&part)
        .await
        .with_context(|| format!("cannot create {}", part.display()))?;
    if let Err(e) = client.download(&path, &mut f).await {
        drop(f);
        let _ = tokio::fs::remove_file(&part).await;
        return Err(e.into());
    }
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(&part, &file)
        .await
        .with_context(|| format!("cannot rename {} to {}", part.display(), file.display()))?;
    let reader = std::io::BufReader::new(std::fs::File::open(&file)?);
    match verify_export(reader) {
        Ok(s) => {
            match (s.last_seq, &s.last_hash) {
                (Some(seq), Some(hash)) => eprintln!(
                    "Exported {} events to {}. Last: seq {seq} hash {hash} (keep this pair \
                     somewhere else: a later export must contain it unchanged).",
                    s.events,
                    file.display(),
                ),
                _ => eprintln!("Exported no events to {}.", file.display()),
            }
            Ok(true)
        }
        Err(bad) => {
            eprintln!(
                "Exported to {}, but the exported events do not verify: {bad}",
                file.display()
            );
            Ok(false)
        }
    }
}

fn print_file_result(
    file: &Path,
    result: &Result<ExportSummary, BadLine>,
    out: OutputArgs,
) -> Result<()> {
    let name = file.display();
    match result {
        Ok(s) => out.print(
            &serde_json::json!({"ok": true, "file": file, "summary": s}),
            |_| summary_text(&sanitize(&name.to_string()), s),
        ),
        Err(b) => out.print(
            &serde_json::json!({
                "ok": false,
                "file": file,
                "line": b.line,
                "seq": b.seq,
                "reason": b.problem.code(),
                "message": b.problem.to_string(),
            }),
            |_| sanitize(&format!("{name}: BROKEN at {b}")),
        ),
    }
}

fn summary_text(name: &str, s: &ExportSummary) -> String {
    let range = match (s.first_seq, s.last_seq) {
        (Some(a), Some(b)) => format!(" (seq {a}..={b})"),
        _ => String::new(),
    };
    let mut t = format!(
        "{name}: intact. {} events{range}, every hash recomputed, {} links checked",
        s.events, s.links_checked
    );
    match &s.header {
        Some(h) if h.filter.is_unfiltered() => t.push_str(", no event missing"),
        Some(h) => t.push_str(&format!(
            "; a filtered export ({}{}): {} gaps hold other events, whose links only the whole chain can show",
            h.filter
                .company
                .as_deref()
                .map_or(String::new(), |c| format!("company {}", sanitize(c))),
            h.filter
                .action
                .as_deref()
                .map_or(String::new(), |a| format!(" action {}*", sanitize(a))),
            s.gaps
        )),
        None => t.push_str(&format!(
            "; no header, so whether events are missing cannot be told ({} gaps)",
            s.gaps
        )),
    }
    if let Some(h) = &s.header {
        t.push_str(&format!(
            ".\nExported from {} (CA {}) at {} by {}.",
            sanitize(&h.hub),
            sanitize(&h.hub_ca_fingerprint),
            h.exported_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            sanitize(&h.exported_by)
        ));
    } else {
        t.push('.');
    }
    if let (Some(seq), Some(hash)) = (s.last_seq, &s.last_hash) {
        t.push_str(&format!("\nLast: seq {seq} hash {}", sanitize(hash)));
    }
    t
}

#[cfg(test)]
mod tests;
