//! The hub's certificate authority: CA generation, server certificates, connector CSRs.
//!
//! The hub runs a private CA whose only job is to authenticate the tunnel between hub and
//! connectors. The CA certificate is pinned by connectors (they trust nothing else), so:
//!
//! - every key is ECDSA P-256: small, fast, and supported by every rustls provider;
//! - a connector's identity is decided by the hub, never by the connector: [`Ca::sign_csr`]
//!   keeps only the public key from the request and writes the subject itself;
//! - end-entity certificates carry exactly one extended key usage (`serverAuth` for the hub,
//!   `clientAuth` for connectors) so a leaked connector certificate cannot impersonate the hub.
//!
//! Private keys travel as PKCS#8 PEM strings; every type that holds one masks it in `Debug`.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use portcullis_domain::secret::Secret;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
    SanType, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Validity of a freshly generated CA: ten years (3650 days).
pub const CA_VALIDITY: Duration = Duration::from_secs(3650 * 24 * 60 * 60);

/// How far `notBefore` is moved into the past on every certificate we issue.
///
/// Connectors run on customer machines whose clocks may lag the hub's. Back-dating by an hour
/// (as public CAs do) keeps a just-issued certificate from being "not yet valid" there.
pub const BACKDATE: Duration = Duration::from_secs(60 * 60);

/// Longest accepted length of a common name, in bytes (RFC 5280 upper bound `ub-common-name`).
const MAX_COMMON_NAME_LEN: usize = 64;

/// Failures of certificate-authority operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// Generating a fresh key pair failed (the system random source is unavailable).
    #[error("could not generate a key pair: {0}")]
    KeyGeneration(#[source] rcgen::Error),

    /// A common name is empty, longer than 64 bytes, or contains control characters.
    #[error("invalid common name {0:?}: must be 1..=64 bytes without control characters")]
    InvalidCommonName(String),

    /// A server certificate was requested without any subject alternative name; clients
    /// check the server name against the SANs, so such a certificate would be useless.
    #[error("a server certificate needs at least one subject alternative name")]
    NoSubjectAltNames,

    /// A subject alternative name is neither an IP address nor a valid DNS name.
    #[error("invalid subject alternative name {name:?}")]
    InvalidSubjectAltName {
        /// The rejected entry, as given by the caller.
        name: String,
    },

    /// The requested validity is zero or pushes the expiry beyond what X.509 can express.
    #[error("invalid certificate validity {0:?}")]
    InvalidValidity(Duration),

    /// The CA certificate PEM could not be parsed as an X.509 certificate.
    #[error("invalid CA certificate: {0}")]
    InvalidCaCertificate(#[source] rcgen::Error),

    /// The CA private key PEM could not be parsed (expected PKCS#8, ECDSA P-256).
    #[error("invalid CA private key: {0}")]
    InvalidCaKey(#[source] rcgen::Error),

    /// The CA private key does not belong to the CA certificate; certificates signed with it
    /// would never verify.
    #[error("the CA private key does not match the CA certificate")]
    CaKeyMismatch,

    /// The CSR is not valid PEM/DER, its self-signature does not verify, or it asks for an
    /// extension we do not understand. Nothing from it is trusted.
    #[error("invalid certificate signing request: {0}")]
    InvalidCsr(#[source] rcgen::Error),

    /// Serialising or signing a certificate or CSR failed.
    #[error("could not sign: {0}")]
    Signing(#[source] rcgen::Error),

    /// A PEM document is malformed.
    #[error("invalid PEM: {0}")]
    Pem(#[source] rustls_pki_types::pem::Error),

    /// A private key PEM could not be loaded as a key pair (expected PKCS#8, ECDSA P-256).
    #[error("invalid private key: {0}")]
    InvalidKey(#[source] rcgen::Error),

    /// A PEM document contains no `CERTIFICATE` section.
    #[error("no certificate found in PEM")]
    NoCertificate,
}

/// A certificate and its private key, both PEM. `Debug` never prints the key.
#[derive(Debug, Clone)]
pub struct CertifiedKey {
    /// The certificate, PEM (`CERTIFICATE`).
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    ///
    /// Security: this is a secret. Store it with restrictive permissions; never log it.
    pub key_pem: Secret<String>,
}

/// A freshly generated CA certificate and private key, both PEM. `Debug` never prints the key.
#[derive(Debug, Clone)]
pub struct CaMaterial {
    /// The self-signed CA certificate, PEM.
    pub cert_pem: String,
    /// The CA private key, PKCS#8 PEM.
    ///
    /// Security: whoever holds this key can mint hub and connector identities. Keep it on the
    /// hub only, with restrictive file permissions; never log it.
    pub key_pem: Secret<String>,
}

/// A connector certificate issued from a CSR. Contains no secret: the key stayed on the
/// connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCert {
    /// The issued certificate, PEM.
    pub cert_pem: String,
    /// Lowercase hex SHA-256 of the certificate DER; see [`fingerprint_hex`].
    pub fingerprint_hex: String,
    /// End of validity, as written in the certificate (whole seconds, UTC).
    pub not_after: OffsetDateTime,
    /// Lowercase hex SHA-256 of the certified public key (the CSR's `subjectPublicKey` bits):
    /// the same for every request made with the same key pair.
    pub public_key_sha256: String,
}

/// Generates a new self-signed ECDSA P-256 CA valid for ten years.
///
/// The CA is restricted to path length 0 (it signs end-entity certificates only) and to the
/// key usages `keyCertSign` and `cRLSign`.
pub fn generate_ca(common_name: &str) -> Result<CaMaterial, PkiError> {
    check_common_name(common_name)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(PkiError::KeyGeneration)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_dn(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(random_serial());
    let (not_before, not_after) = validity_window(CA_VALIDITY)?;
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.self_signed(&key).map_err(PkiError::Signing)?;
    Ok(CaMaterial {
        cert_pem: cert.pem(),
        key_pem: Secret::new(key.serialize_pem()),
    })
}

/// Generates a P-256 key pair and a CSR for it, for a connector to send to the hub.
///
/// Returns `(csr_pem, key_pem)`. The key (second element) is secret and must stay on the
/// connector. The common name is only a hint: the hub chooses the identity it certifies.
pub fn generate_csr(common_name: &str) -> Result<(String, String), PkiError> {
    check_common_name(common_name)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(PkiError::KeyGeneration)?;
    let key_pem = key.serialize_pem();
    Ok((csr_with(common_name, &key)?, key_pem))
}

/// A CSR for an existing key pair (PKCS#8 PEM), e.g. to repeat an enrolment whose answer was
/// lost with the key that is already stored.
pub fn csr_for_key(common_name: &str, key_pem: &str) -> Result<String, PkiError> {
    check_common_name(common_name)?;
    let key = KeyPair::from_pem(key_pem).map_err(PkiError::InvalidKey)?;
    csr_with(common_name, &key)
}

fn csr_with(common_name: &str, key: &KeyPair) -> Result<String, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_dn(common_name);
    let csr = params.serialize_request(key).map_err(PkiError::Signing)?;
    csr.pem().map_err(PkiError::Signing)
}

/// The hub's CA, able to issue certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    fingerprint_hex: String,
}

/// Written by hand because rcgen's `Issuer` has no `Debug`; it shows the fingerprint, which
/// names the CA, and marks that a key is held.
impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("fingerprint_hex", &self.fingerprint_hex)
            .field("key", &"****")
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Loads a CA from its certificate and private key (as produced by [`generate_ca`]).
    ///
    /// Checks that the key belongs to the certificate, so a mix-up is caught at start-up and
    /// not when the first connector fails to verify.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let cert_der =
            CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| match e {
                rustls_pki_types::pem::Error::NoItemsFound => PkiError::NoCertificate,
                other => PkiError::Pem(other),
            })?;
        let key = KeyPair::from_pem(key_pem).map_err(PkiError::InvalidCaKey)?;
        // The certificate's SubjectPublicKeyInfo is embedded verbatim in its DER; the key's
        // SPKI must appear there. A 91-byte P-256 SPKI cannot match by accident.
        let spki = key.subject_public_key_info();
        if spki.is_empty() || !contains_subslice(&cert_der, &spki) {
            return Err(PkiError::CaKeyMismatch);
        }
        let issuer =
            Issuer::from_ca_cert_der(&cert_der, key).map_err(PkiError::InvalidCaCertificate)?;
        let fingerprint_hex = fingerprint_hex(&cert_der);
        // Re-encode so the stored PEM is canonical whatever surrounded it in the input.
        let cert_pem = der_to_pem(&cert_der);
        Ok(Self {
            issuer,
            cert_der,
            cert_pem,
            fingerprint_hex,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// Lowercase hex SHA-256 of the CA certificate DER: the pin put in enrolment tokens.
    pub fn fingerprint_hex(&self) -> &str {
        &self.fingerprint_hex
    }

    /// Issues a hub server certificate with a fresh P-256 key.
    ///
    /// Entries of `sans` that parse as IP addresses become IP SANs, all others DNS names.
    /// The first entry is also used as the subject common name (if it fits in 64 bytes).
    /// EKU is `serverAuth` only.
    pub fn issue_server_cert(
        &self,
        sans: &[String],
        validity: Duration,
    ) -> Result<CertifiedKey, PkiError> {
        let first = sans.first().ok_or(PkiError::NoSubjectAltNames)?;
        let subject_alt_names = sans
            .iter()
            .map(|name| parse_san(name))
            .collect::<Result<Vec<_>, _>>()?;
        let key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(PkiError::KeyGeneration)?;
        let mut params = CertificateParams::default();
        // The CN is informational (verifiers match SANs), but keep it within its 64-byte bound.
        let cn = if check_common_name(first).is_ok() {
            first.as_str()
        } else {
            "portcullis hub"
        };
        params.distinguished_name = common_name_dn(cn);
        params.subject_alt_names = subject_alt_names;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let _not_after = self.fill_leaf_params(&mut params, validity)?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(PkiError::Signing)?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: Secret::new(key.serialize_pem()),
        })
    }

    /// Signs a connector's CSR, certifying **only its public key**.
    ///
    /// The subject, SANs and extensions requested in the CSR are ignored: the certificate gets
    /// `CN = subject_cn` (chosen by the hub), no SAN, and EKU `clientAuth` only. The CSR's
    /// self-signature is verified first, proving the requester holds the private key.
    ///
    /// CSRs carrying extensions rcgen does not understand are rejected rather than ignored.
    pub fn sign_csr(
        &self,
        csr_pem: &str,
        subject_cn: &str,
        validity: Duration,
    ) -> Result<SignedCert, PkiError> {
        check_common_name(subject_cn)?;
        // Parses the DER and verifies the request's signature with its own public key.
        let csr =
            CertificateSigningRequestParams::from_pem(csr_pem).map_err(PkiError::InvalidCsr)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_dn(subject_cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let not_after = self.fill_leaf_params(&mut params, validity)?;
        let cert = params
            .signed_by(&csr.public_key, &self.issuer)
            .map_err(PkiError::Signing)?;
        Ok(SignedCert {
            cert_pem: cert.pem(),
            fingerprint_hex: fingerprint_hex(cert.der()),
            not_after,
            public_key_sha256: hex::encode(Sha256::digest(csr.public_key.der_bytes())),
        })
    }

    /// Sets the fields shared by every end-entity certificate; returns `notAfter`.
    fn fill_leaf_params(
        &self,
        params: &mut CertificateParams,
        validity: Duration,
    ) -> Result<OffsetDateTime, PkiError> {
        let (not_before, not_after) = validity_window(validity)?;
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        Ok(not_after)
    }
}

/// Lowercase hex SHA-256 of a certificate's DER encoding.
pub fn fingerprint_hex(cert_der: &[u8]) -> String {
    hex::encode(Sha256::digest(cert_der))
}

/// Parses every `CERTIFICATE` section of a PEM document, in order. Other sections are skipped.
pub fn pem_to_der_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(PkiError::Pem)?;
    if certs.is_empty() {
        return Err(PkiError::NoCertificate);
    }
    Ok(certs)
}

/// Parses the first private key (PKCS#8, SEC1 or PKCS#1) of a PEM document.
pub fn pem_to_private_key(pem: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(PkiError::Pem)
}

fn check_common_name(cn: &str) -> Result<(), PkiError> {
    if cn.is_empty() || cn.len() > MAX_COMMON_NAME_LEN || cn.chars().any(char::is_control) {
        return Err(PkiError::InvalidCommonName(cn.to_owned()));
    }
    Ok(())
}

fn common_name_dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn parse_san(name: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    if !is_dns_name(name) {
        return Err(PkiError::InvalidSubjectAltName {
            name: name.to_owned(),
        });
    }
    let ia5 = name
        .to_owned()
        .try_into()
        .map_err(|_| PkiError::InvalidSubjectAltName {
            name: name.to_owned(),
        })?;
    Ok(SanType::DnsName(ia5))
}

/// A conservative DNS name check: 1..=253 bytes, labels 1..=63 bytes of `[A-Za-z0-9-_]`,
/// optionally a leading `*.` wildcard label. Rejects anything a verifier would choke on.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// `(now - BACKDATE, now + validity)`, truncated to whole seconds as X.509 stores them.
fn validity_window(validity: Duration) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
    let invalid = || PkiError::InvalidValidity(validity);
    if validity.is_zero() {
        return Err(invalid());
    }
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .map_err(|_| invalid())?;
    let backdate = time::Duration::try_from(BACKDATE).map_err(|_| invalid())?;
    let ahead = time::Duration::try_from(validity).map_err(|_| invalid())?;
    let not_before = now.checked_sub(backdate).ok_or_else(invalid)?;
    let not_after = now.checked_add(ahead).ok_or_else(invalid)?;
    // GeneralizedTime holds four-digit years only.
    if not_after.year() > 9999 {
        return Err(invalid());
    }
    Ok((not_before, not_after))
}

/// A random positive 128-bit serial (RFC 5280 allows up to 20 octets, CAs must make them
/// unpredictable). Top bit cleared so the integer is positive, next bit set so the DER
/// encoding always has the full 16 octets.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn contains_subslice(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn der_to_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_keys() {
        let ca = generate_ca("test ca").expect("ca");
        let shown = format!("{ca:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        let ca = Ca::from_pem(&ca.cert_pem, ca.key_pem.expose()).expect("load");
        let shown = format!("{ca:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        let leaf = ca
            .issue_server_cert(&["localhost".into()], Duration::from_secs(3600))
            .expect("leaf");
        let shown = format!("{leaf:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }

    #[test]
    fn ca_key_mismatch_is_detected() {
        let a = generate_ca("a").expect("a");
        let b = generate_ca("b").expect("b");
        assert!(matches!(
            Ca::from_pem(&a.cert_pem, b.key_pem.expose()),
            Err(PkiError::CaKeyMismatch)
        ));
    }

    #[test]
    fn ca_pem_round_trips() {
        let material = generate_ca("round trip").expect("ca");
        let ca = Ca::from_pem(&material.cert_pem, material.key_pem.expose()).expect("load");
        assert_eq!(ca.cert_pem().trim(), material.cert_pem.trim());
        assert_eq!(ca.fingerprint_hex().len(), 64);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let material = generate_ca("ca").expect("ca");
        let ca = Ca::from_pem(&material.cert_pem, material.key_pem.expose()).expect("load");
        let day = Duration::from_secs(86_400);
        assert!(matches!(
            ca.issue_server_cert(&[], day),
            Err(PkiError::NoSubjectAltNames)
        ));
        assert!(matches!(
            ca.issue_server_cert(&["bad name\r\n".into()], day),
            Err(PkiError::InvalidSubjectAltName { .. })
        ));
        assert!(matches!(
            ca.issue_server_cert(&["localhost".into()], Duration::ZERO),
            Err(PkiError::InvalidValidity(_))
        ));
        assert!(matches!(
            ca.issue_server_cert(&["localhost".into()], Duration::MAX),
            Err(PkiError::InvalidValidity(_))
        ));
        assert!(matches!(
            generate_ca(""),
            Err(PkiError::InvalidCommonName(_))
        ));
        assert!(matches!(
            pem_to_der_certs("nothing here"),
            Err(PkiError::NoCertificate)
        ));
        assert!(pem_to_private_key("nothing here").is_err());
        assert!(Ca::from_pem("garbage", "garbage").is_err());
    }
}
