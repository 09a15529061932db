//! `portcullis connector windows` and `portcullis connector close-window`: a customer admin on
//! the connector's machine talks to the **running** connector through its admin socket
//! (`data_dir/connector.sock`, mode 0600; see `portcullis_connector::local`).
//!
//! Nothing here reaches the hub: the connector closes the window in its own view at once (new
//! streams refused, live sessions cut, an audit record written) and tells the hub itself, now
//! or after its tunnel comes back.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use portcullis_connector::local::protocol::EntryFields;
use portcullis_connector::local::{Request, Response};
use portcullis_connector::windows::{WindowState, WindowView};

pub use crate::connector_socket::request;
use crate::connector_socket::{data_dir, login_name};
use crate::output::{OutputArgs, Table};

/// `portcullis connector windows`.
#[derive(Debug, clap::Args)]
pub struct WindowsArgs {
    /// The running connector's configuration file (only its `data_dir` is read).
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `portcullis connector close-window`.
#[derive(Debug, clap::Args)]
pub struct CloseWindowArgs {
    /// The running connector's configuration file (only its `data_dir` is read).
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: PathBuf,
    /// The window's id, as `portcullis connector windows` lists it.
    #[arg(long)]
    pub window: String,
    /// Who closes it, for the audit logs of the connector and the hub. Defaults to the login
    /// name (`$SUDO_USER`, `$USER`, `$LOGNAME`, else `uid N`).
    #[arg(long)]
    pub by: Option<String>,
    /// Why, free text.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `portcullis connector check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The running connector's configuration file (only its `data_dir` is read).
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: PathBuf,
    /// Only this access entry.
    #[arg(long)]
    pub entry: Option<String>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Asks the running connector whether its entries' back ends are reachable; exits with 1
/// when one is not.
pub async fn check(args: &CheckArgs) -> Result<()> {
    let data_dir = data_dir(&args.config)?;
    let req = Request::Check {
        entry: args.entry.clone(),
    };
    match request(&data_dir, &req).await? {
        Response::Reachability { results } => {
            args.out.print(&results, |r| {
                Table::from_rows(r.iter().map(|r| {
                    [
                        ("ENTRY", r.entry.clone()),
                        ("PROTOCOL", r.protocol.clone()),
                        ("INTERNAL", r.internal.clone()),
                        (
                            "RESULT",
                            if r.reachable {
                                "reachable"
                            } else {
                                "NOT reachable"
                            }
                            .to_owned(),
                        ),
                        ("DETAIL", r.detail.clone()),
                        ("MS", r.millis.to_string()),
                    ]
                }))
                .empty("no access entries")
                .to_string()
            })?;
            if results.iter().any(|r| !r.reachable) {
                bail!("not every back end is reachable");
            }
            Ok(())
        }
        other => unexpected(other),
    }
}

/// `portcullis connector status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The running connector's configuration file (only its `data_dir` is read).
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Shows the running connector's state; exits with 1 while it refuses sessions because its
/// audit log cannot be written.
pub async fn status(args: &StatusArgs) -> Result<()> {
    let data_dir = data_dir(&args.config)?;
    match request(&data_dir, &Request::Status).await? {
        Response::Status { view } => {
            args.out.print(&view, |v| {
                let mut out = format!(
                    "tunnel: {} ({} connects{})\n",
                    v.tunnel,
                    v.connects,
                    v.hub_version
                        .as_deref()
                        .map(|h| format!(", hub {h}"))
                        .unwrap_or_default()
                );
                if let Some(e) = &v.last_error {
                    out.push_str(&format!("last tunnel error: {e}\n"));
                }
                if v.audit.failing {
                    out.push_str(&format!(
                        "audit log: CANNOT BE WRITTEN since {}: {} ({} records lost); new \
                         sessions are refused until it can be written again\n",
                        v.audit.since.as_deref().unwrap_or("?"),
                        v.audit.error.as_deref().unwrap_or("?"),
                        v.audit.lost_records
                    ));
                } else {
                    out.push_str("audit log: writable; sessions accepted\n");
                }
                out
            })?;
            if view.audit.failing {
                bail!("the connector refuses new sessions: its audit log cannot be written");
            }
            Ok(())
        }
        other => unexpected(other),
    }
}

/// `portcullis connector access …`: the access list of the running connector's
/// configuration file, edited through its admin socket (the file is rewritten with comments
/// kept, and applied within a second like a saved edit).
#[derive(Debug, clap::Subcommand)]
pub enum AccessCmd {
    /// Prints the `[[access]]` entries as a file of their own (to import elsewhere).
    Export {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
    },
    /// Merges the `[[access]]` entries of FILE by name; existing names are skipped unless
    /// `--overwrite`.
    Import {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// A file of `[[access]]` tables, e.g. from `export`.
        file: PathBuf,
        /// Replace entries with the same name.
        #[arg(long)]
        overwrite: bool,
    },
    /// Adds one entry by its fields, checked as a saved file is (the wizard's and
    /// `POST /api/v1/access`'s operation); answers once the connector has it in force.
    Add {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Virtual host and port (or range): what the hub sees.
        #[arg(long = "virtual")]
        virtual_target: String,
        /// Internal host and port (or range): what the connector dials.
        #[arg(long)]
        internal: String,
        /// http, https, tcp, tcp_tls, ldap, ldaps, ni.
        #[arg(long)]
        protocol: String,
        /// Back-end type (abapSys, …, nonSAPsys, the default); it limits the protocols.
        #[arg(long, default_value = "")]
        backend_type: String,
        /// Host in request header: virtual (default) or internal; HTTP and HTTPS only.
        #[arg(long, default_value = "")]
        host_in_header: String,
        /// Log on to the back end with the system certificate (https, tcp_tls, ldaps).
        #[arg(long)]
        system_certificate: bool,
        /// System ID, for people.
        #[arg(long, default_value = "")]
        system_id: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Who adds it, for the audit log; defaults to the login name.
        #[arg(long)]
        by: Option<String>,
    },
    /// Removes the entry NAME.
    Remove {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// The entry's name.
        name: String,
    },
}

/// Runs `portcullis connector access …`.
pub async fn access(cmd: &AccessCmd) -> Result<()> {
    let (config, req) = match cmd {
        AccessCmd::Export { config } => (config, Request::AccessExport),
        AccessCmd::Import {
            config,
            file,
            overwrite,
        } => {
            let toml = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            (
                config,
                Request::AccessImport {
                    toml,
                    overwrite: *overwrite,
                },
            )
        }
        AccessCmd::Remove { config, name } => {
            (config, Request::AccessRemove { name: name.clone() })
        }
        AccessCmd::Add {
            config,
            name,
            virtual_target,
            internal,
            protocol,
            backend_type,
            host_in_header,
            system_certificate,
            system_id,
            description,
            by,
        } => {
            let by = match by {
                Some(b) => b.clone(),
                None => {
                    login_name().context("cannot tell who you are; name yourself with --by NAME")?
                }
            };
            let entry = EntryFields {
                name: name.clone(),
                backend_type: backend_type.clone(),
                protocol: protocol.clone(),
                internal: internal.clone(),
                virtual_target: virtual_target.clone(),
                host_in_header: host_in_header.clone(),
                system_certificate: *system_certificate,
                system_id: system_id.clone(),
                description: description.clone(),
            };
            (config, Request::AccessAdd { entry, by })
        }
    };
    match request(&data_dir(config)?, &req).await? {
        Response::AccessExport { toml } => {
            print!("{toml}");
            Ok(())
        }
        Response::AccessEntryEdited {
            name,
            version,
            applied,
        } => {
            let state = if applied {
                "in force"
            } else {
                "written; the connector applies it within a second"
            };
            let version = version.unwrap_or_default();
            println!("added: {name} (version {version}), {state}");
            Ok(())
        }
        Response::AccessEdited { summary, removed } => {
            let list = |v: &[String]| {
                if v.is_empty() {
                    "-".to_owned()
                } else {
                    v.join(", ")
                }
            };
            println!(
                "added: {}\nreplaced: {}\nskipped (exist; --overwrite replaces): {}\nremoved: {}\n\
                 The connector applies the change within a second.",
                list(&summary.added),
                list(&summary.replaced),
                list(&summary.skipped),
                list(&removed)
            );
            Ok(())
        }
        other => unexpected(other),
    }
}

/// `portcullis connector monitor`.
#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// Hardware history, usage, back-end connections, resets; without one, the HTTP records.
    #[command(subcommand)]
    pub view: Option<crate::connector_monitor::MonitorCmd>,
    /// The running connector's configuration file (only its `data_dir` is read).
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Shows the running connector's HTTP monitoring records, or runs a monitor verb.
pub async fn monitor(args: &MonitorArgs) -> Result<()> {
    if let Some(cmd) = &args.view {
        return crate::connector_monitor::run(cmd).await;
    }
    let config = args
        .config
        .as_deref()
        .context("the connector's configuration file is needed: --config FILE")?;
    let data_dir = data_dir(config)?;
    match request(&data_dir, &Request::Monitor).await? {
        Response::Monitor { view } => args.out.print(&view, |v| {
            let requests = |records: &[portcullis_connector::monitor::RequestRecord]| {
                Table::from_rows(records.iter().map(|r| {
                    [
                        ("AT", r.at.clone()),
                        ("ENTRY", r.entry.clone()),
                        ("METHOD", r.method.clone()),
                        ("PATH", r.path.clone()),
                        ("STATUS", r.status.to_string()),
                        ("MS", r.millis.to_string()),
                    ]
                }))
                .empty("none")
                .to_string()
            };
            let buckets: Vec<String> = v
                .duration_buckets
                .iter()
                .map(|(bound, n)| match bound {
                    0 => format!("longer: {n}"),
                    b => format!("< {b} ms: {n}"),
                })
                .collect();
            let usage = Table::from_rows(v.usage.iter().map(|u| {
                [
                    ("VIRTUAL HOST", u.virtual_host.clone()),
                    ("RESOURCE", u.resource.clone()),
                    ("CALLS", u.calls.to_string()),
                    ("BYTES IN", u.bytes_received.to_string()),
                    ("BYTES OUT", u.bytes_sent.to_string()),
                    ("LAST ACCESS", u.last_access.clone()),
                ]
            }))
            .empty("none");
            format!(
                "Most recent requests\n{}\nTop time consumers\n{}\nDurations: {}\n\nUsage\n{}",
                requests(&v.recent),
                requests(&v.top_time_consumers),
                buckets.join(", "),
                usage
            )
        }),
        other => unexpected(other),
    }
}

/// Lists the connector's view of its windows.
pub async fn windows(args: &WindowsArgs) -> Result<()> {
    let data_dir = data_dir(&args.config)?;
    match request(&data_dir, &Request::Windows).await? {
        Response::Windows { windows } => args.out.print(&windows, |w| table(w).to_string()),
        other => unexpected(other),
    }
}

/// Closes a window at the connector.
pub async fn close_window(args: &CloseWindowArgs) -> Result<()> {
    let data_dir = data_dir(&args.config)?;
    let by = match &args.by {
        Some(b) => b.clone(),
        None => login_name().context("cannot tell who you are; name yourself with --by NAME")?,
    };
    let req = Request::CloseWindow {
        window: args.window.clone(),
        by,
        reason: args.reason.clone(),
    };
    match request(&data_dir, &req).await? {
        Response::Closed {
            window,
            sessions_cut,
        } => {
            #[derive(serde::Serialize)]
            struct Closed<'a> {
                window: &'a WindowView,
                sessions_cut: usize,
            }
            let value = Closed {
                window: &window,
                sessions_cut,
            };
            args.out.print(&value, |c| {
                format!(
                    "Closed window {} ({}, {}) at the connector; {} live session(s) cut. \
                     The hub is told as soon as the tunnel is up.",
                    c.window.id, c.window.service, c.window.target, c.sessions_cut
                )
            })
        }
        other => unexpected(other),
    }
}

fn unexpected(r: Response) -> Result<()> {
    bail!("unexpected answer from the connector: {r:?}")
}

/// The human table of `portcullis connector windows`.
pub fn table(windows: &[WindowView]) -> Table {
    Table::from_rows(windows.iter().map(|w| {
        let state = match (w.state, &w.closed_by, &w.closed_by_name) {
            (WindowState::Closed, _, Some(name)) => format!("closed at connector by {name}"),
            (WindowState::Closed, Some(side), None) => format!("closed by {side}"),
            (state, _, _) => format!("{state:?}").to_lowercase(),
        };
        [
            ("WINDOW", w.id.clone()),
            ("SERVICE", w.service.clone()),
            ("TARGET", w.target.clone()),
            ("START", w.start.clone()),
            ("END", w.end.clone()),
            ("STATE", state),
        ]
    }))
    .empty("no windows (the hub has sent none yet, or none are open or reserved)")
}
