//! The trust-store operations of the admin: list, add and remove back-end CA certificates
//! (the editing of the configuration text itself is [`crate::trust_edit`]).

use std::path::{Path, PathBuf};

use toml_edit::Item;

use crate::access_edit::parse;
use crate::audit::{AuditAction, AuditEvent};
use crate::config::{base_dir_of, ConnectorConfig};
use crate::config_file::{read_config, write_config};
use crate::shared::{LocalCaller, Shared};
use crate::trust_edit::{
    add_path, check_name, describe, file_for, remove_path, resolve, set_trust_all,
    CertificateError, TrustedCert, MAX_PEM_LEN, TRUST_DIR,
};

use super::OpError;

/// The trust store as configured now.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema, serde::Serialize)]
pub struct TrustStore {
    /// `[backend_tls] trust_all`.
    pub trust_all: bool,
    /// Every certificate of every file, in configuration order.
    pub certificates: Vec<TrustedCert>,
    /// Files that could not be read or parsed, with why.
    pub problems: Vec<String>,
}

/// A file added to or removed from the trust store.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema, serde::Serialize)]
pub struct TrustEdited {
    /// The file, as the configuration lists (or listed) it.
    pub file: String,
    /// The certificates it holds (added) or held (removed).
    pub certificates: Vec<TrustedCert>,
}

/// Why one file of the trust store cannot be described (a problem of the listing, not a
/// refusal).
#[derive(Debug, thiserror::Error)]
enum TrustFileError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Certificate {
        file: String,
        #[source]
        source: CertificateError,
    },
}

/// The configuration as the file says now: its trust-store paths (as written and resolved),
/// `trust_all` and `data_dir`.
struct Configured {
    path: PathBuf,
    text: String,
    written: Vec<String>,
    resolved: Vec<PathBuf>,
    trust_all: bool,
    data_dir: PathBuf,
}

async fn configured(shared: &Shared) -> Result<Configured, OpError> {
    let (path, text) = read_config(shared.config_path.as_deref()).await?;
    let cfg = ConnectorConfig::from_toml_str(&text, &base_dir_of(&path))
        .map_err(OpError::ConfigDoesNotLoad)?;
    let doc = parse(&text, "the configuration")?;
    let written = doc
        .get("backend_tls")
        .and_then(|t| t.get("trust_store"))
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(Configured {
        path,
        text,
        written,
        resolved: cfg.backend_tls.trust_store.clone(),
        trust_all: cfg.backend_tls.trust_all,
        data_dir: cfg.data_dir,
    })
}

fn describe_file(file: &Path, shown: &str) -> Result<Vec<TrustedCert>, TrustFileError> {
    let pem = std::fs::read(file).map_err(|source| TrustFileError::Read {
        file: shown.to_owned(),
        source,
    })?;
    describe(&pem, shown).map_err(|source| TrustFileError::Certificate {
        file: shown.to_owned(),
        source,
    })
}

/// Every certificate of the configured trust store.
pub(crate) async fn list(shared: &Shared) -> Result<TrustStore, OpError> {
    let c = configured(shared).await?;
    let mut certificates = Vec::new();
    let mut problems = Vec::new();
    for (written, resolved) in c.written.iter().zip(&c.resolved) {
        match describe_file(resolved, written) {
            Ok(mut d) => certificates.append(&mut d),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Ok(TrustStore {
        trust_all: c.trust_all,
        certificates,
        problems,
    })
}

/// The audit record of an edit: who (`by` for the admin UI's and API's users, `uid` for the
/// socket's), through which door, what.
fn audit(shared: &Shared, caller: &LocalCaller, op: &str, detail: serde_json::Value) {
    let mut fields = serde_json::json!({ "op": op, "uid": caller.uid, "via": caller.via });
    if !caller.by.is_empty() {
        fields["by"] = caller.by.clone().into();
    }
    if let (Some(f), serde_json::Value::Object(d)) = (fields.as_object_mut(), detail) {
        f.extend(d);
    }
    let mut ev = AuditEvent::new(AuditAction::TrustStoreEdited, "ok", fields);
    if !caller.by.is_empty() {
        ev.principal = Some(caller.by.clone());
    }
    shared.audit.record_or_log(ev);
}

fn audit_certs(shared: &Shared, caller: &LocalCaller, op: &str, file: &str, certs: &[TrustedCert]) {
    let detail = serde_json::json!({
        "file": file,
        "certificates": certs.iter().map(|c| serde_json::json!({
            "subject": c.subject, "sha256": c.sha256, "not_after": c.not_after,
        })).collect::<Vec<_>>(),
    });
    audit(shared, caller, op, detail);
}

/// Sets `[backend_tls] trust_all`: on, every back-end certificate is accepted (the reload
/// watcher puts it in force and records `backend_tls.trust_all`). Setting what is already set
/// changes nothing and records nothing; returns whether it changed.
pub(crate) async fn trust_all(
    shared: &Shared,
    caller: &LocalCaller,
    on: bool,
) -> Result<bool, OpError> {
    let _serial = shared.edit_lock.lock().await;
    let c = configured(shared).await?;
    if c.trust_all == on {
        return Ok(false);
    }
    let new = set_trust_all(&c.text, on)?;
    write_config(&c.path, &new).await?;
    audit(
        shared,
        caller,
        "trust_all",
        serde_json::json!({ "trust_all": on }),
    );
    Ok(true)
}

/// Writes `pem` as `<data_dir>/trust/<name>.pem` and lists it in the trust store.
pub(crate) async fn add(
    shared: &Shared,
    caller: &LocalCaller,
    name: &str,
    pem: &str,
) -> Result<TrustEdited, OpError> {
    check_name(name)?;
    if pem.len() > MAX_PEM_LEN {
        return Err(OpError::PemTooLong);
    }
    let _serial = shared.edit_lock.lock().await;
    let c = configured(shared).await?;
    let file = file_for(&c.data_dir, name);
    // Written relative to the configuration's directory when it is below it, as paths there
    // are resolved against that directory.
    let base = base_dir_of(&c.path);
    let shown = file
        .strip_prefix(&base)
        .ok()
        .filter(|_| !base.as_os_str().is_empty())
        .unwrap_or(&file)
        .display()
        .to_string();
    let certs = describe(pem.as_bytes(), &shown).map_err(OpError::Certificate)?;
    if file.exists() {
        return Err(OpError::TrustFileExists {
            file: shown,
            name: name.to_owned(),
        });
    }
    let new = add_path(&c.text, &shown)?;
    // Like every file of the connector: its owner's alone (directory 0700, file 0600).
    let written = (|| {
        if let Some(dir) = file.parent() {
            crate::identity::create_private_dir(dir)?;
        }
        crate::identity::write_atomic(&file, pem.as_bytes())
    })();
    if let Err(source) = written {
        return Err(OpError::WriteCertificate {
            file: shown,
            source,
        });
    }
    if let Err(e) = write_config(&c.path, &new).await {
        let _ = tokio::fs::remove_file(&file).await;
        return Err(e.into());
    }
    audit_certs(shared, caller, "add", &shown, &certs);
    Ok(TrustEdited {
        file: shown,
        certificates: certs,
    })
}

/// Takes `name` (an added certificate's name, or a configured path) out of the trust store;
/// deletes the file when it is one the connector wrote.
pub(crate) async fn remove(
    shared: &Shared,
    caller: &LocalCaller,
    name: &str,
) -> Result<TrustEdited, OpError> {
    let _serial = shared.edit_lock.lock().await;
    let c = configured(shared).await?;
    let Some(i) = resolve(&c.written, &c.resolved, &c.data_dir, name) else {
        return Err(OpError::UnknownCertificate(name.to_owned()));
    };
    let (path, resolved) = (c.written[i].clone(), c.resolved[i].clone());
    let certs = describe_file(&resolved, &path).unwrap_or_default();
    let new = remove_path(&c.text, &path)?;
    write_config(&c.path, &new).await?;
    if resolved.parent() == Some(c.data_dir.join(TRUST_DIR).as_path()) {
        if let Err(e) = tokio::fs::remove_file(&resolved).await {
            tracing::warn!(file = %resolved.display(), error = %e, "removed from the trust store, but the file stays");
        }
    }
    audit_certs(shared, caller, "remove", &path, &certs);
    Ok(TrustEdited {
        file: path,
        certificates: certs,
    })
}
