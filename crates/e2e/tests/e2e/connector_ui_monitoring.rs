//! The connector admin UI's monitoring and live sessions, driven by curl against a real
//! connector (admin UI on, hardware sampled every 100 ms) after real traffic through the hub:
//! the pages show the real figures, a reset empties them and is audited, a cut ends a live
//! session (the client sees its stream end) and is audited; a Display user sees no reset or cut
//! button and her forged posts get 403. The helpers here serve `connector_ui_audit.rs`,
//! `connector_ui_monitoring_api.rs` and the Chromium test too.

use std::time::Instant;

use portcullis_test_support::clients::{self, echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::Granted;
use portcullis_test_support::{echo_server, http_server, HubOptions, TestConnector, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::connector_ui::{api, first_logon, NEW_PASSWORD};
use super::portal::{between, Curl, Resp};

/// Technical user `app` granted an echo and an HTTP entry on connector `berlin`, admin UI on,
/// hardware sampled every 100 ms.
pub async fn world() -> Granted {
    let echo = echo_server().await;
    let web = http_server().await;
    // Alerts for the Alerts page: the client certificate "expires" within the threshold, and
    // the webhook they go to is a closed port, so its deliveries wait with their error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = closed.local_addr().unwrap();
    drop(closed);
    Granted::start(
        HubOptions::default(),
        "app",
        move |c: TestConnector| {
            let secret = c.dir.path().join("hook-secret");
            std::fs::write(&secret, "0123456789abcdef0123").unwrap();
            let alerts = format!(
                "[alerts]\ncheck_interval_ms = 200\ncertificate_validity_days = 3650\n\
                 [[alerts.webhook]]\nurl = \"http://{hook}/alerts\"\nsecret_file = \"{}\"\n",
                secret.display()
            );
            c.with_admin_ui()
                .with_toml("[monitoring]\nhardware_interval_ms = 100\ndisk_interval_ms = 200\n")
                .with_toml(&alerts)
                .expose("echo", "echo.internal:7", echo)
                .expose_with(
                    "web",
                    "web.internal:80",
                    web,
                    "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\n\
                     policy = \"path_and_sub_paths\"\n",
                )
        },
        &["echo.internal:7", "web.internal:80"],
    )
    .await
}

pub fn client(w: &Granted) -> Curl {
    let addr = w.conn.admin_addr().expect("the admin UI listens");
    let cert = std::fs::read_to_string(w.conn.data_dir().join("admin/ui-cert.pem")).unwrap();
    Curl::at(&format!("https://{addr}"), &cert)
}

/// The Administrator, signed on with [`NEW_PASSWORD`].
pub async fn admin(w: &Granted) -> Curl {
    let once = std::fs::read_to_string(w.conn.data_dir().join("admin/initial-password"))
        .unwrap()
        .trim()
        .to_string();
    let c = client(w);
    first_logon(&c, "Administrator", &once).await;
    c
}

/// A user of `role` made by `admin`, signed on with [`NEW_PASSWORD`].
pub async fn user(w: &Granted, admin: &Curl, name: &str, role: &str) -> Curl {
    let page = admin.get("/users").await;
    let r = admin
        .post(
            "/users",
            &[("csrf", &page.csrf()), ("name", name), ("role", role)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let once = between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string();
    let c = client(w);
    first_logon(&c, name, &once).await;
    c
}

pub async fn web_get(w: &Granted) {
    let proxy = format!("socks5h://berlin:{}@{}", w.token, w.hub.socks5());
    let r = clients::curl(vec![
        "-sS".into(),
        "-i".into(),
        "--max-time".into(),
        "20".into(),
        "--proxy".into(),
        proxy,
        "http://web.internal/".into(),
    ])
    .await;
    assert_eq!(clients::last_status(&r), 200, "{r}");
}

/// Waits until the hardware history holds at least two samples (a line, not a dot).
pub async fn samples(w: &Granted) {
    let data_dir = w.conn.dir.path().join("data");
    let deadline = Instant::now() + WAIT;
    loop {
        let req = portcullis_connector::local::Request::Hardware { span_secs: None };
        if let Ok(portcullis_connector::local::Response::Hardware { view }) =
            portcullis::connector_admin::request(&data_dir, &req).await
        {
            if view.cpu_memory.len() >= 2 && view.disk.len() >= 2 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no hardware samples");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub fn audit(w: &Granted) -> Vec<serde_json::Value> {
    std::fs::read_to_string(w.conn.audit_log())
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Polls `get` until `done` holds, within [`WAIT`].
pub async fn until<F, Fut>(what: &str, get: F, done: impl Fn(&Resp) -> bool) -> Resp
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Resp>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        let r = get().await;
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {}",
            r.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn connector_ui_monitoring_pages_show_real_traffic_and_a_reset_empties_them() {
    let w = world().await;
    let admin = admin(&w).await;
    // Hardware: the charts carry samples of the last hour (at least two points: a line).
    let r = until(
        "hardware samples",
        || admin.get("/monitoring/hardware"),
        |r| r.body.contains("<polyline class=\"chart-line\""),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("aria-labelledby=\"cpu-title cpu-desc\""),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<option value=\"1h\" selected>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("style="), "no inline style: {}", r.body);
    let r = admin.get("/monitoring/hardware?span=24h").await;
    assert!(
        r.body.contains("<option value=\"24h\" selected>"),
        "{}",
        r.body
    );
    assert_eq!(admin.get("/monitoring/hardware?span=7d").await.status, 400);

    web_get(&w).await;
    web_get(&w).await;
    let r = admin.get("/monitoring/usage").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<td>web.internal:80</td><td>/</td><td>2</td>"),
        "{}",
        r.body
    );
    let r = admin.get("/monitoring/performance").await;
    assert!(
        r.body
            .contains("<td>web.internal:80</td><td>GET</td><td>/</td>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("Reset all performance records"),
        "{}",
        r.body
    );

    // The reset button empties usage and is audited with the user and the door.
    let r = admin
        .post("/monitoring/reset/usage", &[("csrf", &r.csrf())])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = admin.get("/monitoring/usage").await;
    assert!(r.body.contains("No usage recorded."), "{}", r.body);
    let reset = audit(&w)
        .into_iter()
        .find(|e| e["action"] == "monitoring.reset")
        .expect("the reset is audited");
    assert_eq!(reset["detail"]["by"], "Administrator");
    assert_eq!(reset["detail"]["via"], "ui");

    // The Alerts page as plain HTML (no JavaScript): the certificate alert of this world's
    // configuration, and its webhook named without the URL's path.
    let r = admin.get("/monitoring/alerts").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<td>certificate</td>")
            && r.body.contains("webhook 127.0.0.1#")
            && !r.body.contains("http://127.0.0.1"),
        "{}",
        r.body
    );

    // Back-end connections: the echo session is counted while open.
    let mut s = match socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Connected(s) => s,
        other => panic!("not connected: {other:?}"),
    };
    assert_eq!(echo_round_trip(&mut s, b"ping").await.unwrap(), b"ping");
    let r = admin.get("/monitoring/connections").await;
    assert!(
        r.body
            .contains("<td>echo.internal:7</td><td>1</td><td>1</td><td>1</td>"),
        "{}",
        r.body
    );

    // The API says the same.
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/monitoring/connections",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("\"virtual_host\":\"echo.internal:7\""),
        "{}",
        r.body
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/monitoring/hardware?span=6h",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(
        v["cpu_memory"].as_array().is_some_and(|a| !a.is_empty()),
        "{v}"
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/monitoring/reset/performance",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/monitoring/recent",
        None,
    )
    .await;
    assert_eq!(r.body, "{\"requests\":[]}", "performance reset by the API");
}

#[tokio::test]
async fn connector_ui_cut_ends_a_live_session_and_is_audited() {
    let w = world().await;
    let admin = admin(&w).await;
    let dora = user(&w, &admin, "dora", "Display").await;
    let mut s = match socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Connected(s) => s,
        other => panic!("not connected: {other:?}"),
    };
    assert_eq!(echo_round_trip(&mut s, b"hello").await.unwrap(), b"hello");
    let r = until(
        "the session is listed",
        || admin.get("/sessions"),
        |r| r.body.contains("<td>echo.internal:7</td>"),
    )
    .await;
    assert!(
        r.body.contains("<td>token:app#"),
        "the principal: {}",
        r.body
    );
    assert!(r.body.contains("<td>5</td>"), "bytes counted: {}", r.body);
    let id = between(&r.body, "action=\"/sessions/", "/cut\"").to_string();

    // Dora sees the session but no Cut button; her forged cut and API cut get 403.
    let d = dora.get("/sessions").await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(d.body.contains("<td>echo.internal:7</td>"), "{}", d.body);
    assert!(!d.body.contains(">Cut</button>"), "{}", d.body);
    assert!(!d.body.contains("Reset"), "{}", d.body);
    let f = dora
        .post(&format!("/sessions/{id}/cut"), &[("csrf", &d.csrf())])
        .await;
    assert_eq!(f.status, 403, "{}", f.body);
    let f = api(
        &dora,
        "dora",
        NEW_PASSWORD,
        "POST",
        &format!("/api/v1/sessions/{id}/cut"),
        None,
    )
    .await;
    assert_eq!(f.status, 403, "{}", f.body);
    let p = dora.get("/monitoring/usage").await;
    assert!(!p.body.contains("Reset the usage"), "{}", p.body);
    let f = dora
        .post("/monitoring/reset/usage", &[("csrf", &p.csrf())])
        .await;
    assert_eq!(f.status, 403, "{}", f.body);
    assert_eq!(echo_round_trip(&mut s, b"still").await.unwrap(), b"still");

    // The administrator cuts it: the client's stream ends.
    let r = admin
        .post(&format!("/sessions/{id}/cut"), &[("csrf", &r.csrf())])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(WAIT, s.read(&mut buf))
        .await
        .expect("the stream ends");
    assert!(matches!(n, Ok(0) | Err(_)), "the stream ended: {n:?}");
    let cut = audit(&w)
        .into_iter()
        .find(|e| e["action"] == "session.cut")
        .expect("the cut is audited");
    assert_eq!(cut["detail"]["by"], "Administrator");
    assert_eq!(cut["detail"]["via"], "ui");
    assert_eq!(cut["target"], "echo.internal:7");
    let r = until(
        "the session end is audited",
        || admin.get("/audit?action=session.end"),
        |r| r.body.contains("cut_by_admin"),
    )
    .await;
    assert!(
        r.body.contains("cut at the connector by Administrator"),
        "{}",
        r.body
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/sessions",
        None,
    )
    .await;
    assert_eq!(r.body, "{\"sessions\":[]}");

    // A live HTTP session counts the bodies it passed.
    let mut web = match socks5_connect(w.hub.socks5(), "berlin", &w.token, "web.internal", 80)
        .await
        .unwrap()
    {
        Socks5Outcome::Connected(s) => s,
        other => panic!("not connected: {other:?}"),
    };
    web.write_all(b"GET / HTTP/1.1\r\nHost: web.internal\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, web.read(&mut buf))
            .await
            .expect("a response")
            .unwrap();
        assert!(n > 0, "the response: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let r = until(
        "the HTTP session's bytes",
        || {
            api(
                &admin,
                "Administrator",
                NEW_PASSWORD,
                "GET",
                "/api/v1/sessions",
                None,
            )
        },
        |r| {
            serde_json::from_str::<serde_json::Value>(&r.body).is_ok_and(|v| {
                v["sessions"].as_array().is_some_and(|a| {
                    a.iter().any(|s| {
                        s["target"] == "web.internal:80" && s["bytes_to_hub"].as_u64() > Some(0)
                    })
                })
            })
        },
    )
    .await;
    assert_eq!(r.status, 200);
}
