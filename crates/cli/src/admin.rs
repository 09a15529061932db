//! `portcullis admin …`: the hub's REST API from the command line.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Value};

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

fn print(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Runs one admin verb.
pub async fn run(client: &ApiClient, cmd: AdminCmd) -> Result<()> {
    match cmd {
        AdminCmd::Company(CompanyCmd::Create { name }) => print(
            &client
                .post::<_, Value>("/api/v1/companies", &json!({"name": name}))
                .await?,
        ),
        AdminCmd::Company(CompanyCmd::List) => {
            print(&client.get::<Value>("/api/v1/companies").await?)
        }
        AdminCmd::Token(TokenCmd::Create {
            company,
            name,
            role,
            expires_in,
            no_expiry,
        }) => {
            let v: Value = client
                .post(
                    &format!("/api/v1/companies/{company}/tokens"),
                    &json!({"name": name, "role": role, "expires_in_secs": expires_in,
                            "no_expiry": no_expiry}),
                )
                .await?;
            eprintln!("The token is shown only now; store it safely.");
            print(&v)
        }
        AdminCmd::Token(TokenCmd::Revoke { id }) => print(
            &client
                .post::<_, Value>(&format!("/api/v1/tokens/{id}/revoke"), &json!({}))
                .await?,
        ),
        AdminCmd::Token(TokenCmd::List { company }) => print(
            &client
                .get::<Value>(&format!("/api/v1/companies/{company}/tokens"))
                .await?,
        ),
        AdminCmd::Connector(ConnectorCmd::Create { company, location }) => {
            let v: Value = client
                .post(
                    &format!("/api/v1/companies/{company}/connectors"),
                    &json!({"location": location}),
                )
                .await?;
            eprintln!(
                "Enrol the connector with:\n  portcullis connector enroll --hub <hub URL> --token {} --config connector.toml",
                v["enrollment_token"].as_str().unwrap_or("?")
            );
            print(&v)
        }
        AdminCmd::Connector(ConnectorCmd::List { company }) => print(
            &client
                .get::<Value>(&format!("/api/v1/companies/{company}/connectors"))
                .await?,
        ),
        AdminCmd::Connector(ConnectorCmd::Revoke { id }) => print(
            &client
                .post::<_, Value>(&format!("/api/v1/connectors/{id}/revoke"), &json!({}))
                .await?,
        ),
        AdminCmd::Connector(ConnectorCmd::EnrollmentToken { id }) => print(
            &client
                .post::<_, Value>(
                    &format!("/api/v1/connectors/{id}/enrollment-token"),
                    &json!({}),
                )
                .await?,
        ),
        AdminCmd::Audit {
            company,
            action,
            limit,
        } => {
            let q = crate::audit::list_path(company.as_deref(), action.as_deref(), None, limit);
            print(&client.get::<Value>(&q).await?)
        }
    }
}
