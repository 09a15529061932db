//! `portcullis connector trust …`: the back-end trust store of the running connector (CC-27),
//! edited through its admin socket. The configuration file is rewritten (comments kept) and
//! the connector puts the new store in force for new sessions within a second, no restart.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use portcullis_connector::local::{Request, Response};
use portcullis_connector::trust_edit::TrustedCert;

use crate::connector_socket::{data_dir, request};
use crate::output::{OutputArgs, Table};

/// `portcullis connector trust …`
#[derive(Debug, clap::Subcommand)]
pub enum TrustCmd {
    /// Lists every certificate of the trust store: file, subject, issuer, expiry, SHA-256.
    List {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Adds the CA certificate(s) in FILE (PEM) as `<data_dir>/trust/<NAME>.pem`.
    Add {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// Name for it (letters, digits, `-`, `_`, `.`); `remove` takes it.
        #[arg(long)]
        name: String,
        /// The certificate file (PEM).
        file: PathBuf,
    },
    /// Takes NAME out of the trust store: an added certificate's name, or a path exactly as
    /// the configuration lists it.
    Remove {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// The name (or configured path).
        name: String,
    },
    /// Turns `[backend_tls] trust_all` on or off. On, the connector accepts EVERY back-end
    /// certificate (for tests only); turning it on needs `--yes-trust-every-back-end`.
    All {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
        /// The confirmation that turning it on needs.
        #[arg(long)]
        yes_trust_every_back_end: bool,
    },
}

fn table(certs: &[TrustedCert]) -> Table {
    Table::from_rows(certs.iter().map(|c| {
        [
            ("FILE", c.file.clone()),
            ("SUBJECT", c.subject.clone()),
            ("ISSUER", c.issuer.clone()),
            ("NOT AFTER", c.not_after.clone()),
            ("CA", if c.ca { "yes" } else { "no" }.to_owned()),
            ("SHA-256", c.sha256.clone()),
        ]
    }))
    .empty("the trust store is empty")
}

/// Runs `portcullis connector trust …`.
pub async fn run(cmd: &TrustCmd) -> Result<()> {
    match cmd {
        TrustCmd::List { config, out } => {
            match request(&data_dir(config)?, &Request::TrustList).await? {
                Response::TrustStore {
                    trust_all,
                    certificates,
                    problems,
                } => {
                    let v = serde_json::json!({
                        "trust_all": trust_all, "certificates": certificates, "problems": problems,
                    });
                    out.print(&v, |_| {
                        let mut s = table(&certificates).to_string();
                        if trust_all {
                            s.push_str("\ntrust_all is ON: every back-end certificate is accepted");
                        }
                        for p in &problems {
                            s.push_str(&format!("\nproblem: {p}"));
                        }
                        s
                    })
                }
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
        TrustCmd::Add { config, name, file } => {
            let pem = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let req = Request::TrustAdd {
                name: name.clone(),
                pem,
            };
            edited(request(&data_dir(config)?, &req).await?, "Added")
        }
        TrustCmd::Remove { config, name } => {
            let req = Request::TrustRemove { name: name.clone() };
            edited(request(&data_dir(config)?, &req).await?, "Removed")
        }
        TrustCmd::All {
            config,
            state,
            yes_trust_every_back_end,
        } => {
            let on = state == "on";
            if on && !yes_trust_every_back_end {
                bail!(
                    "trust all accepts every back-end certificate, a forged one too; \
                     add --yes-trust-every-back-end to turn it on"
                );
            }
            match request(&data_dir(config)?, &Request::TrustAll { on }).await? {
                Response::TrustAllSet { on, changed } => {
                    let state = if on { "on" } else { "off" };
                    if changed {
                        println!("trust_all is {state}; the connector applies it within a second.");
                    } else {
                        println!("trust_all was {state} already; nothing changed.");
                    }
                    Ok(())
                }
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
    }
}

fn edited(r: Response, verb: &str) -> Result<()> {
    match r {
        Response::TrustEdited { file, certificates } => {
            println!("{verb} {file}:");
            for c in &certificates {
                println!(
                    "  {} (until {}, sha256 {})",
                    c.subject, c.not_after, c.sha256
                );
            }
            println!("The connector applies the change to new sessions within a second.");
            Ok(())
        }
        other => bail!("unexpected answer from the connector: {other:?}"),
    }
}
