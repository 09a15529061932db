//! PKI and TLS scenarios over real TCP sockets on 127.0.0.1 (port 0).

use std::sync::Arc;
use std::time::Duration;

use portcullis_transport::pki::{self, Ca, PkiError};
use portcullis_transport::tls::{self, TUNNEL_ALPN};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// A CA plus a hub server certificate for `localhost` and `127.0.0.1`.
struct Hub {
    ca: Ca,
    server_chain: Vec<CertificateDer<'static>>,
    server_key_pem: String,
}

impl Hub {
    fn new(name: &str) -> Self {
        let material = pki::generate_ca(name).expect("generate CA");
        let ca = Ca::from_pem(&material.cert_pem, material.key_pem.expose()).expect("load CA");
        let leaf = ca
            .issue_server_cert(&["localhost".to_owned(), "127.0.0.1".to_owned()], DAY)
            .expect("server cert");
        let mut server_chain = pki::pem_to_der_certs(&leaf.cert_pem).expect("leaf der");
        server_chain.push(ca.cert_der().clone());
        Self {
            ca,
            server_chain,
            server_key_pem: leaf.key_pem.into_inner(),
        }
    }

    fn server_key(&self) -> PrivateKeyDer<'static> {
        pki::pem_to_private_key(&self.server_key_pem).expect("server key")
    }

    fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.cert_der().clone()
    }

    fn tunnel_server(&self) -> Arc<ServerConfig> {
        tls::tunnel_server_config(self.server_chain.clone(), self.server_key(), self.ca_der())
            .expect("tunnel server config")
    }

    fn api_server(&self) -> Arc<ServerConfig> {
        tls::api_server_config(self.server_chain.clone(), self.server_key())
            .expect("api server config")
    }

    /// Enrols a connector: CSR on the "connector", signed by the hub with `cn`.
    fn enrol(&self, cn: &str) -> Connector {
        let (csr_pem, key_pem) = pki::generate_csr("connector-hint").expect("csr");
        let signed = self.ca.sign_csr(&csr_pem, cn, DAY).expect("sign csr");
        Connector {
            chain: pki::pem_to_der_certs(&signed.cert_pem).expect("client der"),
            key: pki::pem_to_private_key(&key_pem).expect("client key"),
            fingerprint: signed.fingerprint_hex,
        }
    }
}

struct Connector {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    fingerprint: String,
}

/// What the server saw of a completed handshake.
#[derive(Debug)]
struct Accepted {
    version: Option<ProtocolVersion>,
    alpn: Option<Vec<u8>>,
    peer_fingerprint: Option<String>,
}

/// Binds 127.0.0.1:0 and accepts one TLS connection; the handle yields the handshake outcome.
/// After a successful handshake the server writes `ok` and reads until the client closes.
async fn serve_once(config: Arc<ServerConfig>) -> (u16, JoinHandle<Result<Accepted, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = TlsAcceptor::from(config)
            .accept(tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (_, conn) = tls.get_ref();
        let accepted = Accepted {
            version: conn.protocol_version(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            peer_fingerprint: conn
                .peer_certificates()
                .and_then(|certs| certs.first())
                .map(|cert| pki::fingerprint_hex(cert)),
        };
        tls.write_all(b"ok").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        let mut sink = Vec::new();
        let _ = tls.read_to_end(&mut sink).await;
        Ok(accepted)
    });
    (port, handle)
}

/// Connects, completes the handshake and reads the server's `ok`.
async fn client_exchange(
    config: Arc<ClientConfig>,
    port: u16,
    server_name: &str,
) -> Result<(Option<ProtocolVersion>, Option<Vec<u8>>), String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let mut tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2];
    // In TLS 1.3 the server judges the client certificate after the client finished, so a
    // refusal shows up here, on the first read.
    tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    if &buf != b"ok" {
        return Err(format!("unexpected greeting {buf:?}"));
    }
    let (_, conn) = tls.get_ref();
    let outcome = (
        conn.protocol_version(),
        conn.alpn_protocol().map(<[u8]>::to_vec),
    );
    tls.shutdown().await.map_err(|e| e.to_string())?;
    Ok(outcome)
}

#[tokio::test]
async fn mutual_tls_tunnel_handshake() {
    let hub = Hub::new("Portcullis test CA");
    let connector = hub.enrol("connector-42");
    let client = tls::tunnel_client_config(hub.ca_der(), connector.chain, connector.key)
        .expect("tunnel client config");

    for server_name in ["localhost", "127.0.0.1"] {
        let (port, server) = serve_once(hub.tunnel_server()).await;
        let (version, alpn) = client_exchange(client.clone(), port, server_name)
            .await
            .expect("client handshake");
        assert_eq!(version, Some(ProtocolVersion::TLSv1_3));
        assert_eq!(alpn.as_deref(), Some(TUNNEL_ALPN));

        let accepted = server.await.expect("join").expect("server handshake");
        assert_eq!(accepted.version, Some(ProtocolVersion::TLSv1_3));
        assert_eq!(accepted.alpn.as_deref(), Some(TUNNEL_ALPN));
        assert_eq!(
            accepted.peer_fingerprint.as_deref(),
            Some(connector.fingerprint.as_str())
        );
    }
}

#[tokio::test]
async fn tunnel_refuses_client_without_certificate() {
    let hub = Hub::new("Portcullis test CA");
    let (port, server) = serve_once(hub.tunnel_server()).await;
    // Trusts the hub, but has no client certificate to present.
    let client = ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .with_root_certificates({
            let mut roots = rustls::RootCertStore::empty();
            roots.add(hub.ca_der()).expect("root");
            roots
        })
        .with_no_client_auth();
    let result = client_exchange(Arc::new(client), port, "localhost").await;
    assert!(result.is_err(), "client without cert got through");
    let server_result = server.await.expect("join");
    let err = server_result.expect_err("server accepted a client without certificate");
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn tunnel_refuses_client_certificate_from_another_ca() {
    let hub = Hub::new("Portcullis test CA");
    let rogue = Hub::new("Rogue CA");
    let impostor = rogue.enrol("connector-42");
    // The impostor trusts the real hub CA, but its certificate comes from the rogue CA.
    let client = tls::tunnel_client_config(hub.ca_der(), impostor.chain, impostor.key)
        .expect("client config");
    let (port, server) = serve_once(hub.tunnel_server()).await;
    let result = client_exchange(client, port, "localhost").await;
    assert!(
        result.is_err(),
        "client with a foreign certificate got through"
    );
    let err = server
        .await
        .expect("join")
        .expect_err("server accepted a foreign client certificate");
    assert!(
        err.contains("UnknownIssuer") || err.contains("issuer"),
        "{err}"
    );
}

#[tokio::test]
async fn tunnel_refuses_tls12_only_client() {
    let hub = Hub::new("Portcullis test CA");
    let connector = hub.enrol("connector-42");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(hub.ca_der()).expect("root");
    let mut client = ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(connector.chain, connector.key)
        .expect("client cert");
    client.alpn_protocols = vec![TUNNEL_ALPN.to_vec()];
    let (port, server) = serve_once(hub.tunnel_server()).await;
    let result = client_exchange(Arc::new(client), port, "localhost").await;
    assert!(result.is_err(), "TLS 1.2 client got through");
    let err = server
        .await
        .expect("join")
        .expect_err("server accepted TLS 1.2");
    assert!(err.contains("incompatible"), "{err}");
}

#[tokio::test]
async fn api_server_speaks_tls12_and_pinned_clients_connect() {
    let hub = Hub::new("Portcullis test CA");
    let client = tls::pinned_client_config(hub.ca_der(), &[b"h2"]).expect("pinned config");
    let (port, server) = serve_once(hub.api_server()).await;
    let (version, alpn) = client_exchange(client, port, "127.0.0.1")
        .await
        .expect("pinned client");
    assert_eq!(version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    server.await.expect("join").expect("server");

    // Tools that only speak TLS 1.2 still reach the API.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(hub.ca_der()).expect("root");
    let mut tls12 = ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls12.alpn_protocols = vec![b"http/1.1".to_vec()];
    let (port, server) = serve_once(hub.api_server()).await;
    let (version, alpn) = client_exchange(Arc::new(tls12), port, "localhost")
        .await
        .expect("TLS 1.2 client");
    assert_eq!(version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    server.await.expect("join").expect("server");
}

#[tokio::test]
async fn fingerprint_pinned_client() {
    let hub = Hub::new("Portcullis test CA");
    let pin = hub.ca.fingerprint_hex().to_owned();
    assert_eq!(pin, pki::fingerprint_hex(hub.ca.cert_der()));

    // Right pin: handshake succeeds.
    let client = tls::fingerprint_pinned_client_config(&pin, &[b"http/1.1"]).expect("config");
    let (port, server) = serve_once(hub.api_server()).await;
    let (_, alpn) = client_exchange(client.clone(), port, "localhost")
        .await
        .expect("right pin");
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    server.await.expect("join").expect("server");

    // Right pin, wrong server name: the end-entity is still fully verified.
    let (port, _server) = serve_once(hub.api_server()).await;
    let err = client_exchange(client.clone(), port, "hub.example")
        .await
        .expect_err("name mismatch accepted");
    assert!(err.contains("not valid for name"), "{err}");

    // Wrong pin: refused with a clear message.
    let other = Hub::new("Other CA");
    let wrong = tls::fingerprint_pinned_client_config(other.ca.fingerprint_hex(), &[b"http/1.1"])
        .expect("config");
    let (port, _server) = serve_once(hub.api_server()).await;
    let err = client_exchange(wrong, port, "localhost")
        .await
        .expect_err("wrong pin accepted");
    assert!(err.contains(tls::FINGERPRINT_MISMATCH), "{err}");

    // Right pin, but the server does not send its CA: nothing to anchor on.
    let leaf_only = tls::api_server_config(vec![hub.server_chain[0].clone()], hub.server_key())
        .expect("leaf-only config");
    let (port, _server) = serve_once(leaf_only).await;
    let err = client_exchange(client, port, "localhost")
        .await
        .expect_err("leaf-only chain accepted");
    assert!(err.contains(tls::FINGERPRINT_MISMATCH), "{err}");

    // A pin that is not a SHA-256 digest is rejected up front.
    assert!(matches!(
        tls::fingerprint_pinned_client_config("abc", &[]),
        Err(tls::TlsError::InvalidFingerprint)
    ));
}

/// Builds a CSR that asks for `CN=vendor_admin` and a SAN, as a malicious connector would.
fn greedy_csr() -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["admin.vendor.example".to_owned()]).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vendor_admin");
    let csr = params.serialize_request(&key).expect("csr");
    (csr.pem().expect("pem"), key.serialize_pem())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn sign_csr_ignores_requested_identity() {
    let hub = Hub::new("Portcullis test CA");
    let (csr_pem, key_pem) = greedy_csr();
    let before = time::OffsetDateTime::now_utc();
    let signed = hub.ca.sign_csr(&csr_pem, "connector-7", DAY).expect("sign");
    let der = pki::pem_to_der_certs(&signed.cert_pem).expect("der");
    assert_eq!(der.len(), 1);
    let cert = &der[0];
    assert_eq!(signed.fingerprint_hex, pki::fingerprint_hex(cert));
    assert!(contains(cert, b"connector-7"), "caller's CN missing");
    assert!(!contains(cert, b"vendor_admin"), "requested CN leaked in");
    assert!(
        !contains(cert, b"admin.vendor.example"),
        "requested SAN leaked in"
    );
    let expected_expiry = before + time::Duration::try_from(DAY).expect("day");
    let drift = (signed.not_after - expected_expiry).abs();
    assert!(
        drift < time::Duration::seconds(5),
        "not_after {}",
        signed.not_after
    );

    // The issued certificate, with the CSR's key, authenticates on the tunnel.
    let client = tls::tunnel_client_config(
        hub.ca_der(),
        der.clone(),
        pki::pem_to_private_key(&key_pem).expect("key"),
    )
    .expect("client config");
    let (port, server) = serve_once(hub.tunnel_server()).await;
    client_exchange(client, port, "localhost")
        .await
        .expect("handshake");
    let accepted = server.await.expect("join").expect("server");
    assert_eq!(accepted.peer_fingerprint, Some(signed.fingerprint_hex));
}

#[tokio::test]
async fn connector_certificate_cannot_serve_as_hub() {
    // clientAuth-only EKU: a stolen connector identity cannot impersonate the hub.
    let hub = Hub::new("Portcullis test CA");
    let connector = hub.enrol("localhost");
    let impostor_server =
        tls::api_server_config(connector.chain, connector.key).expect("server config");
    let client = tls::pinned_client_config(hub.ca_der(), &[]).expect("client");
    let (port, _server) = serve_once(impostor_server).await;
    let err = client_exchange(client, port, "localhost")
        .await
        .expect_err("connector cert accepted as a server cert");
    assert!(err.contains("extended key usage"), "{err}");
}

#[test]
fn garbage_csr_is_an_error() {
    let hub = Hub::new("Portcullis test CA");
    for garbage in [
        "",
        "not a csr",
        "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        hub.ca.cert_pem(),
    ] {
        assert!(
            matches!(
                hub.ca.sign_csr(garbage, "connector-1", DAY),
                Err(PkiError::InvalidCsr(_))
            ),
            "{garbage:?}"
        );
    }
}

#[test]
fn tampered_csr_signature_is_rejected() {
    let hub = Hub::new("Portcullis test CA");
    let (csr_pem, _) = pki::generate_csr("hint").expect("csr");
    let mut der = csr_der(&csr_pem);
    // Flip one bit of the common name inside the signed part.
    let pos = der
        .windows(4)
        .position(|w| w == b"hint")
        .expect("cn in csr");
    der[pos] ^= 0x01;
    let pem = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        base64_encode(&der)
    );
    assert!(matches!(
        hub.ca.sign_csr(&pem, "connector-1", DAY),
        Err(PkiError::InvalidCsr(_))
    ));
}

fn csr_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateSigningRequestDer::from_pem_slice(pem.as_bytes())
        .expect("csr pem")
        .as_ref()
        .to_vec()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
