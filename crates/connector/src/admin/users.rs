//! The admin UI's file user store: `data_dir/admin/users.json` (mode 0600), one record per
//! user with an argon2id hash of the password, the role, whether the password must be changed
//! and whether the user is disabled.
//!
//! No well-known default password: at the first start (no store yet) the connector makes the
//! user `Administrator` with a random one-time password, writes that password to
//! `data_dir/admin/initial-password` (0600) and logs where it is, never the password. The first
//! logon must change it; the file is removed then.
//!
//! The store is read at start and rewritten whole (atomically, 0600) at every change; one lock
//! serialises the changes.

use std::path::PathBuf;

use portcullis_domain::secret::Secret;
use portcullis_webui::password::{self, PasswordRule};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::roles::{Actor, Role};
use crate::data_dir::ConnectorDataDir;
use crate::identity::{create_private_dir, write_atomic, IdentityError};

/// The user made at the first start.
pub const INITIAL_USER: &str = "Administrator";

/// One user as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    name: String,
    role: Role,
    /// argon2id PHC string.
    hash: String,
    /// The password was set by someone else (the initial one, a reset): change it first.
    must_change: bool,
    #[serde(default)]
    disabled: bool,
    /// The user's API tokens.
    #[serde(default)]
    tokens: Vec<TokenRecord>,
}

/// An API token as stored: its public id, name, when it was made, and the SHA-256 of its
/// secret (a random secret of 128 bits needs no slow hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenRecord {
    id: String,
    name: String,
    created: String,
    sha256: String,
}

/// An API token as its owner's page lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// The public id (part of the token string).
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// When it was made, RFC 3339.
    pub created: String,
}

/// The prefix of a connector API token: `pcc_<id>_<secret>`.
pub const TOKEN_PREFIX: &str = "pcc_";

/// Most tokens one user may hold.
pub const MAX_TOKENS: usize = 20;

fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    users: Vec<Record>,
}

/// Why the store refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserError {
    /// The store file cannot be read or written.
    #[error(transparent)]
    Io(#[from] IdentityError),
    /// The store file is not what this version writes.
    #[error("{path}: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The current password given is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The new password breaks a rule.
    #[error(transparent)]
    Rule(#[from] PasswordRule),
    /// The two new passwords differ.
    #[error("the new passwords differ")]
    Mismatch,
    /// No such user.
    #[error("no user is named {0:?}")]
    Unknown(String),
    /// A user of that name exists.
    #[error("a user named {0:?} exists already")]
    Exists(String),
    /// An administrator tried to disable himself (nobody could manage the users then).
    #[error("you cannot disable yourself")]
    Yourself,
    /// The user holds [`MAX_TOKENS`] tokens already.
    #[error("you hold {MAX_TOKENS} tokens already; revoke one first")]
    TooManyTokens,
    /// No token of that id is the user's.
    #[error("you have no token {0:?}")]
    UnknownToken(String),
    /// The name is empty, too long or not printable.
    #[error("a user name has 1 to 64 letters, digits or . _ @ -")]
    BadName,
}

/// One user as the Users page lists him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    /// The name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Whether the password is still one set by someone else.
    pub must_change: bool,
    /// Whether the user is disabled.
    pub disabled: bool,
}

/// Whether `name` is a usable user name.
fn good_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// The users (see the module docs).
#[derive(Debug)]
pub struct UserStore {
    path: PathBuf,
    initial: PathBuf,
    users: Mutex<Vec<Record>>,
}

impl UserStore {
    /// Opens the store, making it (with `Administrator` and the initial password file) when
    /// there is none.
    pub fn open(dir: &ConnectorDataDir) -> Result<UserStore, UserError> {
        let path = dir.users();
        let initial = dir.initial_password();
        let users = match std::fs::read(&path) {
            Ok(bytes) => {
                let f: File = serde_json::from_slice(&bytes).map_err(|e| UserError::Damaged {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                f.users
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let one_time = password::generate();
                let users = vec![Record {
                    name: INITIAL_USER.into(),
                    role: Role::Administrator,
                    hash: password::hash(one_time.expose()).into_inner(),
                    must_change: true,
                    disabled: false,
                    tokens: Vec::new(),
                }];
                create_private_dir(&dir.admin())?;
                write_atomic(&initial, format!("{}\n", one_time.expose()).as_bytes())?;
                save(&path, &users)?;
                tracing::warn!(
                    file = %initial.display(),
                    "the admin UI's initial password for {INITIAL_USER} is in this file; the first \
                     logon must change it"
                );
                users
            }
            Err(source) => return Err(IdentityError::Io { path, source }.into()),
        };
        Ok(UserStore {
            path,
            initial,
            users: Mutex::new(users),
        })
    }

    /// The user `name` if `password` is his and he is not disabled. Takes as long for an
    /// unknown user as for a known one.
    pub async fn verify(&self, name: &str, given: Secret<String>) -> Option<Actor> {
        let rec = self.find(name).await.filter(|r| !r.disabled);
        let ok =
            password::verify_blocking(given, rec.as_ref().map(|r| Secret::new(r.hash.clone())))
                .await;
        rec.filter(|_| ok).map(|r| actor(&r))
    }

    /// Whether the store holds a user `name` (enabled or not).
    pub async fn knows(&self, name: &str) -> bool {
        self.find(name).await.is_some()
    }

    /// The user `name` as he is now (`None`: unknown or disabled).
    pub async fn actor(&self, name: &str) -> Option<Actor> {
        self.find(name)
            .await
            .filter(|r| !r.disabled)
            .map(|r| actor(&r))
    }

    /// Every user, by name.
    pub async fn list(&self) -> Vec<UserView> {
        let mut v: Vec<UserView> = self
            .users
            .lock()
            .await
            .iter()
            .map(|r| UserView {
                name: r.name.clone(),
                role: r.role,
                must_change: r.must_change,
                disabled: r.disabled,
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Creates user `name` with `role` and a one-time password he must change at his first
    /// logon; returns that password (to be shown once).
    pub async fn create(&self, name: &str, role: Role) -> Result<Secret<String>, UserError> {
        if !good_name(name) {
            return Err(UserError::BadName);
        }
        let one_time = password::generate();
        let hash = password::hash_blocking(one_time.clone()).await.into_inner();
        let mut users = self.users.lock().await;
        if users.iter().any(|r| r.name.eq_ignore_ascii_case(name)) {
            return Err(UserError::Exists(name.into()));
        }
        let mut next = users.clone();
        next.push(Record {
            name: name.into(),
            role,
            hash,
            must_change: true,
            disabled: false,
            tokens: Vec::new(),
        });
        save(&self.path, &next)?;
        *users = next;
        Ok(one_time)
    }

    /// An administrator resets `name`'s password: a new one-time password he must change at
    /// his next logon; returns it (to be shown once).
    pub async fn reset(&self, name: &str) -> Result<Secret<String>, UserError> {
        let one_time = password::generate();
        self.set_password(name, one_time.clone(), true).await?;
        Ok(one_time)
    }

    /// `by` disables or enables `name`. A disabled user cannot log on, his sessions end at
    /// their next request, and the API refuses his credentials.
    pub async fn set_disabled(
        &self,
        by: &str,
        name: &str,
        disabled: bool,
    ) -> Result<(), UserError> {
        if disabled && by == name {
            return Err(UserError::Yourself);
        }
        self.edit(name, |r| {
            r.disabled = disabled;
            Ok(())
        })
        .await
    }

    /// `name`'s API tokens.
    pub async fn tokens(&self, name: &str) -> Vec<TokenView> {
        self.find(name)
            .await
            .map(|r| {
                r.tokens
                    .iter()
                    .map(|t| TokenView {
                        id: t.id.clone(),
                        name: t.name.clone(),
                        created: t.created.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Makes an API token for `name` (labelled `label`); returns the token string, to be
    /// shown once: only its hash is kept.
    pub async fn create_token(&self, name: &str, label: &str) -> Result<Secret<String>, UserError> {
        let label = label.trim();
        if label.is_empty() || label.len() > 64 || label.chars().any(char::is_control) {
            return Err(UserError::BadName);
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let secret = super::sessions::random_id();
        let created = crate::windows::format_ms(crate::windows::now_ms());
        self.edit(name, |r| {
            if r.tokens.len() >= MAX_TOKENS {
                return Err(UserError::TooManyTokens);
            }
            r.tokens.push(TokenRecord {
                id: id.clone(),
                name: label.to_owned(),
                created,
                sha256: sha256_hex(&secret),
            });
            Ok(())
        })
        .await?;
        Ok(Secret::new(format!("{TOKEN_PREFIX}{id}_{secret}")))
    }

    /// Revokes `name`'s token `id`.
    pub async fn revoke_token(&self, name: &str, id: &str) -> Result<(), UserError> {
        self.edit(name, |r| {
            let before = r.tokens.len();
            r.tokens.retain(|t| t.id != id);
            if r.tokens.len() == before {
                return Err(UserError::UnknownToken(id.into()));
            }
            Ok(())
        })
        .await
    }

    /// The user a token string belongs to, if it is one of his and he is not disabled.
    pub async fn verify_token(&self, token: &str) -> Option<Actor> {
        let (id, secret) = token.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
        let want = sha256_hex(secret);
        let users = self.users.lock().await;
        users
            .iter()
            .filter(|r| !r.disabled)
            .find(|r| {
                r.tokens
                    .iter()
                    .any(|t| t.id == id && portcullis_webui::csrf::same(&t.sha256, &want))
            })
            .map(actor)
    }

    /// Changes `name`'s record with `f` and saves the store.
    async fn edit(
        &self,
        name: &str,
        f: impl FnOnce(&mut Record) -> Result<(), UserError>,
    ) -> Result<(), UserError> {
        let mut users = self.users.lock().await;
        let mut next = users.clone();
        let rec = next
            .iter_mut()
            .find(|r| r.name == name)
            .ok_or_else(|| UserError::Unknown(name.into()))?;
        f(rec)?;
        save(&self.path, &next)?;
        *users = next;
        Ok(())
    }

    async fn find(&self, name: &str) -> Option<Record> {
        self.users
            .lock()
            .await
            .iter()
            .find(|r| r.name == name)
            .cloned()
    }

    /// `name` changes his own password: the current one must be right, the new one must
    /// pass the rules and differ. Clears the duty to change it; the initial password's file
    /// goes with the initial password.
    pub async fn change_password(
        &self,
        name: &str,
        current: Secret<String>,
        new: Secret<String>,
        repeat: Secret<String>,
    ) -> Result<(), UserError> {
        if new.expose() != repeat.expose() {
            return Err(UserError::Mismatch);
        }
        password::check_rules(name, new.expose())?;
        let Some(rec) = self.find(name).await.filter(|r| !r.disabled) else {
            return Err(UserError::WrongPassword);
        };
        if password::verify(new.expose(), &rec.hash) {
            return Err(PasswordRule::Unchanged.into());
        }
        if !password::verify_blocking(current, Some(Secret::new(rec.hash.clone()))).await {
            return Err(UserError::WrongPassword);
        }
        let hash = password::hash_blocking(new).await.into_inner();
        self.set(name, hash, false).await
    }

    /// Sets `name`'s password without asking for the current one (`must_change`: he must
    /// change it at the next logon). For an administrator's reset and for `portcullis
    /// quickstart`'s ready demo administrator.
    pub async fn set_password(
        &self,
        name: &str,
        new: Secret<String>,
        must_change: bool,
    ) -> Result<(), UserError> {
        let hash = password::hash_blocking(new).await.into_inner();
        self.set(name, hash, must_change).await
    }

    async fn set(&self, name: &str, hash: String, must_change: bool) -> Result<(), UserError> {
        self.edit(name, |r| {
            r.hash = hash;
            r.must_change = must_change;
            Ok(())
        })
        .await?;
        if name == INITIAL_USER && !must_change {
            match std::fs::remove_file(&self.initial) {
                Ok(()) => {
                    tracing::info!(file = %self.initial.display(), "initial password file removed")
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(file = %self.initial.display(), error = %e, "cannot remove the initial password file")
                }
            }
        }
        Ok(())
    }
}

fn actor(r: &Record) -> Actor {
    Actor {
        name: r.name.clone(),
        role: r.role,
        must_change: r.must_change,
    }
}

fn save(path: &std::path::Path, users: &[Record]) -> Result<(), UserError> {
    let bytes = serde_json::to_vec_pretty(&File {
        users: users.to_vec(),
    })
    .map_err(|e| UserError::Damaged {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(write_atomic(path, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Secret<String> {
        Secret::new(v.to_owned())
    }

    #[tokio::test]
    async fn the_first_start_makes_an_administrator_whose_password_must_change() {
        let d = tempfile::tempdir().unwrap();
        let dir = ConnectorDataDir::new(d.path());
        let store = UserStore::open(&dir).unwrap();
        let initial = std::fs::read_to_string(dir.initial_password()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [dir.initial_password(), dir.users()] {
                let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", f.display());
            }
        }
        let a = store
            .verify(INITIAL_USER, s(initial.trim()))
            .await
            .expect("the initial password");
        assert!(a.must_change);
        assert!(store
            .verify(INITIAL_USER, s("wrong-password-1"))
            .await
            .is_none());
        assert!(matches!(
            store
                .change_password(INITIAL_USER, s(initial.trim()), s("short"), s("short"))
                .await,
            Err(UserError::Rule(PasswordRule::TooShort))
        ));
        store
            .change_password(
                INITIAL_USER,
                s(initial.trim()),
                s("tulip-river-9-stone"),
                s("tulip-river-9-stone"),
            )
            .await
            .unwrap();
        assert!(!dir.initial_password().exists(), "the one-time file goes");
        // A second start keeps the store and makes no new password.
        let again = UserStore::open(&dir).unwrap();
        let a = again
            .verify(INITIAL_USER, s("tulip-river-9-stone"))
            .await
            .unwrap();
        assert!(!a.must_change);
        assert!(!dir.initial_password().exists());
    }
}
