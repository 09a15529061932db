//! Enrolment against a tiny fake HTTPS API (hyper over tokio-rustls, chain = [leaf, CA]).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use portcullis_connector::identity::{CA_FILE, CERT_FILE, ENROLLMENT_FILE, KEY_FILE};
use portcullis_connector::{enroll, enroll_via, EnrollError, Identity, IdentityError, State};
use portcullis_proto::enroll::{ApiError, EnrollRequest, EnrollResponse, EnrollToken, ENROLL_PATH};
use portcullis_transport::proxy::HttpProxy;
use portcullis_transport::tls;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

/// What the fake API answers.
#[derive(Clone)]
enum Answer {
    /// Sign the CSR; `tunnel_addr` goes into the response.
    Enroll { tunnel_addr: String },
    /// An API error.
    Error(StatusCode, ApiError),
    /// A valid response carrying another CA than the one serving TLS.
    ForeignCa,
    /// A body larger than the client accepts.
    Huge,
}

struct Api {
    addr: SocketAddr,
    /// `(method, path, request)` of every call.
    calls: mpsc::UnboundedReceiver<(String, String, EnrollRequest)>,
}

async fn api(pki: Arc<TestPki>, answer: Answer) -> Api {
    let config =
        tls::api_server_config(pki.server_chain.clone(), pki.server_key()).expect("api tls");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, calls) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = TlsAcceptor::from(config.clone());
            let (pki, answer, tx) = (pki.clone(), answer.clone(), tx.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (pki, answer, tx) = (pki.clone(), answer.clone(), tx.clone());
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_owned();
                        let body = req.into_body().collect().await?.to_bytes();
                        let request: EnrollRequest =
                            serde_json::from_slice(&body).expect("client sends an EnrollRequest");
                        let _ = tx.send((method, path, request.clone()));
                        Ok::<_, hyper::Error>(respond(&pki, &answer, &request))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    Api { addr, calls }
}

fn respond(pki: &TestPki, answer: &Answer, req: &EnrollRequest) -> Response<Full<Bytes>> {
    let json = |status: StatusCode, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("response")
    };
    let enrolled = |ca_pem: String, tunnel_addr: String| {
        let signed = pki
            .ca
            .sign_csr(&req.csr_pem, "acme/berlin", Duration::from_secs(86_400))
            .expect("valid CSR");
        EnrollResponse {
            certificate_pem: signed.cert_pem,
            ca_pem,
            tunnel_addr,
            tunnel_server_name: "localhost".into(),
            connector_id: 42,
            company: "acme".into(),
            location: "berlin".into(),
        }
    };
    match answer {
        Answer::Enroll { tunnel_addr } => {
            let r = enrolled(pki.ca.cert_pem().to_owned(), tunnel_addr.clone());
            json(StatusCode::OK, serde_json::to_vec(&r).expect("json"))
        }
        Answer::ForeignCa => {
            let other = TestPki::new();
            let r = enrolled(other.ca.cert_pem().to_owned(), "127.0.0.1:1".into());
            json(StatusCode::OK, serde_json::to_vec(&r).expect("json"))
        }
        Answer::Error(status, e) => json(*status, serde_json::to_vec(e).expect("json")),
        Answer::Huge => json(StatusCode::OK, vec![b' '; (1 << 20) + 10]),
    }
}

fn token(fingerprint: &str) -> String {
    EnrollToken {
        public_id: "0a1b2c".into(),
        secret: "ab".repeat(32).into(),
        ca_fingerprint: fingerprint.into(),
    }
    .to_token_string()
}

#[tokio::test]
async fn enrolment_writes_a_usable_identity_that_connects() {
    let pki = TestPki::new();
    let hub = FakeHub::start_with(pki.clone()).await;
    let pki = Arc::new(pki);
    let mut api = api(
        pki.clone(),
        Answer::Enroll {
            tunnel_addr: hub.addr.to_string(),
        },
    )
    .await;
    let dir = TempDir::new("enroll");
    let data = dir.path().join("data");
    let url = format!("https://localhost:{}", api.addr.port());
    let tok = token(pki.ca.fingerprint_hex());

    let id = enroll(&url, &tok, &data, false)
        .await
        .expect("enrolment works");
    let (method, path, req) = api.calls.recv().await.expect("one call");
    assert_eq!((method.as_str(), path.as_str()), ("POST", ENROLL_PATH));
    assert_eq!(req.token.expose(), &tok);
    assert!(req.csr_pem.contains("CERTIFICATE REQUEST"));
    assert!(!req.csr_pem.contains("PRIVATE KEY"));

    let idir = Identity::dir(&data);
    for f in [CERT_FILE, KEY_FILE, CA_FILE, ENROLLMENT_FILE] {
        assert!(idir.join(f).is_file(), "{f} written");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(idir.join(KEY_FILE))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "client.key is private");
    }
    let facts = std::fs::read_to_string(idir.join(ENROLLMENT_FILE)).expect("facts");
    assert!(
        !facts.contains("BEGIN"),
        "no PEMs in enrollment.json: {facts}"
    );
    let loaded = Identity::load(&data).expect("loads");
    assert_eq!(loaded, id);
    assert_eq!(loaded.enrollment.connector_id, 42);
    assert_eq!(loaded.enrollment.location, "berlin");
    assert!(
        !format!("{loaded:?}").contains("PRIVATE KEY"),
        "Debug masks the key"
    );

    // Enrolling again does not overwrite, and does not spend the token.
    match enroll(&url, &tok, &data, false).await {
        Err(EnrollError::Identity(IdentityError::AlreadyExists(_))) => {}
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert!(api.calls.try_recv().is_err(), "the hub was not asked");

    // The identity is good for the tunnel.
    let mut config = portcullis_connector::ConnectorConfig::new(&data);
    config.reconnect.initial = Duration::from_millis(20);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut c = portcullis_connector::spawn(config, None, shutdown.clone());
    let t = hub.accept(1000).await;
    assert_eq!(t.hello.location, "berlin");
    wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");

    // With force, a new identity replaces the old one.
    let again = enroll(&url, &tok, &data, true).await.expect("forced");
    assert_ne!(again.certificate_pem, id.certificate_pem);
    assert_eq!(Identity::load(&data).expect("loads"), again);
}

#[tokio::test]
async fn a_token_pinning_another_ca_fails_on_the_fingerprint() {
    let pki = Arc::new(TestPki::new());
    let mut api = api(
        pki.clone(),
        Answer::Enroll {
            tunnel_addr: "127.0.0.1:1".into(),
        },
    )
    .await;
    let dir = TempDir::new("enroll-pin");
    let url = format!("https://127.0.0.1:{}", api.addr.port());
    let wrong = "cd".repeat(32);
    let err = enroll(&url, &token(&wrong), dir.path(), false)
        .await
        .expect_err("must not trust that server");
    assert!(
        matches!(err, EnrollError::FingerprintMismatch { .. }),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("fingerprint") && shown.contains(&wrong),
        "{shown}"
    );
    assert!(!Identity::exists(dir.path()), "nothing written");
    assert!(api.calls.try_recv().is_err(), "no request was sent");
}

#[tokio::test]
async fn api_errors_come_back_with_their_code() {
    let pki = Arc::new(TestPki::new());
    let api = api(
        pki.clone(),
        Answer::Error(
            StatusCode::GONE,
            ApiError {
                code: "token_expired".into(),
                message: "the enrolment token expired".into(),
            },
        ),
    )
    .await;
    let dir = TempDir::new("enroll-410");
    let url = format!("https://localhost:{}/", api.addr.port());
    match enroll(&url, &token(pki.ca.fingerprint_hex()), dir.path(), false).await {
        Err(EnrollError::Refused {
            status,
            code,
            message,
        }) => {
            assert_eq!(status, 410);
            assert_eq!(code, "token_expired");
            assert!(message.contains("expired"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!Identity::exists(dir.path()));
}

#[tokio::test]
async fn a_response_with_another_ca_is_refused() {
    let pki = Arc::new(TestPki::new());
    let api = api(pki.clone(), Answer::ForeignCa).await;
    let dir = TempDir::new("enroll-ca");
    let url = format!("https://localhost:{}", api.addr.port());
    let err = enroll(&url, &token(pki.ca.fingerprint_hex()), dir.path(), false)
        .await
        .expect_err("foreign CA");
    assert!(matches!(err, EnrollError::CaMismatch { .. }), "{err:?}");
    assert!(!Identity::exists(dir.path()));
}

#[tokio::test]
async fn oversized_responses_are_cut_off() {
    let pki = Arc::new(TestPki::new());
    let api = api(pki.clone(), Answer::Huge).await;
    let dir = TempDir::new("enroll-huge");
    let url = format!("https://localhost:{}", api.addr.port());
    let err = enroll(&url, &token(pki.ca.fingerprint_hex()), dir.path(), false)
        .await
        .expect_err("too big");
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn bad_inputs_fail_before_any_network_traffic() {
    let dir = TempDir::new("enroll-bad");
    let fp = "ab".repeat(32);
    assert!(matches!(
        enroll("http://localhost:1", &token(&fp), dir.path(), false).await,
        Err(EnrollError::InvalidUrl { .. })
    ));
    assert!(matches!(
        enroll("https://localhost:1", "PCE1.nope", dir.path(), false).await,
        Err(EnrollError::Token(_))
    ));
}

/// A plain HTTP CONNECT proxy (no authentication) that records each request line and splices
/// to the requested target.
async fn connect_proxy() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("addr");
    let (tx, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(sock);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.is_err() {
                    return;
                }
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) if header == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                let request_line = request_line.trim_end().to_owned();
                let _ = tx.send(request_line.clone());
                let Some(target) = request_line
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.strip_suffix(" HTTP/1.1"))
                else {
                    return;
                };
                let mut sock = reader.into_inner();
                let Ok(mut upstream) = TcpStream::connect(target).await else {
                    let _ = sock.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if sock
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
                }
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn enrolment_goes_through_the_configured_proxy() {
    let pki = Arc::new(TestPki::new());
    let mut api = api(
        pki.clone(),
        Answer::Enroll {
            tunnel_addr: "127.0.0.1:1".into(),
        },
    )
    .await;
    let (proxy_addr, mut seen) = connect_proxy().await;
    let proxy = HttpProxy {
        addr: proxy_addr.to_string(),
        username: None,
        password: None,
    };
    let dir = TempDir::new("enroll-proxy");
    let data = dir.path().join("data");
    let url = format!("https://localhost:{}", api.addr.port());

    let id = enroll_via(
        &url,
        &token(pki.ca.fingerprint_hex()),
        &data,
        false,
        Some(&proxy),
    )
    .await
    .expect("enrolment through the proxy works");
    assert_eq!(
        seen.try_recv().expect("the proxy saw a CONNECT"),
        format!("CONNECT localhost:{} HTTP/1.1", api.addr.port())
    );
    let (method, path, _) = api.calls.recv().await.expect("the API was called");
    assert_eq!((method.as_str(), path.as_str()), ("POST", ENROLL_PATH));
    assert_eq!(Identity::load(&data).expect("loads"), id);
}

#[tokio::test]
async fn an_unreachable_proxy_fails_the_enrolment_instead_of_going_direct() {
    let pki = Arc::new(TestPki::new());
    let mut api = api(
        pki.clone(),
        Answer::Enroll {
            tunnel_addr: "127.0.0.1:1".into(),
        },
    )
    .await;
    let dead = closed_port().await;
    let proxy = HttpProxy {
        addr: dead.to_string(),
        username: None,
        password: None,
    };
    let dir = TempDir::new("enroll-proxy-dead");
    let url = format!("https://localhost:{}", api.addr.port());
    let err = enroll_via(
        &url,
        &token(pki.ca.fingerprint_hex()),
        dir.path(),
        false,
        Some(&proxy),
    )
    .await
    .expect_err("the proxy is down");
    match &err {
        EnrollError::Proxy { proxy, .. } => assert_eq!(proxy, &dead.to_string()),
        other => panic!("expected a proxy error, got {other:?}"),
    }
    assert!(err.to_string().contains(&dead.to_string()), "{err}");
    assert!(api.calls.try_recv().is_err(), "the hub was not reached");
    assert!(!Identity::exists(dir.path()));
}
