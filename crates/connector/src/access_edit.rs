//! Editing the `[[access]]` list of the configuration file (CC-24): export, import (merge,
//! or replace what exists with `overwrite`), remove.
//!
//! The file stays the one source of truth: an edit rewrites it with `toml_edit`, so comments,
//! order and every other setting survive, and the connector's reload watcher applies it as
//! if an administrator had saved the file (validation, `acl.reloaded` audit, live sessions
//! re-checked, reachability checked). An edit whose result would not load is refused with the
//! reason and the file is left as it was.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

/// Why an edit of the configuration text was refused (access list or trust store).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The configuration or the import does not parse.
    #[error("{what} is not valid TOML: {source}")]
    NotToml {
        /// `the configuration` or `the import`.
        what: &'static str,
        /// The parser's error.
        #[source]
        source: toml_edit::TomlError,
    },
    /// `access` is there but not as an array of tables.
    #[error("`access` must be written as [[access]] tables")]
    AccessNotTables,
    /// The import has no `[[access]]` table.
    #[error("the import holds no [[access]] entries")]
    EmptyImport,
    /// An imported table has no `name`.
    #[error("an imported entry has no name")]
    UnnamedEntry,
    /// No entry has the name to remove.
    #[error("no access entry is named {0:?}")]
    UnknownEntry(String),
    /// `backend_tls` is there but not a table.
    #[error("`backend_tls` must be a table")]
    BackendTlsNotATable,
    /// `backend_tls.trust_store` is there but not an array.
    #[error("`backend_tls.trust_store` must be an array of paths")]
    TrustStoreNotAnArray,
    /// The path to add is listed already.
    #[error("{0} is in the trust store already")]
    AlreadyTrusted(String),
    /// The path to remove is not listed.
    #[error("{0} is not in the trust store")]
    NotTrusted(String),
}

/// What an import did.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct ImportSummary {
    /// Entries added.
    pub added: Vec<String>,
    /// Entries replaced (with `overwrite`).
    pub replaced: Vec<String>,
    /// Entries left as they were because one with that name exists (without `overwrite`).
    pub skipped: Vec<String>,
}

/// `text` parsed; `what` names it in the error.
pub(crate) fn parse(text: &str, what: &'static str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|source| EditError::NotToml { what, source })
}

fn entries(doc: &DocumentMut) -> Result<Option<&ArrayOfTables>, EditError> {
    match doc.get("access") {
        None => Ok(None),
        Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
        Some(_) => Err(EditError::AccessNotTables),
    }
}

fn name_of(t: &Table) -> Option<&str> {
    t.get("name").and_then(Item::as_str)
}

/// The `[[access]]` tables of a configuration, as a file of their own.
pub fn export(config: &str) -> Result<String, EditError> {
    let doc = parse(config, "the configuration")?;
    let mut out = DocumentMut::new();
    if let Some(list) = entries(&doc)? {
        out.insert("access", Item::ArrayOfTables(list.clone()));
    }
    Ok(out.to_string())
}

/// `config` with the entries of `import` (a file of `[[access]]` tables, as [`export`]
/// writes) merged in by name.
pub fn import(
    config: &str,
    import: &str,
    overwrite: bool,
) -> Result<(String, ImportSummary), EditError> {
    let mut doc = parse(config, "the configuration")?;
    let incoming = parse(import, "the import")?;
    let Some(new) = entries(&incoming)? else {
        return Err(EditError::EmptyImport);
    };
    let mut list = entries(&doc)?.cloned().unwrap_or_default();
    let mut summary = ImportSummary::default();
    for table in new.iter() {
        let name = name_of(table).ok_or(EditError::UnnamedEntry)?.to_owned();
        let existing = list.iter().position(|t| name_of(t) == Some(name.as_str()));
        match (existing, overwrite) {
            (Some(i), true) => {
                if let Some(slot) = list.get_mut(i) {
                    *slot = table.clone();
                }
                summary.replaced.push(name);
            }
            (Some(_), false) => summary.skipped.push(name),
            (None, _) => {
                list.push(table.clone());
                summary.added.push(name);
            }
        }
    }
    doc.insert("access", Item::ArrayOfTables(list));
    Ok((doc.to_string(), summary))
}

/// `config` without the entry `name`.
pub fn remove(config: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(config, "the configuration")?;
    let Some(list) = entries(&doc)? else {
        return Err(EditError::UnknownEntry(name.to_owned()));
    };
    let mut list = list.clone();
    let before = list.len();
    list.retain(|t| name_of(t) != Some(name));
    if list.len() == before {
        return Err(EditError::UnknownEntry(name.to_owned()));
    }
    doc.insert("access", Item::ArrayOfTables(list));
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "# the connector
data_dir = \"data\"   # keep this comment

[[access]]
name = \"a\"   # first
virtual = \"a.internal:1\"
internal = \"10.0.0.1:1\"

[[access]]
name = \"b\"
virtual = \"b.internal:2\"
internal = \"10.0.0.2:2\"
protocol = \"http\"
[[access.resources]]
path = \"/x\"
";

    #[test]
    fn export_then_import_round_trips_and_keeps_comments() {
        let exported = export(CONFIG).unwrap();
        assert!(exported.contains("name = \"b\"") && exported.contains("path = \"/x\""));
        assert!(!exported.contains("data_dir"));
        let (merged, summary) = import("data_dir = \"d\"\n", &exported, false).unwrap();
        assert_eq!(summary.added, ["a", "b"]);
        assert!(merged.contains("[[access.resources]]"), "{merged}");
        let (same, summary) = import(CONFIG, &exported, false).unwrap();
        assert_eq!(summary.skipped, ["a", "b"]);
        assert!(same.contains("# keep this comment") && same.contains("# first"));
    }

    #[test]
    fn overwrite_replaces_by_name() {
        let new = "[[access]]\nname = \"a\"\nvirtual = \"a.internal:1\"\ninternal = \"10.0.0.9:1\"\n\
                   [[access]]\nname = \"c\"\nvirtual = \"c.internal:3\"\ninternal = \"10.0.0.3:3\"\n";
        let (text, summary) = import(CONFIG, new, true).unwrap();
        assert_eq!(summary.replaced, ["a"]);
        assert_eq!(summary.added, ["c"]);
        assert!(text.contains("10.0.0.9:1") && !text.contains("10.0.0.1:1"));
        assert!(text.contains("name = \"b\""));
    }

    #[test]
    fn remove_by_name() {
        let text = remove(CONFIG, "a").unwrap();
        assert!(!text.contains("name = \"a\"") && text.contains("name = \"b\""));
        assert!(text.contains("# keep this comment"));
        assert_eq!(
            remove(CONFIG, "zzz").unwrap_err().to_string(),
            "no access entry is named \"zzz\""
        );
        assert!(import(CONFIG, "x = 1\n", false).is_err());
        assert!(import(CONFIG, "not toml [", false).is_err());
    }
}
