//! A PKCS#12 (.p12/.pfx) file turned into the PEM pair `[backend_tls]` reads as the system
//! certificate (CC-26, CC-27).
//!
//! Customers' PKIs hand out client certificates as PKCS#12, while the connector reads PEM
//! only: one format to load at start, and a one-time conversion by `portcullis connector
//! system-certificate import`, instead of a password to keep next to the configuration. The
//! conversion ends with the connector's own check
//! ([`check_system_certificate`](crate::backend_tls::check_system_certificate)), so a pair
//! that imports also loads.
//!
//! The input is untrusted bytes: every failure is an [`ImportError`] whose text a customer's
//! admin can act on, never a panic (fuzzed by `fuzz/fuzz_targets/pkcs12_import.rs`).

use base64::Engine;
use p12_keystore::error::Error as P12Error;
use p12_keystore::{CertificateBag, Pkcs12Archive, PrivateKeyBag};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::backend_tls::{check_system_certificate, provider};

/// A system certificate taken out of a PKCS#12 file, ready to write.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The certificate chain as PEM: the key's certificate first, then the file's other
    /// certificates (those not bound to another key) in the file's order.
    pub chain_pem: String,
    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: String,
    /// How the file names the key: its friendly name, else `#N` (its position, from 1).
    pub alias: String,
    /// The certificate's subject, e.g. `CN=connector, O=ACME`.
    pub subject: String,
    /// The certificate's issuer.
    pub issuer: String,
    /// The end of the certificate's validity.
    pub not_after: time::OffsetDateTime,
    /// Certificates in `chain_pem`, the key's own included.
    pub chain_len: usize,
}

/// Why a PKCS#12 file could not be imported; each says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not DER of a PKCS#12 structure (or a damaged one).
    #[error("this is not a PKCS#12 file (.p12/.pfx), or a damaged one ({0})")]
    NotPkcs12(String),
    /// PEM text: the connector reads that as it is.
    #[error(
        "this is a PEM file, not a PKCS#12 file: the connector reads PEM as it is; name the \
         certificate chain and the key in [backend_tls] system_certificate and \
         system_certificate_key"
    )]
    Pem,
    /// The MAC did not verify: almost always the wrong password.
    #[error("wrong password: the file's integrity check (MAC) failed")]
    WrongPassword,
    /// A file without a MAC whose encrypted parts did not decrypt.
    #[error("the file could not be decrypted: wrong password, or a damaged file ({0})")]
    Undecryptable(String),
    /// An encryption, MAC or content type the importer does not know.
    #[error(
        "the file uses a scheme this importer does not support ({0}); export it again with \
         current defaults (AES-256 and HMAC-SHA-256, or the legacy 3DES/RC2 with SHA-1)"
    )]
    Unsupported(String),
    /// Certificates only.
    #[error(
        "the file holds no private key, only certificates: ask for it again, exported with \
         its private key"
    )]
    NoPrivateKey,
    /// Several keys and no alias to choose one.
    #[error(
        "the file holds {} private keys ({}); choose one by its alias",
        .0.len(),
        list(.0)
    )]
    SeveralKeys(Vec<String>),
    /// The alias asked for names no key, or more than one.
    #[error(
        "the alias {alias:?} names {} private key in the file; its keys: {}",
        if *.matches == 0 { "no" } else { "more than one" },
        list(.aliases)
    )]
    NoSuchAlias {
        /// As asked for.
        alias: String,
        /// How many keys it names (0 or more than 1).
        matches: usize,
        /// Every key, as [`Imported::alias`] names it.
        aliases: Vec<String>,
    },
    /// A key whose certificate is missing from the file.
    #[error(
        "the private key {0} has no certificate in the file: ask for it again, exported with \
         its certificate"
    )]
    KeyWithoutCertificate(String),
    /// Chain and key would not load at the connector's start.
    #[error("the certificate and key cannot be used as a TLS client certificate: {0}")]
    Unusable(String),
}

/// Converts the PKCS#12 file `p12` (its bytes) into the PEM pair of the key `alias` (needed
/// only when the file holds several keys), with `password` ("" for a file without one).
pub fn import(p12: &[u8], password: &str, alias: Option<&str>) -> Result<Imported, ImportError> {
    if p12.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Err(ImportError::Pem);
    }
    let archive = Pkcs12Archive::from_pkcs12(p12, password).map_err(classify)?;
    let aliases: Vec<String> = archive
        .keys
        .iter()
        .enumerate()
        .map(|(i, key)| alias_of(i, key))
        .collect();
    let index = choose(&archive.keys, &aliases, alias)?;
    let key = &archive.keys[index];
    let key_der = PrivateKeyDer::Pkcs8(key.key.as_der().to_vec().into());
    let leaf = leaf_of(key, &archive.certs, &key_der)?
        .ok_or_else(|| ImportError::KeyWithoutCertificate(aliases[index].clone()))?;

    // The rest of the chain as the file gives it, less the certificates of its other keys.
    let others: Vec<&[u8]> = archive
        .keys
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .filter_map(|(_, k)| k.local_key_id.as_ref().map(|id| id.as_ref()))
        .collect();
    let mut chain: Vec<&[u8]> = vec![archive.certs[leaf].cert.as_der()];
    for bag in &archive.certs {
        let bound_elsewhere = bag
            .local_key_id
            .as_deref()
            .is_some_and(|id| others.contains(&id));
        let der = bag.cert.as_der();
        if !bound_elsewhere && !chain.contains(&der) {
            chain.push(der);
        }
    }
    let chain_pem: String = chain.iter().map(|der| pem("CERTIFICATE", der)).collect();
    let key_pem = pem("PRIVATE KEY", key.key.as_der());
    check_system_certificate(chain_pem.as_bytes(), key_pem.as_bytes())
        .map_err(|e| ImportError::Unusable(e.to_string()))?;

    let cert = &archive.certs[leaf].cert;
    let not_after = x509_parser::parse_x509_certificate(cert.as_der())
        .map_err(|e| ImportError::NotPkcs12(format!("its certificate: {e}")))?
        .1
        .validity()
        .not_after
        .to_datetime();
    Ok(Imported {
        chain_pem,
        key_pem,
        alias: aliases[index].clone(),
        subject: cert.subject().to_owned(),
        issuer: cert.issuer().to_owned(),
        not_after,
        chain_len: chain.len(),
    })
}

/// The library's error as the admin's problem.
fn classify(e: P12Error) -> ImportError {
    match e {
        P12Error::MacError(_) => ImportError::WrongPassword,
        P12Error::UnpadError | P12Error::Pkcs5Error(_) => ImportError::Undecryptable(e.to_string()),
        P12Error::UnsupportedEncryptionScheme
        | P12Error::UnsupportedMacAlgorithm
        | P12Error::UnsupportedContentType
        | P12Error::UnsupportedCertificateType => ImportError::Unsupported(e.to_string()),
        other => ImportError::NotPkcs12(other.to_string()),
    }
}

/// A key's friendly name, else its position: `#1`, `#2` …
fn alias_of(index: usize, key: &PrivateKeyBag) -> String {
    match &key.friendly_name {
        Some(name) => name.clone(),
        None => format!("#{}", index + 1),
    }
}

/// Aliases for a message: quoted, so an empty or odd friendly name still shows.
fn list(aliases: &[String]) -> String {
    let quoted: Vec<String> = aliases.iter().map(|a| format!("{a:?}")).collect();
    quoted.join(", ")
}

/// The key to import: the only one, or the one `alias` names (by friendly name or `#N`).
fn choose(
    keys: &[PrivateKeyBag],
    aliases: &[String],
    alias: Option<&str>,
) -> Result<usize, ImportError> {
    match (keys.len(), alias) {
        (0, _) => Err(ImportError::NoPrivateKey),
        (1, None) => Ok(0),
        (_, None) => Err(ImportError::SeveralKeys(aliases.to_vec())),
        (_, Some(wanted)) => {
            let named: Vec<usize> = (0..keys.len())
                .filter(|&i| {
                    keys[i].friendly_name.as_deref() == Some(wanted)
                        || format!("#{}", i + 1) == wanted
                })
                .collect();
            match named.as_slice() {
                [one] => Ok(*one),
                _ => Err(ImportError::NoSuchAlias {
                    alias: wanted.to_owned(),
                    matches: named.len(),
                    aliases: aliases.to_vec(),
                }),
            }
        }
    }
}

/// The position of `key`'s certificate: the one with its local key id, else (files from
/// tools that set none) the first whose public key is the key's.
fn leaf_of(
    key: &PrivateKeyBag,
    certs: &[CertificateBag],
    key_der: &PrivateKeyDer<'static>,
) -> Result<Option<usize>, ImportError> {
    let by_id = key.local_key_id.as_ref().and_then(|id| {
        certs
            .iter()
            .position(|c| c.local_key_id.as_deref() == Some(id.as_ref()))
    });
    if by_id.is_some() {
        return Ok(by_id);
    }
    let signing = provider()
        .key_provider
        .load_private_key(key_der.clone_key())
        .map_err(|e| ImportError::Unusable(format!("the private key: {e}")))?;
    Ok(certs.iter().position(|c| {
        let der = CertificateDer::from(c.cert.as_der().to_vec());
        CertifiedKey::new(vec![der], signing.clone())
            .keys_match()
            .is_ok()
    }))
}

/// PEM text (RFC 7468) of one DER object: base64 in lines of 64.
fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for (i, c) in body.chars().enumerate() {
        if i > 0 && i % 64 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out.push_str(&format!("\n-----END {label}-----\n"));
    out
}

#[cfg(test)]
#[path = "pkcs12_tests.rs"]
mod tests;
