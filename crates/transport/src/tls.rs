//! rustls configurations for the tunnel, the API, and the clients that reach them.
//!
//! Every configuration is built with the *ring* provider passed explicitly
//! ([`provider`]), so no process-wide default provider has to be installed and the
//! build never pulls in aws-lc-rs.
//!
//! | config | versions | peer authentication | ALPN |
//! |---|---|---|---|
//! | [`tunnel_server_config`] | 1.3 | client cert **required**, hub CA only | `portcullis/1` |
//! | [`tunnel_client_config`] | 1.3 | hub CA is the only root; presents its cert | `portcullis/1` |
//! | [`api_server_config`] | 1.2, 1.3 | none | `h2`, `http/1.1` |
//! | [`pinned_client_config`] | 1.2, 1.3 | hub CA is the only root | caller's |
//! | [`fingerprint_pinned_client_config`] | 1.2, 1.3 | CA found by SHA-256 pin | caller's |
//!
//! TLS 1.2 is only offered on the API, for engineers' browsers and tools; ring's TLS 1.2
//! suites are all ECDHE + AEAD.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// ALPN protocol identifier of the hub–connector tunnel.
pub const TUNNEL_ALPN: &[u8] = b"portcullis/1";

/// ALPN identifier Portcullis's own clients add to their offer when they pin the hub CA
/// (connector enrolment, the CLI): a hub that serves an operator's certificate to browsers
/// answers them with the hub CA's certificate instead. Never selected: the server does not
/// list it, so the connection speaks `h2` or `http/1.1` as before.
pub const HUB_CA_ALPN: &[u8] = b"portcullis-hub-ca";

/// ALPN identifiers offered by the API server, preferred first.
pub const API_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Message of the handshake error raised when no presented certificate matches the pin.
pub const FINGERPRINT_MISMATCH: &str = "hub CA fingerprint does not match the enrolment token";

const TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12_AND_13: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Failures while building a TLS configuration. Handshake failures are reported by rustls
/// on the connection itself, not here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The crypto provider cannot do the requested protocol versions (a build problem).
    #[error("unsupported TLS protocol versions: {0}")]
    ProtocolVersions(#[source] rustls::Error),

    /// The CA certificate to trust could not be parsed as a trust anchor.
    #[error("invalid CA certificate: {0}")]
    InvalidCaCertificate(#[source] rustls::Error),

    /// The client-certificate verifier could not be built from the CA.
    #[error("could not build the client certificate verifier: {0}")]
    ClientVerifier(#[source] rustls::server::VerifierBuilderError),

    /// Our own certificate chain or private key was rejected: empty chain, unsupported key
    /// type, or a key that does not match the leaf certificate.
    #[error("invalid certificate chain or private key: {0}")]
    InvalidCertificateOrKey(#[source] rustls::Error),

    /// The CA fingerprint is not 64 hexadecimal digits (a SHA-256 digest).
    #[error("invalid CA fingerprint: expected 64 hex digits")]
    InvalidFingerprint,
}

/// The crypto provider used by every configuration in this crate: rustls' *ring* provider.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server side of the tunnel: TLS 1.3 only, client certificate required.
///
/// A client must present a certificate chaining to `client_ca` with the `clientAuth` EKU, so
/// only enrolled connectors complete the handshake. The peer's identity is then read from
/// `ServerConnection::peer_certificates`. ALPN: [`TUNNEL_ALPN`]; a client that offers other
/// protocols only is refused, one that offers none is accepted and should be checked by the
/// caller with `alpn_protocol()`.
pub fn tunnel_server_config(
    server_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca: CertificateDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let roots = Arc::new(single_root(client_ca)?);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(TlsError::ClientVerifier)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(TLS13_ONLY)
        .map_err(TlsError::ProtocolVersions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(server_chain, key)
        .map_err(TlsError::InvalidCertificateOrKey)?;
    config.alpn_protocols = vec![TUNNEL_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Server side of the HTTP API: TLS 1.2 and 1.3, no client authentication, ALPN `h2` and
/// `http/1.1`.
///
/// Pass `server_chain` as `[leaf, ca]`: serving the CA certificate after the leaf lets
/// [`fingerprint_pinned_client_config`] clients find the certificate their token pins.
pub fn api_server_config(
    server_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(TLS12_AND_13)
        .map_err(TlsError::ProtocolVersions)?
        .with_no_client_auth()
        .with_single_cert(server_chain, key)
        .map_err(TlsError::InvalidCertificateOrKey)?;
    config.alpn_protocols = API_ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// [`api_server_config`] with the certificate chosen per handshake by `resolver` (an
/// operator's certificate that is reloaded when its files change).
pub fn api_server_config_with_resolver(
    resolver: Arc<dyn rustls::server::ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(TLS12_AND_13)
        .map_err(TlsError::ProtocolVersions)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = API_ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Connector side of the tunnel: TLS 1.3 only, the hub CA as the **only** root, and the
/// connector's certificate for client authentication. ALPN: [`TUNNEL_ALPN`].
///
/// Security: system roots are deliberately not consulted; a TLS-intercepting corporate
/// proxy cannot present a certificate this client accepts.
pub fn tunnel_client_config(
    ca: CertificateDer<'static>,
    client_chain: Vec<CertificateDer<'static>>,
    client_key: PrivateKeyDer<'static>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(TLS13_ONLY)
        .map_err(TlsError::ProtocolVersions)?
        .with_root_certificates(single_root(ca)?)
        .with_client_auth_cert(client_chain, client_key)
        .map_err(TlsError::InvalidCertificateOrKey)?;
    config.alpn_protocols = vec![TUNNEL_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Client for the API when the CA certificate is already known: TLS 1.2 and 1.3, `ca` as the
/// only root, no client certificate.
pub fn pinned_client_config(
    ca: CertificateDer<'static>,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(TLS12_AND_13)
        .map_err(TlsError::ProtocolVersions)?
        .with_root_certificates(single_root(ca)?)
        .with_no_client_auth();
    config.alpn_protocols = with_hub_ca_marker(alpn);
    Ok(Arc::new(config))
}

/// Client for enrolment, when all the client knows of the hub is the SHA-256 fingerprint of
/// its CA certificate (carried by the one-time enrolment token).
///
/// The server must send the CA certificate in its chain (see [`api_server_config`]). The
/// verifier picks the presented certificate whose fingerprint equals the pin, then verifies
/// the end-entity certificate fully (chain, validity, server name, EKU) with that certificate
/// as the only root. No match fails the handshake with [`FINGERPRINT_MISMATCH`].
///
/// `ca_fingerprint_hex` is 64 hex digits, either case; `:` separators are accepted.
pub fn fingerprint_pinned_client_config(
    ca_fingerprint_hex: &str,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, TlsError> {
    let pin = parse_fingerprint(ca_fingerprint_hex)?;
    let provider = provider();
    let verifier = FingerprintPinnedVerifier {
        pin,
        provider: provider.clone(),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(TLS12_AND_13)
        .map_err(TlsError::ProtocolVersions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = with_hub_ca_marker(alpn);
    Ok(Arc::new(config))
}

/// `alpn` followed by [`HUB_CA_ALPN`], for the clients that pin the hub CA. A client that
/// offers no protocol offers no marker either: an offer the server shares nothing with would
/// fail the handshake.
fn with_hub_ca_marker(alpn: &[&[u8]]) -> Vec<Vec<u8>> {
    if alpn.is_empty() {
        return Vec::new();
    }
    alpn.iter()
        .map(|p| p.to_vec())
        .chain(std::iter::once(HUB_CA_ALPN.to_vec()))
        .collect()
}

fn single_root(ca: CertificateDer<'static>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add(ca).map_err(TlsError::InvalidCaCertificate)?;
    Ok(roots)
}

fn parse_fingerprint(text: &str) -> Result<[u8; 32], TlsError> {
    let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(digits).map_err(|_| TlsError::InvalidFingerprint)?;
    bytes.try_into().map_err(|_| TlsError::InvalidFingerprint)
}

/// Server-certificate verifier that locates its trust anchor by SHA-256 fingerprint.
struct FingerprintPinnedVerifier {
    /// SHA-256 of the expected CA certificate DER.
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for FingerprintPinnedVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pin is a digest of a public certificate: not a secret.
        f.debug_struct("FingerprintPinnedVerifier")
            .field("pin", &hex::encode(self.pin))
            .finish_non_exhaustive()
    }
}

impl FingerprintPinnedVerifier {
    /// The presented intermediate whose fingerprint equals the pin, if any.
    ///
    /// Compared in constant time (`subtle`). The pinned digest is not secret, but the pin
    /// comes from a one-time token and there is no reason to leak how much of it matched.
    fn find_pinned<'a>(
        &self,
        intermediates: &'a [CertificateDer<'a>],
    ) -> Option<&'a CertificateDer<'a>> {
        intermediates.iter().find(|cert| {
            let digest = Sha256::digest(cert.as_ref());
            bool::from(digest.as_slice().ct_eq(&self.pin))
        })
    }
}

impl ServerCertVerifier for FingerprintPinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let anchor = self
            .find_pinned(intermediates)
            .ok_or_else(|| rustls::Error::General(FINGERPRINT_MISMATCH.to_owned()))?;
        let mut roots = RootCertStore::empty();
        roots.add(anchor.clone().into_owned())?;
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| {
                    rustls::Error::General(format!("pinned CA unusable as a root: {e}"))
                })?;
        inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_parsing() {
        let hex64 = "ab".repeat(32);
        assert_eq!(parse_fingerprint(&hex64).ok(), Some([0xab; 32]));
        assert_eq!(
            parse_fingerprint(&hex64.to_uppercase()).ok(),
            Some([0xab; 32])
        );
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons).ok(), Some([0xab; 32]));
        assert!(parse_fingerprint("").is_err());
        assert!(parse_fingerprint(&"ab".repeat(31)).is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
        assert!(parse_fingerprint("é").is_err());
    }
}
