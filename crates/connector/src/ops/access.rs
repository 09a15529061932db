//! The access-list operations of the admin: export, import and remove `[[access]]` entries
//! of the configuration file (the editing of the text itself is [`crate::access_edit`]).

use crate::access_edit::{self, ImportSummary};
use crate::audit::{AuditAction, AuditEvent};
use crate::config_file::{read_config, write_config};
use crate::shared::{LocalCaller, Shared};

use super::OpError;

/// What an access edit did to the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessEdited {
    /// What an import did (empty for a removal).
    pub summary: ImportSummary,
    /// Entries removed.
    pub removed: Vec<String>,
}

/// The `[[access]]` entries of the configuration file, as a file of their own.
pub(crate) async fn export(shared: &Shared) -> Result<String, OpError> {
    let (_, text) = read_config(shared.config_path.as_deref()).await?;
    Ok(access_edit::export(&text)?)
}

/// Merges the `[[access]]` entries of `toml` into the configuration file by name.
pub(crate) async fn import(
    shared: &Shared,
    uid: Option<u32>,
    toml: &str,
    overwrite: bool,
) -> Result<AccessEdited, OpError> {
    import_by(shared, None, uid, toml, overwrite).await
}

/// [`import`] for a user of the admin UI or the REST API, named in the audit record.
pub(crate) async fn import_as(
    shared: &Shared,
    who: &LocalCaller,
    toml: &str,
    overwrite: bool,
) -> Result<AccessEdited, OpError> {
    import_by(shared, Some(who), who.uid, toml, overwrite).await
}

async fn import_by(
    shared: &Shared,
    who: Option<&LocalCaller>,
    uid: Option<u32>,
    toml: &str,
    overwrite: bool,
) -> Result<AccessEdited, OpError> {
    edit(shared, who, uid, "import", |text| {
        let (new, summary) = access_edit::import(text, toml, overwrite)?;
        Ok((
            new,
            AccessEdited {
                summary,
                removed: Vec::new(),
            },
        ))
    })
    .await
}

/// Removes the entry `name` from the configuration file.
pub(crate) async fn remove(
    shared: &Shared,
    uid: Option<u32>,
    name: &str,
) -> Result<AccessEdited, OpError> {
    edit(shared, None, uid, "remove", |text| {
        let new = access_edit::remove(text, name)?;
        Ok((
            new,
            AccessEdited {
                summary: ImportSummary::default(),
                removed: vec![name.to_owned()],
            },
        ))
    })
    .await
}

/// Reads the configuration, applies `change`, checks the result loads, writes it atomically
/// (the reload watcher applies it; the answer waits for that, bounded) and audits the edit.
async fn edit(
    shared: &Shared,
    who: Option<&LocalCaller>,
    uid: Option<u32>,
    op: &str,
    change: impl FnOnce(&str) -> Result<(String, AccessEdited), OpError>,
) -> Result<AccessEdited, OpError> {
    let serial = shared.edit_lock.lock().await;
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let (new, edited) = change(&text)?;
    write_config(&path, &new).await?;
    let s = &edited.summary;
    let mut detail = serde_json::json!({
        "op": op, "uid": uid, "file": path.display().to_string(),
        "added": s.added, "replaced": s.replaced,
        "skipped": s.skipped, "removed": edited.removed,
    });
    if let (Some(w), serde_json::Value::Object(m)) = (who, &mut detail) {
        m.insert("by".into(), w.by.clone().into());
        m.insert("via".into(), w.via.into());
    }
    let mut ev = AuditEvent::new(AuditAction::AccessEdited, "ok", detail);
    ev.principal = who.map(|w| w.by.clone());
    shared.audit.record_or_log(ev);
    drop(serial);
    // Answer once in force, so that a caller (the UI, the API) can rely on it at once.
    super::access_entry::wait_applied(shared, &new, &path).await;
    Ok(edited)
}
