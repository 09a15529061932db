//! `portcullis grant …` (a technical user's standing grant to one service connection) and
//! `portcullis summary` (a company's figures).

use std::collections::HashMap;

use anyhow::Result;
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::user::UserRow;
use super::{fields, seg, typed, when, ServiceRef};
use crate::output::{OutputArgs, Table};
use portcullis_client::ApiClient;

/// `portcullis grant …`
#[derive(Debug, Subcommand)]
pub enum GrantCmd {
    /// Lets a company's technical user reach a service connection without windows.
    Create {
        #[command(flatten)]
        service: ServiceRef,
        /// The technical user's login name.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Lists a company's grants (revoked ones with --all).
    List {
        /// Company id or name.
        #[arg(long)]
        company: String,
        /// Revoked grants too.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Takes a grant back and cuts the live sessions it permitted.
    Revoke {
        /// Grant id.
        id: i64,
        #[command(flatten)]
        out: OutputArgs,
    },
}

#[derive(Debug, Deserialize)]
struct GrantRow {
    id: i64,
    user_id: i64,
    service_connection_id: i64,
    created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    company_id: i64,
    systems: usize,
    service_connections: usize,
    open_connections: usize,
    reserved_windows: usize,
}

/// Grants as a table; `names` gives user names by id where known.
fn grants_table(rows: &[GrantRow], names: &HashMap<i64, String>) -> Table {
    Table::from_rows(rows.iter().map(|g| {
        [
            ("ID", g.id.to_string()),
            (
                "USER",
                names
                    .get(&g.user_id)
                    .cloned()
                    .unwrap_or_else(|| format!("user {}", g.user_id)),
            ),
            ("CONNECTION", g.service_connection_id.to_string()),
            ("GIVEN BY", g.created_by.clone()),
            ("GIVEN", when(g.created_at)),
            ("REVOKED", g.revoked_at.map_or_else(|| "-".into(), when)),
        ]
    }))
    .empty("no grants")
}

/// Runs one grant verb.
pub async fn run(c: &ApiClient, cmd: GrantCmd) -> Result<()> {
    match cmd {
        GrantCmd::Create { service, user, out } => {
            let sc = service.resolve(c).await?;
            let v: Value = c
                .post(
                    &format!("/api/v1/service-connections/{sc}/grants"),
                    &json!({ "user": user }),
                )
                .await?;
            let g: GrantRow = typed(&v)?;
            let names = HashMap::from([(g.user_id, user)]);
            out.print(&v, |_| grants_table(&[g], &names).to_string())
        }
        GrantCmd::List { company, all, out } => {
            let v: Value = c
                .get(&format!("/api/v1/companies/{}/grants", seg(&company)))
                .await?;
            let mut raw = v.as_array().cloned().unwrap_or_default();
            if !all {
                raw.retain(|g| g["revoked_at"].is_null());
            }
            let raw = Value::Array(raw);
            let rows: Vec<GrantRow> = typed(&raw)?;
            let users: Vec<UserRow> = typed(
                &c.get::<Value>(&format!("/api/v1/users?company={}", seg(&company)))
                    .await?,
            )?;
            let names = users.into_iter().map(|u| (u.id, u.name)).collect();
            out.print(&raw, |_| grants_table(&rows, &names).to_string())
        }
        GrantCmd::Revoke { id, out } => {
            let v: Value = c
                .post(&format!("/api/v1/grants/{id}/revoke"), &json!({}))
                .await?;
            let g: GrantRow = typed(&v)?;
            out.print(&v, |_| grants_table(&[g], &HashMap::new()).to_string())
        }
    }
}

/// `portcullis summary --company C`
pub async fn summary(c: &ApiClient, company: &str, out: OutputArgs) -> Result<()> {
    let v: Value = c
        .get(&format!("/api/v1/companies/{}/summary", seg(company)))
        .await?;
    let s: Summary = typed(&v)?;
    out.print(&v, |_| {
        fields(&[
            ("COMPANY", s.company_id.to_string()),
            ("SYSTEMS", s.systems.to_string()),
            ("SERVICE CONNECTIONS", s.service_connections.to_string()),
            ("OPEN CONNECTIONS", s.open_connections.to_string()),
            ("RESERVED WINDOWS", s.reserved_windows.to_string()),
        ])
    })
}
