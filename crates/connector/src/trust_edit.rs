//! Editing the back-end trust store (CC-27) in the configuration text, and describing its
//! certificates; the admin's list, add and remove operations are built on it.
//!
//! As with access edits, the configuration file stays the one source of truth: adding a
//! certificate writes its PEM to `<data_dir>/trust/<name>.pem` and appends that path to
//! `[backend_tls] trust_store` (with `toml_edit`, so comments and order survive); removing takes
//! the path out again and deletes the file if it is one of ours. The reload watcher then loads
//! the new store and puts it in force for new sessions, without a restart.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::access_edit::{parse, EditError};

pub use crate::data_dir::names::TRUST_DIR;
/// Largest PEM accepted for one addition (a long chain fits easily).
pub const MAX_PEM_LEN: usize = 256 * 1024;

/// One certificate of the trust store, as people need to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrustedCert {
    /// The PEM file it is in, as the configuration names it.
    pub file: String,
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// SHA-256 of the DER, lower-case hex: how to tell two certificates apart.
    pub sha256: String,
    /// A CA certificate (basic constraints CA). Other certificates are kept but are rarely
    /// what a trust store needs.
    pub ca: bool,
}

/// Why a PEM text is no usable certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The text is not PEM.
    #[error("not PEM: {0}")]
    NotPem(#[source] x509_parser::error::PEMError),
    /// A `CERTIFICATE` block that is no X.509 certificate.
    #[error("a CERTIFICATE that does not parse: {0}")]
    Unparsable(#[source] x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// PEM without a `CERTIFICATE` block.
    #[error("no CERTIFICATE in it")]
    NoCertificate,
}

/// A name for an added certificate that cannot be a file name in the trust directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name {0:?}: 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'")]
pub struct BadTrustName(pub String);

/// The certificates in `pem`, described; `file` is put into each.
pub fn describe(pem: &[u8], file: &str) -> Result<Vec<TrustedCert>, CertificateError> {
    let mut out = Vec::new();
    for item in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let item = item.map_err(CertificateError::NotPem)?;
        if item.label != "CERTIFICATE" {
            continue;
        }
        let cert = item.parse_x509().map_err(CertificateError::Unparsable)?;
        let not_after = cert
            .validity()
            .not_after
            .to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        out.push(TrustedCert {
            file: file.to_owned(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_after,
            sha256: hex::encode(Sha256::digest(&item.contents)),
            ca: cert.is_ca(),
        });
    }
    if out.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    Ok(out)
}

/// A name for an added certificate: its file is `<name>.pem`.
pub fn check_name(name: &str) -> Result<(), BadTrustName> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(BadTrustName(name.to_owned()))
    }
}

/// The file an added certificate `name` is written to.
pub fn file_for(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join(TRUST_DIR).join(format!("{name}.pem"))
}

/// The `trust_store` array of `doc`, created (with its table) when missing.
fn store_mut(doc: &mut DocumentMut) -> Result<&mut Array, EditError> {
    let tls = doc
        .entry("backend_tls")
        .or_insert_with(|| Item::Table(Table::new()));
    let tls = tls
        .as_table_like_mut()
        .ok_or(EditError::BackendTlsNotATable)?;
    let store = tls
        .entry("trust_store")
        .or_insert(Item::Value(Value::Array(Array::new())));
    store.as_array_mut().ok_or(EditError::TrustStoreNotAnArray)
}

/// `config` with `path` added to `[backend_tls] trust_store` (once).
pub fn add_path(config: &str, path: &str) -> Result<String, EditError> {
    let mut doc = parse(config, "the configuration")?;
    let store = store_mut(&mut doc)?;
    if store.iter().any(|v| v.as_str() == Some(path)) {
        return Err(EditError::AlreadyTrusted(path.to_owned()));
    }
    store.push(path);
    store.fmt();
    Ok(doc.to_string())
}

/// `config` without `path` in `[backend_tls] trust_store`.
pub fn remove_path(config: &str, path: &str) -> Result<String, EditError> {
    let mut doc = parse(config, "the configuration")?;
    let store = store_mut(&mut doc)?;
    let before = store.len();
    store.retain(|v| v.as_str() != Some(path));
    if store.len() == before {
        return Err(EditError::NotTrusted(path.to_owned()));
    }
    store.fmt();
    Ok(doc.to_string())
}

/// `config` with `[backend_tls] trust_all` set to `on` (the table made when missing); the
/// comments and order of everything else survive.
pub fn set_trust_all(config: &str, on: bool) -> Result<String, EditError> {
    let mut doc = parse(config, "the configuration")?;
    let tls = doc
        .entry("backend_tls")
        .or_insert_with(|| Item::Table(Table::new()));
    let tls = tls
        .as_table_like_mut()
        .ok_or(EditError::BackendTlsNotATable)?;
    match tls.get_mut("trust_all").and_then(Item::as_value_mut) {
        // Keeps the comment after the value.
        Some(v) => {
            let decor = v.decor().clone();
            *v = Value::from(on);
            *v.decor_mut() = decor;
        }
        None => {
            tls.insert("trust_all", toml_edit::value(on));
        }
    }
    Ok(doc.to_string())
}

/// Which entry of the trust store `name` means (its index): the file of an added certificate
/// (`<name>.pem` in the trust directory), or a path exactly as the configuration writes it.
/// `written` and `resolved` are the configured paths as written and as resolved.
pub fn resolve(
    written: &[String],
    resolved: &[PathBuf],
    data_dir: &Path,
    name: &str,
) -> Option<usize> {
    let ours = file_for(data_dir, name);
    written
        .iter()
        .zip(resolved)
        .position(|(w, r)| *r == ours || w == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "data_dir = \"data\"  # keep\n\n[backend_tls]\ntrust_all = false # off\n";

    #[test]
    fn paths_are_added_once_and_removed_with_comments_kept() {
        let one = add_path(CONFIG, "/d/trust/erp.pem").unwrap();
        assert!(one.contains("# keep") && one.contains("# off"), "{one}");
        assert!(
            one.contains("trust_store = [\"/d/trust/erp.pem\"]"),
            "{one}"
        );
        let two = add_path(&one, "/d/trust/hr.pem").unwrap();
        assert!(add_path(&two, "/d/trust/hr.pem").is_err());
        let back = remove_path(&two, "/d/trust/erp.pem").unwrap();
        assert!(
            back.contains("trust_store = [\"/d/trust/hr.pem\"]"),
            "{back}"
        );
        assert_eq!(
            remove_path(&back, "/x.pem").unwrap_err().to_string(),
            "/x.pem is not in the trust store"
        );
        // Without a [backend_tls] table one is made.
        let made = add_path("data_dir = \"d\"\n", "/a.pem").unwrap();
        assert!(
            made.contains("[backend_tls]") && made.contains("/a.pem"),
            "{made}"
        );
        assert!(add_path("backend_tls = 1\n", "/a.pem").is_err());
    }

    #[test]
    fn trust_all_is_switched_with_comments_kept() {
        let on = set_trust_all(CONFIG, true).unwrap();
        assert!(on.contains("trust_all = true # off"), "{on}");
        assert!(on.contains("# keep"), "{on}");
        let off = set_trust_all(&on, false).unwrap();
        assert!(off.contains("trust_all = false # off"), "{off}");
        let made = set_trust_all("data_dir = \"d\"\n", true).unwrap();
        assert!(made.contains("[backend_tls]\ntrust_all = true"), "{made}");
        assert!(set_trust_all("backend_tls = 1\n", true).is_err());
    }

    #[test]
    fn names_are_plain_file_names() {
        for good in ["erp", "erp-ca_2026.v2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn certificates_are_described_and_garbage_is_named() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["erp.internal".into()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ERP CA");
        let cert = params.self_signed(&key).unwrap();
        let d = describe(cert.pem().as_bytes(), "f.pem").unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].subject, "CN=ERP CA");
        assert!(d[0].ca);
        assert_eq!(d[0].sha256, hex::encode(Sha256::digest(cert.der())));
        assert!(describe(b"hello", "f").is_err());
        assert!(describe(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "f"
        )
        .is_err());
    }

    #[test]
    fn names_resolve_to_our_files_or_exact_paths() {
        let data = Path::new("/d");
        let written = vec!["trust/erp.pem".to_owned(), "certs/hr.pem".to_owned()];
        let resolved = vec![
            PathBuf::from("/d/trust/erp.pem"),
            PathBuf::from("/c/certs/hr.pem"),
        ];
        assert_eq!(resolve(&written, &resolved, data, "erp"), Some(0));
        assert_eq!(resolve(&written, &resolved, data, "certs/hr.pem"), Some(1));
        assert_eq!(resolve(&written, &resolved, data, "hr"), None);
    }
}
