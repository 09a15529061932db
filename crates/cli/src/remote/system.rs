//! `portcullis system …`: a company's managed systems. The hub filters and sorts; grouping
//! (`--group-by`) is done here, a heading per group.

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use portcullis_domain::system::{SystemStatus, SystemType};
use serde_json::json;

use super::{fields, when};
use crate::output::{sanitize, OutputArgs, Table};
use portcullis_client::requests::{SystemData, SystemQuery};
use portcullis_client::views::{AuditEvent, System, SystemNetwork, SystemView};
use portcullis_client::ApiClient;

/// `portcullis system …`
#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    /// Creates a system (defaults: system number 00, type abap, status active, no flags).
    Create {
        /// Company id or name.
        #[arg(long)]
        company: String,
        #[command(flatten)]
        fields: SystemFields,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Lists a company's systems: filtered and sorted by the hub, grouped here.
    List {
        /// Company id or name.
        #[arg(long)]
        company: String,
        /// Only `active` or `inactive` systems.
        #[arg(long)]
        status: Option<String>,
        /// Only systems of this type (`abap`, `java`, `dual_stack`, `hana`, `database`, `other`).
        #[arg(long)]
        system_type: Option<String>,
        /// Only products containing this (case-insensitive).
        #[arg(long)]
        product: Option<String>,
        /// Only systems with this flag: `eu_data_protection`, `advanced_secure_support`,
        /// `allow_independent_opening`.
        #[arg(long)]
        flag: Option<String>,
        /// Only systems with a window open now.
        #[arg(long)]
        open: bool,
        /// Only my favourites.
        #[arg(long)]
        favourites: bool,
        /// Only systems with this network status: `connected` (every connector its service
        /// connections go through is connected), `not_connected`, `not_set_up`.
        #[arg(long)]
        network: Option<String>,
        /// `sid` (default), `product`, `status`, `system_type`, `open` (most open first).
        #[arg(long)]
        sort: Option<String>,
        /// Prints a heading and a table per group.
        #[arg(long, value_enum)]
        group_by: Option<GroupBy>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Shows one system.
    Show {
        #[command(flatten)]
        system: SystemRef,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Changes a system: the fields given; the others stay as they are.
    Update {
        #[command(flatten)]
        system: SystemRef,
        #[command(flatten)]
        fields: SystemFields,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Deletes a system (refused while service connections are set up for it).
    Delete {
        #[command(flatten)]
        system: SystemRef,
    },
    /// Marks a system as one of my favourites.
    Favourite {
        #[command(flatten)]
        system: SystemRef,
    },
    /// Takes a system off my favourites.
    Unfavourite {
        #[command(flatten)]
        system: SystemRef,
    },
    /// The system's log book: every audit event about it, oldest first.
    Logbook {
        #[command(flatten)]
        system: SystemRef,
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// How `system list --group-by` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum GroupBy {
    /// `active`, `inactive`.
    Status,
    /// `abap`, `java`, …
    SystemType,
    /// The installed product.
    Product,
}

/// A system's maintained fields as flags. On `create` the missing ones take defaults; on
/// `update` they keep their current values.
#[derive(Debug, Clone, Default, Args)]
pub struct SystemFields {
    /// System ID: three upper-case letters and digits, starting with a letter (e.g. PRD).
    #[arg(long)]
    pub sid: Option<String>,
    /// Instance number, two digits (create: 00).
    #[arg(long)]
    pub system_number: Option<String>,
    /// `abap`, `java`, `dual_stack`, `hana`, `database`, `other` (create: abap).
    #[arg(long)]
    pub system_type: Option<String>,
    /// Installed product, e.g. "SAP S/4HANA" (required on create).
    #[arg(long)]
    pub product: Option<String>,
    /// The product's version (create: empty).
    #[arg(long)]
    pub product_version: Option<String>,
    /// Installation number: ten digits (required on create).
    #[arg(long)]
    pub installation_number: Option<String>,
    /// `active` or `inactive` (create: active).
    #[arg(long)]
    pub status: Option<String>,
    /// The customer requires EU data protection (`--eu-data-protection` or `=false`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub eu_data_protection: Option<bool>,
    /// The customer requires advanced secure support.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub advanced_secure_support: Option<bool>,
    /// Engineers' requests may open a window without a customer admin.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub allow_independent_opening: Option<bool>,
    /// Free text (create: empty).
    #[arg(long)]
    pub description: Option<String>,
}

/// Which system: its id, or its SID with --company.
#[derive(Debug, Clone, Args)]
pub struct SystemRef {
    /// System id, or SID (with --company).
    #[arg(value_name = "SYSTEM")]
    pub system: String,
    /// Company id or name, to find the system by SID.
    #[arg(long)]
    pub company: Option<String>,
}

impl SystemFields {
    fn apply(self, d: &mut SystemData) -> Result<()> {
        let SystemFields {
            sid,
            system_number,
            system_type,
            product,
            product_version,
            installation_number,
            status,
            eu_data_protection,
            advanced_secure_support,
            allow_independent_opening,
            description,
        } = self;
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = $f { d.$f = v; })* };
        }
        set!(
            sid,
            system_number,
            product,
            product_version,
            installation_number,
            eu_data_protection,
            advanced_secure_support,
            allow_independent_opening,
            description
        );
        if let Some(t) = system_type {
            d.system_type = t.parse::<SystemType>().map_err(|e| anyhow!("{e}"))?;
        }
        if let Some(st) = status {
            d.status = st.parse::<SystemStatus>().map_err(|e| anyhow!("{e}"))?;
        }
        Ok(())
    }

    fn create(self) -> Result<SystemData> {
        for (given, flag) in [
            (self.sid.is_some(), "--sid"),
            (self.product.is_some(), "--product"),
            (self.installation_number.is_some(), "--installation-number"),
        ] {
            if !given {
                bail!("system create needs {flag}");
            }
        }
        let mut d = SystemData {
            sid: String::new(),
            system_number: "00".into(),
            system_type: SystemType::Abap,
            product: String::new(),
            product_version: String::new(),
            installation_number: String::new(),
            status: SystemStatus::Active,
            eu_data_protection: false,
            advanced_secure_support: false,
            allow_independent_opening: false,
            description: String::new(),
        };
        self.apply(&mut d)?;
        Ok(d)
    }
}

fn flags(d: &SystemData) -> String {
    let mut f = Vec::new();
    if d.eu_data_protection {
        f.push("eu");
    }
    if d.advanced_secure_support {
        f.push("ass");
    }
    if d.allow_independent_opening {
        f.push("independent");
    }
    f.join(",")
}

fn systems_table(rows: &[&SystemView]) -> Table {
    Table::from_rows(rows.iter().map(|v| {
        let s = &v.system;
        let d = &s.data;
        [
            ("ID", s.id.to_string()),
            ("SID", d.sid.clone()),
            ("NR", d.system_number.clone()),
            ("TYPE", d.system_type.as_str().to_string()),
            ("PRODUCT", d.product.clone()),
            ("VERSION", d.product_version.clone()),
            ("STATUS", d.status.as_str().to_string()),
            ("FLAGS", flags(d)),
            ("CONNECTIONS", v.service_connections.to_string()),
            ("OPEN", v.open_connections.to_string()),
            ("NETWORK", v.network.as_str().to_string()),
            ("FAV", if v.favourite { "*" } else { "" }.to_string()),
        ]
    }))
    .empty("no systems")
}

/// What a system's counts and network status are now (`GET /systems/{id}` and lists have
/// them; creation and update answer the system alone).
#[derive(Debug, Clone, Copy)]
struct Live {
    service_connections: u64,
    open_connections: u64,
    network: SystemNetwork,
}

impl Live {
    fn of(v: &SystemView) -> Live {
        Live {
            service_connections: v.service_connections,
            open_connections: v.open_connections,
            network: v.network,
        }
    }
}

fn system_fields(s: &System, live: Option<Live>) -> String {
    let d = &s.data;
    fields(&[
        ("ID", s.id.to_string()),
        ("COMPANY", s.company_id.to_string()),
        ("SID", d.sid.clone()),
        ("SYSTEM NUMBER", d.system_number.clone()),
        ("SYSTEM TYPE", d.system_type.as_str().to_string()),
        ("PRODUCT", d.product.clone()),
        ("PRODUCT VERSION", d.product_version.clone()),
        ("INSTALLATION NUMBER", d.installation_number.clone()),
        ("STATUS", d.status.as_str().to_string()),
        ("EU DATA PROTECTION", d.eu_data_protection.to_string()),
        (
            "ADVANCED SECURE SUPPORT",
            d.advanced_secure_support.to_string(),
        ),
        (
            "ALLOW INDEPENDENT OPENING",
            d.allow_independent_opening.to_string(),
        ),
        ("DESCRIPTION", d.description.clone()),
        (
            "SERVICE CONNECTIONS",
            live.map_or_else(|| "-".into(), |l| l.service_connections.to_string()),
        ),
        (
            "OPEN CONNECTIONS",
            live.map_or_else(|| "-".into(), |l| l.open_connections.to_string()),
        ),
        (
            "NETWORK",
            live.map_or_else(|| "-".into(), |l| l.network.as_str().to_string()),
        ),
        ("UPDATED", when(s.updated_at)),
    ])
}

/// The system of `sid` in `company`.
pub(crate) async fn by_sid(c: &ApiClient, company: &str, sid: &str) -> Result<SystemView> {
    let rows = c.list_systems(company).await?;
    rows.into_iter()
        .find(|s| s.system.data.sid.eq_ignore_ascii_case(sid))
        .ok_or_else(|| anyhow!("company {company} has no system {sid}"))
}

impl SystemRef {
    async fn id(&self, c: &ApiClient) -> Result<i64> {
        if let Ok(id) = self.system.parse() {
            return Ok(id);
        }
        let Some(company) = &self.company else {
            bail!(
                "{:?} is not a system id; to name a system by its SID, give --company",
                self.system
            );
        };
        Ok(by_sid(c, company, &self.system).await?.system.id)
    }
}

fn group_key(s: &SystemView, by: GroupBy) -> String {
    let d = &s.system.data;
    match by {
        GroupBy::Status => d.status.as_str().to_string(),
        GroupBy::SystemType => d.system_type.as_str().to_string(),
        GroupBy::Product => d.product.clone(),
    }
}

/// `rows` in groups by `by`, groups in name order, the hub's order kept inside each.
fn groups(rows: &[SystemView], by: GroupBy) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, s) in rows.iter().enumerate() {
        let k = group_key(s, by);
        match out.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(i),
            None => out.push((k, vec![i])),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn group_name(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Status => "status",
        GroupBy::SystemType => "system_type",
        GroupBy::Product => "product",
    }
}

/// Runs one system verb.
pub async fn run(c: &ApiClient, cmd: SystemCmd) -> Result<()> {
    match cmd {
        SystemCmd::Create {
            company,
            fields,
            out,
        } => {
            let data = fields.create()?;
            let s = c.create_system(&company, &data).await?;
            out.print_answer(&s, |s| system_fields(s, None))
        }
        SystemCmd::List {
            company,
            status,
            system_type,
            product,
            flag,
            open,
            favourites,
            network,
            sort,
            group_by,
            out,
        } => {
            let query = SystemQuery {
                status,
                system_type,
                product,
                flag,
                open,
                favourites,
                network,
                sort,
                q: None,
            };
            let rows = c.list_systems_where(&company, &query).await?;
            let Some(by) = group_by else {
                return out.print_answer(&rows, |rows| {
                    systems_table(&rows.iter().collect::<Vec<_>>()).to_string()
                });
            };
            let groups = groups(&rows, by);
            // `--json`: each group with its systems as the hub answered them.
            let json = groups
                .iter()
                .map(|(k, idx)| {
                    let systems = idx
                        .iter()
                        .map(|i| serde_json::to_value(&rows[*i]))
                        .collect::<serde_json::Result<Vec<_>>>()?;
                    Ok(json!({
                        "group_by": group_name(by),
                        "group": k,
                        "systems": systems,
                    }))
                })
                .collect::<serde_json::Result<Vec<_>>>()?;
            out.print(&json, |_| {
                if groups.is_empty() {
                    return "no systems".into();
                }
                let mut s = String::new();
                for (n, (k, idx)) in groups.iter().enumerate() {
                    if n > 0 {
                        s.push('\n');
                    }
                    let name = if k.is_empty() { "(none)" } else { k };
                    s.push_str(&format!(
                        "== {} {} ({}) ==\n",
                        group_name(by),
                        sanitize(name),
                        idx.len()
                    ));
                    let members: Vec<&SystemView> = idx.iter().map(|i| &rows[*i]).collect();
                    s.push_str(&systems_table(&members).to_string());
                }
                s
            })
        }
        SystemCmd::Show { system, out } => {
            let id = system.id(c).await?;
            let v = c.get_system(id).await?;
            out.print_answer(&v, |v| system_fields(&v.system, Some(Live::of(v))))
        }
        SystemCmd::Update {
            system,
            fields,
            out,
        } => {
            let id = system.id(c).await?;
            let mut data = c.get_system(id).await?.system.data;
            fields.apply(&mut data)?;
            let s = c.update_system(id, &data).await?;
            out.print_answer(&s, |s| system_fields(s, None))
        }
        SystemCmd::Delete { system } => {
            let id = system.id(c).await?;
            c.delete_system(id).await?;
            println!("Deleted system {id}.");
            Ok(())
        }
        SystemCmd::Favourite { system } => {
            let id = system.id(c).await?;
            c.favourite_system(id).await?;
            println!("System {id} is one of your favourites.");
            Ok(())
        }
        SystemCmd::Unfavourite { system } => {
            let id = system.id(c).await?;
            c.unfavourite_system(id).await?;
            println!("System {id} is no longer one of your favourites.");
            Ok(())
        }
        SystemCmd::Logbook { system, out } => {
            let id = system.id(c).await?;
            let rows = c.system_logbook(id).await?;
            out.print_answer(&rows, |rows: &Vec<AuditEvent>| {
                Table::from_rows(rows.iter().map(|e| {
                    [
                        ("SEQ", e.seq.to_string()),
                        ("TIME", when(e.at)),
                        ("ACTOR", e.actor.clone()),
                        ("ACTION", e.action.clone()),
                        ("TARGET", e.target.clone()),
                        ("OUTCOME", e.outcome.clone()),
                        ("DETAIL", e.detail.to_string()),
                    ]
                }))
                .empty("nothing in the log book")
                .to_string()
            })
        }
    }
}

#[cfg(test)]
#[path = "system_tests.rs"]
mod tests;
