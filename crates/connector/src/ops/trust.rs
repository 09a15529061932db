//! The trust-store operations of the admin: list, add and remove back-end CA certificates
//! (the editing of the configuration text itself is [`crate::trust_edit`]).

use std::path::{Path, PathBuf};

use toml_edit::Item;

use crate::config_file::{read_config, write_config};
use crate::local::protocol::{error, ErrorCode, Response};
use crate::shared::Shared;
use crate::trust_edit::{
    add_path, check_name, describe, file_for, parse, remove_path, resolve, TrustedCert,
    MAX_PEM_LEN, TRUST_DIR,
};

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

async fn configured(shared: &Shared) -> Result<Configured, Response> {
    let (path, text) = read_config(shared)
        .await
        .map_err(|e| error(ErrorCode::EditRefused, &e))?;
    let cfg =
        crate::config::ConnectorConfig::from_toml_str(&text, &crate::config::base_dir_of(&path))
            .map_err(|e| {
                error(
                    ErrorCode::EditRefused,
                    &format!("the configuration does not load: {e}"),
                )
            })?;
    let doc = parse(&text).map_err(|e| error(ErrorCode::EditRefused, &e.0))?;
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

fn describe_file(file: &Path, shown: &str) -> Result<Vec<TrustedCert>, String> {
    let pem = std::fs::read(file).map_err(|e| format!("{shown}: {e}"))?;
    describe(&pem, shown).map_err(|e| format!("{shown}: {e}"))
}

/// Every certificate of the configured trust store.
pub(crate) async fn list(shared: &Shared) -> Response {
    let c = match configured(shared).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut certificates = Vec::new();
    let mut problems = Vec::new();
    for (written, resolved) in c.written.iter().zip(&c.resolved) {
        match describe_file(resolved, written) {
            Ok(mut d) => certificates.append(&mut d),
            Err(e) => problems.push(e),
        }
    }
    Response::TrustStore {
        trust_all: c.trust_all,
        certificates,
        problems,
    }
}

fn audit(shared: &Shared, uid: Option<u32>, op: &str, file: &str, certs: &[TrustedCert]) {
    shared.audit.record_or_log(crate::audit::AuditEvent::new(
        crate::audit::AuditAction::TrustStoreEdited,
        "ok",
        serde_json::json!({
            "op": op, "uid": uid, "file": file,
            "certificates": certs.iter().map(|c| serde_json::json!({
                "subject": c.subject, "sha256": c.sha256, "not_after": c.not_after,
            })).collect::<Vec<_>>(),
        }),
    ));
}

/// Writes `pem` as `<data_dir>/trust/<name>.pem` and lists it in the trust store.
pub(crate) async fn add(shared: &Shared, uid: Option<u32>, name: &str, pem: &str) -> Response {
    if let Err(e) = check_name(name) {
        return error(ErrorCode::BadRequest, &e);
    }
    if pem.len() > MAX_PEM_LEN {
        return error(
            ErrorCode::BadRequest,
            &format!("the PEM is longer than {MAX_PEM_LEN} bytes"),
        );
    }
    let _serial = shared.edit_lock.lock().await;
    let c = match configured(shared).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let file = file_for(&c.data_dir, name);
    // Written relative to the configuration's directory when it is below it, as paths there
    // are resolved against that directory.
    let base = crate::config::base_dir_of(&c.path);
    let shown = file
        .strip_prefix(&base)
        .ok()
        .filter(|_| !base.as_os_str().is_empty())
        .unwrap_or(&file)
        .display()
        .to_string();
    let certs = match describe(pem.as_bytes(), &shown) {
        Ok(d) => d,
        Err(e) => return error(ErrorCode::BadRequest, &format!("the certificate: {e}")),
    };
    if file.exists() {
        return error(
            ErrorCode::EditRefused,
            &format!("{shown} exists; remove {name:?} first or choose another name"),
        );
    }
    let new = match add_path(&c.text, &shown) {
        Ok(t) => t,
        Err(e) => return error(ErrorCode::EditRefused, &e.0),
    };
    // Like every file of the connector: its owner's alone (directory 0700, file 0600).
    let written = (|| {
        if let Some(dir) = file.parent() {
            crate::identity::create_private_dir(dir)?;
        }
        crate::identity::write_atomic(&file, pem.as_bytes())
    })();
    if let Err(e) = written {
        return error(
            ErrorCode::EditRefused,
            &format!("cannot write {shown}: {e}"),
        );
    }
    if let Err(refused) = write_config(&c.path, &new).await {
        let _ = tokio::fs::remove_file(&file).await;
        return refused;
    }
    audit(shared, uid, "add", &shown, &certs);
    Response::TrustEdited {
        file: shown,
        certificates: certs,
    }
}

/// Takes `name` (an added certificate's name, or a configured path) out of the trust store;
/// deletes the file when it is one the connector wrote.
pub(crate) async fn remove(shared: &Shared, uid: Option<u32>, name: &str) -> Response {
    let _serial = shared.edit_lock.lock().await;
    let c = match configured(shared).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(i) = resolve(&c.written, &c.resolved, &c.data_dir, name) else {
        return error(
            ErrorCode::UnknownCertificate,
            &format!("the trust store has no file {name:?} (list it with `portcullis connector trust list`)"),
        );
    };
    let (path, resolved) = (c.written[i].clone(), c.resolved[i].clone());
    let certs = describe_file(&resolved, &path).unwrap_or_default();
    let new = match remove_path(&c.text, &path) {
        Ok(t) => t,
        Err(e) => return error(ErrorCode::EditRefused, &e.0),
    };
    if let Err(refused) = write_config(&c.path, &new).await {
        return refused;
    }
    if resolved.parent() == Some(c.data_dir.join(TRUST_DIR).as_path()) {
        if let Err(e) = tokio::fs::remove_file(&resolved).await {
            tracing::warn!(file = %resolved.display(), error = %e, "removed from the trust store, but the file stays");
        }
    }
    audit(shared, uid, "remove", &path, &certs);
    Response::TrustEdited {
        file: path,
        certificates: certs,
    }
}
