//! `portcullis connection …`: service connections, a connection type set up for one system
//! through a connector location and the virtual `host:port` that connector exposes.

use anyhow::Result;
use clap::Subcommand;

use super::{fields, or_dash, system};
use crate::output::{OutputArgs, Table};
use portcullis_client::requests::{NewServiceConnection, ServiceQuery};
use portcullis_client::views::ServiceConnection;
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

/// `host:port` at the connector.
pub(crate) fn target(s: &ServiceConnection) -> String {
    format!("{}:{}", s.virtual_host, s.virtual_port)
}

/// What to give an entry point: `<type>.<sid>.<company>.portcullis:<port>`.
pub(crate) fn entry(s: &ServiceConnection) -> String {
    format!("{}:{}", s.entry_host, s.virtual_port)
}

fn services_table(rows: &[ServiceConnection]) -> Table {
    Table::from_rows(rows.iter().map(|s| {
        [
            ("ID", s.id.to_string()),
            ("SID", s.sid.clone()),
            ("TYPE", s.connection_type.clone()),
            ("LOCATION", s.location.clone()),
            ("VIRTUAL TARGET", target(s)),
            ("ENTRY", entry(s)),
            ("STATE", s.state.as_str().to_string()),
            ("NETWORK", s.network.as_str().to_string()),
        ]
    }))
    .empty("no service connections")
}

fn service_fields(s: &ServiceConnection) -> String {
    fields(&[
        ("ID", s.id.to_string()),
        ("SYSTEM", format!("{} (id {})", s.sid, s.system_id)),
        ("TYPE", s.connection_type.clone()),
        ("LOCATION", s.location.clone()),
        ("VIRTUAL TARGET", target(s)),
        ("URL", or_dash(s.url.as_ref())),
        ("ENTRY", entry(s)),
        ("STATE", s.state.as_str().to_string()),
        ("NETWORK", s.network.as_str().to_string()),
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
            let body = NewServiceConnection {
                connection_type,
                location,
                virtual_host,
                virtual_port,
                url,
            };
            let s = c.create_service_connection(sys.system.id, &body).await?;
            out.print_answer(&s, service_fields)
        }
        ConnectionCmd::List {
            company,
            system,
            connection_type,
            state,
            network,
            out,
        } => {
            let system = match &system {
                Some(sid) => Some(system::by_sid(c, &company, sid).await?.system.id),
                None => None,
            };
            let query = ServiceQuery {
                system,
                connection_type,
                state,
                network,
            };
            let rows = c.list_service_connections_where(&company, &query).await?;
            out.print_answer(&rows, |rows| services_table(rows).to_string())
        }
        ConnectionCmd::Show { id, out } => {
            let s = c.get_service_connection(id).await?;
            out.print_answer(&s, service_fields)
        }
        ConnectionCmd::Delete { id } => {
            c.delete_service_connection(id).await?;
            println!("Deleted service connection {id}.");
            Ok(())
        }
    }
}
