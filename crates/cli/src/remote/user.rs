//! `portcullis user …`: a company's super administrator manages the company's users and
//! their authorizations; a vendor admin manages vendor users (support engineers, auditors).

use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{fields, or_dash, seg, typed, when};
use crate::output::{OutputArgs, Table};
use portcullis_client::ApiClient;

/// `portcullis user …`
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Creates a user of a company, or a vendor user without --company.
    Create {
        /// Company id or name; omit for vendor users (support engineers, auditors).
        #[arg(long)]
        company: Option<String>,
        /// Login name (letters, digits, `.`, `-`, `_`, `@`), unique across the hub.
        #[arg(long)]
        name: String,
        /// Name shown to people.
        #[arg(long, default_value = "")]
        display_name: String,
        /// E-mail address, for notifications.
        #[arg(long)]
        email: Option<String>,
        /// `support_engineer`, `auditor`, `company_admin`, `company_user`, `technical` or
        /// `vendor_admin`.
        #[arg(long)]
        role: String,
        /// An authorization for a `company_user` (repeat): `open_service_connections`,
        /// `maintain_system_data`, `maintain_access_data`.
        #[arg(long = "authorization", value_name = "AUTHORIZATION")]
        authorizations: Vec<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Lists a company's users, or the vendor's without --company.
    List {
        /// Company id or name.
        #[arg(long)]
        company: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Sets a company user's authorizations (replacing the ones held).
    Authorize {
        /// User id, or login name (with --company for a company's user).
        user: String,
        /// Company id or name, to find the user by name.
        #[arg(long)]
        company: Option<String>,
        /// An authorization to hold (repeat).
        #[arg(long = "authorization", value_name = "AUTHORIZATION")]
        authorizations: Vec<String>,
        /// Take every authorization away.
        #[arg(long, conflicts_with = "authorizations")]
        none: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Disables a user: its tokens are refused and its live sessions cut.
    Disable {
        /// User id, or login name (with --company for a company's user).
        user: String,
        /// Company id or name, to find the user by name.
        #[arg(long)]
        company: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Issues an API token for a user (printed once).
    Token {
        /// User id, or login name (with --company for a company's user).
        user: String,
        /// Company id or name, to find the user by name.
        #[arg(long)]
        company: Option<String>,
        /// The token's label.
        #[arg(long)]
        name: String,
        /// Lifetime in seconds (default: the hub's `[tokens] default_lifetime_days`; at most
        /// its `max_lifetime_days`).
        #[arg(long, value_name = "SECS", conflicts_with = "no_expiry")]
        expires_in: Option<u64>,
        /// A token that never expires (only if the hub sets `[tokens] allow_unlimited`).
        #[arg(long)]
        no_expiry: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// What the tables show of a user.
#[derive(Debug, Deserialize)]
pub(crate) struct UserRow {
    pub id: i64,
    pub company_id: Option<i64>,
    pub name: String,
    pub display_name: String,
    pub role: String,
    pub authorizations: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
struct Issued {
    id: i64,
    user: String,
    token: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
}

fn users_table(users: &[UserRow]) -> Table {
    Table::from_rows(users.iter().map(|u| {
        [
            ("ID", u.id.to_string()),
            ("NAME", u.name.clone()),
            ("DISPLAY NAME", u.display_name.clone()),
            ("ROLE", u.role.clone()),
            ("COMPANY", or_dash(u.company_id)),
            ("AUTHORIZATIONS", u.authorizations.join(",")),
            ("CREATED", when(u.created_at)),
            ("DISABLED", u.disabled_at.map_or_else(|| "-".into(), when)),
        ]
    }))
    .empty("no users")
}

fn list_path(company: Option<&str>) -> String {
    match company {
        Some(c) => format!("/api/v1/users?company={}", seg(c)),
        None => "/api/v1/users".into(),
    }
}

/// A user's id: `user` itself when it is a number, else the user of that login name in the
/// company's (or the vendor's) list.
async fn user_id(c: &ApiClient, user: &str, company: Option<&str>) -> Result<i64> {
    if let Ok(id) = user.parse() {
        return Ok(id);
    }
    let list: Value = c.get(&list_path(company)).await?;
    let users: Vec<UserRow> = typed(&list)?;
    users
        .iter()
        .find(|u| u.name == user)
        .map(|u| u.id)
        .ok_or_else(|| match company {
            Some(co) => anyhow!("company {co} has no user {user}"),
            None => anyhow!("no vendor user {user} (a company's user needs --company)"),
        })
}

/// Runs one user verb.
pub async fn run(c: &ApiClient, cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Create {
            company,
            name,
            display_name,
            email,
            role,
            authorizations,
            out,
        } => {
            let v: Value = c
                .post(
                    "/api/v1/users",
                    &json!({
                        "company": company,
                        "name": name,
                        "display_name": display_name,
                        "email": email,
                        "role": role,
                        "authorizations": authorizations,
                    }),
                )
                .await?;
            let u: UserRow = typed(&v)?;
            out.print(&v, |_| users_table(std::slice::from_ref(&u)).to_string())
        }
        UserCmd::List { company, out } => {
            let v: Value = c.get(&list_path(company.as_deref())).await?;
            let users: Vec<UserRow> = typed(&v)?;
            out.print(&v, |_| users_table(&users).to_string())
        }
        UserCmd::Authorize {
            user,
            company,
            authorizations,
            none,
            out,
        } => {
            if authorizations.is_empty() && !none {
                bail!("give --authorization (repeat) for what the user may do, or --none");
            }
            let id = user_id(c, &user, company.as_deref()).await?;
            let v: Value = c
                .patch(
                    &format!("/api/v1/users/{id}"),
                    &json!({ "authorizations": authorizations }),
                )
                .await?;
            let u: UserRow = typed(&v)?;
            out.print(&v, |_| users_table(std::slice::from_ref(&u)).to_string())
        }
        UserCmd::Disable { user, company, out } => {
            let id = user_id(c, &user, company.as_deref()).await?;
            let v: Value = c
                .post(&format!("/api/v1/users/{id}/disable"), &json!({}))
                .await?;
            let u: UserRow = typed(&v)?;
            out.print(&v, |_| users_table(std::slice::from_ref(&u)).to_string())
        }
        UserCmd::Token {
            user,
            company,
            name,
            expires_in,
            no_expiry,
            out,
        } => {
            let id = user_id(c, &user, company.as_deref()).await?;
            let v: Value = c
                .post(
                    &format!("/api/v1/users/{id}/tokens"),
                    &json!({ "name": name, "expires_in_secs": expires_in, "no_expiry": no_expiry }),
                )
                .await?;
            let t: Issued = typed(&v)?;
            eprintln!("The token is shown only now; store it safely.");
            out.print(&v, |_| {
                fields(&[
                    ("TOKEN ID", t.id.to_string()),
                    ("USER", t.user.clone()),
                    ("EXPIRES", t.expires_at.map_or_else(|| "never".into(), when)),
                    ("TOKEN", t.token.clone()),
                ])
            })
        }
    }
}
