//! Single access entries, as the admin UI, the REST API and the socket edit them: list and
//! read them with their versions, add, update, remove, change their resources (CC-18..21,
//! CC-57).
//!
//! Every edit reads the file, refuses a stale version (someone else changed the entry since
//! the caller read it), applies the change to the text ([`super::entry_text`]), checks the
//! result loads exactly as the reload watcher would load it (the one validation path: a
//! protocol the back-end type does not allow, a bad `host:port`, a virtual host and port that
//! another entry claims are refused with the reason and nothing changes), writes it
//! atomically, audits `access.edited`, and returns once the running connector has put it in
//! force, so that a caller can rely on it at once.

use std::time::Duration;

use portcullis_domain::access::{AccessEntry, PathPolicy};
use serde::Serialize;

use super::entry_text::{self, EntryEditError, EntryFields, ResourceChange};
use super::OpError;
use crate::audit::{AuditAction, AuditEvent};
use crate::config::{base_dir_of, ConnectorConfig};
use crate::config_file::{read_config, write_config, ConfigFileError};
use crate::shared::{LocalCaller, Shared};

/// How long an edit waits for the reload watcher to put it in force.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A resource as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResourceView {
    /// Position in the entry's list (0-based): the key of the resource API.
    pub index: usize,
    /// URL path.
    pub path: String,
    /// `path_only` or `path_and_sub_paths`.
    pub policy: &'static str,
    /// Allows what it covers.
    pub active: bool,
    /// WebSocket upgrades allowed.
    pub websocket_upgrade: bool,
    /// For people.
    pub description: String,
}

/// An entry as shown, with the version an edit must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// Name.
    pub name: String,
    /// Virtual `host:port`.
    #[serde(rename = "virtual")]
    pub virtual_target: String,
    /// Internal `host:port`.
    pub internal: String,
    /// Protocol.
    pub protocol: &'static str,
    /// Back-end type.
    pub backend_type: &'static str,
    /// `virtual` or `internal`.
    pub host_in_header: &'static str,
    /// Logs on with the system certificate.
    pub system_certificate: bool,
    /// System ID (empty: none).
    pub system_id: String,
    /// Description.
    pub description: String,
    /// HTTP resources.
    pub resources: Vec<ResourceView>,
    /// The optimistic version (CC-57).
    pub version: String,
}

impl EntryView {
    fn new(e: &AccessEntry, version: String) -> EntryView {
        let o = &e.options;
        EntryView {
            name: e.name.clone(),
            virtual_target: e.virtual_target.to_string(),
            internal: e.internal.to_string(),
            protocol: e.protocol.as_str(),
            backend_type: o.backend_type.as_str(),
            host_in_header: match o.host_in_header {
                portcullis_domain::access::HostInHeader::Internal => "internal",
                _ => "virtual",
            },
            system_certificate: o.system_certificate,
            system_id: o.system_id.clone().unwrap_or_default(),
            description: o.description.clone(),
            resources: o
                .resources
                .iter()
                .enumerate()
                .map(|(index, r)| ResourceView {
                    index,
                    path: r.path.clone(),
                    policy: match r.policy {
                        PathPolicy::PathAndSubPaths => "path_and_sub_paths",
                        _ => "path_only",
                    },
                    active: r.active,
                    websocket_upgrade: r.websocket_upgrade,
                    description: r.description.clone(),
                })
                .collect(),
            version,
        }
    }

    /// The entry's fields as an edit form starts from them.
    pub fn fields(&self) -> EntryFields {
        EntryFields {
            name: self.name.clone(),
            backend_type: self.backend_type.to_owned(),
            protocol: self.protocol.to_owned(),
            internal: self.internal.clone(),
            virtual_target: self.virtual_target.clone(),
            host_in_header: self.host_in_header.to_owned(),
            system_certificate: self.system_certificate,
            system_id: self.system_id.clone(),
            description: self.description.clone(),
        }
    }
}

/// Every entry of the configuration file, in file order, with its version.
pub(crate) async fn list(shared: &Shared) -> Result<Vec<EntryView>, OpError> {
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let config = ConnectorConfig::from_toml_str(&text, &base_dir_of(&path))
        .map_err(OpError::ConfigDoesNotLoad)?;
    let versions = entry_text::versions(&text)?;
    Ok(config
        .access
        .entries()
        .iter()
        .map(|e| {
            let v = versions
                .iter()
                .find(|(n, _)| *n == e.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            EntryView::new(e, v)
        })
        .collect())
}

/// The entry `name`.
pub(crate) async fn get(shared: &Shared, name: &str) -> Result<EntryView, OpError> {
    list(shared)
        .await?
        .into_iter()
        .find(|e| e.name == name)
        .ok_or_else(|| OpError::UnknownEntry(name.to_owned()))
}

/// What an edit did: the entry's new version (`None` once removed) and whether the running
/// connector has it in force yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EntryEdited {
    /// The entry.
    pub name: String,
    /// Its version now.
    pub version: Option<String>,
    /// In force (the reload watcher applied it within the wait).
    pub applied: bool,
}

impl From<EntryEditError> for OpError {
    fn from(e: EntryEditError) -> Self {
        match e {
            EntryEditError::Edit(e) => OpError::Edit(e),
            EntryEditError::Unknown(n) => OpError::UnknownEntry(n),
            other => OpError::Entry(other),
        }
    }
}

/// Adds the entry `f`.
pub(crate) async fn add(
    shared: &Shared,
    who: &LocalCaller,
    f: &EntryFields,
) -> Result<EntryEdited, OpError> {
    let name = f.name.trim().to_owned();
    edit(shared, who, "add", &name, &name, |text| {
        Ok(entry_text::add(text, f)?)
    })
    .await
}

/// Sets the entry `name`, read at `version`, to `f`.
pub(crate) async fn update(
    shared: &Shared,
    who: &LocalCaller,
    name: &str,
    version: &str,
    f: &EntryFields,
) -> Result<EntryEdited, OpError> {
    let new_name = f.name.trim().to_owned();
    edit(shared, who, "update", name, &new_name, |text| {
        Ok(entry_text::update(text, name, Some(version), f)?)
    })
    .await
}

/// Removes the entry `name`, read at `version`.
pub(crate) async fn remove(
    shared: &Shared,
    who: &LocalCaller,
    name: &str,
    version: &str,
) -> Result<EntryEdited, OpError> {
    edit(shared, who, "remove", name, name, |text| {
        Ok(entry_text::remove(text, name, Some(version))?)
    })
    .await
}

/// Changes the resources of entry `name`, read at `version`.
pub(crate) async fn resources(
    shared: &Shared,
    who: &LocalCaller,
    name: &str,
    version: &str,
    change: &ResourceChange,
) -> Result<EntryEdited, OpError> {
    let op = match change {
        ResourceChange::Add(_) => "resource_add",
        ResourceChange::Replace(..) => "resource_update",
        ResourceChange::Remove(_) => "resource_remove",
    };
    edit(shared, who, op, name, name, |text| {
        Ok(entry_text::change_resources(
            text,
            name,
            Some(version),
            change,
        )?)
    })
    .await
}

/// Checks whether `f` would be a valid new entry of the file as it is now (the wizard's last
/// step, and the steps after the virtual host): `Err` says why not; nothing is written.
pub(crate) async fn check_new(shared: &Shared, f: &EntryFields) -> Result<(), OpError> {
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let new = entry_text::add(&text, f)?;
    ConnectorConfig::from_toml_str(&new, &base_dir_of(&path))
        .map_err(|e| OpError::ConfigFile(ConfigFileError::WouldNotLoad(e)))?;
    Ok(())
}

/// Reads, changes, checks, writes, audits, waits until in force.
async fn edit(
    shared: &Shared,
    who: &LocalCaller,
    op: &str,
    name: &str,
    new_name: &str,
    change: impl FnOnce(&str) -> Result<String, OpError>,
) -> Result<EntryEdited, OpError> {
    let (path, new) = {
        let _serial = shared.edit_lock.lock().await;
        let (path, text) = read_config(shared.config_path.as_deref()).await?;
        let before = version_in(&text, name);
        let new = change(&text)?;
        write_config(&path, &new).await?;
        let after = version_in(&new, new_name);
        let mut ev = AuditEvent::new(
            AuditAction::AccessEdited,
            "ok",
            serde_json::json!({
                "op": op, "entry": name, "new_name": new_name, "by": who.by, "via": who.via,
                "uid": who.uid, "file": path.display().to_string(),
                "version_before": before, "version_after": after,
            }),
        );
        ev.principal = Some(who.by.clone());
        shared.audit.record_or_log(ev);
        (path, new)
    };
    let version = version_in(&new, new_name);
    let applied = wait_applied(shared, &new, &path).await;
    Ok(EntryEdited {
        name: new_name.to_owned(),
        version,
        applied,
    })
}

fn version_in(text: &str, name: &str) -> Option<String> {
    entry_text::versions(text)
        .ok()?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Waits (bounded) until the running access list is the one `text` loads to.
pub(super) async fn wait_applied(shared: &Shared, text: &str, path: &std::path::Path) -> bool {
    let Ok(config) = ConnectorConfig::from_toml_str(text, &base_dir_of(path)) else {
        return false;
    };
    let mut rx = shared.acl.subscribe();
    let wanted = config.access;
    tokio::time::timeout(APPLY_TIMEOUT, rx.wait_for(|s| *s.acl == wanted))
        .await
        .is_ok_and(|r| r.is_ok())
}
