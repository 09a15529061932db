//! `portcullis admin …`: the hub's REST API from the command line.

use anyhow::{anyhow, Result};
use clap::Subcommand;
use portcullis_domain::authz::Role;
use serde::Serialize;

use portcullis_client::requests::NewToken;
use portcullis_client::ApiClient;

/// Admin verbs.
#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Companies (tenants).
    #[command(subcommand)]
    Company(CompanyCmd),
    /// API tokens of a company.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Connectors (locations) of a company.
    #[command(subcommand)]
    Connector(ConnectorCmd),
    /// Audit events as JSON (`portcullis audit list` prints a table and more).
    Audit {
        /// Company id or name (vendor admins may omit it).
        #[arg(long)]
        company: Option<String>,
        /// Only actions starting with this, e.g. `session.`.
        #[arg(long)]
        action: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// `admin company …`
#[derive(Debug, Subcommand)]
pub enum CompanyCmd {
    /// Creates a company.
    Create {
        /// Unique name (letters, digits, `-`, `_`, `.`).
        name: String,
    },
    /// Lists companies.
    List,
}

/// `admin token …`
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Creates an API token (printed once).
    Create {
        /// Company id or name.
        #[arg(long)]
        company: String,
        /// Token name.
        #[arg(long)]
        name: String,
        /// `technical` (default) or `company_admin`.
        #[arg(long)]
        role: Option<String>,
        /// Lifetime in seconds (default: the hub's `[tokens] default_lifetime_days`; at most
        /// its `max_lifetime_days`).
        #[arg(long, conflicts_with = "no_expiry")]
        expires_in: Option<u64>,
        /// A token that never expires (only if the hub sets `[tokens] allow_unlimited`).
        #[arg(long)]
        no_expiry: bool,
    },
    /// Revokes a token and cuts its live sessions.
    Revoke {
        /// Token id.
        id: i64,
    },
    /// Lists a company's tokens.
    List {
        /// Company id or name.
        #[arg(long)]
        company: String,
    },
}

/// `admin connector …`
#[derive(Debug, Subcommand)]
pub enum ConnectorCmd {
    /// Creates a connector location and prints its one-time enrolment token.
    Create {
        /// Company id or name.
        #[arg(long)]
        company: String,
        /// Location ID.
        #[arg(long)]
        location: String,
    },
    /// Lists a company's connectors with live status.
    List {
        /// Company id or name.
        #[arg(long)]
        company: String,
    },
    /// Revokes a connector and cuts its tunnel.
    Revoke {
        /// Connector id.
        id: i64,
    },
    /// Issues a new enrolment token for an existing connector.
    EnrollmentToken {
        /// Connector id.
        id: i64,
    },
}

/// Prints the hub's answer as JSON, object keys in serde_json's order (as the answer itself
/// printed).
fn print<T: Serialize>(answer: &T) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::to_value(answer)?)?
    );
    Ok(())
}

/// Runs one admin verb.
pub async fn run(client: &ApiClient, cmd: AdminCmd) -> Result<()> {
    match cmd {
        AdminCmd::Company(CompanyCmd::Create { name }) => {
            print(&client.create_company(&name).await?)
        }
        AdminCmd::Company(CompanyCmd::List) => print(&client.list_companies().await?),
        AdminCmd::Token(TokenCmd::Create {
            company,
            name,
            role,
            expires_in,
            no_expiry,
        }) => {
            let body = NewToken {
                name,
                role: role
                    .map(|r| r.parse::<Role>().map_err(|e| anyhow!("{e}")))
                    .transpose()?,
                expires_in_secs: expires_in,
                no_expiry,
            };
            let t = client.create_company_token(&company, &body).await?;
            eprintln!("The token is shown only now; store it safely.");
            print(&t)
        }
        AdminCmd::Token(TokenCmd::Revoke { id }) => print(&client.revoke_token(id).await?),
        AdminCmd::Token(TokenCmd::List { company }) => {
            print(&client.list_company_tokens(&company).await?)
        }
        AdminCmd::Connector(ConnectorCmd::Create { company, location }) => {
            let c = client.create_connector(&company, &location).await?;
            eprintln!(
                "Enrol the connector with:\n  portcullis connector enroll --hub <hub URL> --token {} --config connector.toml",
                c.enrollment_token.expose()
            );
            print(&c)
        }
        AdminCmd::Connector(ConnectorCmd::List { company }) => {
            print(&client.list_connectors(&company).await?)
        }
        AdminCmd::Connector(ConnectorCmd::Revoke { id }) => {
            print(&client.revoke_connector(id).await?)
        }
        AdminCmd::Connector(ConnectorCmd::EnrollmentToken { id }) => {
            print(&client.new_enrollment_token(id).await?)
        }
        AdminCmd::Audit {
            company,
            action,
            limit,
        } => {
            let query =
                crate::audit::list_query(company.as_deref(), action.as_deref(), None, limit);
            print(&client.list_audit(&query).await?)
        }
    }
}
