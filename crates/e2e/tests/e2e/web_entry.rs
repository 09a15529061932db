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
use portcullis_client::requests::{NewServiceConnection, OpenWindow};
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
                        p if p.starts_with("/redir/") => {
                            // Redirects in every spelling a back end might send.
                            let to = match &p[7..] {
                                "protocol-relative" => "//evil.example/".to_owned(),
                                "backslash" => "/\\evil.example/".to_owned(),
                                "other-host" => "https://evil.example/x".to_owned(),
                                "other-port" => {
                                    format!("http://{}:81/x", host.split(':').next().unwrap_or(""))
                                }
                                "script" => "javascript:alert(1)".to_owned(),
                                "path" => "/landing".to_owned(),
                                "relative" => "landing".to_owned(),
                                _ => format!("http://{host}/landing"),
                            };
                            *r.status_mut() = hyper::StatusCode::FOUND;
                            r.headers_mut().insert("location", to.parse().unwrap());
                            String::new()
                        }
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

/// curl against the web entry with `jar` as its cookie jar, the host of `url` resolved to
/// the web entry (no DNS), `extra` arguments; (status, headers + body).
async fn curl_with(
    hub: &TestHub,
    ca: &Path,
    jar: &Path,
    url: &str,
    follow: bool,
    extra: &[&str],
) -> (u16, String) {
    let port = hub.web().port();
    let host = url
        .strip_prefix("https://")
        .and_then(|r| r.split([':', '/']).next())
        .unwrap()
        .to_owned();
    let mut args = vec![
        "-sS".to_owned(),
        "--path-as-is".into(),
        "--max-time".into(),
        "20".into(),
        "--cacert".into(),
        ca.display().to_string(),
        "--resolve".into(),
        format!("{host}:{port}:127.0.0.1"),
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
    args.extend(extra.iter().map(|s| s.to_string()));
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

async fn curl(hub: &TestHub, ca: &Path, jar: &Path, url: &str, follow: bool) -> (u16, String) {
    curl_with(hub, ca, jar, url, follow, &[]).await
}

/// Splits a link into the login URL and the ticket (in the fragment).
fn split_link(url: &str) -> (String, String) {
    let (login, ticket) = url
        .split_once("#ticket=")
        .expect("the ticket is in the fragment");
    assert!(!login.contains('?'), "no query in the link: {url}");
    (login.to_owned(), ticket.to_owned())
}

/// Redeems a link as the login page's form does: POST the ticket, follow to the landing page.
async fn open_link(hub: &TestHub, ca: &Path, jar: &Path, url: &str) -> (u16, String) {
    let (login, ticket) = split_link(url);
    let data = format!("ticket={ticket}");
    curl_with(hub, ca, jar, &login, true, &["--data", &data]).await
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
    let sc = hub
        .service(
            &system,
            &NewServiceConnection::new("http_connect", "berlin", "erp.internal", 80)
                .with_url("http://erp.internal/start"),
        )
        .await;
    let tcp_sc = hub
        .service(
            &system,
            &NewServiceConnection::new("generic_tcp", "berlin", "erp.internal", 80),
        )
        .await;
    let alice = hub.client(&hub.engineer("alice").await);
    let link_path = format!("/api/v1/service-connections/{}/web-link", sc.id);

    // No window yet: no link, and the reason.
    let e = alice
        .post::<_, Value>(&link_path, &json!({}))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no_open_window"), "{e}");
    // Not an HTTP service; and the vendor admin opens no sessions.
    let e = alice
        .post::<_, Value>(
            &format!("/api/v1/service-connections/{}/web-link", tcp_sc.id),
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

    let win = hub
        .company_admin("acme")
        .await
        .open_window(sc.id, &OpenWindow::now("Bob"))
        .await
        .unwrap();
    let link: Value = alice.post(&link_path, &json!({})).await.unwrap();
    let url = link["url"].as_str().unwrap().to_owned();
    let host = format!("sc{}.web.localhost", sc.id);
    let base = format!("https://{host}:{}", hub.web().port());
    assert_eq!(link["origin"], base.as_str());
    assert!(
        url.starts_with(&format!("{base}/_portcullis/login#ticket=")),
        "{url}"
    );
    assert_eq!(link["service"], "acme/PRD/http_connect");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &hub.ca_pem).unwrap();
    let jar = dir.path().join("jar.txt");

    // Without the cookie: nothing. The web entry's own address names no service.
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/start"), false).await;
    assert_eq!(status, 401, "{text}");
    let bare = format!("https://web.localhost:{}/start", hub.web().port());
    let (status, text) = curl_with(&hub, &ca, &jar, &bare, false, &["-k"]).await;
    assert_eq!(status, 404, "{text}");

    // The login page is a form that POSTs the ticket (script fills it from the fragment; a
    // button without script).
    let (login, _) = split_link(&url);
    let (status, text) = curl(&hub, &ca, &jar, &login, false).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("method=\"post\"")
            && text.contains("name=\"ticket\"")
            && text.contains("<button"),
        "{text}"
    );
    // A browser sends the form's POST with this origin only when the page's referrer policy
    // lets it (under `no-referrer` it sends `Origin: null`, which the entry refuses).
    assert!(
        text.to_ascii_lowercase()
            .contains("referrer-policy: same-origin\r"),
        "{text}"
    );

    // The link: the cookie is set for this origin only and the browser lands on the
    // service's URL path.
    let (status, text) = open_link(&hub, &ca, &jar, &url).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("start page"), "{text}");
    let set_cookie = text
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: __host-portcullis_web=")
        })
        .unwrap_or_else(|| panic!("{text}"));
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.to_ascii_lowercase().contains("domain"),
        "{set_cookie}"
    );
    let jar_text = std::fs::read_to_string(&jar).unwrap();
    assert!(
        jar_text.contains(&format!("#HttpOnly_{host}\tFALSE"))
            && jar_text.contains("__Host-portcullis_web"),
        "{jar_text}"
    );
    // The link works once.
    let (status, text) = open_link(&hub, &ca, &dir.path().join("other-jar"), &url).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("not valid"), "{text}");
    // A ticket in a URL query opens nothing and is spent.
    let exposed = alice
        .post::<_, Value>(&link_path, &json!({}))
        .await
        .unwrap();
    let (login2, ticket2) = split_link(exposed["url"].as_str().unwrap());
    let other_jar = dir.path().join("exposed-jar");
    let (status, text) = curl(
        &hub,
        &ca,
        &other_jar,
        &format!("{login2}?ticket={ticket2}"),
        true,
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("never accepted in a URL query"), "{text}");
    let (status, _) = open_link(&hub, &ca, &other_jar, exposed["url"].as_str().unwrap()).await;
    assert_eq!(status, 403, "the exposed ticket is spent");

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

    // A redirect to the virtual host stays on the service's origin, and so do paths and
    // relative references; every other target is refused.
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/go"), false).await;
    assert_eq!(status, 302, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("location: /landing"),
        "{text}"
    );
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/go"), true).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("landed"), "{text}");
    for (spelling, kept) in [
        ("virtual-host", Some("/landing")),
        ("path", Some("/landing")),
        ("relative", Some("landing")),
        ("protocol-relative", None),
        ("backslash", None),
        ("other-host", None),
        ("other-port", None),
        ("script", None),
    ] {
        let (status, text) =
            curl(&hub, &ca, &jar, &format!("{base}/redir/{spelling}"), false).await;
        match kept {
            Some(location) => {
                assert_eq!(status, 302, "{spelling}: {text}");
                assert!(
                    text.to_ascii_lowercase()
                        .contains(&format!("location: {location}\r")),
                    "{spelling}: {text}"
                );
            }
            None => {
                assert_eq!(status, 502, "{spelling}: {text}");
                assert!(
                    text.contains("outside its own origin"),
                    "{spelling}: {text}"
                );
                assert!(
                    !text.to_ascii_lowercase().contains("location:"),
                    "{spelling}: {text}"
                );
            }
        }
    }

    // The application's cookie binds to the web entry and comes back; ours never reaches it.
    let (_, text) = curl(&hub, &ca, &jar, &format!("{base}/set"), false).await;
    assert!(!text.to_ascii_lowercase().contains("domain="), "{text}");
    let (_, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert!(text.contains("cookies: sid=abc123"), "{text}");
    assert!(!text.contains("portcullis_web"), "{text}");

    // Closing the window ends it: the next connection is refused with the reason.
    hub.company_admin("acme")
        .await
        .close_window(win.id)
        .await
        .unwrap();
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("acme/PRD/http_connect"), "{text}");

    // A new window lets the same web session in again, until the engineer is disabled: the
    // token behind the cookie is re-read for every connection.
    hub.company_admin("acme")
        .await
        .open_window(sc.id, &OpenWindow::now("Bob"))
        .await
        .unwrap();
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert_eq!(status, 200, "{text}");
    let users = hub.admin.list_users().await.unwrap();
    let id = users.iter().find(|u| u.name == "alice").unwrap().id;
    let disabled = hub.admin.disable_user(id).await.unwrap();
    assert!(disabled.disabled_at.is_some());
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/cookies"), false).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("no longer valid"), "{text}");

    // On the record: the link, the login, and the sessions with entry `web`.
    for action in ["web.link_created", "web.login"] {
        let events = hub.wait_audit(action, 1).await;
        assert_eq!(events[0].target, "acme/PRD/http_connect", "{action}");
    }
    let starts = hub.wait_audit("session.start", 1).await;
    assert!(
        starts.iter().all(|e| e.detail["entry"] == "web"),
        "{starts:?}"
    );

    // Logout is a POST with the session's CSRF token: a GET shows the form, a POST without
    // or with a wrong token is refused.
    let logout = format!("{base}/_portcullis/logout");
    let (status, form) = curl(&hub, &ca, &jar, &logout, false).await;
    assert_eq!(status, 200, "{form}");
    let csrf = form
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("a CSRF field: {form}"))
        .to_owned();
    for bad in [
        "",
        "csrf=",
        "csrf=00",
        &format!("csrf={}", "0".repeat(csrf.len())),
    ] {
        let data = if bad.is_empty() {
            vec!["-X", "POST"]
        } else {
            vec!["--data", bad]
        };
        let (status, text) = curl_with(&hub, &ca, &jar, &logout, false, &data).await;
        assert_eq!(status, 403, "{bad:?}: {text}");
        assert!(text.contains("CSRF"), "{text}");
    }
    // ... and left the session alive (known, though its user is disabled by now).
    let (_, text) = curl(&hub, &ca, &jar, &format!("{base}/start"), false).await;
    assert!(text.contains("no longer valid"), "{text}");
    let data = format!("csrf={csrf}");
    let (status, text) = curl_with(&hub, &ca, &jar, &logout, false, &["--data", &data]).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Signed out"), "{text}");
    let (status, text) = curl(&hub, &ca, &jar, &format!("{base}/start"), false).await;
    assert_eq!(status, 401);
    assert!(text.contains("No web session"), "{text}");
}

#[tokio::test]
async fn two_companies_services_have_their_own_origins_and_keep_their_cookies_apart() {
    let hub = TestHub::start().await;
    let alice = hub.client(&hub.engineer("alice").await);
    let mut connectors = Vec::new();
    let mut links = Vec::new();
    for (company, location) in [("acme", "berlin"), ("globex", "hamburg")] {
        hub.company(company).await;
        let backend = app().await;
        let conn = TestConnector::for_hub(&hub, company, location)
            .await
            .expose_with(
                "erp",
                "erp.internal:80",
                backend,
                "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
            )
            .run()
            .await;
        hub.wait_inventory(conn.company_id, location, |i| i.len() == 1)
            .await;
        connectors.push(conn);
        let system = hub.system(company, "PRD").await;
        let sc = hub
            .service(
                &system,
                &NewServiceConnection::new("http_connect", location, "erp.internal", 80)
                    .with_url("http://erp.internal/start"),
            )
            .await;
        hub.company_admin(company)
            .await
            .open_window(sc.id, &OpenWindow::now("Bob"))
            .await
            .unwrap();
        let link: Value = alice
            .post(
                &format!("/api/v1/service-connections/{}/web-link", sc.id),
                &json!({}),
            )
            .await
            .unwrap();
        links.push(link);
    }
    let (a, b) = (&links[0], &links[1]);
    let (origin_a, origin_b) = (a["origin"].as_str().unwrap(), b["origin"].as_str().unwrap());
    assert_ne!(origin_a, origin_b, "one origin per service connection");

    // One browser (one cookie jar) signed in to both.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &hub.ca_pem).unwrap();
    let jar = dir.path().join("jar.txt");
    for link in [a, b] {
        let (status, text) = open_link(&hub, &ca, &jar, link["url"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{text}");
    }
    // acme's application sets a cookie: it comes back to acme only, never to globex.
    let (_, text) = curl(&hub, &ca, &jar, &format!("{origin_a}/set"), false).await;
    assert!(text.contains("cookie set"), "{text}");
    let (_, text) = curl(&hub, &ca, &jar, &format!("{origin_a}/cookies"), false).await;
    assert!(text.contains("cookies: sid=abc123"), "{text}");
    let (status, text) = curl(&hub, &ca, &jar, &format!("{origin_b}/cookies"), false).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("cookies: (none)"), "{text}");

    // acme's web-session cookie, presented on globex's origin, opens nothing there.
    let jar_text = std::fs::read_to_string(&jar).unwrap();
    let host_a = origin_a
        .strip_prefix("https://")
        .and_then(|r| r.split(':').next())
        .unwrap();
    let secret_a = jar_text
        .lines()
        .find(|l| l.contains(host_a) && l.contains("__Host-portcullis_web"))
        .and_then(|l| l.split('\t').nth(6))
        .unwrap_or_else(|| panic!("{jar_text}"))
        .to_owned();
    let cookie = format!("Cookie: __Host-portcullis_web={secret_a}");
    let fresh = dir.path().join("fresh-jar");
    let (status, text) = curl_with(
        &hub,
        &ca,
        &fresh,
        &format!("{origin_b}/cookies"),
        false,
        &["-H", &cookie],
    )
    .await;
    assert_eq!(status, 401, "{text}");
    // ... and on its own origin it does.
    let (status, text) = curl_with(
        &hub,
        &ca,
        &fresh,
        &format!("{origin_a}/cookies"),
        false,
        &["-H", &cookie],
    )
    .await;
    assert_eq!(status, 200, "{text}");
    drop(connectors);
}

// ── the banner on the service's pages ─────────────────────────────────────────────────

/// The compressed page's bytes: `<!doctype html><html><body><p>compressed page</p></body>
/// </html>\n`, gzipped (a page whose service compresses it whatever it is asked).
pub const GZIPPED_PAGE: [u8; 72] = [
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xb3, 0x51, 0x4c, 0xc9, 0x4f, 0x2e,
    0xa9, 0x2c, 0x48, 0x55, 0xc8, 0x28, 0xc9, 0xcd, 0xb1, 0xb3, 0x81, 0x90, 0x49, 0xf9, 0x29, 0x95,
    0x76, 0x36, 0x05, 0x76, 0xc9, 0xf9, 0xb9, 0x05, 0x45, 0xa9, 0xc5, 0xc5, 0xa9, 0x29, 0x0a, 0x05,
    0x89, 0xe9, 0xa9, 0x36, 0xfa, 0x05, 0x76, 0x36, 0xfa, 0x10, 0x49, 0x7d, 0xb0, 0x4a, 0x2e, 0x00,
    0x0f, 0x3f, 0xe7, 0x5a, 0x40, 0x00, 0x00, 0x00,
];
/// What `/data.json` answers.
pub const JSON: &str = "{\"orders\":[1,2,3],\"note\":\"<body> stays as it is\"}";
/// What `/logo.png` answers: a PNG signature and bytes that are not UTF-8.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe<body>\x00";
/// The size of `/large` and `/large-chunked`: past the entry's 4 MiB cap.
pub const LARGE: usize = 5 * 1024 * 1024;

/// The large page: HTML of [`LARGE`] bytes with a body tag.
pub fn large_page() -> Vec<u8> {
    let mut page = b"<!doctype html><html><body><p>large</p>".to_vec();
    page.resize(LARGE, b'x');
    page
}

/// A small web application with HTML pages (the start page names the `Accept-Encoding` it
/// got and sets a strict CSP and validators), a fragment without a body tag, JSON, an
/// image, a gzipped page, two pages past the entry's cap (with a length, and chunked), and an
/// empty answer.
pub async fn site() -> SocketAddr {
    use http_body_util::{BodyExt, StreamBody};
    type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;
    fn full(b: impl Into<Bytes>) -> Body {
        Full::new(b.into()).boxed()
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let svc = hyper::service::service_fn(
                |req: hyper::Request<hyper::body::Incoming>| async move {
                    let ae = req
                        .headers()
                        .get("accept-encoding")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("(none)")
                        .to_owned();
                    let (ctype, body) = match req.uri().path() {
                        "/start" => (
                            "text/html; charset=utf-8",
                            full(format!(
                                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                                 <title>ERP</title></head><body class=\"erp\"><main>\
                                 <h1>ERP start page</h1><p id=\"ae\">accept-encoding: {ae}</p>\
                                 <p><a href=\"/second\">Second page</a></p></main></body></html>\n"
                            )),
                        ),
                        "/second" => (
                            "text/html",
                            full("<html><head><title>Two</title></head><body><p>second page</p></body></html>"),
                        ),
                        "/fragment" => ("text/html", full("<li>one</li>")),
                        "/data.json" => ("application/json", full(JSON)),
                        "/logo.png" => ("image/png", full(PNG)),
                        "/compressed" => ("text/html; charset=utf-8", full(&GZIPPED_PAGE[..])),
                        "/large" => ("text/html", full(large_page())),
                        "/large-chunked" => {
                            let chunks: Vec<Result<hyper::body::Frame<Bytes>, Infallible>> =
                                large_page()
                                    .chunks(64 * 1024)
                                    .map(|c| Ok(hyper::body::Frame::data(Bytes::copy_from_slice(c))))
                                    .collect();
                            (
                                "text/html",
                                StreamBody::new(futures_util::stream::iter(chunks)).boxed(),
                            )
                        }
                        "/empty" => ("text/html", full(Bytes::new())),
                        _ => ("text/plain", full("not here")),
                    };
                    let mut r = hyper::Response::new(body);
                    let h = r.headers_mut();
                    h.insert("content-type", ctype.parse().unwrap());
                    match req.uri().path() {
                        "/start" => {
                            h.insert(
                                "content-security-policy",
                                "default-src 'self'".parse().unwrap(),
                            );
                            h.insert("etag", "\"v1\"".parse().unwrap());
                            h.insert(
                                "last-modified",
                                "Tue, 01 Dec 2026 08:00:00 GMT".parse().unwrap(),
                            );
                            h.insert("cache-control", "max-age=600".parse().unwrap());
                        }
                        "/compressed" => {
                            h.insert("content-encoding", "gzip".parse().unwrap());
                        }
                        "/empty" => *r.status_mut() = hyper::StatusCode::NO_CONTENT,
                        "/second" | "/fragment" | "/data.json" | "/logo.png" | "/large"
                        | "/large-chunked" => {}
                        _ => *r.status_mut() = hyper::StatusCode::NOT_FOUND,
                    }
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

/// An answer read exactly: status, headers (lower-case names), body bytes.
struct Exact {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Exact {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Like [`curl_with`], with the body written to a file and read back byte for byte (curl
/// decodes nothing: no `--compressed`).
async fn exact(hub: &TestHub, ca: &Path, jar: &Path, url: &str, extra: &[&str]) -> Exact {
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head");
    let body = dir.path().join("body");
    let mut args = vec![
        "-o".to_owned(),
        body.display().to_string(),
        "-D".into(),
        head.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, _) = curl_with(hub, ca, jar, url, false, &refs).await;
    let head = std::fs::read_to_string(&head).unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Exact {
        status,
        headers,
        body: std::fs::read(&body).unwrap_or_default(),
    }
}

/// `t` as the banner shows it: `2026-12-24 08:00 UTC`.
fn minute(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

const BANNER: &str = "id=\"portcullis-banner\"";

#[tokio::test]
async fn the_banner_is_on_the_services_pages_and_nowhere_else() {
    use portcullis_client::requests::EditWindow;
    use portcullis_domain::conntype::{ConnProtocol, ConnTypeDef};
    use portcullis_test_support::world::WebWorld;

    // acme's own connection type, with a name a page must escape.
    let own = ConnTypeDef {
        key: "fiori".into(),
        name: "Fiori <i>\"launchpad\"</i> & Über".into(),
        protocol: ConnProtocol::Http,
        default_port: Some(80),
        needs_url: true,
        description: "SAP Fiori launchpad".into(),
    };
    let w = WebWorld::start_with(site().await, Some(own)).await;
    let hub = &w.hub;
    let win = w.open_window(&OpenWindow::now("Bob")).await;
    let alice = hub.client(&hub.engineer("alice").await);
    let link: Value = alice
        .post(
            &format!("/api/v1/service-connections/{}/web-link", w.sc.id),
            &json!({}),
        )
        .await
        .unwrap();
    let base = link["origin"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &hub.ca_pem).unwrap();
    let jar = dir.path().join("jar.txt");
    let (status, text) = open_link(hub, &ca, &jar, link["url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(text.matches(BANNER).count(), 1, "{text}");

    // The start page: the banner once, right after the body tag, with the company, the SID,
    // the type's name escaped (and outside ASCII as references), the window's end, sign-out.
    let page = exact(hub, &ca, &jar, &format!("{base}/start"), &[]).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert_eq!(html.matches(BANNER).count(), 1, "{html}");
    assert!(
        html.contains(
            "<body class=\"erp\"><link rel=\"stylesheet\" href=\"/_portcullis/banner.css\">\
             <aside id=\"portcullis-banner\" aria-label=\"Portcullis session\">"
        ),
        "{html}"
    );
    let banner = html
        .split("<aside")
        .nth(1)
        .unwrap()
        .split("</aside>")
        .next()
        .unwrap();
    assert!(banner.contains("<strong>acme</strong>"), "{banner}");
    assert!(
        banner.contains("<strong data-portcullis-sid>PRD</strong>"),
        "{banner}"
    );
    assert!(
        banner.contains("Fiori &lt;i&gt;&quot;launchpad&quot;&lt;/i&gt; &amp; &#xdc;ber"),
        "{banner}"
    );
    assert!(!html.contains("<i>"), "{html}");
    assert!(
        banner.contains(&format!(">{}</time>", minute(win.end_at))),
        "{} not in {banner}",
        minute(win.end_at)
    );
    assert!(
        banner.contains(
            "<a class=\"portcullis-banner-out\" href=\"/_portcullis/logout\">Sign out</a>"
        ),
        "{banner}"
    );
    assert!(
        !banner.contains("style=") && !html.contains("<script"),
        "{html}"
    );
    // The rest of the page is the service's, and it was asked for it uncompressed.
    assert!(html.contains("<h1>ERP start page</h1>"), "{html}");
    assert!(html.contains("accept-encoding: identity"), "{html}");
    // The headers fit the new body; the service's CSP stays (it allows the stylesheet).
    assert_eq!(
        page.header("content-length"),
        Some(page.body.len().to_string().as_str()),
        "{:?}",
        page.headers
    );
    assert_eq!(page.header("etag"), None);
    assert_eq!(page.header("last-modified"), None);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(
        page.header("content-security-policy"),
        Some("default-src 'self'")
    );

    // What a page fetches for itself, a HEAD, and every answer that is not an uncompressed
    // HTML page pass byte for byte; a fetch keeps the browser's Accept-Encoding.
    let fetched = exact(
        hub,
        &ca,
        &jar,
        &format!("{base}/start"),
        &["-H", "Sec-Fetch-Dest: empty", "-H", "Accept-Encoding: gzip"],
    )
    .await;
    assert!(!fetched.text().contains(BANNER), "{}", fetched.text());
    assert!(
        fetched.text().contains("accept-encoding: gzip"),
        "{}",
        fetched.text()
    );
    assert_eq!(fetched.header("etag"), Some("\"v1\""));
    let plain = exact(
        hub,
        &ca,
        &jar,
        &format!("{base}/start"),
        &["-H", "Sec-Fetch-Dest: empty"],
    )
    .await;
    let head = exact(hub, &ca, &jar, &format!("{base}/start"), &["-I"]).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(plain.body.len().to_string().as_str()),
        "HEAD: {:?}",
        head.headers
    );
    for (path, want, ctype) in [
        ("/data.json", JSON.as_bytes().to_vec(), "application/json"),
        ("/logo.png", PNG.to_vec(), "image/png"),
        (
            "/compressed",
            GZIPPED_PAGE.to_vec(),
            "text/html; charset=utf-8",
        ),
        ("/large", large_page(), "text/html"),
        ("/large-chunked", large_page(), "text/html"),
    ] {
        let got = exact(hub, &ca, &jar, &format!("{base}{path}"), &[]).await;
        assert_eq!(got.status, 200, "{path}");
        assert_eq!(got.header("content-type"), Some(ctype), "{path}");
        assert!(
            got.body == want,
            "{path}: {} bytes, not the service's {}",
            got.body.len(),
            want.len()
        );
        if let Some(n) = got.header("content-length") {
            assert_eq!(n, want.len().to_string(), "{path}");
        }
    }
    let gz = exact(hub, &ca, &jar, &format!("{base}/compressed"), &[]).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let empty = exact(hub, &ca, &jar, &format!("{base}/empty"), &[]).await;
    assert_eq!((empty.status, empty.body.len()), (204, 0));
    // A page without a body tag gets the banner first.
    let fragment = exact(hub, &ca, &jar, &format!("{base}/fragment"), &[]).await;
    let text = fragment.text();
    assert!(
        text.starts_with("<link rel=\"stylesheet\"") && text.ends_with("</aside><li>one</li>"),
        "{text}"
    );

    // The stylesheet: served by the entry on the service's origin, to anyone (it holds
    // nothing of anyone's), as CSS.
    let css = exact(
        hub,
        &ca,
        &dir.path().join("no-session"),
        &format!("{base}/_portcullis/banner.css"),
        &[],
    )
    .await;
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        css.header("content-length"),
        Some(css.body.len().to_string().as_str())
    );
    assert!(css.text().contains("#portcullis-banner"), "{}", css.text());

    // The window is extended: the next page shows the new end.
    let later = win.end_at + time::Duration::hours(2);
    hub.company_admin("acme")
        .await
        .edit_window(
            win.id,
            &EditWindow {
                end: Some(later),
                ..EditWindow::default()
            },
        )
        .await
        .unwrap();
    let page = exact(hub, &ca, &jar, &format!("{base}/second"), &[]).await;
    let html = page.text();
    assert!(
        html.contains(&format!(">{}</time>", minute(later))),
        "{} not in {html}",
        minute(later)
    );
    assert!(html.contains("<body><link rel=\"stylesheet\""), "{html}");
}
