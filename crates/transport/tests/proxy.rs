//! HTTP CONNECT proxy scenarios against tiny in-test proxies on 127.0.0.1 (port 0).

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use portcullis_transport::proxy::{
    connect_via_proxy, dial, HttpProxy, ProxyError, Secret, MAX_RESPONSE_HEAD,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(5);

/// An echo server; returns its address.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = sock.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// Reads a request head line by line (test proxy side; it may buffer freely).
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<String>)> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await.ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        headers.push(line.trim_end().to_owned());
    }
    Some((request_line.trim_end().to_owned(), headers))
}

/// A CONNECT proxy demanding Basic `user:pass`; it splices to the requested target.
async fn auth_proxy(user: &'static str, pass: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("addr");
    let expected = format!(
        "proxy-authorization: basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    );
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let expected = expected.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(sock);
                let Some((request_line, headers)) = read_request(&mut reader).await else {
                    return;
                };
                let authorized = headers.iter().any(|h| {
                    // Header name is case-insensitive; the credentials are not.
                    h.len() == expected.len()
                        && h[..27].eq_ignore_ascii_case(&expected[..27])
                        && h[27..] == expected[27..]
                });
                let mut sock = reader.into_inner();
                if !authorized {
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                              Proxy-Authenticate: Basic realm=\"test\"\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let target = request_line
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.strip_suffix(" HTTP/1.1"))
                    .expect("CONNECT request line")
                    .to_owned();
                assert!(
                    headers.iter().any(|h| h == &format!("Host: {target}")),
                    "missing Host header: {headers:?}"
                );
                let Ok(mut upstream) = TcpStream::connect(&target).await else {
                    let _ = sock.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if sock
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
            });
        }
    });
    addr
}

/// A proxy that reads the request then writes `response` verbatim and keeps the socket open
/// until the client goes away.
async fn scripted_proxy(response: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(sock);
                if read_request(&mut reader).await.is_none() {
                    return;
                }
                let mut sock = reader.into_inner();
                let _ = sock.write_all(&response).await;
                let mut sink = [0u8; 1024];
                while matches!(sock.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

fn proxy_at(addr: SocketAddr, user: Option<&str>, pass: Option<&str>) -> HttpProxy {
    HttpProxy {
        addr: addr.to_string(),
        username: user.map(str::to_owned),
        password: pass.map(|p| Secret::new(p.to_owned())),
    }
}

async fn assert_echo(stream: &mut TcpStream) {
    stream
        .write_all(b"ping through proxy")
        .await
        .expect("write");
    let mut buf = [0u8; 18];
    stream.read_exact(&mut buf).await.expect("read echo");
    assert_eq!(&buf, b"ping through proxy");
}

#[tokio::test]
async fn echo_through_proxy_with_right_credentials() {
    let echo = echo_server().await;
    let proxy = proxy_at(
        auth_proxy("alice", "s3cret").await,
        Some("alice"),
        Some("s3cret"),
    );
    let mut stream = connect_via_proxy(&proxy, "127.0.0.1", echo.port(), TIMEOUT)
        .await
        .expect("tunnel");
    assert!(stream.nodelay().expect("nodelay"));
    assert_echo(&mut stream).await;

    // `dial` goes through the proxy when given one, and directly otherwise.
    let mut via = dial("127.0.0.1", echo.port(), Some(&proxy), TIMEOUT)
        .await
        .expect("dial via proxy");
    assert_echo(&mut via).await;
    let mut direct = dial("127.0.0.1", echo.port(), None, TIMEOUT)
        .await
        .expect("dial direct");
    assert!(direct.nodelay().expect("nodelay"));
    assert_echo(&mut direct).await;
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_auth_required() {
    let echo = echo_server().await;
    let addr = auth_proxy("alice", "s3cret").await;
    for proxy in [
        proxy_at(addr, Some("alice"), Some("wrong")),
        proxy_at(addr, Some("mallory"), Some("s3cret")),
        proxy_at(addr, None, None),
    ] {
        let err = connect_via_proxy(&proxy, "127.0.0.1", echo.port(), TIMEOUT)
            .await
            .expect_err("should be refused");
        assert!(matches!(err, ProxyError::AuthRequired), "{err:?}");
    }
}

#[tokio::test]
async fn forbidden_is_refused_with_status_and_reason() {
    let addr =
        scripted_proxy(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec()).await;
    let err = connect_via_proxy(&proxy_at(addr, None, None), "hub.example", 443, TIMEOUT)
        .await
        .expect_err("403");
    match err {
        ProxyError::Refused { status, reason } => {
            assert_eq!(status, 403);
            assert_eq!(reason, "Forbidden");
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn silent_proxy_hits_the_deadline() {
    // Accepts and reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = [0u8; 1024];
                while matches!(sock.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    let deadline = Duration::from_millis(200);
    let err = connect_via_proxy(&proxy_at(addr, None, None), "hub.example", 443, deadline)
        .await
        .expect_err("must time out");
    assert!(
        matches!(err, ProxyError::Timeout(d) if d == deadline),
        "{err:?}"
    );
}

#[tokio::test]
async fn oversized_response_head_is_an_error() {
    let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
    while response.len() <= MAX_RESPONSE_HEAD {
        response.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    response.extend_from_slice(b"\r\n");
    let addr = scripted_proxy(response).await;
    let err = connect_via_proxy(&proxy_at(addr, None, None), "hub.example", 443, TIMEOUT)
        .await
        .expect_err("oversized head");
    assert!(matches!(err, ProxyError::ResponseTooLarge), "{err:?}");
}

#[tokio::test]
async fn bytes_after_the_head_stay_in_the_stream() {
    // A server-speaks-first target whose greeting arrives in the same segment as the 200.
    let addr = scripted_proxy(b"HTTP/1.1 200 Connection established\r\n\r\nHELLO".to_vec()).await;
    let mut stream = connect_via_proxy(&proxy_at(addr, None, None), "hub.example", 443, TIMEOUT)
        .await
        .expect("tunnel");
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).await.expect("greeting");
    assert_eq!(&buf, b"HELLO");
}

#[tokio::test]
async fn garbage_and_early_close_are_errors() {
    let addr = scripted_proxy(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()).await;
    let err = connect_via_proxy(&proxy_at(addr, None, None), "hub.example", 443, TIMEOUT)
        .await
        .expect_err("not http");
    assert!(matches!(err, ProxyError::MalformedResponse), "{err:?}");

    // Proxy answers half a head, then hangs up.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((sock, _)) = listener.accept().await {
            let mut reader = BufReader::new(sock);
            if read_request(&mut reader).await.is_some() {
                let mut sock = reader.into_inner();
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\n").await;
            }
        }
    });
    let err = connect_via_proxy(&proxy_at(addr, None, None), "hub.example", 443, TIMEOUT)
        .await
        .expect_err("early close");
    assert!(matches!(err, ProxyError::ProxyClosed), "{err:?}");
}

#[tokio::test]
async fn header_injection_in_target_is_refused_before_connecting() {
    // Nothing listens here; validation must fail first.
    let proxy = HttpProxy {
        addr: "127.0.0.1:1".to_owned(),
        username: None,
        password: None,
    };
    let err = connect_via_proxy(&proxy, "hub.example\r\nX-Evil: 1", 443, TIMEOUT)
        .await
        .expect_err("injection");
    assert!(matches!(err, ProxyError::InvalidTarget(_)), "{err:?}");
}

#[tokio::test]
async fn unreachable_proxy_is_a_proxy_connect_error() {
    // Bind then drop to get a port that is (almost certainly) closed.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = connect_via_proxy(&proxy_at(addr, None, None), "hub.example", 443, TIMEOUT)
        .await
        .expect_err("closed port");
    assert!(matches!(err, ProxyError::ProxyConnect { .. }), "{err:?}");
}

#[test]
fn secret_is_masked() {
    let proxy = HttpProxy {
        addr: "proxy:3128".to_owned(),
        username: Some("alice".to_owned()),
        password: Some(Secret::new("hunter2".to_owned())),
    };
    let shown = format!("{proxy:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("<redacted 7 bytes>"), "{shown}");
}
