//! `portcullis connection …`: service connections, a connection type set up for one system
//! through a connector location and the virtual `host:port` that connector exposes.

use anyhow::Result;
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{fields, or_dash, seg, system, typed};
use crate::connect::query_escape;
use crate::output::{OutputArgs, Table};
use portcullis_client::ApiClient;

/// `portcullis connection …`
#[derive(Debug, Subcommand)]
pub enum ConnectionCmd {
    /// Sets a connection type up for a system.
    Create {
        /// Company id or name.
        #[arg(long)]
        company: String,
        /// The system's SID.
        #[arg(long, value_name = "SID")]
        system: String,
        /// Connection type key, e.g. `ssh`, `r3_support`, `http_connect`.
        #[arg(long = "type", value_name = "KEY")]
        connection_type: String,
        /// Connector location that reaches the system.
        #[arg(long)]
        location: String,
        /// Virtual host the connector exposes.
        #[arg(long = "host")]
        virtual_host: String,
        /// Virtual port (default: the type's usual port for this system, e.g. 32NN).
        #[arg(long = "port")]
        virtual_port: Option<u16>,
        /// The URL, for web types (`http_connect`).
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Lists a company's service connections and their state now.
    List {
        /// Company id or name.
        #[arg(long)]
        company: String,
        /// Only this system's (SID).
        #[arg(long, value_name = "SID")]
        system: Option<String>,
        /// Only this connection type's (key).
        #[arg(long = "type", value_name = "KEY")]
        connection_type: Option<String>,
        /// Only those `open`, `reserved` or `closed` now.
        #[arg(long)]
        state: Option<String>,
        /// Only those whose connector is `connected`, `not_connected`, `not_enrolled` or
        /// `revoked`.
        #[arg(long)]
        network: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Shows one service connection.
    Show {
        /// Service connection id.
        id: i64,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Deletes a service connection (refused while a window is open or reserved).
    Delete {
        /// Service connection id.
        id: i64,
    },
}

/// What the tables show of a service connection.
#[derive(Debug, Deserialize)]
pub(crate) struct ServiceRow {
    pub id: i64,
    pub system_id: i64,
    pub virtual_host: String,
    pub virtual_port: u16,
    pub url: Option<String>,
    pub created_by: String,
    pub sid: String,
    pub connection_type: String,
    pub location: String,
    pub entry_host: String,
    pub state: String,
    pub network: String,
}

impl ServiceRow {
    /// `host:port` at the connector.
    pub fn target(&self) -> String {
        format!("{}:{}", self.virtual_host, self.virtual_port)
    }

    /// What to give an entry point: `<type>.<sid>.<company>.portcullis:<port>`.
    pub fn entry(&self) -> String {
        format!("{}:{}", self.entry_host, self.virtual_port)
    }
}

fn services_table(rows: &[ServiceRow]) -> Table {
    Table::from_rows(rows.iter().map(|s| {
        [
            ("ID", s.id.to_string()),
            ("SID", s.sid.clone()),
            ("TYPE", s.connection_type.clone()),
            ("LOCATION", s.location.clone()),
            ("VIRTUAL TARGET", s.target()),
            ("ENTRY", s.entry()),
            ("STATE", s.state.clone()),
            ("NETWORK", s.network.clone()),
        ]
    }))
    .empty("no service connections")
}

fn service_fields(s: &ServiceRow) -> String {
    fields(&[
        ("ID", s.id.to_string()),
        ("SYSTEM", format!("{} (id {})", s.sid, s.system_id)),
        ("TYPE", s.connection_type.clone()),
        ("LOCATION", s.location.clone()),
        ("VIRTUAL TARGET", s.target()),
        ("URL", or_dash(s.url.as_ref())),
        ("ENTRY", s.entry()),
        ("STATE", s.state.clone()),
        ("NETWORK", s.network.clone()),
        ("CREATED BY", s.created_by.clone()),
    ])
}

/// Runs one connection verb.
pub async fn run(c: &ApiClient, cmd: ConnectionCmd) -> Result<()> {
    match cmd {
        ConnectionCmd::Create {
            company,
            system,
            connection_type,
            location,
            virtual_host,
            virtual_port,
            url,
            out,
        } => {
            let sys = system::by_sid(c, &company, &system).await?;
            let v: Value = c
                .post(
                    &format!("/api/v1/systems/{}/service-connections", sys.id),
                    &json!({
                        "connection_type": connection_type,
                        "location": location,
                        "virtual_host": virtual_host,
                        "virtual_port": virtual_port,
                        "url": url,
                    }),
                )
                .await?;
            let s: ServiceRow = typed(&v)?;
            out.print(&v, |_| service_fields(&s))
        }
        ConnectionCmd::List {
            company,
            system,
            connection_type,
            state,
            network,
            out,
        } => {
            let mut q = Vec::new();
            if let Some(sid) = &system {
                q.push(format!(
                    "system={}",
                    system::by_sid(c, &company, sid).await?.id
                ));
            }
            if let Some(t) = &connection_type {
                q.push(format!("connection_type={}", query_escape(t)));
            }
            if let Some(s) = &state {
                q.push(format!("state={}", query_escape(s)));
            }
            if let Some(n) = &network {
                q.push(format!("network={}", query_escape(n)));
            }
            let mut path = format!("/api/v1/companies/{}/service-connections", seg(&company));
            if !q.is_empty() {
                path.push('?');
                path.push_str(&q.join("&"));
            }
            let v: Value = c.get(&path).await?;
            let rows: Vec<ServiceRow> = typed(&v)?;
            out.print(&v, |_| services_table(&rows).to_string())
        }
        ConnectionCmd::Show { id, out } => {
            let v: Value = c.get(&format!("/api/v1/service-connections/{id}")).await?;
            let s: ServiceRow = typed(&v)?;
            out.print(&v, |_| service_fields(&s))
        }
        ConnectionCmd::Delete { id } => {
            c.delete::<Value>(&format!("/api/v1/service-connections/{id}"))
                .await?;
            println!("Deleted service connection {id}.");
            Ok(())
        }
    }
}
