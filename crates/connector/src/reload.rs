//! Live reload of the access control list from the configuration file.
//!
//! The file is polled (read and hashed every [`POLL_INTERVAL`]): no platform file-watching
//! API, no extra dependency, and an editor's write-to-temp-and-rename is seen like any other
//! change. A changed file is parsed completely; a file that does not parse is reported and
//! ignored, so a typo never empties the list that is running. Only `[[access]]` is applied
//! live: new streams are checked against the new list, and live sessions are re-checked
//! against it too. Those it still allows (to the same internal address) keep flowing; the
//! others are cut, because removing an entry must close the door, not just stop new visitors.
//! `[backend_tls]` is applied live too: the new trust store and system certificate are loaded
//! and put in force for the sessions that start from then on (a file that does not load keeps
//! the running material). So are `[[domain_mapping]]`s, for the sessions that start after.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portcullis_domain::access::AccessControlList;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditAction, AuditEvent};
use crate::backend_tls::{BackendTls, BackendTlsConfig};
use crate::config::{base_dir_of, ConfigError, ConnectorConfig};
use crate::shared::Shared;

/// How often the configuration file is checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Largest configuration file read (10 000 entries fit comfortably).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Watches `path` until `stop`; applies `[[access]]` changes through `shared`.
pub(crate) async fn watch(
    path: PathBuf,
    running: ConnectorConfig,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_hash: Option<[u8; 32]> = None;
    let mut read_failing = false;
    let mut current = running.access.clone();
    let mut current_tls = running.backend_tls.clone();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let bytes = match read_capped(&path).await {
            Ok(b) => b,
            Err(e) => {
                if !read_failing {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read the configuration file; keeping the running configuration");
                    read_failing = true;
                }
                continue;
            }
        };
        read_failing = false;
        let hash: [u8; 32] = Sha256::digest(&bytes).into();
        if last_hash == Some(hash) {
            continue;
        }
        last_hash = Some(hash);
        let new = match decide(bytes, &path, &current) {
            Decision::Invalid(e) => {
                tracing::error!(path = %path.display(), error = %e, "configuration change refused; the previous access control list stays in force");
                shared.status.send_modify(|s| s.config_rejections += 1);
                continue;
            }
            Decision::Unchanged(new) => {
                shared.audit.set_settings(new.audit.clone());
                shared
                    .alerts
                    .watched
                    .send_replace(crate::alerts::Watched::of(&new));
                warn_restart_needed(&running, &new);
                apply_backend_tls(&shared, &mut current_tls, &new.backend_tls);
                apply_domain_mappings(&shared, &new.domain_mappings);
                continue;
            }
            Decision::Changed(new) => {
                shared.audit.set_settings(new.audit.clone());
                shared
                    .alerts
                    .watched
                    .send_replace(crate::alerts::Watched::of(&new));
                warn_restart_needed(&running, &new);
                apply_backend_tls(&shared, &mut current_tls, &new.backend_tls);
                apply_domain_mappings(&shared, &new.domain_mappings);
                new
            }
        };
        let added: Vec<&str> = names(&new.access)
            .filter(|n| !names(&current).any(|o| o == *n))
            .collect();
        let removed: Vec<&str> = names(&current)
            .filter(|n| !names(&new.access).any(|o| o == *n))
            .collect();
        let mut detail = json!({
            "entries": new.access.entries().len(),
            "added": added,
            "removed": removed,
            "file": path.display().to_string(),
        });
        let (generation, cut) = shared.install_acl(new.access.clone());
        for c in &cut {
            tracing::warn!(
                session = %c.session_id, target = %c.target, principal = %c.principal,
                reason = %c.reason, generation, "access removed: cutting the live session"
            );
        }
        if let serde_json::Value::Object(m) = &mut detail {
            m.insert("generation".into(), generation.into());
            m.insert("sessions_cut".into(), cut.len().into());
        }
        shared
            .audit
            .record_or_log(AuditEvent::new(AuditAction::AclReloaded, "ok", detail));
        // Like saving an entry in SAP's Cloud Connector: check the new and changed entries'
        // back ends, a warning in the audit log (and the log) when one is not reachable.
        let changed: Vec<String> = new
            .access
            .entries()
            .iter()
            .filter(|e| !current.entries().contains(e))
            .map(|e| e.name.clone())
            .collect();
        spawn_reachability(&shared, new.access.clone(), changed);
        tracing::info!(
            generation,
            entries = new.access.entries().len(),
            ?added,
            ?removed,
            sessions_cut = cut.len(),
            "access control list reloaded"
        );
        current = new.access;
    }
}

/// What a changed file means for the running list.
#[derive(Debug)]
enum Decision {
    /// It does not parse or validate: keep the running list.
    Invalid(Rejected),
    /// Valid, with the same `[[access]]` list.
    Unchanged(ConnectorConfig),
    /// Valid, with a different list.
    Changed(ConnectorConfig),
}

/// Why a changed configuration file was refused.
#[derive(Debug, thiserror::Error)]
enum Rejected {
    #[error("the file is not UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Config(#[from] ConfigError),
}

fn decide(bytes: Vec<u8>, path: &Path, current: &AccessControlList) -> Decision {
    let parsed = String::from_utf8(bytes)
        .map_err(|_| Rejected::NotUtf8)
        .and_then(|text| Ok(ConnectorConfig::from_toml_str(&text, &base_dir_of(path))?));
    match parsed {
        Err(e) => Decision::Invalid(e),
        Ok(c) if c.access == *current => Decision::Unchanged(c),
        Ok(c) => Decision::Changed(c),
    }
}

/// Puts changed `[[domain_mapping]]`s in force for the sessions that start from now on.
fn apply_domain_mappings(shared: &Shared, new: &[crate::config::DomainMapping]) {
    if shared.domain_mappings.replace(new) {
        tracing::info!(
            mappings = new.len(),
            "domain mappings reloaded; new sessions use them"
        );
    }
}

/// Puts a changed `[backend_tls]` in force once its files load; a failure keeps the running
/// material (and is logged and audited), like an access list that does not validate.
fn apply_backend_tls(shared: &Shared, current: &mut BackendTlsConfig, new: &BackendTlsConfig) {
    if current == new {
        return;
    }
    let detail = json!({
        "trust_store": new.trust_store.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "trust_all": new.trust_all,
        "system_certificate": new.system_certificate.as_ref().map(|(c, _)| c.display().to_string()),
    });
    match BackendTls::load(new) {
        Ok(tls) => {
            if tls.trusts_all() && !current.trust_all {
                tracing::warn!("[backend_tls] trust_all is on: every back-end certificate is accepted; not for production");
                shared.audit.record_or_log(AuditEvent::new(
                    AuditAction::TrustAllBackends,
                    "warning",
                    json!({ "message": "trust_all is on: every back-end TLS certificate is accepted" }),
                ));
            }
            shared.backend_tls.replace(tls);
            *current = new.clone();
            shared.audit.record_or_log(AuditEvent::new(
                AuditAction::BackendTlsReloaded,
                "ok",
                detail,
            ));
            shared.status.send_modify(|s| s.backend_tls_reloads += 1);
            tracing::info!(
                trust_store = new.trust_store.len(),
                trust_all = new.trust_all,
                "back-end TLS reloaded"
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "[backend_tls] change refused; the running back-end TLS stays in force");
            let mut detail = detail;
            if let serde_json::Value::Object(m) = &mut detail {
                m.insert("error".into(), e.to_string().into());
            }
            shared.audit.record_or_log(AuditEvent::new(
                AuditAction::BackendTlsReloaded,
                "refused",
                detail,
            ));
            shared.status.send_modify(|s| s.config_rejections += 1);
            // Not retried until the file changes again.
            *current = new.clone();
        }
    }
}

fn names(acl: &AccessControlList) -> impl Iterator<Item = &str> {
    acl.entries().iter().map(|e| e.name.as_str())
}

fn warn_restart_needed(running: &ConnectorConfig, new: &ConnectorConfig) {
    let changed = [
        ("data_dir", running.data_dir != new.data_dir),
        ("hub_tunnel", running.hub_tunnel != new.hub_tunnel),
        ("proxy", running.proxy != new.proxy),
        ("reconnect", running.reconnect != new.reconnect),
    ];
    for (field, differs) in changed {
        if differs {
            tracing::warn!(
                field,
                "configuration setting changed; it needs a restart to take effect"
            );
        }
    }
}

async fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = tokio::fs::File::open(path).await?;
    let mut bytes = Vec::new();
    f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes).await?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_CONFIG_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

/// Checks `entries` of `acl` in the background and audits each result.
fn spawn_reachability(shared: &Arc<Shared>, acl: AccessControlList, entries: Vec<String>) {
    if entries.is_empty() {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        for name in entries {
            let results =
                crate::reach::check_all(&acl, Some(&name), &shared.backend_tls.current()).await;
            shared.reach.keep(&results);
            for r in results {
                if !r.reachable {
                    tracing::warn!(entry = %r.entry, internal = %r.internal, detail = %r.detail, "access entry not reachable");
                }
                let outcome = if r.reachable {
                    "reachable"
                } else {
                    "unreachable"
                };
                shared.audit.record_or_log(AuditEvent::new(
                    AuditAction::Reachability,
                    outcome,
                    serde_json::to_value(&r).unwrap_or_default(),
                ));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::test_acl as acl;

    const A: &str = "[[access]]\nname = \"a\"\nvirtual = \"a:1\"\ninternal = \"10.0.0.1:1\"\n";
    const B: &str = "[[access]]\nname = \"b\"\nvirtual = \"b:1\"\ninternal = \"10.0.0.2:1\"\n";

    #[test]
    fn broken_files_are_refused_and_name_the_problem() {
        let current = acl(A);
        let path = Path::new("/etc/c.toml");
        let bad = format!("{A}[[access]]\nname = \"x\"\nvirtual = \"nope\"\ninternal = \"h:1\"\n");
        match decide(bad.into_bytes(), path, &current) {
            Decision::Invalid(e) => assert!(e.to_string().contains("\"x\""), "{e}"),
            other => panic!("{other:?}"),
        }
        match decide(vec![0xff, 0xfe], path, &current) {
            Decision::Invalid(e) => assert!(e.to_string().contains("UTF-8"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_list_whose_inventory_does_not_fit_one_frame_is_refused() {
        let current = acl(A);
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!(
                "[[access]]\nname = \"{i:0>128}\"\nvirtual = \"h{i}.internal:1\"\ninternal = \"10.0.0.1:1\"\n"
            ));
        }
        match decide(text.into_bytes(), Path::new("/etc/c.toml"), &current) {
            Decision::Invalid(e) => {
                let e = e.to_string();
                let limit = portcullis_proto::MAX_FRAME_LEN.to_string();
                assert!(e.contains("frame limit") && e.contains(&limit), "{e}");
            }
            Decision::Unchanged(_) => panic!("expected Invalid, got Unchanged"),
            Decision::Changed(_) => panic!("expected Invalid, got Changed"),
        }
    }

    #[test]
    fn same_list_is_unchanged_and_another_list_is_a_change() {
        let current = acl(A);
        let path = Path::new("/etc/c.toml");
        let commented = format!("# edited\n{A}");
        assert!(matches!(
            decide(commented.into_bytes(), path, &current),
            Decision::Unchanged(_)
        ));
        match decide(B.as_bytes().to_vec(), path, &current) {
            Decision::Changed(c) => assert_eq!(c.access, acl(B)),
            other => panic!("{other:?}"),
        }
    }
}
