//! The system certificate's rules (CC-26): generating a self-signed one, importing one from
//! PKCS#12, a key with its certificate signing request (CSR) and the signed chain that must
//! match that key, and writing a pair (key 0600). `portcullis connector system-certificate
//! generate|import` (offline, to files it is told) and the admin UI and API (through
//! [`crate::ops::system_cert`], on the running connector) both call these: one set of rules.
//!
//! Every pair is checked with the connector's own loader
//! ([`check_system_certificate`](crate::backend_tls::check_system_certificate)) before it is
//! written, so what is written also loads.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::backend_tls::{
    check_system_certificate, generate_system_certificate, subject_dn, GenerateError,
};
use crate::pkcs12::{self, ImportError, Imported};

/// A certificate chain (leaf first) and its private key, as PEM.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The chain.
    pub chain_pem: String,
    /// The key (PKCS#8 PEM).
    pub key_pem: String,
}

/// Why a system certificate was not made, imported or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SystemCertError {
    /// The subject or validity of a generated one.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// The PKCS#12 file.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The pair would not load.
    #[error("the certificate would not load: {0}")]
    WouldNotLoad(String),
    /// A signed chain arrived, but no CSR is pending.
    #[error("no certificate signing request is pending: make one first")]
    NoPendingCsr,
    /// Making the key or the CSR failed.
    #[error("cannot make the CSR: {0}")]
    Csr(String),
    /// Writing failed.
    #[error("cannot write {file}: {reason}")]
    Write {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
}

/// The system certificate as people need to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SystemCertView {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// SHA-256 of the leaf's DER, lower-case hex.
    pub sha256: String,
    /// Certificates in the chain.
    pub chain_len: usize,
}

fn checked(pair: Pair) -> Result<Pair, SystemCertError> {
    check_system_certificate(pair.chain_pem.as_bytes(), pair.key_pem.as_bytes())
        .map_err(|e| SystemCertError::WouldNotLoad(e.to_string()))?;
    Ok(pair)
}

/// A self-signed system certificate for `subject`, valid `days`.
pub fn generate(subject: &str, days: u32) -> Result<Pair, SystemCertError> {
    let (chain_pem, key_pem) = generate_system_certificate(subject, days)?;
    checked(Pair { chain_pem, key_pem })
}

/// The system certificate in a PKCS#12 file.
pub fn import(
    p12: &[u8],
    password: &str,
    alias: Option<&str>,
) -> Result<(Pair, Imported), SystemCertError> {
    let got = pkcs12::import(p12, password, alias)?;
    let pair = checked(Pair {
        chain_pem: got.chain_pem.clone(),
        key_pem: got.key_pem.clone(),
    })?;
    Ok((pair, got))
}

/// A new key and a CSR for `subject` (the same subject syntax as [`generate`]), asking for a
/// TLS client certificate: (CSR PEM, key PEM). The key stays with the connector until the
/// signed chain comes back ([`complete`]).
pub fn csr(subject: &str) -> Result<(String, String), SystemCertError> {
    let dn = subject_dn(subject)?;
    let key = rcgen::KeyPair::generate().map_err(|e| SystemCertError::Csr(e.to_string()))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = dn;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let csr = params
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| SystemCertError::Csr(e.to_string()))?;
    Ok((csr, key.serialize_pem()))
}

/// The signed chain for the pending key: accepted only when its leaf is that key's.
pub fn complete(chain_pem: &str, pending_key_pem: &str) -> Result<Pair, SystemCertError> {
    checked(Pair {
        chain_pem: chain_pem.to_owned(),
        key_pem: pending_key_pem.to_owned(),
    })
}

/// Describes the leaf of `chain_pem` (`None` when it holds no parsable certificate).
pub fn describe(chain_pem: &[u8]) -> Option<SystemCertView> {
    let mut certs = x509_parser::pem::Pem::iter_from_buffer(chain_pem)
        .filter_map(Result::ok)
        .filter(|p| p.label == "CERTIFICATE");
    let leaf = certs.next()?;
    let chain_len = 1 + certs.count();
    let cert = leaf.parse_x509().ok()?;
    let t = |a: x509_parser::time::ASN1Time| {
        a.to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    Some(SystemCertView {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: t(cert.validity().not_before),
        not_after: t(cert.validity().not_after),
        sha256: hex::encode(Sha256::digest(&leaf.contents)),
        chain_len,
    })
}

/// Writes `text` to `path` with `mode`, also on a file that exists (`open` applies the mode
/// only to files it creates).
pub fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), SystemCertError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |e: std::io::Error| SystemCertError::Write {
        file: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(mode);
    let mut f = opts.open(path).map_err(err)?;
    #[cfg(unix)]
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    #[cfg(not(unix))]
    let _ = mode;
    f.write_all(text.as_bytes()).map_err(err)
}

/// Writes a pair: the key (0600) first, then the chain (0644).
pub fn write_pair(cert: &Path, key: &Path, pair: &Pair) -> Result<(), SystemCertError> {
    write_file(key, &pair.key_pem, 0o600)?;
    write_file(cert, &pair.chain_pem, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csr_signed_by_a_ca_completes_and_another_key_does_not() {
        let (csr_pem, key_pem) = csr("CN=connector-berlin, O=ACME").unwrap();
        assert!(
            csr_pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
            "{csr_pem}"
        );
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::default();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let req = rcgen::CertificateSigningRequestParams::from_pem(&csr_pem).unwrap();
        let signed = req.signed_by(&issuer).unwrap();
        let chain = format!("{}{}", signed.pem(), ca_cert.pem());
        let pair = complete(&chain, &key_pem).unwrap();
        let v = describe(pair.chain_pem.as_bytes()).unwrap();
        assert_eq!(v.subject, "CN=connector-berlin, O=ACME");
        assert_eq!((v.issuer.as_str(), v.chain_len), ("CN=Test CA", 2));
        let (_, other_key) = csr("CN=x").unwrap();
        assert!(complete(&chain, &other_key).is_err());
        assert!(csr("O=no-cn").is_err());
    }
}
