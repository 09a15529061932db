//! `portcullis user …`: a company's super administrator manages the company's users and
//! their authorizations; a vendor admin manages vendor users (support engineers, auditors).

use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use portcullis_domain::authz::{Authorization, Authorizations, Role};

use super::{fields, or_dash, when};
use crate::output::{OutputArgs, Table};
use portcullis_client::requests::{EditUser, NewUser, NewUserToken};
use portcullis_client::views::User;
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

fn users_table(users: &[User]) -> Table {
    Table::from_rows(users.iter().map(|u| {
        [
            ("ID", u.id.to_string()),
            ("NAME", u.name.clone()),
            ("DISPLAY NAME", u.display_name.clone()),
            ("ROLE", u.role.as_str().to_string()),
            ("COMPANY", or_dash(u.company_id)),
            ("AUTHORIZATIONS", u.authorizations.to_stored()),
            ("CREATED", when(u.created_at)),
            ("DISABLED", u.disabled_at.map_or_else(|| "-".into(), when)),
        ]
    }))
    .empty("no users")
}

/// A company's users, or the vendor's without a company.
pub(crate) async fn list(c: &ApiClient, company: Option<&str>) -> Result<Vec<User>> {
    Ok(match company {
        Some(co) => c.list_company_users(co).await?,
        None => c.list_users().await?,
    })
}

/// The authorizations named on the command line.
fn authorizations(names: &[String]) -> Result<Authorizations> {
    names
        .iter()
        .map(|n| n.parse::<Authorization>().map_err(|e| anyhow!("{e}")))
        .collect()
}

/// A user's id: `user` itself when it is a number, else the user of that login name in the
/// company's (or the vendor's) list.
async fn user_id(c: &ApiClient, user: &str, company: Option<&str>) -> Result<i64> {
    if let Ok(id) = user.parse() {
        return Ok(id);
    }
    list(c, company)
        .await?
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
            let body = NewUser {
                company,
                name,
                display_name,
                email,
                role: role.parse::<Role>().map_err(|e| anyhow!("{e}"))?,
                authorizations: self::authorizations(&authorizations)?,
            };
            let u = c.create_user(&body).await?;
            out.print_answer(&u, |u| users_table(std::slice::from_ref(u)).to_string())
        }
        UserCmd::List { company, out } => {
            let users = list(c, company.as_deref()).await?;
            out.print_answer(&users, |users| users_table(users).to_string())
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
            let body = EditUser {
                authorizations: self::authorizations(&authorizations)?,
            };
            let u = c.edit_user(id, &body).await?;
            out.print_answer(&u, |u| users_table(std::slice::from_ref(u)).to_string())
        }
        UserCmd::Disable { user, company, out } => {
            let id = user_id(c, &user, company.as_deref()).await?;
            let u = c.disable_user(id).await?;
            out.print_answer(&u, |u| users_table(std::slice::from_ref(u)).to_string())
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
            let body = NewUserToken {
                name,
                expires_in_secs: expires_in,
                no_expiry,
            };
            let t = c.create_user_token(id, &body).await?;
            eprintln!("The token is shown only now; store it safely.");
            out.print_answer(&t, |t| {
                fields(&[
                    ("TOKEN ID", t.id.to_string()),
                    ("USER", t.user.clone()),
                    ("EXPIRES", t.expires_at.map_or_else(|| "never".into(), when)),
                    ("TOKEN", t.token.expose().clone()),
                ])
            })
        }
    }
}
