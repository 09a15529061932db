//! One `[[access]]` table of the configuration text: its optimistic version (CC-57), the
//! fields an administrator sets through the UI, the API or the socket, and its resources.
//!
//! Pure text work with `toml_edit` (comments, order and other settings survive); whether the
//! result loads is decided by [`crate::config_file::write_config`], the same path as a saved
//! file, so the rules of an entry live in one place (`portcullis_domain::access`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

use crate::access_edit::{parse, EditError};

/// Hex digits of an entry's version.
pub const VERSION_LEN: usize = 16;

/// An entry's settings as an administrator gives them (strings as in the file; empty means
/// "not set", i.e. the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntryFields {
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// Back-end type (`abapSys`, …, `nonSAPsys`); empty: `nonSAPsys`.
    #[serde(default)]
    pub backend_type: String,
    /// Protocol (`http`, …); empty: `tcp`.
    #[serde(default)]
    pub protocol: String,
    /// Internal `host:port` (or range).
    #[serde(default)]
    pub internal: String,
    /// Virtual `host:port` (or range): the unique key the hub sees.
    #[serde(default, rename = "virtual")]
    pub virtual_target: String,
    /// `virtual` or `internal` (HTTP and HTTPS only); empty: `virtual`.
    #[serde(default)]
    pub host_in_header: String,
    /// Log on to the back end with the system certificate (HTTPS, TCP-TLS, LDAPS only).
    #[serde(default)]
    pub system_certificate: bool,
    /// The back end's system ID, for people.
    #[serde(default)]
    pub system_id: String,
    /// What the entry is for.
    #[serde(default)]
    pub description: String,
}

/// A resource as an administrator gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceFields {
    /// URL path, starting with `/`.
    pub path: String,
    /// `path_only` (default) or `path_and_sub_paths`.
    #[serde(default)]
    pub policy: String,
    /// Whether it allows what it covers (a suspended one refuses it).
    #[serde(default = "yes")]
    pub active: bool,
    /// Whether a WebSocket upgrade may be requested on it.
    #[serde(default)]
    pub websocket_upgrade: bool,
    /// For people.
    #[serde(default)]
    pub description: String,
}

fn yes() -> bool {
    true
}

/// Why an edit of one entry was refused before the result was even loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryEditError {
    /// The text itself is not an access list.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// No entry has that name.
    #[error("no access entry is named {0:?}")]
    Unknown(String),
    /// An entry of that name exists.
    #[error("an access entry is named {0:?} already")]
    Exists(String),
    /// The entry changed since the version the caller saw (CC-57).
    #[error("the entry {0:?} was changed by someone else since you opened it; reload it and make your change again")]
    Conflict(String),
    /// No resource at that position.
    #[error("the entry {entry:?} has no resource #{index}")]
    UnknownResource {
        /// The entry.
        entry: String,
        /// The position asked for (0-based).
        index: usize,
    },
}

/// The version of `table` as stored: the first [`VERSION_LEN`] hex digits of the SHA-256 of
/// its text (with its resources). Any change to the entry, by any door, changes it.
pub fn version_of(table: &Table) -> String {
    let mut doc = DocumentMut::new();
    let mut one = ArrayOfTables::new();
    one.push(table.clone());
    doc.insert("access", Item::ArrayOfTables(one));
    let digest = Sha256::digest(doc.to_string().as_bytes());
    let mut hex = hex::encode(digest);
    hex.truncate(VERSION_LEN);
    hex
}

fn list_of(doc: &DocumentMut) -> Result<ArrayOfTables, EditError> {
    match doc.get("access") {
        None => Ok(ArrayOfTables::new()),
        Some(Item::ArrayOfTables(a)) => Ok(a.clone()),
        Some(_) => Err(EditError::AccessNotTables),
    }
}

fn name_of(t: &Table) -> Option<&str> {
    t.get("name").and_then(Item::as_str)
}

/// The version of every entry of `config`, by name, in file order.
pub fn versions(config: &str) -> Result<Vec<(String, String)>, EditError> {
    let doc = parse(config, "the configuration")?;
    Ok(list_of(&doc)?
        .iter()
        .filter_map(|t| name_of(t).map(|n| (n.to_owned(), version_of(t))))
        .collect())
}

/// Sets `key` to a non-empty `v`, or removes it.
fn set_str(t: &mut Table, key: &str, v: &str) {
    let v = v.trim();
    if v.is_empty() {
        t.remove(key);
    } else if t.get(key).and_then(Item::as_str) != Some(v) {
        t.insert(key, value(v));
    }
}

fn set_bool(t: &mut Table, key: &str, v: bool, default: bool) {
    if v == default {
        t.remove(key);
    } else {
        t.insert(key, value(v));
    }
}

/// Writes `f` into `t`, keeping what the fields do not cover (resources, comments, other keys).
fn apply(t: &mut Table, f: &EntryFields) {
    t.insert("name", value(f.name.trim()));
    t.insert("virtual", value(f.virtual_target.trim()));
    t.insert("internal", value(f.internal.trim()));
    set_str(t, "protocol", &f.protocol);
    set_str(t, "backend_type", &f.backend_type);
    set_str(t, "host_in_header", &f.host_in_header);
    set_bool(t, "system_certificate", f.system_certificate, false);
    set_str(t, "system_id", &f.system_id);
    set_str(t, "description", &f.description);
}

/// `config` with one more entry, `f`, at the end.
pub fn add(config: &str, f: &EntryFields) -> Result<String, EntryEditError> {
    let mut doc = parse(config, "the configuration")?;
    let mut list = list_of(&doc)?;
    let name = f.name.trim();
    if list.iter().any(|t| name_of(t) == Some(name)) {
        return Err(EntryEditError::Exists(name.to_owned()));
    }
    let mut t = Table::new();
    apply(&mut t, f);
    list.push(t);
    doc.insert("access", Item::ArrayOfTables(list));
    Ok(doc.to_string())
}

/// Applies `change` to the entry `name` if its version is still `version`.
fn with_entry(
    config: &str,
    name: &str,
    version: Option<&str>,
    change: impl FnOnce(&mut ArrayOfTables, usize) -> Result<(), EntryEditError>,
) -> Result<String, EntryEditError> {
    let mut doc = parse(config, "the configuration")?;
    let mut list = list_of(&doc)?;
    let i = list
        .iter()
        .position(|t| name_of(t) == Some(name))
        .ok_or_else(|| EntryEditError::Unknown(name.to_owned()))?;
    if let (Some(expected), Some(t)) = (version, list.get(i)) {
        if !expected.trim().eq_ignore_ascii_case(&version_of(t)) {
            return Err(EntryEditError::Conflict(name.to_owned()));
        }
    }
    change(&mut list, i)?;
    doc.insert("access", Item::ArrayOfTables(list));
    Ok(doc.to_string())
}

/// `config` with the entry `name` (at `version`) set to `f` (a new name renames it).
pub fn update(
    config: &str,
    name: &str,
    version: Option<&str>,
    f: &EntryFields,
) -> Result<String, EntryEditError> {
    let new_name = f.name.trim().to_owned();
    with_entry(config, name, version, |list, i| {
        if new_name != name && list.iter().any(|t| name_of(t) == Some(new_name.as_str())) {
            return Err(EntryEditError::Exists(new_name.clone()));
        }
        if let Some(t) = list.get_mut(i) {
            apply(t, f);
        }
        Ok(())
    })
}

/// `config` without the entry `name` (at `version`).
pub fn remove(config: &str, name: &str, version: Option<&str>) -> Result<String, EntryEditError> {
    with_entry(config, name, version, |list, i| {
        list.remove(i);
        Ok(())
    })
}

fn resource_table(r: &ResourceFields) -> Table {
    let mut t = Table::new();
    t.insert("path", value(r.path.trim()));
    set_str(&mut t, "policy", &r.policy);
    set_bool(&mut t, "active", r.active, true);
    set_bool(&mut t, "websocket_upgrade", r.websocket_upgrade, false);
    set_str(&mut t, "description", &r.description);
    t
}

/// What to do to an entry's resources.
#[derive(Debug, Clone)]
pub enum ResourceChange {
    /// Append one.
    Add(ResourceFields),
    /// Replace the one at this position.
    Replace(usize, ResourceFields),
    /// Remove the one at this position.
    Remove(usize),
}

/// `config` with the resources of entry `name` (at `version`) changed.
pub fn change_resources(
    config: &str,
    name: &str,
    version: Option<&str>,
    change: &ResourceChange,
) -> Result<String, EntryEditError> {
    with_entry(config, name, version, |list, i| {
        let Some(t) = list.get_mut(i) else {
            return Err(EntryEditError::Unknown(name.to_owned()));
        };
        let mut res = match t.get("resources") {
            None => ArrayOfTables::new(),
            Some(Item::ArrayOfTables(a)) => a.clone(),
            Some(_) => return Err(EditError::AccessNotTables.into()),
        };
        let missing = |index| EntryEditError::UnknownResource {
            entry: name.to_owned(),
            index,
        };
        match change {
            ResourceChange::Add(r) => res.push(resource_table(r)),
            ResourceChange::Replace(at, r) => {
                *res.get_mut(*at).ok_or_else(|| missing(*at))? = resource_table(r);
            }
            ResourceChange::Remove(at) => {
                if *at >= res.len() {
                    return Err(missing(*at));
                }
                res.remove(*at);
            }
        }
        if res.is_empty() {
            t.remove("resources");
        } else {
            t.insert("resources", Item::ArrayOfTables(res));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "data_dir = \"d\" # kept\n\n[[access]]\nname = \"a\" # first\n\
        virtual = \"a.internal:1\"\ninternal = \"10.0.0.1:1\"\nprotocol = \"http\"\n";

    fn fields(name: &str, internal: &str) -> EntryFields {
        EntryFields {
            name: name.into(),
            protocol: "http".into(),
            internal: internal.into(),
            virtual_target: format!("{name}.internal:80"),
            ..Default::default()
        }
    }

    #[test]
    fn a_version_changes_with_the_entry_and_a_stale_one_is_refused() {
        let v1 = versions(CONFIG).unwrap()[0].1.clone();
        assert_eq!(v1.len(), VERSION_LEN);
        let edited = update(CONFIG, "a", Some(&v1), &fields("a", "10.0.0.9:80")).unwrap();
        assert!(
            edited.contains("10.0.0.9:80") && edited.contains("# kept"),
            "{edited}"
        );
        let v2 = versions(&edited).unwrap()[0].1.clone();
        assert_ne!(v1, v2);
        // The version v1 was read before the edit: refused, whatever the change.
        let stale = update(&edited, "a", Some(&v1), &fields("a", "10.0.0.8:80"));
        assert_eq!(stale, Err(EntryEditError::Conflict("a".into())));
        assert_eq!(
            remove(&edited, "a", Some(&v1)),
            Err(EntryEditError::Conflict("a".into()))
        );
        assert!(!remove(&edited, "a", Some(&v2))
            .unwrap()
            .contains("name = \"a\""));
    }

    #[test]
    fn add_refuses_a_taken_name_and_resources_change_by_position() {
        assert_eq!(
            add(CONFIG, &fields("a", "10.0.0.2:80")),
            Err(EntryEditError::Exists("a".into()))
        );
        let two = add(CONFIG, &fields("b", "10.0.0.2:80")).unwrap();
        assert!(two.contains("name = \"b\""), "{two}");
        let r = ResourceFields {
            path: "/app".into(),
            policy: "path_and_sub_paths".into(),
            active: true,
            websocket_upgrade: false,
            description: String::new(),
        };
        let with = change_resources(&two, "b", None, &ResourceChange::Add(r.clone())).unwrap();
        assert!(
            with.contains("[[access.resources]]\npath = \"/app\""),
            "{with}"
        );
        let gone = change_resources(&with, "b", None, &ResourceChange::Remove(0)).unwrap();
        assert!(!gone.contains("/app"), "{gone}");
        assert_eq!(
            change_resources(&gone, "b", None, &ResourceChange::Replace(3, r)),
            Err(EntryEditError::UnknownResource {
                entry: "b".into(),
                index: 3
            })
        );
    }

    proptest::proptest! {
        /// What an administrator types reaches the file as values, whatever the characters
        /// (quotes, newlines, `]`, `=`, `#`, control characters): the result parses, holds one
        /// more entry with exactly the trimmed text, and no key, table or entry besides.
        #[test]
        fn typed_fields_stay_values_and_inject_nothing(
            name in "\\PC{1,40}",
            internal in "\\PC{0,40}",
            virt in "\\PC{0,40}",
            description in "(\\PC|\n|\r|\t){0,60}",
            system_id in "[\\x00-\\x7f]{0,12}",
        ) {
            let f = EntryFields {
                name: name.clone(),
                internal: internal.clone(),
                virtual_target: virt.clone(),
                description: description.clone(),
                system_id: system_id.clone(),
                ..EntryFields::default()
            };
            let Ok(text) = add(CONFIG, &f) else {
                // Refused (a taken name): nothing to check.
                proptest::prop_assume!(false);
                unreachable!()
            };
            let doc: toml::Table = toml::from_str(&text).expect("the result parses");
            proptest::prop_assert_eq!(doc.len(), 2, "data_dir and access only: {}", text);
            let list = doc["access"].as_array().expect("[[access]]");
            proptest::prop_assert_eq!(list.len(), 2);
            let t = list[1].as_table().expect("a table");
            proptest::prop_assert_eq!(t["name"].as_str(), Some(name.trim()));
            proptest::prop_assert_eq!(t["internal"].as_str(), Some(internal.trim()));
            proptest::prop_assert_eq!(t["virtual"].as_str(), Some(virt.trim()));
            let opt = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            proptest::prop_assert_eq!(opt("description"), description.trim());
            proptest::prop_assert_eq!(opt("system_id"), system_id.trim());
            let allowed = ["name", "internal", "virtual", "description", "system_id"];
            proptest::prop_assert!(t.keys().all(|k| allowed.contains(&k.as_str())), "{:?}", t);
        }
    }
}
