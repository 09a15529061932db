//! TLS hops: the replacement for SNC between routers (sap-reference §1.12).
//!
//! SNC authenticates SAProuters to each other by name (`p:CN=…, OU=…, O=…, C=…`) and
//! encrypts the hop. Here a hop is TLS 1.2/1.3 with X.509 certificates from a CA both routers
//! trust, and the name is the certificate's subject, written the same way, so `KT`/`KP`/
//! `KS`/`KD` lines keep their meaning:
//!
//! * **Incoming**: a connection whose first byte is a TLS handshake record (`0x16`; an NI
//!   frame starts with the high byte of its length, which is 0 for any message below 16 MiB)
//!   is TLS on the same port. A client certificate is optional; when one is presented it must
//!   chain to the configured CA, and its subject is the peer name `K` entries match.
//! * **Outgoing**: when a `KT` line names the next hop, the router connects with TLS, shows
//!   its own certificate, requires the peer's to chain to the CA, and requires the peer's
//!   subject to be the `KT` name. The host name in the certificate is not checked: like SNC,
//!   the hop authenticates the *name in the table*, not the DNS name used to reach it.

use std::io;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

use crate::config::TlsFiles;
use crate::table::PeerName;

/// The first byte of a TLS handshake record.
pub const TLS_HANDSHAKE: u8 = 0x16;

/// Why the TLS identity could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// A file holds no usable PEM object of the expected kind.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
    /// rustls refused the material.
    #[error("TLS setup: {0}")]
    Rustls(String),
}

/// Why an outgoing TLS hop failed.
#[derive(Debug, thiserror::Error)]
pub enum HopTlsError {
    /// The handshake failed (unknown CA, no certificate, …).
    #[error("TLS handshake with the next hop failed: {0}")]
    Handshake(io::Error),
    /// The peer authenticated, but as someone else than the `KT` line names.
    #[error("the next hop authenticated as \"{found}\", the route table requires {wanted}")]
    WrongPeer {
        /// The subject the peer presented.
        found: String,
        /// The name from the table.
        wanted: String,
    },
}

/// A router's TLS identity: accepts TLS hops and opens them.
#[derive(Clone)]
pub struct RouterTls {
    acceptor: TlsAcceptor,
    connector: TlsConnector,
}

/// Written by hand because tokio-rustls' acceptor and connector have no `Debug`; they hold
/// the router's key, which is not shown either way.
impl std::fmt::Debug for RouterTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterTls")
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|source| TlsSetupError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::Pem {
            path: path.display().to_string(),
            what: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::Pem {
            path: path.display().to_string(),
            what: "no CERTIFICATE in the file".into(),
        });
    }
    Ok(certs)
}

impl RouterTls {
    /// Loads the certificate, key and CA files.
    pub fn load(files: &TlsFiles) -> Result<RouterTls, TlsSetupError> {
        let chain = certs(&files.cert)?;
        let key_pem = read(&files.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsSetupError::Pem {
            path: files.key.display().to_string(),
            what: format!("no private key: {e}"),
        })?;
        let mut roots = RootCertStore::empty();
        for ca in certs(&files.ca)? {
            roots
                .add(ca)
                .map_err(|e| TlsSetupError::Rustls(format!("CA certificate: {e}")))?;
        }
        RouterTls::new(chain, key, roots)
    }

    /// Builds the identity from parsed material.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        roots: RootCertStore,
    ) -> Result<RouterTls, TlsSetupError> {
        let provider = provider();
        let roots = Arc::new(roots);
        let rustls = |e: rustls::Error| TlsSetupError::Rustls(e.to_string());
        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(rustls)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(rustls)?;
        let server_verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(rustls)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyNameVerifier(server_verifier)))
            .with_client_auth_cert(chain, key)
            .map_err(rustls)?;
        Ok(RouterTls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
        })
    }

    /// Completes the server side of a TLS hop; returns the stream and the peer's subject when
    /// it presented a certificate.
    pub async fn accept(
        &self,
        tcp: TcpStream,
    ) -> io::Result<(server::TlsStream<TcpStream>, Option<String>)> {
        let stream = self.acceptor.accept(tcp).await?;
        let subject = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|leaf| subject_of(leaf));
        Ok((stream, subject))
    }

    /// Opens the client side of a TLS hop to a peer that must authenticate as `peer`.
    pub async fn connect(
        &self,
        tcp: TcpStream,
        host: &str,
        peer: &PeerName,
    ) -> Result<client::TlsStream<TcpStream>, HopTlsError> {
        // The name only feeds SNI; the verifier ignores it (see the module docs).
        let name = ServerName::try_from(host.to_owned()).unwrap_or(ServerName::IpAddress(
            std::net::IpAddr::from([127, 0, 0, 1]).into(),
        ));
        let stream = self
            .connector
            .connect(name, tcp)
            .await
            .map_err(HopTlsError::Handshake)?;
        let found = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|leaf| subject_of(leaf))
            .unwrap_or_default();
        if !peer.matches(&found) {
            return Err(HopTlsError::WrongPeer {
                found,
                wanted: peer.to_string(),
            });
        }
        Ok(stream)
    }
}

/// A certificate's subject in SAP's (and RFC 4514's) order, most specific first:
/// `CN=sapserv2, OU=SAProuter, O=SAP, C=DE`. `None` when the certificate does not parse.
pub fn subject_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let mut parts = Vec::new();
    for rdn in parsed
        .subject()
        .iter()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        for attr in rdn.iter() {
            let key = x509_parser::objects::oid2abbrev(
                attr.attr_type(),
                x509_parser::objects::oid_registry(),
            )
            .map(str::to_owned)
            .unwrap_or_else(|_| attr.attr_type().to_id_string());
            let value = attr.as_str().ok()?;
            parts.push(format!("{key}={value}"));
        }
    }
    Some(parts.join(", "))
}

/// The web-PKI verifier without the host-name check: chain, validity, key usage and
/// signatures are verified as usual; who the peer is, is decided by [`PeerName`] afterwards.
#[derive(Debug)]
struct AnyNameVerifier(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyNameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
