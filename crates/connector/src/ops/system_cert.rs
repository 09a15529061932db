//! The system certificate of the running connector (CC-26): show it, generate a self-signed
//! one, import one from PKCS#12, make a key and CSR and later take the signed chain. The rules
//! are [`crate::system_cert`]'s (the CLI's verbs call them too); this adds where the files go
//! and the configuration edit.
//!
//! Every new pair is written to fresh files under `<data_dir>/system/` (key 0600) and
//! `[backend_tls] system_certificate(_key)` is pointed at them with `toml_edit` (comments
//! kept). New names each time, because the reload watcher applies `[backend_tls]` when the
//! configuration changes: so the new certificate is in force for new sessions without a
//! restart. The previous files, when they were ours, are deleted. Audited
//! (`trust_store.edited`, op `system_certificate`); a PKCS#12 password is never written
//! anywhere.

use std::path::PathBuf;

use toml_edit::{Item, Table};

use super::OpError;
use crate::access_edit::parse;
use crate::audit::{AuditAction, AuditEvent};
use crate::config::{base_dir_of, ConnectorConfig};
use crate::config_file::{read_config, write_config};
use crate::shared::{LocalCaller, Shared};
use crate::system_cert::{self, Pair, SystemCertError, SystemCertView};

/// The directory under `data_dir` for the pairs written here.
pub const SYSTEM_DIR: &str = "system";
/// The pending CSR's key, until the signed chain comes.
const PENDING_KEY: &str = "pending-csr-key.pem";
/// The pending CSR, to download again.
const PENDING_CSR: &str = "pending.csr";

/// The system certificate as configured now.
#[derive(Debug, Clone, Default, PartialEq, Eq, utoipa::ToSchema, serde::Serialize)]
pub struct SystemCertificate {
    #[serde(rename = "certificate")]
    /// The configured certificate, described; `None` when none is configured.
    pub current: Option<SystemCertView>,
    /// The configured file, when it cannot be read or parsed.
    pub problem: Option<String>,
    /// A pending CSR (PEM), waiting for its signed chain.
    pub pending_csr: Option<String>,
}

struct Configured {
    path: PathBuf,
    text: String,
    data_dir: PathBuf,
    pair: Option<(PathBuf, PathBuf)>,
}

async fn configured(shared: &Shared) -> Result<Configured, OpError> {
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let cfg = ConnectorConfig::from_toml_str(&text, &base_dir_of(&path))
        .map_err(OpError::ConfigDoesNotLoad)?;
    Ok(Configured {
        path,
        text,
        data_dir: cfg.data_dir,
        pair: cfg.backend_tls.system_certificate,
    })
}

fn refused(e: SystemCertError) -> OpError {
    OpError::SystemCertificate(e.to_string())
}

/// The system certificate now, and a pending CSR.
pub(crate) async fn show(shared: &Shared) -> Result<SystemCertificate, OpError> {
    let c = configured(shared).await?;
    let dir = c.data_dir.join(SYSTEM_DIR);
    let pending_csr = std::fs::read_to_string(dir.join(PENDING_CSR)).ok();
    let Some((cert, _)) = c.pair else {
        return Ok(SystemCertificate {
            pending_csr,
            ..Default::default()
        });
    };
    let (current, problem) = match std::fs::read(&cert) {
        Ok(pem) => match system_cert::describe(&pem) {
            Some(v) => (Some(v), None),
            None => (None, Some(format!("{}: no certificate", cert.display()))),
        },
        Err(e) => (None, Some(format!("{}: {e}", cert.display()))),
    };
    Ok(SystemCertificate {
        current,
        problem,
        pending_csr,
    })
}

/// `config` with `[backend_tls] system_certificate(_key)` set to `cert` and `key`.
fn set_paths(config: &str, cert: &str, key: &str) -> Result<String, OpError> {
    let mut doc = parse(config, "the configuration")?;
    let tls = doc
        .entry("backend_tls")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or(crate::access_edit::EditError::BackendTlsNotATable)?;
    tls.insert("system_certificate", toml_edit::value(cert));
    tls.insert("system_certificate_key", toml_edit::value(key));
    Ok(doc.to_string())
}

/// Writes `pair` to fresh files, points the configuration at them, deletes the previous
/// files when they were ours; audits `how`.
async fn install(
    shared: &Shared,
    caller: &LocalCaller,
    how: &str,
    pair: &Pair,
) -> Result<SystemCertView, OpError> {
    let view = system_cert::describe(pair.chain_pem.as_bytes()).ok_or_else(|| {
        OpError::SystemCertificate("the chain holds no parsable certificate".into())
    })?;
    let c = configured(shared).await?;
    let dir = c.data_dir.join(SYSTEM_DIR);
    crate::identity::create_private_dir(&dir)
        .map_err(|e| OpError::SystemCertificate(e.to_string()))?;
    let stamp = uuid::Uuid::new_v4().simple().to_string();
    let cert = dir.join(format!("cert-{stamp}.pem"));
    let key = dir.join(format!("key-{stamp}.pem"));
    system_cert::write_pair(&cert, &key, pair).map_err(refused)?;
    let new = set_paths(
        &c.text,
        &cert.display().to_string(),
        &key.display().to_string(),
    )?;
    if let Err(e) = write_config(&c.path, &new).await {
        let _ = std::fs::remove_file(&cert);
        let _ = std::fs::remove_file(&key);
        return Err(e.into());
    }
    if let Some((old_cert, old_key)) = &c.pair {
        for f in [old_cert, old_key] {
            if f.parent() == Some(dir.as_path()) {
                let _ = std::fs::remove_file(f);
            }
        }
    }
    let mut fields = serde_json::json!({
        "op": "system_certificate", "how": how, "via": caller.via, "uid": caller.uid,
        "subject": view.subject, "issuer": view.issuer, "not_after": view.not_after,
        "sha256": view.sha256,
    });
    if !caller.by.is_empty() {
        fields["by"] = caller.by.clone().into();
    }
    let mut ev = AuditEvent::new(AuditAction::TrustStoreEdited, "ok", fields);
    ev.principal = (!caller.by.is_empty()).then(|| caller.by.clone());
    shared.audit.record_or_log(ev);
    Ok(view)
}

/// Generates a self-signed system certificate and puts it in force.
pub(crate) async fn generate(
    shared: &Shared,
    caller: &LocalCaller,
    subject: &str,
    days: u32,
) -> Result<SystemCertView, OpError> {
    let pair = system_cert::generate(subject, days).map_err(refused)?;
    let _serial = shared.edit_lock.lock().await;
    install(shared, caller, "generated", &pair).await
}

/// Imports the system certificate from a PKCS#12 file and puts it in force.
pub(crate) async fn import(
    shared: &Shared,
    caller: &LocalCaller,
    p12: &[u8],
    password: &str,
) -> Result<SystemCertView, OpError> {
    let (pair, _) = system_cert::import(p12, password, None).map_err(refused)?;
    let _serial = shared.edit_lock.lock().await;
    install(shared, caller, "pkcs12", &pair).await
}

/// Makes a new key and a CSR for `subject`; the key waits (0600) for the signed chain.
/// A CSR made before is replaced.
pub(crate) async fn csr(
    shared: &Shared,
    caller: &LocalCaller,
    subject: &str,
) -> Result<String, OpError> {
    let (csr, key) = system_cert::csr(subject).map_err(refused)?;
    let _serial = shared.edit_lock.lock().await;
    let c = configured(shared).await?;
    let dir = c.data_dir.join(SYSTEM_DIR);
    crate::identity::create_private_dir(&dir)
        .map_err(|e| OpError::SystemCertificate(e.to_string()))?;
    crate::identity::write_atomic(&dir.join(PENDING_KEY), key.as_bytes())
        .and_then(|()| crate::identity::write_atomic(&dir.join(PENDING_CSR), csr.as_bytes()))
        .map_err(|e| OpError::SystemCertificate(e.to_string()))?;
    let mut fields = serde_json::json!({
        "op": "system_certificate", "how": "csr", "via": caller.via, "uid": caller.uid,
        "subject": subject,
    });
    if !caller.by.is_empty() {
        fields["by"] = caller.by.clone().into();
    }
    shared
        .audit
        .record_or_log(AuditEvent::new(AuditAction::TrustStoreEdited, "ok", fields));
    Ok(csr)
}

/// Takes the signed chain of the pending CSR: it must be the pending key's.
pub(crate) async fn complete(
    shared: &Shared,
    caller: &LocalCaller,
    chain_pem: &str,
) -> Result<SystemCertView, OpError> {
    let _serial = shared.edit_lock.lock().await;
    let c = configured(shared).await?;
    let dir = c.data_dir.join(SYSTEM_DIR);
    let key = std::fs::read_to_string(dir.join(PENDING_KEY))
        .map_err(|_| refused(SystemCertError::NoPendingCsr))?;
    let pair = system_cert::complete(chain_pem, &key).map_err(refused)?;
    let view = install(shared, caller, "signed_csr", &pair).await?;
    for f in [PENDING_KEY, PENDING_CSR] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    Ok(view)
}
