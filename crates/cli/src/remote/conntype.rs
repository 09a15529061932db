//! `portcullis connection-type …`: the hub's catalogue of connection types and a company's
//! own.

use anyhow::Result;
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{or_dash, seg, typed};
use crate::output::{OutputArgs, Table};
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

#[derive(Debug, Deserialize)]
struct TypeRow {
    id: i64,
    company_id: Option<i64>,
    key: String,
    name: String,
    protocol: String,
    default_port: Option<u16>,
    needs_url: bool,
    description: String,
}

fn types_table(rows: &[TypeRow]) -> Table {
    Table::from_rows(rows.iter().map(|t| {
        [
            ("ID", t.id.to_string()),
            ("KEY", t.key.clone()),
            ("NAME", t.name.clone()),
            ("PROTOCOL", t.protocol.clone()),
            ("PORT", or_dash(t.default_port)),
            ("URL", if t.needs_url { "yes" } else { "no" }.to_string()),
            (
                "OWNER",
                t.company_id
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
            let v: Value = c
                .get(&format!(
                    "/api/v1/companies/{}/connection-types",
                    seg(&company)
                ))
                .await?;
            let rows: Vec<TypeRow> = typed(&v)?;
            out.print(&v, |_| types_table(&rows).to_string())
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
            let v: Value = c
                .post(
                    &format!("/api/v1/companies/{}/connection-types", seg(&company)),
                    &json!({
                        "key": key,
                        "name": name,
                        "protocol": protocol,
                        "default_port": port,
                        "needs_url": needs_url,
                        "description": description,
                    }),
                )
                .await?;
            let t: TypeRow = typed(&v)?;
            out.print(&v, |_| types_table(&[t]).to_string())
        }
        TypeCmd::Delete { id } => {
            c.delete::<Value>(&format!("/api/v1/connection-types/{id}"))
                .await?;
            println!("Deleted connection type {id}.");
            Ok(())
        }
    }
}
