//! `[admin.ldap]`: the admin UI's LDAP user store (CC-12). Users log on with their directory
//! password (a simple bind); their groups give their role, as SAP's Cloud Connector maps
//! `sccadmin`, `sccdisplay`, `sccmonitoring` and `sccsupport` (the defaults here too).
//!
//! The user's entry is found either by a DN template (`user_dn = "uid={user},ou=people,…"`)
//! or by a search (`user_search_base` + `user_search_filter`, bound as `bind_dn` with the
//! password in `bind_password_file`). The groups are those under `group_base` that
//! `group_filter` finds (`{dn}` the user's DN, `{user}` the logon name).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{field, ConfigError};

/// How the user's entry is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    /// `user_dn`: a DN with `{user}` in it.
    Template(String),
    /// A search bound as a service user.
    Search {
        /// `user_search_base`.
        base: String,
        /// `user_search_filter`, with `{user}`.
        filter: String,
        /// `bind_dn`.
        bind_dn: String,
        /// `bind_password_file` (its first line is the password).
        bind_password_file: PathBuf,
    },
}

/// `[admin.ldap]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// CA certificates (PEM) the directory's certificate must chain to (ldaps, StartTLS).
    pub ca_file: Option<PathBuf>,
    /// How the user's entry is found.
    pub user: UserLookup,
    /// Where the groups are.
    pub group_base: String,
    /// Which groups are the user's (`{dn}`, `{user}`).
    pub group_filter: String,
    /// The groups (a group's DN or its `cn`, case ignored) that give each role; a user in
    /// several gets the most capable.
    pub roles: RoleGroups,
    /// Each step's deadline (connect, bind, search).
    pub timeout: Duration,
    /// Whether the file store's users (the initial `Administrator` among them) still log on:
    /// an emergency door for when the directory is down. Off by default, as SAP's switch is.
    pub keep_file_users: bool,
}

/// `[admin.ldap]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLdap {
    url: String,
    #[serde(default)]
    starttls: bool,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    user_dn: Option<String>,
    #[serde(default)]
    user_search_base: Option<String>,
    #[serde(default)]
    user_search_filter: Option<String>,
    #[serde(default)]
    bind_dn: Option<String>,
    #[serde(default)]
    bind_password_file: Option<PathBuf>,
    group_base: String,
    #[serde(default)]
    group_filter: Option<String>,
    #[serde(default)]
    roles: Option<RawRoles>,
    #[serde(default)]
    timeout_secs: Option<u64>,
    #[serde(default)]
    keep_file_users: bool,
}

/// `[admin.ldap.roles]`: the groups of each role.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoles {
    #[serde(rename = "Administrator", default)]
    administrator: Option<Vec<String>>,
    #[serde(rename = "Display", default)]
    display: Option<Vec<String>>,
    #[serde(rename = "Monitoring", default)]
    monitoring: Option<Vec<String>>,
    #[serde(rename = "Support", default)]
    support: Option<Vec<String>>,
}

/// The groups of each of the admin UI's roles (`[admin.ldap.roles]`); SAP's group names
/// when not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGroups {
    /// `Administrator` (default `sccadmin`, `admin`).
    pub administrator: Vec<String>,
    /// `Support` (default `sccsupport`).
    pub support: Vec<String>,
    /// `Display` (default `sccdisplay`).
    pub display: Vec<String>,
    /// `Monitoring` (default `sccmonitoring`).
    pub monitoring: Vec<String>,
}

fn or_default(given: Option<Vec<String>>, default: &[&str]) -> Vec<String> {
    given.unwrap_or_else(|| default.iter().map(|g| (*g).to_owned()).collect())
}

/// `group_filter` when not given.
pub const DEFAULT_GROUP_FILTER: &str = "(|(member={dn})(uniqueMember={dn}))";

/// `p`, relative paths taken from `base` (the configuration's directory).
pub(super) fn resolve(base: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// Checks `[admin.ldap]`; relative paths resolve against `base` (the configuration's
/// directory).
pub(crate) fn ldap(raw: RawLdap, base: &Path) -> Result<LdapConfig, ConfigError> {
    let url = raw.url.trim().to_owned();
    let tls = url.starts_with("ldaps://");
    if !(tls || url.starts_with("ldap://")) || url.len() <= "ldap://".len() + usize::from(tls) {
        return Err(field(
            "admin.ldap.url",
            format!(
                "{url:?} is not an ldap:// or ldaps:// URL such as \"ldaps://dir.example.com:636\""
            ),
        ));
    }
    if tls && raw.starttls {
        return Err(field(
            "admin.ldap.starttls",
            "an ldaps:// URL is TLS already; StartTLS is for ldap:// URLs",
        ));
    }
    let user = match (raw.user_dn, raw.user_search_base, raw.user_search_filter) {
        (Some(t), None, None) => {
            if !t.contains("{user}") {
                return Err(field("admin.ldap.user_dn", "must contain {user}"));
            }
            UserLookup::Template(t)
        }
        (None, Some(base_dn), Some(filter)) => {
            if !filter.contains("{user}") {
                return Err(field(
                    "admin.ldap.user_search_filter",
                    "must contain {user}",
                ));
            }
            let (Some(bind_dn), Some(pw)) = (raw.bind_dn, raw.bind_password_file) else {
                return Err(field(
                    "admin.ldap.bind_dn",
                    "a user search needs bind_dn and bind_password_file",
                ));
            };
            UserLookup::Search {
                base: base_dn,
                filter,
                bind_dn,
                bind_password_file: resolve(base, pw),
            }
        }
        _ => {
            return Err(field(
                "admin.ldap.user_dn",
                "give either user_dn, or user_search_base with user_search_filter",
            ))
        }
    };
    let group_filter = raw
        .group_filter
        .unwrap_or_else(|| DEFAULT_GROUP_FILTER.to_owned());
    if !group_filter.contains("{dn}") && !group_filter.contains("{user}") {
        return Err(field(
            "admin.ldap.group_filter",
            "must contain {dn} or {user}",
        ));
    }
    let r = raw.roles.unwrap_or_default();
    let roles = RoleGroups {
        administrator: or_default(r.administrator, &["sccadmin", "admin"]),
        support: or_default(r.support, &["sccsupport"]),
        display: or_default(r.display, &["sccdisplay"]),
        monitoring: or_default(r.monitoring, &["sccmonitoring"]),
    };
    let secs = raw.timeout_secs.unwrap_or(5);
    if !(1..=60).contains(&secs) {
        return Err(field(
            "admin.ldap.timeout_secs",
            format!("{secs} is outside 1..=60"),
        ));
    }
    Ok(LdapConfig {
        url,
        starttls: raw.starttls,
        ca_file: raw.ca_file.map(|p| resolve(base, p)),
        user,
        group_base: raw.group_base,
        group_filter,
        roles,
        timeout: Duration::from_secs(secs),
        keep_file_users: raw.keep_file_users,
    })
}
