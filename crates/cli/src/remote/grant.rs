//! `portcullis grant …` (a technical user's standing grant to one service connection) and
//! `portcullis summary` (a company's figures).

use std::collections::HashMap;

use anyhow::Result;
use clap::Subcommand;

use super::{fields, when, ServiceRef};
use crate::output::{OutputArgs, Table};
use portcullis_client::views::Grant;
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

/// Grants as a table; `names` gives user names by id where known.
fn grants_table(rows: &[Grant], names: &HashMap<i64, String>) -> Table {
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
            let g = c.create_grant(sc, &user).await?;
            let names = HashMap::from([(g.user_id, user)]);
            out.print_answer(&g, |g| {
                grants_table(std::slice::from_ref(g), &names).to_string()
            })
        }
        GrantCmd::List { company, all, out } => {
            let mut rows = c.list_grants(&company).await?;
            if !all {
                rows.retain(|g| g.revoked_at.is_none());
            }
            let users = c.list_company_users(&company).await?;
            let names = users.into_iter().map(|u| (u.id, u.name)).collect();
            out.print_answer(&rows, |rows| grants_table(rows, &names).to_string())
        }
        GrantCmd::Revoke { id, out } => {
            let g = c.revoke_grant(id).await?;
            out.print_answer(&g, |g| {
                grants_table(std::slice::from_ref(g), &HashMap::new()).to_string()
            })
        }
    }
}

/// `portcullis summary --company C`
pub async fn summary(c: &ApiClient, company: &str, out: OutputArgs) -> Result<()> {
    let s = c.summary(company).await?;
    out.print_answer(&s, |s| {
        fields(&[
            ("COMPANY", s.company_id.to_string()),
            ("SYSTEMS", s.systems.to_string()),
            ("SERVICE CONNECTIONS", s.service_connections.to_string()),
            ("OPEN CONNECTIONS", s.open_connections.to_string()),
            ("RESERVED WINDOWS", s.reserved_windows.to_string()),
        ])
    })
}
