//! `portcullis system …`: a company's managed systems. The hub filters and sorts; grouping
//! (`--group-by`) is done here, a heading per group.

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{fields, seg, typed, when};
use crate::connect::query_escape;
use crate::output::{sanitize, OutputArgs, Table};
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

/// The maintained fields as the API reads and writes them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SystemData {
    pub sid: String,
    pub system_number: String,
    pub system_type: String,
    pub product: String,
    pub product_version: String,
    pub installation_number: String,
    pub status: String,
    pub eu_data_protection: bool,
    pub advanced_secure_support: bool,
    pub allow_independent_opening: bool,
    pub description: String,
}

/// What the tables show of a system (the list adds counts and the favourite mark).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SystemRow {
    pub id: i64,
    pub company_id: i64,
    #[serde(flatten)]
    pub data: SystemData,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub service_connections: Option<usize>,
    pub open_connections: Option<usize>,
    pub network: Option<String>,
    pub favourite: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct LogRow {
    seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    detail: Value,
}

impl SystemFields {
    fn apply(self, d: &mut SystemData) {
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
            system_type,
            product,
            product_version,
            installation_number,
            status,
            eu_data_protection,
            advanced_secure_support,
            allow_independent_opening,
            description
        );
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
            system_type: "abap".into(),
            product: String::new(),
            product_version: String::new(),
            installation_number: String::new(),
            status: "active".into(),
            eu_data_protection: false,
            advanced_secure_support: false,
            allow_independent_opening: false,
            description: String::new(),
        };
        self.apply(&mut d);
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

fn systems_table(rows: &[&SystemRow]) -> Table {
    Table::from_rows(rows.iter().map(|s| {
        let d = &s.data;
        let mut r = vec![
            ("ID", s.id.to_string()),
            ("SID", d.sid.clone()),
            ("NR", d.system_number.clone()),
            ("TYPE", d.system_type.clone()),
            ("PRODUCT", d.product.clone()),
            ("VERSION", d.product_version.clone()),
            ("STATUS", d.status.clone()),
            ("FLAGS", flags(d)),
        ];
        if let (Some(sc), Some(open)) = (s.service_connections, s.open_connections) {
            r.push(("CONNECTIONS", sc.to_string()));
            r.push(("OPEN", open.to_string()));
        }
        if let Some(n) = &s.network {
            r.push(("NETWORK", n.clone()));
        }
        if let Some(f) = s.favourite {
            r.push(("FAV", if f { "*" } else { "" }.to_string()));
        }
        r
    }))
    .empty("no systems")
}

fn system_fields(s: &SystemRow) -> String {
    let d = &s.data;
    fields(&[
        ("ID", s.id.to_string()),
        ("COMPANY", s.company_id.to_string()),
        ("SID", d.sid.clone()),
        ("SYSTEM NUMBER", d.system_number.clone()),
        ("SYSTEM TYPE", d.system_type.clone()),
        ("PRODUCT", d.product.clone()),
        ("PRODUCT VERSION", d.product_version.clone()),
        ("INSTALLATION NUMBER", d.installation_number.clone()),
        ("STATUS", d.status.clone()),
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
            s.service_connections
                .map_or_else(|| "-".into(), |n| n.to_string()),
        ),
        (
            "OPEN CONNECTIONS",
            s.open_connections
                .map_or_else(|| "-".into(), |n| n.to_string()),
        ),
        ("NETWORK", s.network.clone().unwrap_or_else(|| "-".into())),
        ("UPDATED", when(s.updated_at)),
    ])
}

/// The systems of `company`, with the hub's filters and sort.
pub(crate) async fn list(c: &ApiClient, company: &str, query: &[(&str, String)]) -> Result<Value> {
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", query_escape(v)))
        .collect();
    let mut path = format!("/api/v1/companies/{}/systems", seg(company));
    if !q.is_empty() {
        path.push('?');
        path.push_str(&q.join("&"));
    }
    Ok(c.get(&path).await?)
}

/// The system of `sid` in `company`.
pub(crate) async fn by_sid(c: &ApiClient, company: &str, sid: &str) -> Result<SystemRow> {
    let rows: Vec<SystemRow> = typed(&list(c, company, &[]).await?)?;
    rows.into_iter()
        .find(|s| s.data.sid.eq_ignore_ascii_case(sid))
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
        Ok(by_sid(c, company, &self.system).await?.id)
    }
}

fn group_key(s: &SystemRow, by: GroupBy) -> String {
    match by {
        GroupBy::Status => s.data.status.clone(),
        GroupBy::SystemType => s.data.system_type.clone(),
        GroupBy::Product => s.data.product.clone(),
    }
}

/// `rows` in groups by `by`, groups in name order, the hub's order kept inside each.
fn groups(rows: &[SystemRow], by: GroupBy) -> Vec<(String, Vec<usize>)> {
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
            let v: Value = c
                .post(
                    &format!("/api/v1/companies/{}/systems", seg(&company)),
                    &data,
                )
                .await?;
            let s: SystemRow = typed(&v)?;
            out.print(&v, |_| system_fields(&s))
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
            let mut q = Vec::new();
            for (k, v) in [
                ("status", status),
                ("system_type", system_type),
                ("product", product),
                ("flag", flag),
                ("network", network),
                ("sort", sort),
            ] {
                if let Some(v) = v {
                    q.push((k, v));
                }
            }
            if open {
                q.push(("open", "true".into()));
            }
            if favourites {
                q.push(("favourites", "true".into()));
            }
            let v = list(c, &company, &q).await?;
            let rows: Vec<SystemRow> = typed(&v)?;
            let Some(by) = group_by else {
                let all: Vec<&SystemRow> = rows.iter().collect();
                return out.print(&v, |_| systems_table(&all).to_string());
            };
            let raw = v.as_array().cloned().unwrap_or_default();
            let groups = groups(&rows, by);
            let json: Vec<Value> = groups
                .iter()
                .map(|(k, idx)| {
                    json!({
                        "group_by": group_name(by),
                        "group": k,
                        "systems": idx.iter().map(|i| raw[*i].clone()).collect::<Vec<_>>(),
                    })
                })
                .collect();
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
                    let members: Vec<&SystemRow> = idx.iter().map(|i| &rows[*i]).collect();
                    s.push_str(&systems_table(&members).to_string());
                }
                s
            })
        }
        SystemCmd::Show { system, out } => {
            let id = system.id(c).await?;
            let v: Value = c.get(&format!("/api/v1/systems/{id}")).await?;
            let s: SystemRow = typed(&v)?;
            out.print(&v, |_| system_fields(&s))
        }
        SystemCmd::Update {
            system,
            fields,
            out,
        } => {
            let id = system.id(c).await?;
            let current: SystemRow =
                typed(&c.get::<Value>(&format!("/api/v1/systems/{id}")).await?)?;
            let mut data = current.data;
            fields.apply(&mut data);
            let v: Value = c.put(&format!("/api/v1/systems/{id}"), &data).await?;
            let s: SystemRow = typed(&v)?;
            out.print(&v, |_| system_fields(&s))
        }
        SystemCmd::Delete { system } => {
            let id = system.id(c).await?;
            c.delete::<Value>(&format!("/api/v1/systems/{id}")).await?;
            println!("Deleted system {id}.");
            Ok(())
        }
        SystemCmd::Favourite { system } => {
            let id = system.id(c).await?;
            c.put::<_, Value>(&format!("/api/v1/systems/{id}/favourite"), &json!({}))
                .await?;
            println!("System {id} is one of your favourites.");
            Ok(())
        }
        SystemCmd::Unfavourite { system } => {
            let id = system.id(c).await?;
            c.delete::<Value>(&format!("/api/v1/systems/{id}/favourite"))
                .await?;
            println!("System {id} is no longer one of your favourites.");
            Ok(())
        }
        SystemCmd::Logbook { system, out } => {
            let id = system.id(c).await?;
            let v: Value = c.get(&format!("/api/v1/systems/{id}/logbook")).await?;
            let rows: Vec<LogRow> = typed(&v)?;
            out.print(&v, |_| {
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
