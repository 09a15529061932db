//! Who may log on, in one place for the UI's logon form and the REST API's basic auth: the
//! file user store, the LDAP directory (`[admin.ldap]`), or both.
//!
//! Without `[admin.ldap]` the file store decides. With it the directory decides, and the file
//! store's users log on only where `keep_file_users = true` (an emergency door while the
//! directory is down); a name the file store holds is then checked there and never also in the
//! directory, so one name has one password.

use portcullis_domain::secret::Secret;

use super::ldap::LdapRefusal;
use super::roles::Actor;
use super::state::Admin;

pub use super::sessions::Source;

/// Why a logon failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Wrong name or password, a disabled user, a directory user in no role group: the
    /// client learns only that the name or the password is wrong. `why` is for the log.
    Credentials {
        /// What the audit record and the log say.
        why: &'static str,
    },
    /// The directory cannot be asked now.
    Unavailable(String),
}

/// The file user an API token belongs to. Tokens are the file store's; with a directory and
/// without `keep_file_users`, file users do not log on, and neither do their tokens.
pub async fn token(st: &Admin, token: &str) -> Option<Actor> {
    if st.directory.as_ref().is_some_and(|d| !d.keeps_file_users()) {
        return None;
    }
    st.users.verify_token(token).await
}

/// Checks `name` and `password` against the stores the configuration names.
pub async fn logon(
    st: &Admin,
    name: &str,
    password: Secret<String>,
) -> Result<(Actor, Source), Refused> {
    let file = |actor: Option<Actor>| {
        actor
            .map(|a| (a, Source::File))
            .ok_or(Refused::Credentials {
                why: "wrong password or unknown user",
            })
    };
    let Some(dir) = &st.directory else {
        return file(st.users.verify(name, password).await);
    };
    if dir.keeps_file_users() && st.users.knows(name).await {
        return file(st.users.verify(name, password).await);
    }
    match dir.logon(name, &password).await {
        Ok(actor) => {
            let role = actor.role;
            Ok((actor, Source::Directory(role)))
        }
        Err(LdapRefusal::Credentials) => Err(Refused::Credentials {
            why: "wrong password or unknown user (directory)",
        }),
        Err(LdapRefusal::NoRole(_)) => Err(Refused::Credentials {
            why: "the directory user is in no group of a connector role",
        }),
        Err(LdapRefusal::Unavailable(e)) => {
            tracing::warn!(error = %e, "admin UI logon: the LDAP directory is unavailable");
            Err(Refused::Unavailable(e))
        }
    }
}
