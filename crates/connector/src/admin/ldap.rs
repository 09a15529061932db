//! The admin UI's LDAP user store (`[admin.ldap]`, CC-12): a logon is a simple bind as the
//! user with the password given, and the user's groups give the role.
//!
//! - The logon name is checked (printable, at most 256 bytes) and escaped where it meets the
//!   directory: RFC 4514 inside the DN template, RFC 4515 inside a search filter. A search must
//!   find exactly one entry.
//! - An empty password is refused before the directory is asked: to LDAP a bind with a DN and
//!   no password is an *unauthenticated* bind, which many servers answer with success.
//! - Groups: a search under `group_base` with `group_filter`; a group counts when its DN or its
//!   `cn` equals a configured name (ASCII case ignored). In several role groups the user gets
//!   the most capable role (Administrator, Support, Display, Monitoring); in none, no logon.
//! - TLS (`ldaps://` or StartTLS) verifies the directory against `ca_file` when given, else the
//!   system's roots; every step has the configured deadline.
//!
//! Directory users have no password here to change and no API tokens: the directory owns
//! their passwords; the REST API takes their name and password by basic auth.

use std::sync::Arc;

use ldap3::{dn_escape, ldap_escape, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use portcullis_domain::secret::Secret;

use super::roles::{Actor, Role};
use crate::config::{LdapConfig, UserLookup};

/// Longest logon name sent to the directory, in bytes.
const MAX_NAME_LEN: usize = 256;

/// Why the directory did not log a user on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LdapRefusal {
    /// Unknown user, wrong or empty password, an unusable name.
    #[error("the user name or the password is wrong")]
    Credentials,
    /// The password is right but no group gives a role.
    #[error("the directory user {0:?} is in no group of a connector role")]
    NoRole(String),
    /// The directory cannot be reached or answered an error.
    #[error("the LDAP directory is unavailable: {0}")]
    Unavailable(String),
}

/// Why `[admin.ldap]` cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LdapSetupError {
    /// The CA file cannot be read or holds no certificate.
    #[error("[admin.ldap] ca_file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The LDAP user store.
#[derive(Clone)]
pub struct Directory {
    cfg: LdapConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("url", &self.cfg.url)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// The store of `cfg`, its CA file read now (a bad file stops the start, not a logon).
    pub fn new(cfg: LdapConfig) -> Result<Directory, LdapSetupError> {
        let tls = match &cfg.ca_file {
            None => None,
            Some(path) => {
                let bad = |reason: String| LdapSetupError::CaFile {
                    path: path.display().to_string(),
                    reason,
                };
                let pem = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
                let ders = portcullis_transport::pki::pem_to_der_certs(&pem)
                    .map_err(|e| bad(e.to_string()))?;
                let mut roots = rustls::RootCertStore::empty();
                for der in ders {
                    roots.add(der).map_err(|e| bad(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(bad("holds no certificate".into()));
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| bad(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Some(Arc::new(config))
            }
        };
        Ok(Directory { cfg, tls })
    }

    /// The URL, when it speaks plain LDAP (no `ldaps://`, no StartTLS) to a host other than
    /// the loopback (the security status warns).
    pub fn in_clear(&self) -> Option<String> {
        let url = &self.cfg.url;
        let rest = url.strip_prefix("ldap://")?;
        if self.cfg.starttls {
            return None;
        }
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.split_once(']').map(|(h, _)| h))
            .unwrap_or_else(|| host.rsplit_once(':').map_or(host, |(h, _)| h));
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        (!loopback).then(|| url.clone())
    }

    /// Whether the file store's users still log on beside the directory's.
    pub fn keeps_file_users(&self) -> bool {
        self.cfg.keep_file_users
    }

    /// Logs `name` on with `password`: the bind, then the groups, then the role.
    pub async fn logon(&self, name: &str, password: &Secret<String>) -> Result<Actor, LdapRefusal> {
        let name = name.trim();
        if name.is_empty()
            || name.len() > MAX_NAME_LEN
            || name.chars().any(char::is_control)
            || password.expose().is_empty()
        {
            return Err(LdapRefusal::Credentials);
        }
        let mut ldap = self.connect().await?;
        let result = self.bind_and_groups(&mut ldap, name, password).await;
        let _ = ldap.unbind().await;
        let groups = result?;
        let role = self
            .role_of(&groups)
            .ok_or_else(|| LdapRefusal::NoRole(name.into()))?;
        Ok(Actor {
            name: name.to_owned(),
            role,
            must_change: false,
        })
    }

    async fn connect(&self) -> Result<ldap3::Ldap, LdapRefusal> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.cfg.timeout)
            .set_starttls(self.cfg.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.cfg.url)
            .await
            .map_err(unavailable)?;
        ldap3::drive!(conn);
        ldap.with_timeout(self.cfg.timeout);
        Ok(ldap)
    }

    /// Binds as the user (found by template or search) and returns his groups' DNs and `cn`s.
    async fn bind_and_groups(
        &self,
        ldap: &mut ldap3::Ldap,
        name: &str,
        password: &Secret<String>,
    ) -> Result<Vec<String>, LdapRefusal> {
        let dn = match &self.cfg.user {
            UserLookup::Template(t) => t.replace("{user}", &dn_escape(name)),
            UserLookup::Search {
                base,
                filter,
                bind_dn,
                bind_password_file,
            } => {
                let service = std::fs::read_to_string(bind_password_file).map_err(|e| {
                    LdapRefusal::Unavailable(format!(
                        "cannot read bind_password_file {}: {e}",
                        bind_password_file.display()
                    ))
                })?;
                let service = service.lines().next().unwrap_or_default();
                ldap.simple_bind(bind_dn, service)
                    .await
                    .and_then(|r| r.success())
                    .map_err(|e| unavailable(format!("the service bind as {bind_dn}: {e}")))?;
                let filter = filter.replace("{user}", &ldap_escape(name));
                let (found, _) = ldap
                    .search(base, Scope::Subtree, &filter, vec!["1.1"])
                    .await
                    .and_then(|r| r.success())
                    .map_err(unavailable)?;
                let [one] = <[_; 1]>::try_from(found).map_err(|_| LdapRefusal::Credentials)?;
                SearchEntry::construct(one).dn
            }
        };
        match ldap.simple_bind(&dn, password.expose()).await {
            Ok(r) if r.rc == 0 => {}
            // 49: invalidCredentials (RFC 4511 §4.1.9); 32: noSuchObject, 34: invalidDNSyntax.
            Ok(r) if matches!(r.rc, 49 | 32 | 34) => return Err(LdapRefusal::Credentials),
            Ok(r) => return Err(unavailable(format!("the bind answered {}", r.rc))),
            Err(e) => return Err(unavailable(e)),
        }
        let filter = self
            .cfg
            .group_filter
            .replace("{dn}", &ldap_escape(dn.as_str()))
            .replace("{user}", &ldap_escape(name));
        let (found, _) = ldap
            .search(&self.cfg.group_base, Scope::Subtree, &filter, vec!["cn"])
            .await
            .and_then(|r| r.success())
            .map_err(unavailable)?;
        let mut names = Vec::new();
        for e in found {
            let e = SearchEntry::construct(e);
            names.extend(e.attrs.get("cn").into_iter().flatten().cloned());
            names.push(e.dn);
        }
        Ok(names)
    }

    /// The most capable role one of `groups` gives.
    fn role_of(&self, groups: &[String]) -> Option<Role> {
        let r = &self.cfg.roles;
        [
            (Role::Administrator, &r.administrator),
            (Role::Support, &r.support),
            (Role::Display, &r.display),
            (Role::Monitoring, &r.monitoring),
        ]
        .into_iter()
        .find(|(_, wanted)| {
            groups
                .iter()
                .any(|g| wanted.iter().any(|w| w.eq_ignore_ascii_case(g)))
        })
        .map(|(role, _)| role)
    }
}

fn unavailable(e: impl std::fmt::Display) -> LdapRefusal {
    LdapRefusal::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RoleGroups;

    fn directory() -> Directory {
        Directory::new(LdapConfig {
            url: "ldap://127.0.0.1:1".into(),
            starttls: false,
            ca_file: None,
            user: UserLookup::Template("uid={user},ou=people,dc=example,dc=com".into()),
            group_base: "ou=groups,dc=example,dc=com".into(),
            group_filter: "(member={dn})".into(),
            roles: RoleGroups {
                administrator: vec!["sccadmin".into()],
                support: vec!["cn=helpdesk,ou=groups,dc=example,dc=com".into()],
                display: vec!["sccdisplay".into()],
                monitoring: vec!["sccmonitoring".into()],
            },
            timeout: std::time::Duration::from_secs(1),
            keep_file_users: false,
        })
        .unwrap()
    }

    #[test]
    fn plain_ldap_off_the_loopback_is_in_clear() {
        let with = |url: &str, starttls: bool| {
            let mut d = directory();
            d.cfg.url = url.into();
            d.cfg.starttls = starttls;
            d.in_clear()
        };
        assert_eq!(
            with("ldap://dir.example.com:389", false).as_deref(),
            Some("ldap://dir.example.com:389")
        );
        assert_eq!(
            with("ldap://10.0.0.5", false).as_deref(),
            Some("ldap://10.0.0.5")
        );
        assert_eq!(with("ldap://dir.example.com:389", true), None);
        assert_eq!(with("ldaps://dir.example.com:636", false), None);
        assert_eq!(with("ldap://127.0.0.1:389", false), None);
        assert_eq!(with("ldap://[::1]:389", false), None);
        assert_eq!(with("ldap://localhost", false), None);
    }

    #[test]
    fn the_most_capable_role_wins_and_names_match_by_cn_or_dn_without_case() {
        let d = directory();
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            d.role_of(&g(&["SCCdisplay", "sccadmin"])),
            Some(Role::Administrator)
        );
        assert_eq!(
            d.role_of(&g(&[
                "CN=Helpdesk,OU=groups,DC=example,DC=com",
                "sccmonitoring"
            ])),
            Some(Role::Support)
        );
        assert_eq!(d.role_of(&g(&["sccmonitoring"])), Some(Role::Monitoring));
        assert_eq!(d.role_of(&g(&["staff", "sccadmins"])), None);
    }

    #[tokio::test]
    async fn empty_passwords_and_unusable_names_never_reach_the_directory() {
        // The directory's address is closed: reaching it would be `Unavailable`.
        let d = directory();
        for (name, pw) in [("alice", ""), ("", "pw"), ("a\u{0}b", "pw"), ("a\nb", "pw")] {
            assert_eq!(
                d.logon(name, &Secret::new(pw.to_owned())).await,
                Err(LdapRefusal::Credentials),
                "{name:?}"
            );
        }
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert_eq!(
            d.logon(&long, &Secret::new("pw".into())).await,
            Err(LdapRefusal::Credentials)
        );
        assert!(matches!(
            d.logon("alice", &Secret::new("pw".into())).await,
            Err(LdapRefusal::Unavailable(_))
        ));
    }
}
