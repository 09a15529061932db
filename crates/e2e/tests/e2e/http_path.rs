//! HTTP resource allow-list escapes (issue 13, class 1): with only `/allowed` permitted (and
//! `/allowed/admin` suspended), no spelling of a path reaches anything else. Real curl
//! (`--path-as-is`) and raw request lines through the hub's HTTP proxy entry and the
//! connector, against a back end that records every path it receives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use portcullis_test_support::clients;
use portcullis_test_support::world::Granted;
use portcullis_test_support::{HubOptions, TestConnector, TestHub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Seen = Arc<Mutex<Vec<String>>>;

/// A back end that records the request target of everything it receives and answers 200.
async fn recording_backend() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let record = record.clone();
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let record = record.clone();
                    async move {
                        let target = req.uri().to_string();
                        record.lock().unwrap().push(target.clone());
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(format!(
                            "served {target}\n"
                        )))))
                    }
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

struct World {
    hub: TestHub,
    conn: TestConnector,
    token: String,
    seen: Seen,
}

async fn world() -> World {
    let (backend, seen) = recording_backend().await;
    let Granted { hub, conn, token } = Granted::start(
        HubOptions::default(),
        "app",
        |c| {
            c.expose_with(
                "web",
                "web.internal:80",
                backend,
                "protocol = \"http\"\n\
                 [[access.resources]]\npath = \"/allowed\"\npolicy = \"path_and_sub_paths\"\n\
                 [[access.resources]]\npath = \"/allowed/admin\"\npolicy = \"path_and_sub_paths\"\nactive = false\n",
            )
            .expose_with(
                "iis",
                "iis.internal:80",
                backend,
                "protocol = \"http\"\ncase_insensitive_paths = true\n\
                 [[access.resources]]\npath = \"/allowed\"\npolicy = \"path_and_sub_paths\"\n\
                 [[access.resources]]\npath = \"/allowed/admin\"\npolicy = \"path_and_sub_paths\"\nactive = false\n",
            )
        },
        &["web.internal:80", "iis.internal:80"],
    )
    .await;
    World {
        hub,
        conn,
        token,
        seen,
    }
}

/// `curl --path-as-is` through the hub's HTTP proxy entry (absolute form, or CONNECT with
/// `-p`); returns (status, response).
async fn curl(w: &World, url: &str, tunnel: bool) -> (u16, String) {
    let mut args = vec![
        "-sS".to_owned(),
        "-i".into(),
        "--path-as-is".into(),
        "--max-time".into(),
        "20".into(),
        "--proxy".into(),
        format!("http://{}", w.hub.http_proxy()),
        "--proxy-user".into(),
        format!("berlin:{}", w.token),
    ];
    if tunnel {
        args.push("-p".into());
    }
    args.push(url.to_owned());
    let text = clients::curl(args).await;
    (clients::last_status(&text), text)
}

/// Sends `request` (raw bytes, what curl cannot send) through a CONNECT tunnel of the hub's
/// HTTP proxy entry to `host:80`; returns (status, response) once the connector closes.
async fn raw(w: &World, host: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(w.hub.http_proxy()).await.unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("berlin:{}", w.token));
    let connect = format!(
        "CONNECT {host}:80 HTTP/1.1\r\nHost: {host}:80\r\nProxy-Authorization: Basic {auth}\r\n\r\n"
    );
    s.write_all(connect.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).await.unwrap();
        assert!(n > 0, "proxy closed: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    s.write_all(request).await.unwrap();
    let mut got = Vec::new();
    // Until the answer ends (`Connection: close`) or 10 s pass: what arrived is parsed and
    // checked by the caller, so a cut-off answer fails there.
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got).into_owned();
    (clients::last_status(&text), text)
}

#[tokio::test]
async fn no_spelling_of_a_path_escapes_the_allowed_resource() {
    let w = world().await;

    // curl, absolute form through the proxy and request lines inside a CONNECT tunnel.
    for tunnel in [false, true] {
        for (path, want) in [
            ("/allowed/../secret", 403),
            ("/allowed/%2e%2e/secret", 403),
            ("/allowed/%2E%2E%2Fsecret", 400),
            ("//allowed/../secret", 403),
            ("/allowed;x/../secret", 403),
            ("/allowed/..;/secret", 400),
            ("/allowed/%252e%252e/secret", 400),
            ("/allowed/%5c../secret", 400),
            ("/allowed//admin/users", 403),
            ("/allowed/x/../admin/users", 403),
            ("/allowed/%61dmin/users", 403),
            ("/allowed;x/admin/users", 403),
            ("/allowed/admin./users", 400),
            ("/allowed/./x", 200),
            ("/allowed//x?q=/../secret", 200),
        ] {
            let (got, text) = curl(&w, &format!("http://web.internal{path}"), tunnel).await;
            assert_eq!(got, want, "{path} (tunnel {tunnel}): {text}");
        }
    }
    // A case-insensitive back end: /ALLOWED/Admin is the suspended sub-tree there.
    let (got, text) = curl(&w, "http://iis.internal/ALLOWED/Admin/users", false).await;
    assert_eq!(got, 403, "{text}");
    let (got, text) = curl(&w, "http://iis.internal/Allowed/x", false).await;
    assert_eq!(got, 200, "{text}");
    let (got, text) = curl(&w, "http://web.internal/Allowed/x", false).await;
    assert_eq!(got, 403, "case-sensitive by default: {text}");

    // What curl cannot send: absolute form and HTTP/1.0 inside the tunnel, `*`, a backslash,
    // and GET/HEAD with a body.
    for (request, want) in [
        (
            &b"GET http://web.internal/allowed/../secret HTTP/1.1\r\nHost: web.internal\r\nConnection: close\r\n\r\n"[..],
            403,
        ),
        (
            b"GET http://web.internal/allowed/x/../y HTTP/1.1\r\nHost: web.internal\r\nConnection: close\r\n\r\n",
            200,
        ),
        (b"GET /allowed/../secret HTTP/1.0\r\n\r\n", 403),
        (b"GET /allowed/..%2fsecret HTTP/1.0\r\n\r\n", 400),
        (b"GET /allowed/%2e%2e/%2e%2e/secret HTTP/1.0\r\n\r\n", 400),
        (b"OPTIONS * HTTP/1.1\r\nHost: web.internal\r\nConnection: close\r\n\r\n", 400),
        (
            b"GET /allowed/x HTTP/1.1\r\nHost: web.internal\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            400,
        ),
        (
            b"HEAD /allowed/x HTTP/1.1\r\nHost: web.internal\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"GET /allowed/z HTTP/1.0\r\n\r\n", 200),
    ] {
        let (got, text) = raw(&w, "web.internal", request).await;
        assert_eq!(got, want, "{}: {text}", String::from_utf8_lossy(request));
    }
    // A raw backslash: refused (hyper itself, or the connector), never forwarded.
    let (got, text) = raw(
        &w,
        "web.internal",
        b"GET /allowed/..\\secret HTTP/1.1\r\nHost: web.internal\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(got, 400, "{text}");

    // The back end saw only canonical paths inside /allowed, never the suspended sub-tree.
    let seen = w.seen.lock().unwrap().clone();
    for target in &seen {
        // The case-insensitive entry's back end reads `/Allowed/x` as `/allowed/x`.
        let path = target.split('?').next().unwrap().to_ascii_lowercase();
        assert!(
            path.starts_with("/allowed/") && !path.starts_with("/allowed/admin"),
            "the back end saw {target:?} (all: {seen:?})"
        );
        assert!(
            !path.contains("..") && !path.contains("//") && !path.contains("/./"),
            "not canonical: {target:?}"
        );
    }
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct,
        [
            "/Allowed/x",
            "/allowed/x",
            "/allowed/x?q=/../secret",
            "/allowed/y",
            "/allowed/z",
        ],
        "exactly the canonical forms"
    );

    // Every refusal is audited with its status.
    let audit = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    let denied: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["action"] == "http.denied")
        .collect();
    assert!(denied
        .iter()
        .any(|e| e["detail"]["path"] == "/secret" && e["detail"]["status"] == 403));
    assert!(
        denied
            .iter()
            .any(|e| e["detail"]["path"] == "/allowed/%2E%2E%2Fsecret"
                && e["detail"]["status"] == 400)
    );
}
