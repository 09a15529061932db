//! The quickstart's portal demo users: who they are ([`PORTAL_USERS`]), made through the
//! hub's API with passwords kept for the quickstart directory, and the lines that show them.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use portcullis_client::requests::{NewUser, SetPassword};
use portcullis_client::ApiClient;
use portcullis_domain::authz::Role;
use serde::{Deserialize, Serialize};

use super::{Info, COMPANY};

/// The web portal: where it is and who can sign in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PortalInfo {
    /// The portal's address (the API's, `/`).
    pub url: String,
    /// Demo users with their passwords (no forced change).
    pub users: Vec<PortalUser>,
}

/// A demo user of the portal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalUser {
    /// User name to sign in with.
    pub name: String,
    /// Password (random, made for this quickstart directory, kept across restarts).
    pub password: String,
    /// Role (`company_admin`, `company_user`, `support_engineer`, `vendor_admin`).
    pub role: Role,
    /// The user's company; `None` for vendor users.
    pub company: Option<String>,
}

/// The portal's demo users: name, role, company (`None`: a vendor user), what they show.
pub const PORTAL_USERS: [(&str, Role, Option<&str>, &str); 4] = [
    (
        "demo-super",
        Role::CompanyAdmin,
        Some(COMPANY),
        "customer super administrator",
    ),
    (
        "demo-user",
        Role::CompanyUser,
        Some(COMPANY),
        "customer user, no authorizations",
    ),
    ("engineer", Role::SupportEngineer, None, "support engineer"),
    (
        "vendor-admin",
        Role::VendorAdmin,
        None,
        "vendor administrator",
    ),
];

/// The portal's demo users ([`PORTAL_USERS`]), created if missing, each with a password set
/// through the API without a forced change: the one saved for this directory, else a new
/// random one. The demo company's admin makes its users, the vendor admin the vendor's (an
/// admin never sets his own password, so the token users `admin` and `demo-admin` get none).
pub(super) async fn portal_users(
    vendor: &ApiClient,
    company: &ApiClient,
    saved: &BTreeMap<String, String>,
) -> Result<Vec<PortalUser>> {
    let mut out = Vec::new();
    for (name, role, in_company, _) in PORTAL_USERS {
        let admin = if in_company.is_some() {
            company
        } else {
            vendor
        };
        let users = crate::remote::user::list(admin, in_company).await?;
        let id = match users.iter().find(|u| u.name == name) {
            Some(u) => u.id,
            None => {
                let mut body = NewUser::new(name, role);
                body.company = in_company.map(str::to_string);
                admin.create_user(&body).await?.id
            }
        };
        let password = match saved.get(name) {
            Some(p) => p.clone(),
            None => portcullis_hub::signin::password::generate()
                .expose()
                .to_string(),
        };
        let body = SetPassword {
            password: Some(password.clone()),
            must_change: Some(false),
        };
        admin
            .set_user_password(id, &body)
            .await
            .with_context(|| format!("cannot set {name}'s portal password"))?;
        out.push(PortalUser {
            name: name.to_string(),
            password,
            role,
            company: in_company.map(str::to_string),
        });
    }
    Ok(out)
}

/// The demo system `DEM` with two service connections (the echo and the web back end), a
/// standing grant for the demo application, and an open 8-hour window on each for the
/// engineer: everything through the API as the demo company's admin (the customer opens its
/// windows, never the vendor), idempotent across restarts.
/// One line per portal demo user: name, password, what he shows.
pub(super) fn portal_lines(info: &Info) -> String {
    let mut out = String::new();
    for u in &info.portal.users {
        let what = PORTAL_USERS
            .iter()
            .find(|(n, ..)| *n == u.name)
            .map_or("", |(.., what)| *what);
        out.push_str(&format!(
            "  {:<14}  password {}   ({what})\n",
            u.name, u.password
        ));
    }
    out
}
