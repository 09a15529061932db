//! The cookie domain mappings (`[[domain_mapping]]`, CC-25): list, add, remove. The
//! configuration file is edited with `toml_edit` (comments kept) and must still load, so the
//! loader's rules apply (domains of letters, digits, '.' and '-'; an internal domain mapped
//! once); the reload watcher puts the new mappings in force for new sessions. Audited
//! (`access.edited`, op `domain_mapping_add` / `domain_mapping_remove`).

use toml_edit::{ArrayOfTables, Item, Table};

use super::OpError;
use crate::access_edit::parse;
use crate::audit::{AuditAction, AuditEvent};
use crate::config::{base_dir_of, ConnectorConfig, DomainMapping};
use crate::config_file::{read_config, write_config};
use crate::shared::{LocalCaller, Shared};

/// The mappings the configuration file lists now (as the loader cleans them).
pub(crate) async fn list(shared: &Shared) -> Result<Vec<DomainMapping>, OpError> {
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let cfg = ConnectorConfig::from_toml_str(&text, &base_dir_of(&path))
        .map_err(OpError::ConfigDoesNotLoad)?;
    Ok(cfg.domain_mappings)
}

fn clean(d: &str) -> String {
    d.trim().trim_start_matches('.').to_ascii_lowercase()
}

fn audit(shared: &Shared, caller: &LocalCaller, op: &str, m: &DomainMapping) {
    let mut fields = serde_json::json!({
        "op": op, "via": caller.via, "uid": caller.uid,
        "virtual": m.virtual_domain, "internal": m.internal_domain,
    });
    if !caller.by.is_empty() {
        fields["by"] = caller.by.clone().into();
    }
    let mut ev = AuditEvent::new(AuditAction::AccessEdited, "ok", fields);
    ev.principal = (!caller.by.is_empty()).then(|| caller.by.clone());
    shared.audit.record_or_log(ev);
}

/// Adds `internal` → `virtual` (refused, changing nothing, when it would not load).
pub(crate) async fn add(
    shared: &Shared,
    caller: &LocalCaller,
    virtual_domain: &str,
    internal: &str,
) -> Result<DomainMapping, OpError> {
    let _serial = shared.edit_lock.lock().await;
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let mut doc = parse(&text, "the configuration")?;
    let arr = doc
        .entry("domain_mapping")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| OpError::DomainMapping("domain_mapping is not an array of tables".into()))?;
    let mut t = Table::new();
    t.insert("virtual", toml_edit::value(virtual_domain.trim()));
    t.insert("internal", toml_edit::value(internal.trim()));
    arr.push(t);
    write_config(&path, &doc.to_string()).await?;
    let m = DomainMapping {
        virtual_domain: clean(virtual_domain),
        internal_domain: clean(internal),
    };
    audit(shared, caller, "domain_mapping_add", &m);
    Ok(m)
}

/// Removes the mapping of internal domain `internal`.
pub(crate) async fn remove(
    shared: &Shared,
    caller: &LocalCaller,
    internal: &str,
) -> Result<DomainMapping, OpError> {
    let _serial = shared.edit_lock.lock().await;
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let cfg = ConnectorConfig::from_toml_str(&text, &base_dir_of(&path))
        .map_err(OpError::ConfigDoesNotLoad)?;
    let want = clean(internal);
    let Some(i) = cfg
        .domain_mappings
        .iter()
        .position(|m| m.internal_domain == want)
    else {
        return Err(OpError::UnknownDomainMapping(internal.to_owned()));
    };
    let mut doc = parse(&text, "the configuration")?;
    let arr = doc
        .get_mut("domain_mapping")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| OpError::DomainMapping("domain_mapping is not an array of tables".into()))?;
    // The loader keeps the file's order, so index i is the same table.
    arr.remove(i);
    if arr.is_empty() {
        doc.remove("domain_mapping");
    }
    write_config(&path, &doc.to_string()).await?;
    let m = cfg.domain_mappings[i].clone();
    audit(shared, caller, "domain_mapping_remove", &m);
    Ok(m)
}
