//! TLS back ends (https, tcp_tls): the trust store decides which back ends are trusted, the
//! system certificate logs on where a back end requires a client certificate, `trust_all`
//! accepts anything, and an empty store with `trust_all` off refuses with that reason.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use portcullis_test_support::{TestConnector, TestHub};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

/// A test CA (shared with `connector_ui_trust`).
pub(crate) struct Ca {
    pub(crate) issuer: Issuer<'static, KeyPair>,
    pub(crate) pem: String,
    pub(crate) der: CertificateDer<'static>,
}

pub(crate) fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf for `name` (an IP or DNS name) with `usage`; (cert PEM, key PEM, cert DER, key DER).
pub(crate) fn leaf(
    ca: &Ca,
    name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> (
    String,
    String,
    CertificateDer<'static>,
    PrivateKeyDer<'static>,
) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.pem(), key.serialize_pem(), cert.der().clone(), key_der)
}

/// An HTTPS back end on 127.0.0.1 whose certificate `server_ca` signed, requiring a client
/// certificate from `client_ca`.
pub(crate) async fn https_backend(server_ca: &Ca, client_ca: &Ca) -> SocketAddr {
    let (_, _, cert, key) = leaf(server_ca, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(format!(
                            "secure back end got {}\n",
                            req.uri()
                        )))))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn trust_store_system_certificate_and_trust_all() {
    let server_ca = ca("Back-end server CA");
    let client_ca = ca("Connector client CA");
    let other_ca = ca("Someone else's CA");
    let backend = https_backend(&server_ca, &client_ca).await;
    let pki = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = pki.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let trusted = write("server-ca.pem", &server_ca.pem);
    let untrusted = write("other-ca.pem", &other_ca.pem);
    let (sys_cert, sys_key, _, _) =
        leaf(&client_ca, "connector", ExtendedKeyUsagePurpose::ClientAuth);
    let sys_cert = write("system.pem", &sys_cert);
    let sys_key = write("system.key", &sys_key);

    let hub = TestHub::start().await;
    hub.company("acme").await;
    let resources = "[[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n";
    // Four connectors (back-end TLS is per connector), each with two entries: with and
    // without the system certificate.
    let cases = [
        ("trusted", format!("trust_store = [\"{trusted}\"]\n")),
        ("untrusted", format!("trust_store = [\"{untrusted}\"]\n")),
        ("empty", String::new()),
        ("trustall", "trust_all = true\n".to_owned()),
    ];
    let mut connectors = Vec::new();
    for (location, tls) in &cases {
        let conn = TestConnector::for_hub(&hub, "acme", location)
            .await
            .with_toml(&format!(
                "[backend_tls]\n{tls}system_certificate = \"{sys_cert}\"\n\
                 system_certificate_key = \"{sys_key}\"\n"
            ))
            .expose_with(
                "with-cert",
                "erp.internal:80",
                backend,
                &format!("protocol = \"https\"\nsystem_certificate = true\n{resources}"),
            )
            .expose_with(
                "without-cert",
                "erp-nocert.internal:80",
                backend,
                &format!("protocol = \"https\"\n{resources}"),
            )
            .run()
            .await;
        hub.wait_inventory(conn.company_id, location, |i| i.len() == 2)
            .await;
        connectors.push(conn);
    }
    let mut token_for = std::collections::HashMap::new();
    for (location, _) in &cases {
        // One technical user per location, so the proxy's location picks the connector.
        let t = hub.token("acme", &format!("app-{location}")).await;
        hub.grant("acme", &t, location, "erp.internal:80").await;
        hub.grant("acme", &t, location, "erp-nocert.internal:80")
            .await;
        token_for.insert(*location, t);
    }
    let get = |location: &'static str, url: &'static str| {
        let hub = &hub;
        let token = token_for[location].clone();
        async move { curl_at(hub, location, &token, url).await }
    };

    // Trusted CA and the system certificate: through.
    let (ok, text) = get("trusted", "http://erp.internal/orders").await;
    assert!(ok && text.contains("secure back end got /orders"), "{text}");
    // Without the system certificate the back end refuses it (TLS 1.3 sends that alert after
    // the handshake, so it arrives with the first request).
    let (_, text) = get("trusted", "http://erp-nocert.internal/orders").await;
    assert!(!text.contains("secure back end got"), "{text}");
    assert!(text.contains("CertificateRequired"), "{text}");
    // A back end whose CA is not in the store: refused, naming why.
    let (_, text) = get("untrusted", "http://erp.internal/orders").await;
    assert!(
        text.contains("TLS handshake with the back end failed") && text.contains("UnknownIssuer"),
        "{text}"
    );
    // An empty store and trust_all off: refused with exactly that.
    let (_, text) = get("empty", "http://erp.internal/orders").await;
    assert!(
        text.contains("the back-end trust store is empty and trust all is off"),
        "{text}"
    );
    // trust_all: any back end, and the connector's audit says it was on.
    let (ok, text) = get("trustall", "http://erp.internal/orders").await;
    assert!(ok && text.contains("secure back end got /orders"), "{text}");
    let audit = std::fs::read_to_string(connectors[3].audit_log()).unwrap();
    assert!(audit.contains("backend_tls.trust_all"), "{audit}");
}

#[tokio::test]
async fn the_trust_store_is_edited_through_the_admin_socket_without_a_restart() {
    use portcullis_connector::local::{Request, Response};
    let server_ca = ca("Back-end server CA");
    let client_ca = ca("Connector client CA");
    let backend = https_backend(&server_ca, &client_ca).await;
    let pki = tempfile::tempdir().unwrap();
    let (sys_cert, sys_key, _, _) =
        leaf(&client_ca, "connector", ExtendedKeyUsagePurpose::ClientAuth);
    let sys_cert_path = pki.path().join("system.pem");
    let sys_key_path = pki.path().join("system.key");
    std::fs::write(&sys_cert_path, sys_cert).unwrap();
    std::fs::write(&sys_key_path, sys_key).unwrap();

    let hub = TestHub::start().await;
    hub.company("acme").await;
    let mut conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .with_toml(&format!(
            "[backend_tls]
system_certificate = \"{}\"\nsystem_certificate_key = \"{}\"\n",
            sys_cert_path.display(),
            sys_key_path.display()
        ))
        .expose_with(
            "erp",
            "erp.internal:80",
            backend,
            "protocol = \"https\"\nsystem_certificate = true\n\
             [[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
        )
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    let token = hub.token("acme", "app").await;
    hub.grant("acme", &token, "berlin", "erp.internal:80").await;
    let data_dir = portcullis_connector::config::data_dir_of(&conn.config_path()).unwrap();
    let ask = |req: Request| {
        let data_dir = data_dir.clone();
        async move { portcullis::connector_admin::request(&data_dir, &req).await }
    };

    // Empty store: refused with that reason.
    let (_, text) = curl_at(&hub, "berlin", &token, "http://erp.internal/a").await;
    assert!(text.contains("the back-end trust store is empty"), "{text}");

    // Add the back end's CA: the next request passes, no restart.
    let added = ask(Request::TrustAdd {
        name: "erp-ca".into(),
        pem: server_ca.pem.clone(),
    })
    .await
    .unwrap();
    let Response::TrustEdited { file, certificates } = added else {
        panic!("{added:?}");
    };
    assert!(file.ends_with("trust/erp-ca.pem"), "{file}");
    assert_eq!(certificates[0].subject, "CN=Back-end server CA");
    conn.wait_status("the new trust store in force", |s| {
        s.backend_tls_reloads >= 1
    })
    .await;
    let (ok, text) = curl_at(&hub, "berlin", &token, "http://erp.internal/a").await;
    assert!(ok && text.contains("secure back end got /a"), "{text}");
    let Response::TrustStore {
        certificates,
        problems,
        trust_all,
    } = ask(Request::TrustList).await.unwrap()
    else {
        panic!("not a trust store");
    };
    assert_eq!(
        (certificates.len(), problems.len(), trust_all),
        (1, 0, false)
    );
    assert!(certificates[0].ca);

    // Refusals that change nothing: the same name again, not a certificate, an unknown name.
    let e = ask(Request::TrustAdd {
        name: "erp-ca".into(),
        pem: server_ca.pem.clone(),
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("exists"), "{e}");
    let e = ask(Request::TrustAdd {
        name: "junk".into(),
        pem: "hello".into(),
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("the certificate"), "{e}");
    let e = ask(Request::TrustRemove {
        name: "nothing".into(),
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("has no file \"nothing\""), "{e}");

    // Remove it: refused again, and the file the connector wrote is gone.
    ask(Request::TrustRemove {
        name: "erp-ca".into(),
    })
    .await
    .unwrap();
    conn.wait_status("the trust store without it", |s| s.backend_tls_reloads >= 2)
        .await;
    let (_, text) = curl_at(&hub, "berlin", &token, "http://erp.internal/b").await;
    assert!(text.contains("the back-end trust store is empty"), "{text}");
    assert!(!data_dir.join("trust").join("erp-ca.pem").exists());
    let audit = std::fs::read_to_string(conn.audit_log()).unwrap();
    assert_eq!(
        audit.matches("\"action\":\"trust_store.edited\"").count(),
        2,
        "{audit}"
    );
    assert_eq!(
        audit.matches("\"action\":\"backend_tls.reloaded\"").count(),
        2,
        "{audit}"
    );
}

pub(crate) async fn curl_at(
    hub: &TestHub,
    location: &str,
    token: &str,
    url: &str,
) -> (bool, String) {
    let args = vec![
        "-sS".to_owned(),
        "--max-time".into(),
        "20".into(),
        "--proxy".into(),
        format!("http://{}", hub.http_proxy()),
        "--proxy-user".into(),
        format!("{location}:{token}"),
        url.to_owned(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new("curl").args(&args).output())
        .await
        .unwrap()
        .expect("curl runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
