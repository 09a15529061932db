//! TLS from the connector to back ends: `https`, `tcp_tls` and `ldaps` entries
//! (sap-reference §3.6, CC-26, CC-27).
//!
//! * **Trust store**: CA (or intermediate) certificates; a back end is trusted when its chain
//!   reaches one of them. By default the store is empty and the connector trusts no back end,
//!   as SAP's Cloud Connector: a TLS entry is then refused with a message that says so.
//! * **Trust all**: accepts any back-end certificate. For tests and emergencies only; it is
//!   logged as a warning and written to the audit log when the connector starts.
//! * **System certificate**: the connector's own client certificate, shown to back ends of
//!   entries that say `system_certificate = true` (logon with a certificate).
//!
//! Host names are checked as usual (the internal host of the entry against the certificate).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// `[backend_tls]` as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendTlsConfig {
    /// Trust every back-end certificate.
    pub trust_all: bool,
    /// PEM files of trusted CA certificates.
    pub trust_store: Vec<PathBuf>,
    /// The system certificate (PEM chain) and its key.
    pub system_certificate: Option<(PathBuf, PathBuf)>,
}

/// Why the TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("[backend_tls] {file}: {reason}")]
pub struct BackendTlsError {
    /// The file at fault.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Ready-made client configurations for back ends.
#[derive(Clone)]
pub struct BackendTls {
    trust_all: bool,
    empty_store: bool,
    plain: Arc<ClientConfig>,
    with_cert: Option<Arc<ClientConfig>>,
}

// Written by hand, not for a secret: the rustls configurations are long and say little;
// what a reader needs is the three facts below. (The system certificate's key sits inside
// a configuration, so it is never printed either.)
impl std::fmt::Debug for BackendTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendTls")
            .field("trust_all", &self.trust_all)
            .field("empty_store", &self.empty_store)
            .field("system_certificate", &self.with_cert.is_some())
            .finish()
    }
}

/// The crypto provider of every back-end configuration (ring, as the rest of Portcullis).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, BackendTlsError> {
    std::fs::read(path).map_err(|e| BackendTlsError {
        file: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, BackendTlsError> {
    pem_certs(&read(path)?).map_err(|reason| BackendTlsError {
        file: path.display().to_string(),
        reason: reason.to_string(),
    })
}

/// Why PEM texts are no usable certificate chain and key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// The text is not PEM.
    #[error("{0}")]
    NotPem(#[source] rustls::pki_types::pem::Error),
    /// PEM without a certificate.
    #[error("no CERTIFICATE in the file")]
    NoCertificate,
    /// The key file holds no private key.
    #[error("no private key: {0}")]
    NoKey(#[source] rustls::pki_types::pem::Error),
    /// The key is not the leaf certificate's, or rustls refuses the pair.
    #[error("certificate and key do not go together: {0}")]
    Mismatch(#[source] rustls::Error),
    /// No TLS configuration can be built with the crypto provider.
    #[error("{0}")]
    Provider(#[source] rustls::Error),
}

/// The certificates of a PEM text, at least one.
fn pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(PemError::NotPem)?;
    if certs.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(certs)
}

/// Which of the system certificate's two files a problem lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SystemFile {
    Chain,
    Key,
}

/// The client configuration that shows the system certificate, from the PEM texts of its
/// chain and key. The one place that decides whether a pair is usable: [`BackendTls::load`]
/// uses it at the connector's start and [`check_system_certificate`] before an import writes
/// files, so a pair that imports also loads. rustls refuses a key that is not the leaf
/// certificate's (its `CertifiedKey::keys_match`).
fn with_system_certificate(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<ClientConfig, (SystemFile, PemError)> {
    let chain = pem_certs(chain_pem).map_err(|e| (SystemFile::Chain, e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| (SystemFile::Key, PemError::NoKey(e)))?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| (SystemFile::Chain, PemError::Mismatch(e)))
}

/// Whether a system certificate chain and key (PEM texts) would load at the connector's
/// start: the same parsing and key check. `Err` says why.
pub fn check_system_certificate(chain_pem: &[u8], key_pem: &[u8]) -> Result<(), PemError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(PemError::Provider)?
        .with_root_certificates(RootCertStore::empty());
    with_system_certificate(builder, chain_pem, key_pem)
        .map(drop)
        .map_err(|(_, reason)| reason)
}

impl BackendTls {
    /// Loads the trust store and the system certificate.
    pub fn load(config: &BackendTlsConfig) -> Result<BackendTls, BackendTlsError> {
        let mut roots = RootCertStore::empty();
        for file in &config.trust_store {
            for cert in certs(file)? {
                roots.add(cert).map_err(|e| BackendTlsError {
                    file: file.display().to_string(),
                    reason: format!("not a usable CA certificate: {e}"),
                })?;
            }
        }
        let empty_store = roots.is_empty();
        let builder = || -> Result<_, BackendTlsError> {
            let b = ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| BackendTlsError {
                    file: "-".into(),
                    reason: e.to_string(),
                })?;
            Ok(if config.trust_all {
                b.dangerous()
                    .with_custom_certificate_verifier(Arc::new(TrustAll(provider())))
            } else {
                b.with_root_certificates(roots.clone())
            })
        };
        let plain = Arc::new(builder()?.with_no_client_auth());
        let with_cert = match &config.system_certificate {
            None => None,
            Some((cert, key)) => {
                let config = with_system_certificate(builder()?, &read(cert)?, &read(key)?)
                    .map_err(|(which, reason)| BackendTlsError {
                        file: match which {
                            SystemFile::Chain => cert.display().to_string(),
                            SystemFile::Key => key.display().to_string(),
                        },
                        reason: reason.to_string(),
                    })?;
                Some(Arc::new(config))
            }
        };
        Ok(BackendTls {
            trust_all: config.trust_all,
            empty_store,
            plain,
            with_cert,
        })
    }

    /// Whether every back end is trusted.
    pub fn trusts_all(&self) -> bool {
        self.trust_all
    }

    /// TLS over `tcp` to the back end `host`, showing the system certificate when
    /// `system_certificate`. `Err` says why, for the audit log and the session refusal.
    pub async fn connect(
        &self,
        tcp: TcpStream,
        host: &str,
        system_certificate: bool,
    ) -> Result<TlsStream<TcpStream>, BackendTlsConnectError> {
        if self.empty_store && !self.trust_all {
            return Err(BackendTlsConnectError::EmptyTrustStore);
        }
        let config = if system_certificate {
            self.with_cert
                .clone()
                .ok_or(BackendTlsConnectError::NoSystemCertificate)?
        } else {
            self.plain.clone()
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|_| BackendTlsConnectError::BadServerName(host.to_owned()))?;
        TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(BackendTlsConnectError::Handshake)
    }
}

/// Why TLS to a back end could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendTlsConnectError {
    /// No CA is trusted and trust all is off.
    #[error(
        "the back-end trust store is empty and trust all is off, so no TLS back end can be \
         verified: add the back end's CA certificate to [backend_tls] trust_store"
    )]
    EmptyTrustStore,
    /// The entry wants the system certificate and none is configured.
    #[error(
        "the entry logs on with the system certificate, but none is configured \
         ([backend_tls] system_certificate)"
    )]
    NoSystemCertificate,
    /// The internal host is no name or address a certificate can be checked against.
    #[error("{0:?} is not a name TLS can verify")]
    BadServerName(String),
    /// The handshake failed (untrusted chain, wrong name, an alert from the back end …).
    #[error("TLS handshake with the back end failed: {0}")]
    Handshake(#[source] std::io::Error),
}

/// Why a system certificate could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// A part of the subject is not `KEY=value`.
    #[error("{0:?} is not KEY=value")]
    NotKeyValue(String),
    /// A subject attribute other than CN, O, OU, L, ST, C.
    #[error("{0:?} is not one of CN, O, OU, L, ST, C")]
    UnknownAttribute(String),
    /// The subject has no CN.
    #[error("the subject needs a CN")]
    NoCommonName,
    /// The validity is outside 1..=3650 days.
    #[error("validity: 1 to 3650 days")]
    Validity,
    /// Generating the key or signing failed.
    #[error("{0}")]
    Rcgen(#[from] rcgen::Error),
}

/// The distinguished name of a subject written `CN=connector, O=ACME, C=DE` (CN, O, OU, L,
/// ST and C; a CN is required): what a generated certificate and a CSR name.
pub fn subject_dn(subject: &str) -> Result<rcgen::DistinguishedName, GenerateError> {
    use rcgen::{DistinguishedName, DnType};
    let mut dn = DistinguishedName::new();
    for part in subject.split(',') {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| GenerateError::NotKeyValue(part.to_owned()))?;
        let ty = match key.trim().to_ascii_uppercase().as_str() {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "L" => DnType::LocalityName,
            "ST" => DnType::StateOrProvinceName,
            "C" => DnType::CountryName,
            other => return Err(GenerateError::UnknownAttribute(other.to_owned())),
        };
        dn.push(ty, value.trim());
    }
    if dn.get(&DnType::CommonName).is_none() {
        return Err(GenerateError::NoCommonName);
    }
    Ok(dn)
}

/// A self-signed system certificate for `subject` (`CN=connector, O=ACME, C=DE`; CN, O, OU,
/// L, ST and C are understood) valid for `days`, usable as a TLS client certificate: what
/// SAP's Cloud Connector offers as "generate self-signed". Returns (certificate PEM, key PEM).
/// A back end that should accept it needs it in its own trust list.
pub fn generate_system_certificate(
    subject: &str,
    days: u32,
) -> Result<(String, String), GenerateError> {
    use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyPair};
    let dn = subject_dn(subject)?;
    if days == 0 || days > 3650 {
        return Err(GenerateError::Validity);
    }
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(i64::from(days));
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Accepts every server certificate; signatures are still checked against the presented key.
#[derive(Debug)]
struct TrustAll(Arc<CryptoProvider>);

impl ServerCertVerifier for TrustAll {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The back-end TLS in force. A change of `[backend_tls]` in the configuration file replaces
/// it (the reload watcher, after the new material loaded); every session takes the current
/// one when it starts, so a trust-store edit applies to the next stream without a restart.
#[derive(Debug)]
pub(crate) struct LiveBackendTls(std::sync::RwLock<Arc<BackendTls>>);

impl LiveBackendTls {
    pub fn new(tls: BackendTls) -> Self {
        LiveBackendTls(std::sync::RwLock::new(Arc::new(tls)))
    }

    /// The TLS material now.
    pub fn current(&self) -> Arc<BackendTls> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts `tls` in force for the sessions that start from now on.
    pub fn replace(&self, tls: BackendTls) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tls);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_system_certificate_loads() {
        let (cert, key) = generate_system_certificate("CN=connector, O=ACME, C=DE", 365).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), cert).unwrap();
        std::fs::write(dir.path().join("c.key"), key).unwrap();
        let tls = BackendTls::load(&BackendTlsConfig {
            trust_all: true,
            trust_store: vec![],
            system_certificate: Some((dir.path().join("c.pem"), dir.path().join("c.key"))),
        })
        .unwrap();
        assert!(tls.with_cert.is_some());
        let shown = format!("{tls:?}");
        assert_eq!(
            shown,
            "BackendTls { trust_all: true, empty_store: true, system_certificate: true }"
        );
        for bad in ["O=ACME", "CN", "XX=1", ""] {
            assert!(generate_system_certificate(bad, 365).is_err(), "{bad:?}");
        }
        assert!(generate_system_certificate("CN=x", 0).is_err());
    }
}
