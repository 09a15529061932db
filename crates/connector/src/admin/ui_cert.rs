//! Replacing the admin UI's certificate (sap-reference §3.12): by a PEM chain and key, by a
//! PKCS#12 file, or by a key and certificate signing request (CSR) made here whose signed
//! chain comes back later (the key never leaves the connector). The rules live here, the page and the API ([`super::ui_cert_page`]) only parse
//! and call them:
//!
//! - the chain and the key must belong together and the leaf must not be expired: what would
//!   lock everybody out of the UI is refused and nothing changes;
//! - the key is written 0600 (as the generated one), the chain next to it, then the listener
//!   serves the new pair from its next TLS connection on ([`super::cert::LiveUiCert`]), no
//!   restart; a later start loads the same files;
//! - every replacement is audited (`admin.settings`, outcome `ui_certificate`), the PKCS#12
//!   password never.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::state::Admin;
use crate::audit::{AuditAction, AuditEvent};
use crate::identity::write_atomic;
use crate::pkcs12;

/// The UI certificate as people need to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UiCertView {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// Whether it is self-signed (issuer = subject): browsers warn about it.
    pub self_signed: bool,
    /// Certificates in the chain, the leaf included.
    pub chain_len: usize,
}

/// Why a replacement was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplaceError {
    /// The chain or key is unusable, or they do not belong together.
    #[error("{0}")]
    Unusable(String),
    /// The certificate has expired (or is not yet valid).
    #[error("the certificate is not valid now (valid {0})")]
    NotValidNow(String),
    /// The PKCS#12 file could not be read.
    #[error(transparent)]
    Pkcs12(#[from] pkcs12::ImportError),
    /// Writing the files failed.
    #[error("cannot write the certificate: {0}")]
    Write(String),
    /// A signed chain arrived, but no CSR is pending.
    #[error("no certificate signing request is pending: make one first")]
    NoPendingCsr,
    /// The CSR could not be made.
    #[error("cannot make the CSR: {0}")]
    Csr(String),
}

/// The pending CSR's key (0600) and the CSR, in `data_dir/admin/`.
const PENDING_KEY: &str = "ui-pending-key.pem";
const PENDING_CSR: &str = "ui-pending.csr";

/// The pending CSR (PEM), if one waits for its signed chain.
pub fn pending_csr(st: &Admin) -> Option<String> {
    std::fs::read_to_string(st.ui.dir.admin().join(PENDING_CSR)).ok()
}

/// Makes a key and a CSR for the UI certificate: common name `cn`, and as subject alternative
/// names `localhost`, `127.0.0.1`, `::1`, the listen address (unless unspecified) and the
/// `extra` names (DNS names or IP addresses, comma-separated). A CSR made before is replaced.
pub fn csr(st: &Admin, by: &str, via: &str, cn: &str, extra: &str) -> Result<String, ReplaceError> {
    let cn = cn.trim();
    if cn.is_empty() || cn.len() > 64 || cn.chars().any(char::is_control) {
        return Err(ReplaceError::Csr(
            "the common name: 1 to 64 printable characters".into(),
        ));
    }
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let listen = st.ui.listen.ip();
    if !listen.is_unspecified() {
        names.push(listen.to_string());
    }
    for n in extra.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let ok = n.len() <= 253
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
        if !ok {
            return Err(ReplaceError::Csr(format!(
                "{n:?} is no DNS name or IP address"
            )));
        }
        names.push(n.to_owned());
    }
    names.dedup();
    let mut params =
        rcgen::CertificateParams::new(names).map_err(|e| ReplaceError::Csr(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let key = rcgen::KeyPair::generate().map_err(|e| ReplaceError::Csr(e.to_string()))?;
    let csr = params
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| ReplaceError::Csr(e.to_string()))?;
    let dir = st.ui.dir.admin();
    write_atomic(&dir.join(PENDING_KEY), key.serialize_pem().as_bytes())
        .and_then(|()| write_atomic(&dir.join(PENDING_CSR), csr.as_bytes()))
        .map_err(|e| ReplaceError::Write(e.to_string()))?;
    let mut ev = AuditEvent::new(
        AuditAction::AdminSettings,
        "ui_certificate_csr",
        serde_json::json!({ "by": by, "via": via, "common_name": cn }),
    );
    ev.principal = Some(by.to_owned());
    st.shared.audit.record_or_log(ev);
    Ok(csr)
}

/// Replaces the UI certificate with the signed chain of the pending CSR: accepted only when
/// its first certificate is the pending key's.
pub fn complete(
    st: &Admin,
    by: &str,
    via: &str,
    chain_pem: &str,
) -> Result<UiCertView, ReplaceError> {
    let dir = st.ui.dir.admin();
    let key =
        std::fs::read_to_string(dir.join(PENDING_KEY)).map_err(|_| ReplaceError::NoPendingCsr)?;
    let view = replace_pem(st, by, via, chain_pem, &key)?;
    for f in [PENDING_KEY, PENDING_CSR] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    Ok(view)
}

fn rfc3339(t: x509_parser::time::ASN1Time) -> String {
    t.to_datetime()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Describes a chain's leaf (`None` when it holds no parsable certificate).
pub fn describe_chain(chain: &[rustls_pki_types::CertificateDer<'_>]) -> Option<UiCertView> {
    let leaf = chain.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let v = cert.validity();
    Some(UiCertView {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: rfc3339(v.not_before),
        not_after: rfc3339(v.not_after),
        sha256: hex::encode(Sha256::digest(leaf.as_ref())),
        self_signed: cert.subject() == cert.issuer(),
        chain_len: chain.len(),
    })
}

/// The certificate the listener serves now.
pub fn current(st: &Admin) -> Option<UiCertView> {
    describe_chain(&st.ui.live.current().cert)
}

/// Replaces the UI certificate with `chain_pem` (leaf first) and `key_pem`.
pub fn replace_pem(
    st: &Admin,
    by: &str,
    via: &str,
    chain_pem: &str,
    key_pem: &str,
) -> Result<UiCertView, ReplaceError> {
    let ck = super::cert::certified_key(chain_pem, key_pem).map_err(ReplaceError::Unusable)?;
    let view = describe_chain(&ck.cert)
        .ok_or_else(|| ReplaceError::Unusable("the first certificate does not parse".into()))?;
    let (_, leaf) = x509_parser::parse_x509_certificate(ck.cert[0].as_ref())
        .map_err(|e| ReplaceError::Unusable(e.to_string()))?;
    if !leaf.validity().is_valid() {
        return Err(ReplaceError::NotValidNow(format!(
            "{} to {}",
            view.not_before, view.not_after
        )));
    }
    let dir = &st.ui.dir;
    // Both or neither, whatever stops the process meanwhile.
    super::cert::write_pair(dir, key_pem, chain_pem)
        .map_err(|e| ReplaceError::Write(e.to_string()))?;
    st.ui.live.replace(ck);
    let mut ev = AuditEvent::new(
        AuditAction::AdminSettings,
        "ui_certificate",
        serde_json::json!({
            "by": by, "via": via, "subject": view.subject, "issuer": view.issuer,
            "not_after": view.not_after, "sha256": view.sha256,
        }),
    );
    ev.principal = Some(by.to_owned());
    st.shared.audit.record_or_log(ev);
    tracing::info!(subject = %view.subject, by, "admin UI certificate replaced");
    Ok(view)
}

/// Replaces the UI certificate with the key and chain of a PKCS#12 file.
pub fn replace_p12(
    st: &Admin,
    by: &str,
    via: &str,
    p12: &[u8],
    password: &str,
) -> Result<UiCertView, ReplaceError> {
    let got = pkcs12::import(p12, password, None)?;
    replace_pem(st, by, via, &got.chain_pem, &got.key_pem)
}
