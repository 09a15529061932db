//! The audit settings (`[audit]`: level, categories, retention) and the retention cleanup, as
//! operations: the admin UI's `/audit/settings` page and the REST API call these.
//!
//! A settings change is an edit of the configuration file (with `toml_edit`, keeping the rest
//! of the text as it is), checked to load, written atomically and audited (`audit.settings`,
//! always recorded whatever the settings say). It is put in force at once, and the reload
//! watcher applies the same file on its next look. A cleanup is recorded by the
//! `audit.cleaned` record the cleaned log starts with.

use time::OffsetDateTime;

use crate::audit::cleanup::Cleaned;
use crate::audit::policy::{AuditSettings, MAX_RETENTION_DAYS};
use crate::audit::{AuditAction, AuditEvent};
use crate::config_file::{read_config, write_config};
use crate::shared::{LocalCaller, Shared};

use super::OpError;

/// The settings in force.
pub(crate) fn settings(shared: &Shared) -> AuditSettings {
    shared.audit.settings()
}

/// `text` with its `[audit]` table set to `s` (the rest of the text kept).
pub(crate) fn edit_text(text: &str, s: &AuditSettings) -> Result<String, OpError> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| OpError::AuditSettings(e.to_string()))?;
    if !doc.contains_key("audit") {
        doc["audit"] = toml_edit::table();
    }
    let Some(t) = doc["audit"].as_table_mut() else {
        return Err(OpError::AuditSettings(
            "[audit] in the configuration is not a table".into(),
        ));
    };
    t["level"] = toml_edit::value(s.level.as_str());
    let mut cats = toml_edit::Array::new();
    for c in &s.categories {
        cats.push(c.as_str());
    }
    t["categories"] = toml_edit::value(cats);
    t["retention_days"] = toml_edit::value(i64::from(s.retention_days));
    Ok(doc.to_string())
}

/// Writes `new` into the configuration, puts it in force and audits the change.
pub(crate) async fn set(
    shared: &Shared,
    new: AuditSettings,
    caller: &LocalCaller,
) -> Result<AuditSettings, OpError> {
    if new.retention_days > MAX_RETENTION_DAYS {
        return Err(OpError::AuditSettings(format!(
            "the retention must be 0 (keep for ever) to {MAX_RETENTION_DAYS} days"
        )));
    }
    let _serial = shared.edit_lock.lock().await;
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let edited = edit_text(&text, &new)?;
    write_config(&path, &edited).await?;
    let old = shared.audit.settings();
    shared.audit.set_settings(new.clone());
    shared.audit.record_or_log(AuditEvent::new(
        AuditAction::AuditSettings,
        "ok",
        serde_json::json!({
            "old": old,
            "new": new,
            "by": caller.by,
            "via": caller.via,
            "file": path.display().to_string(),
        }),
    ));
    tracing::warn!(by = %caller.by, via = caller.via, level = new.level.as_str(),
        retention_days = new.retention_days, "audit settings changed");
    Ok(new)
}

/// Removes the records older than the retention in force (see `crate::audit::cleanup`).
pub(crate) async fn cleanup(shared: &Shared, caller: &LocalCaller) -> Result<Cleaned, OpError> {
    let days = shared.audit.settings().retention_days;
    if days == 0 {
        return Err(OpError::AuditSettings(
            "no retention is set (0 keeps the records for ever); set one first".into(),
        ));
    }
    let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
    let audit = shared.audit.clone();
    let (by, via) = (caller.by.clone(), caller.via);
    tokio::task::spawn_blocking(move || audit.cleanup(cutoff, &by, via))
        .await
        .map_err(|e| OpError::AuditRead(e.to_string()))?
        .map_err(|e| OpError::AuditRead(e.to_string()))
}

/// Runs the cleanup once a day while a retention is set, until `stop` (and once at start).
pub(crate) async fn daily(
    shared: std::sync::Arc<Shared>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        if shared.audit.settings().retention_days == 0 {
            continue;
        }
        let caller = LocalCaller {
            by: "connector".into(),
            via: "daily",
            uid: None,
            pid: None,
        };
        if let Err(e) = cleanup(&shared, &caller).await {
            tracing::error!(error = %e, "the daily audit cleanup failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::policy::{AuditLevel, Category};

    #[test]
    fn the_audit_table_is_set_and_the_rest_of_the_text_kept() {
        let text = "# mine\ndata_dir = \"/x\"\n\n[monitoring]\nhardware_interval_ms = 100 # fast\n";
        let s = AuditSettings {
            level: AuditLevel::All,
            categories: vec![Category::Access, Category::Users],
            retention_days: 30,
        };
        let out = edit_text(text, &s).unwrap();
        assert!(out.starts_with(text), "{out}");
        assert!(out.contains("[audit]\nlevel = \"all\"\ncategories = [\"access\", \"users\"]\nretention_days = 30\n"), "{out}");
        let again = edit_text(&out, &AuditSettings::default()).unwrap();
        assert!(again.contains("level = \"security\""), "{again}");
        assert_eq!(again.matches("[audit]").count(), 1, "{again}");
    }
}
