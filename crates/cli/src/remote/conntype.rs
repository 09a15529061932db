//! `portcullis connection-type …`: the hub's catalogue of connection types and a company's
//! own.

use anyhow::{anyhow, Result};
use clap::Subcommand;
use portcullis_domain::conntype::ConnProtocol;

use super::or_dash;
use crate::output::{OutputArgs, Table};
use portcullis_client::requests::ConnTypeDef;
use portcullis_client::views::ConnectionType;
use portcullis_client::ApiClient;

/// `portcullis connection-type …`
#[derive(Debug, Subcommand)]
pub enum TypeCmd {
    /// Lists the catalogue and the company's own types.
    List {
        /// Company id or name.
        #[arg(long)]
        company: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Adds a type of the company's own.
    Create {
        /// Company id or name.
        #[arg(long)]
        company: String,
        /// Short key used on command lines and in entry-point names, e.g. `pg`.
        #[arg(long)]
        key: String,
        /// Display name, e.g. "PostgreSQL".
        #[arg(long)]
        name: String,
        /// How traffic is carried: `tcp`, `ni` or `http`.
        #[arg(long, default_value = "tcp")]
        protocol: String,
        /// The usual port (service connections may give another).
        #[arg(long)]
        port: Option<u16>,
        /// Service connections of this type must name a URL.
        #[arg(long)]
        needs_url: bool,
        /// What the type is for.
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Deletes a company's own type (catalogue types and types in use cannot be deleted).
    Delete {
        /// Connection type id.
        id: i64,
    },
}

fn types_table(rows: &[ConnectionType]) -> Table {
    Table::from_rows(rows.iter().map(|row| {
        let t = &row.def;
        [
            ("ID", row.id.to_string()),
            ("KEY", t.key.clone()),
            ("NAME", t.name.clone()),
            ("PROTOCOL", t.protocol.as_str().to_string()),
            ("PORT", or_dash(t.default_port)),
            ("URL", if t.needs_url { "yes" } else { "no" }.to_string()),
            (
                "OWNER",
                row.company_id
                    .map_or_else(|| "catalogue".to_string(), |c| format!("company {c}")),
            ),
            ("DESCRIPTION", t.description.clone()),
        ]
    }))
    .empty("no connection types")
}

/// Runs one connection-type verb.
pub async fn run(c: &ApiClient, cmd: TypeCmd) -> Result<()> {
    match cmd {
        TypeCmd::List { company, out } => {
            let rows = c.list_connection_types(&company).await?;
            out.print_answer(&rows, |rows| types_table(rows).to_string())
        }
        TypeCmd::Create {
            company,
            key,
            name,
            protocol,
            port,
            needs_url,
            description,
            out,
        } => {
            let def = ConnTypeDef {
                key,
                name,
                protocol: protocol
                    .parse::<ConnProtocol>()
                    .map_err(|e| anyhow!("{e}"))?,
                default_port: port,
                needs_url,
                description,
            };
            let t = c.create_connection_type(&company, &def).await?;
            out.print_answer(&t, |t| types_table(std::slice::from_ref(t)).to_string())
        }
        TypeCmd::Delete { id } => {
            c.delete_connection_type(id).await?;
            println!("Deleted connection type {id}.");
            Ok(())
        }
    }
}
