//! `portcullis connector sessions [cut ID]`: the running connector's live sessions through its
//! admin socket, and cutting one at once (audited as `session.cut`), as the admin UI's
//! Sessions page and `POST /api/v1/sessions/{id}/cut` do.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use portcullis_connector::local::{Request, Response};

use crate::connector_socket::{data_dir, login_name, request};
use crate::output::{OutputArgs, Table};

/// `portcullis connector sessions`.
#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    /// `cut ID`; without it, the list.
    #[command(subcommand)]
    pub verb: Option<SessionsCmd>,
    /// The running connector's configuration file (only its `data_dir` is read).
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `portcullis connector sessions …`
#[derive(Debug, clap::Subcommand)]
pub enum SessionsCmd {
    /// Ends a live session at once (audited as `session.cut`).
    Cut {
        /// The session's id, as the list shows it.
        id: u64,
        /// Who cuts, for the audit log. Defaults to the login name.
        #[arg(long)]
        by: Option<String>,
    },
}

/// Lists the live sessions, or cuts one.
pub async fn run(args: &SessionsArgs) -> Result<()> {
    let config = args
        .config
        .as_deref()
        .context("the connector's configuration file is needed: --config FILE")?;
    let dir = data_dir(config)?;
    match &args.verb {
        None => match request(&dir, &Request::Sessions).await? {
            Response::Sessions { sessions } => args.out.print(&sessions, |s| {
                Table::from_rows(s.iter().map(|v| {
                    [
                        ("ID", v.id.to_string()),
                        ("PRINCIPAL", v.principal.clone()),
                        ("TARGET", v.target.clone()),
                        ("WINDOW", v.window.clone().unwrap_or_else(|| "-".into())),
                        ("SINCE", v.since.clone()),
                        ("BYTES IN", v.bytes_from_hub.to_string()),
                        ("BYTES OUT", v.bytes_to_hub.to_string()),
                    ]
                }))
                .empty("no live session")
                .to_string()
            }),
            other => bail!("unexpected answer from the connector: {other:?}"),
        },
        Some(SessionsCmd::Cut { id, by }) => {
            let by = match by {
                Some(b) => b.clone(),
                None => {
                    login_name().context("cannot tell who you are; name yourself with --by NAME")?
                }
            };
            match request(&dir, &Request::CutSession { id: *id, by }).await? {
                Response::Cut { session } => {
                    println!(
                        "cut: session {} of {} to {} (audited as session.cut)",
                        session.id, session.principal, session.target
                    );
                    Ok(())
                }
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
    }
}
