//! HTTP entries end to end: curl through the hub and the connector to a real HTTP back end;
//! only the listed resources pass, the rest get 403 and an audit event; `Host`, `Location`
//! and `Set-Cookie` are mapped between the virtual and the internal host.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use portcullis_test_support::clients;
use portcullis_test_support::world::Granted;
use portcullis_test_support::{HubOptions, TestConnector, TestHub};
use tokio::net::TcpListener;

/// A back end that tells what it got: path, `Host`, `X-Forwarded-Host`; `/redirect` answers
/// 302 to its own address, `/cookie` sets a cookie for its own host.
async fn backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let svc = hyper::service::service_fn(
                move |req: hyper::Request<hyper::body::Incoming>| async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-")
                            .to_owned()
                    };
                    let mut resp = hyper::Response::new(Full::new(Bytes::from(format!(
                        "path={} host={} xfh={}\n",
                        req.uri(),
                        header("host"),
                        header("x-forwarded-host")
                    ))));
                    match req.uri().path() {
                        "/app/redirect" => {
                            *resp.status_mut() = hyper::StatusCode::FOUND;
                            resp.headers_mut().insert(
                                "location",
                                format!("http://{addr}/app/landed").parse().unwrap(),
                            );
                        }
                        "/app/cookie" => {
                            resp.headers_mut().insert(
                                "set-cookie",
                                "sid=42; Domain=127.0.0.1; Path=/; HttpOnly"
                                    .parse()
                                    .unwrap(),
                            );
                            resp.headers_mut().append(
                                "set-cookie",
                                "sso=7; Domain=.corp.example; Path=/".parse().unwrap(),
                            );
                        }
                        _ => {}
                    }
                    Ok::<_, Infallible>(resp)
                },
            );
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

const RESOURCES: &str = "protocol = \"http\"\n\
    [[access.resources]]\npath = \"/hello\"\n\
    [[access.resources]]\npath = \"/app\"\npolicy = \"path_and_sub_paths\"\n\
    [[access.resources]]\npath = \"/app/admin\"\npolicy = \"path_and_sub_paths\"\nactive = false\n";

type World = Granted;

/// Technical user `app` granted two HTTP entries on one back end: `web.internal:80` (the
/// virtual host in `Host`) and `web2.internal:80` (the internal one), with [`RESOURCES`].
async fn world() -> World {
    let web = backend().await;
    Granted::start(
        HubOptions::default(),
        "app",
        |c| {
            c.with_toml(
                "[[domain_mapping]]\nvirtual = \"portal.example\"\ninternal = \"corp.example\"\n",
            )
            .expose_with("web", "web.internal:80", web, RESOURCES)
            .expose_with(
                "web-internal-host",
                "web2.internal:80",
                web,
                &format!(
                    "protocol = \"http\"\nhost_in_header = \"internal\"\n{}",
                    RESOURCES.trim_start_matches("protocol = \"http\"\n")
                ),
            )
        },
        &["web.internal:80", "web2.internal:80"],
    )
    .await
}

/// `curl -i` through the hub's SOCKS5 entry; returns (status line + headers + body).
async fn curl(w: &World, url: &str, extra: &[&str]) -> String {
    let proxy = format!("socks5h://berlin:{}@{}", w.token, w.hub.socks5());
    curl_via(&proxy, url, extra).await
}

/// `curl -i --proxy <proxy> <extra> <url>`.
async fn curl_via(proxy: &str, url: &str, extra: &[&str]) -> String {
    let proxy = proxy.to_owned();
    let mut args = vec![
        "-sS".to_owned(),
        "-i".into(),
        "--max-time".into(),
        "20".into(),
        "--proxy".into(),
        proxy,
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url.to_owned());
    clients::curl(args).await
}

#[tokio::test]
async fn only_listed_resources_pass_and_headers_are_mapped() {
    let w = world().await;

    // Allowed: the exact path (query ignored), and sub-paths of /app.
    let hello = curl(&w, "http://web.internal/hello?x=1", &[]).await;
    assert_eq!(clients::last_status(&hello), 200, "{hello}");
    assert!(
        hello.contains("path=/hello?x=1 host=web.internal:80 xfh=-"),
        "{hello}"
    );
    let deep = curl(&w, "http://web.internal/app/a/b", &[]).await;
    assert_eq!(clients::last_status(&deep), 200, "{deep}");

    // Refused: below a path-only resource, unlisted, the suspended sub-tree.
    for (path, why) in [
        (
            "/hello/more",
            "no resource of this access control entry allows /hello/more",
        ),
        (
            "/other",
            "no resource of this access control entry allows /other",
        ),
        (
            "/app/admin/users",
            "covered by the suspended resource /app/admin",
        ),
    ] {
        let r = curl(&w, &format!("http://web.internal{path}"), &[]).await;
        assert_eq!(clients::last_status(&r), 403, "{path}: {r}");
        assert!(r.contains(why), "{path}: {r}");
    }
    // A WebSocket upgrade on a resource that does not allow it.
    let ws = curl(
        &w,
        "http://web.internal/app/socket",
        &["-H", "Connection: Upgrade", "-H", "Upgrade: websocket"],
    )
    .await;
    assert_eq!(clients::last_status(&ws), 403, "{ws}");
    assert!(ws.contains("does not allow WebSocket upgrades"), "{ws}");

    // Location and Set-Cookie point at the virtual host.
    let redirect = curl(&w, "http://web.internal/app/redirect", &[]).await;
    assert_eq!(clients::last_status(&redirect), 302, "{redirect}");
    assert!(
        redirect
            .to_ascii_lowercase()
            .contains("location: http://web.internal:80/app/landed"),
        "{redirect}"
    );
    let cookie = curl(&w, "http://web.internal/app/cookie", &[]).await;
    assert!(
        cookie.contains("sid=42; Domain=web.internal; Path=/; HttpOnly"),
        "{cookie}"
    );
    // A configured domain mapping (CC-25).
    assert!(
        cookie.contains("sso=7; Domain=portal.example; Path=/"),
        "{cookie}"
    );

    // Host in request header = internal: the back end sees its own name, and the virtual
    // one in X-Forwarded-Host.
    let internal = curl(&w, "http://web2.internal/hello", &[]).await;
    assert!(internal.contains("host=127.0.0.1:"), "{internal}");
    assert!(internal.contains("xfh=web2.internal:80"), "{internal}");

    // The hub's HTTP proxy entry, in absolute form (curl's default for http://) and with
    // CONNECT (-p): the same checks apply.
    let proxy = format!("http://{}", w.hub.http_proxy());
    let user = format!("berlin:{}", w.token);
    for mode in [&[][..], &["-p"][..]] {
        let mut extra = vec!["--proxy-user", user.as_str()];
        extra.extend_from_slice(mode);
        let ok = curl_via(&proxy, "http://web.internal/hello", &extra).await;
        assert_eq!(clients::last_status(&ok), 200, "{mode:?}: {ok}");
        assert!(
            ok.contains("path=/hello host=web.internal:80"),
            "{mode:?}: {ok}"
        );
        let refused = curl_via(&proxy, "http://web.internal/secret", &extra).await;
        assert_eq!(clients::last_status(&refused), 403, "{mode:?}: {refused}");
    }

    // Every refusal is in the connector's audit, with the entry and the path.
    let audit = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    let denied: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["action"] == "http.denied")
        .collect();
    assert_eq!(denied.len(), 6, "{audit}");
    assert!(denied
        .iter()
        .any(|e| e["detail"]["entry"] == "web" && e["detail"]["path"] == "/app/admin/users"));

    // The monitoring records (what `portcullis connector monitor` shows).
    let data_dir = w.conn.dir.path().join("data");
    let portcullis_connector::local::Response::Monitor { view } =
        portcullis::connector_admin::request(
            &data_dir,
            &portcullis_connector::local::Request::Monitor,
        )
        .await
        .unwrap()
    else {
        panic!("a monitoring answer")
    };
    assert!(view.recent.len() >= 12, "{view:?}");
    assert!(view
        .recent
        .iter()
        .any(|r| r.path == "/app/admin/users" && r.status == 403));
    assert!(view
        .recent
        .iter()
        .any(|r| r.path == "/hello" && r.status == 200));
    assert!(!view.top_time_consumers.is_empty());
    assert!(view
        .top_time_consumers
        .windows(2)
        .all(|p| p[0].millis >= p[1].millis));
    // Fewer than 50 requests so far: every one is both in `recent` and in a bucket.
    let counted: u64 = view.duration_buckets.iter().map(|(_, n)| n).sum();
    assert_eq!(counted as usize, view.recent.len(), "{view:?}");
    let hello = view
        .usage
        .iter()
        .find(|u| u.virtual_host == "web.internal:80" && u.resource == "/hello")
        .expect("usage of /hello");
    assert!(hello.calls >= 3 && hello.bytes_sent > 0, "{hello:?}");
}

/// A WebSocket echo server.
async fn ws_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                use futures_util::{SinkExt, StreamExt};
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn websocket_upgrades_pass_where_the_resource_allows_them() {
    use futures_util::{SinkExt, StreamExt};
    use portcullis_test_support::clients::{socks5_connect, Socks5Outcome};
    use tokio_tungstenite::tungstenite::Message;

    let hub = TestHub::start().await;
    hub.company("acme").await;
    let token = hub.token("acme", "app").await;
    let ws = ws_backend().await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose_with(
            "chat",
            "chat.internal:80",
            ws,
            "protocol = \"http\"\n\
             [[access.resources]]\npath = \"/ws\"\npolicy = \"path_and_sub_paths\"\nwebsocket_upgrade = true\n\
             [[access.resources]]\npath = \"/plain\"\npolicy = \"path_and_sub_paths\"\n",
        )
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    hub.grant("acme", &token, "berlin", "chat.internal:80")
        .await;

    let stream = |_: ()| async {
        match socks5_connect(hub.socks5(), "berlin", &token, "chat.internal", 80)
            .await
            .unwrap()
        {
            Socks5Outcome::Connected(s) => s,
            other => panic!("{other:?}"),
        }
    };
    let (mut socket, response) =
        tokio_tungstenite::client_async("ws://chat.internal/ws/room1", stream(()).await)
            .await
            .expect("the upgrade passes");
    assert_eq!(response.status(), 101);
    socket.send(Message::text("hello over ws")).await.unwrap();
    let echo = socket.next().await.unwrap().unwrap();
    assert_eq!(echo.into_text().unwrap().as_str(), "hello over ws");

    let refused =
        tokio_tungstenite::client_async("ws://chat.internal/plain/room", stream(()).await).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn a_back_end_gone_between_requests_gets_502_without_its_address() {
    use portcullis_test_support::clients::{socks5_connect, Socks5Outcome};
    use tokio::io::AsyncWriteExt;

    // A back end that answers one request on one connection, then is gone.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        drop(listener);
        let svc = hyper::service::service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("first\n"))))
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .keep_alive(false)
            .serve_connection(TokioIo::new(tcp), svc)
            .await;
    });
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let token = hub.token("acme", "app").await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose_with(
            "once",
            "once.internal:80",
            addr,
            "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
        )
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    hub.grant("acme", &token, "berlin", "once.internal:80")
        .await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(hub.socks5(), "berlin", &token, "once.internal", 80)
            .await
            .unwrap()
    else {
        panic!("socks5 refused")
    };
    let request = b"GET /a HTTP/1.1\r\nHost: once.internal\r\n\r\n";
    s.write_all(request).await.unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), read_answer(&mut s))
        .await
        .unwrap();
    assert!(
        first.starts_with("HTTP/1.1 200") && first.contains("first"),
        "{first}"
    );
    assert!(
        !first.to_ascii_lowercase().contains("connection: close"),
        "{first}"
    );
    s.write_all(request).await.unwrap();
    let second = tokio::time::timeout(std::time::Duration::from_secs(10), read_answer(&mut s))
        .await
        .unwrap();
    assert!(second.starts_with("HTTP/1.1 502"), "{second}");
    assert!(second.contains("refused the connection"), "{second}");
    assert!(
        !second.contains(&addr.to_string()),
        "no internal address: {second}"
    );
}

/// Reads one HTTP/1.1 answer (head and a `Content-Length` body) from `s`.
async fn read_answer(s: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed inside an answer: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}
