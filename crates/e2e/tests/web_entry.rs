//! The web entry end to end: a support engineer asks the API for a one-time link and opens an
//! HTTP service connection with a real HTTP client that keeps cookies and follows redirects
//! (curl with a cookie jar, as a browser would), through the hub's web entry, the tunnel and
//! the connector's HTTP handling, while the window is open.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use portcullis_test_support::{TestConnector, TestHub};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// A small web application: a start page, a redirect to itself, a cookie it sets (with its own
/// domain) and a page that shows the cookies it got.
async fn app() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let svc = hyper::service::service_fn(
                |req: hyper::Request<hyper::body::Incoming>| async move {
                    let host = req
                        .headers()
                        .get("host")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let cookies = req
                        .headers()
                        .get("cookie")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("(none)")
                        .to_owned();
                    let mut r = hyper::Response::new(Full::new(Bytes::new()));
                    let body = match req.uri().path() {
                        "/start" => "start page".to_owned(),
                        "/go" => {
                            *r.status_mut() = hyper::StatusCode::FOUND;
                            r.headers_mut().insert(
                                "location",
                                format!("http://{host}/landing").parse().unwrap(),
                            );
                            String::new()
                        }
                        "/landing" => "landed".to_owned(),
                        "/set" => {
                            r.headers_mut().insert(
                                "set-cookie",
                                "sid=abc123; Domain=erp.internal; Path=/; HttpOnly"
                                    .parse()
                                    .unwrap(),
                            );
                            "cookie set".to_owned()
                        }
                        "/cookies" => format!("cookies: {cookies}"),
                        other => format!("app got {other}"),
                    };
                    *r.body_mut() = Full::new(Bytes::from(body));
                    Ok::<_, Infallible>(r)
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

/// curl against the web entry with `jar` as its cookie jar; (status, headers + body).
async fn curl(hub: &TestHub, ca: &Path, jar: &Path, url: &str, follow: bool) -> (u16, String) {
    let port = hub.web().port();
    let mut args = vec![
        "-sS".to_owned(),
        "--path-as-is".into(),
        "--max-time".into(),
        "20".into(),
        "--cacert".into(),
        ca.display().to_string(),
        "--resolve".into(),
        format!("localhost:{port}:127.0.0.1"),
        "-c".into(),
        jar.display().to_string(),
        "-b".into(),
        jar.display().to_string(),
        "-D".into(),
        "-".into(),
        "-w".into(),
        "\nSTATUS %{http_code}".into(),
    ];
    if follow {
        args.push("-L".into());
    }
    args.push(url.to_owned());
    let out = tokio::task::spawn_blocking(move || Command::new("curl").args(&args).output())
        .await
        .unwrap()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .rsplit_once("STATUS ")
        .and_then(|(_, s)| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no status: {text} {}", String::from_utf8_lossy(&out.stderr)));
    (status, text)
}

#[tokio::test]
async fn an_engineer_opens_an_http_service_in_a_browser_while_the_window_is_open() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let backend = app().await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose_with(
            "erp",
            "erp.internal:80",
            backend,
            "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
        )
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    let system = hub.system("acme", "PRD").await;
    let sc: Value = hub
        .service(
            &system,
            json!({"connection_type": "http_connect", "location": "berlin",
                    "virtual_host": "erp.internal", "virtual_port": 80,
                    "url": "http://erp.internal/start"}),
        )
        .await;
    let tcp_sc: Value = hub
        .service(
            &system,
            json!({"connection_type": "generic_tcp", "location": "berlin",
                    "virtual_host": "erp.internal", "virtual_port": 80}),
        )
        .await;
    let alice = hub.client(&hub.engineer("alice").await);
    let link_path = format!("/api/v1/service-connections/{}/web-link", sc["id"]);

    // No window yet: no link, and the reason.
    let e = alice
        .post::<_, Value>(&link_path, &json!({}))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no_open_window"), "{e}");
    // Not an HTTP service; and the vendor admin opens no sessions.
    let e = alice
        .post::<_, Value>(
            &format!("/api/v1/service-connections/{}/web-link", tcp_sc["id"]),
            &json!({}),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not_http"), "{e}");
    let e = hub
        .admin
        .post::<_, Value>(&link_path, &json!({}))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("403"), "{e}");

    let win: Value = hub
        .admin
        .post(
            &format!("/api/v1/service-connections/{}/windows", sc["id"]),
            &json!({"contact": "Bob"}),
        )
        .await
        .unwrap();
    let link: Value = alice.post(&link_path, &json!({})).await.unwrap();
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!(
            "https://localhost:{}/_portcullis/login?ticket=",
            hub.web().port()
        )),
        "{url}"
    );
    assert_eq!(link["service"], "acme/PRD/http_connect");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &hub.ca_pem).unwrap();
    let jar = dir.path().join("jar.txt");
    let base = format!("https://localhost:{}", hub.web().port());

    // Without the cookie: nothing.
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/start"), false).await;
    assert_eq!(status, 401, "{text}");

    // The link: the cookie is set and the browser lands on the service's URL path.
    let (status, text) = curl(&hub, &ca, &jar, &url, true).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("start page"), "{text}");
    let jar_text = std::fs::read_to_string(&jar).unwrap();
    assert!(
        jar_text.contains("#HttpOnly_localhost") && jar_text.contains("portcullis_web"),
        "{jar_text}"
    );
    // The link works once.
    let (status, text) = curl(&hub, &ca, &dir.path().join("other-jar"), &url, true).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("not valid"), "{text}");

    // A path without a single meaning is refused at the web entry; the others travel in
    // their canonical form (the back end names the path it got).
    for bad in ["/%2e%2e/x", "/a/..%2fb", "/a/..;/b", "/a%00"] {
        let (status, text) = curl(&hub, &ca, &jar, &format!("{base}{bad}"), false).await;
        assert_eq!(status, 400, "{bad}: {text}");
        assert!(text.contains("Bad request target"), "{bad}: {text}");
    }
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/x/%2E%2e//y/./z"), false).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("app got /y/z"), "{text}");

    // A redirect to the virtual host stays on the web entry.
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/go"), false).await;
    assert_eq!(status, 302, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("location: /landing"),
        "{text}"
    );
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/go"), true).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("landed"), "{text}");

    // The application's cookie binds to the web entry and comes back; ours never reaches it.
    let (_, text) = curl(&hub, &ca, &jar, &format!("{base}/set"), false).await;
    assert!(!text.to_ascii_lowercase().contains("domain="), "{text}");
    let (_, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert!(text.contains("cookies: sid=abc123"), "{text}");
    assert!(!text.contains("portcullis_web"), "{text}");

    // Closing the window ends it: the next connection is refused with the reason.
    let _: Value = hub
        .admin
        .post(&format!("/api/v1/windows/{}/close", win["id"]), &json!({}))
        .await
        .unwrap();
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("acme/PRD/http_connect"), "{text}");

    // A new window lets the same web session in again, until the engineer is disabled: the
    // token behind the cookie is re-read for every connection.
    let _: Value = hub
        .admin
        .post(
            &format!("/api/v1/service-connections/{}/windows", sc["id"]),
            &json!({"contact": "Bob"}),
        )
        .await
        .unwrap();
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert_eq!(status, 200, "{text}");
    let users: Vec<Value> = hub.admin.get("/api/v1/users").await.unwrap();
    let id = users.iter().find(|u| u["name"] == "alice").unwrap()["id"].clone();
    let _: Value = hub
        .admin
        .post(&format!("/api/v1/users/{id}/disable"), &json!({}))
        .await
        .unwrap();
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("no longer valid"), "{text}");

    // On the record: the link, the login, and the sessions with entry `web`.
    for action in ["web.link_created", "web.login"] {
        let events = hub.wait_audit(action, 1).await;
        assert_eq!(events[0]["target"], "acme/PRD/http_connect", "{action}");
    }
    let starts = hub.wait_audit("session.start", 1).await;
    assert!(
        starts.iter().all(|e| e["detail"]["entry"] == "web"),
        "{starts:?}"
    );

    // Logout ends the web session.
    let (status, _) = curl(
        &hub,
        &ca,
        &jar,
        &format!("{base}/_portcullis/logout"),
        false,
    )
    .await;
    assert_eq!(status, 200);
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/start"), false).await;
    assert_eq!(status, 401);
    assert!(text.contains("No web session"), "{text}");
}
