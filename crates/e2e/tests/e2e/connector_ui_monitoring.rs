//! The connector admin UI's monitoring, live sessions and audit viewer, driven by curl against
//! a real connector (admin UI on, hardware sampled every 100 ms) after real traffic through
//! the hub: the pages show the real figures, a reset empties them and is audited, a cut ends a
//! live session (the client sees its stream end) and is audited, the audit viewer filters and
//! exports, the chain check says OK and names the line of an edited record; a Display user
//! sees no reset or cut button and his forged posts get 403; a Monitoring user sees the
//! monitoring but not the audit; the API answers per role.

use std::time::Instant;

use portcullis_test_support::clients::{self, echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::Granted;
use portcullis_test_support::{echo_server, http_server, HubOptions, TestConnector, WAIT};
use tokio::io::AsyncReadExt;

use super::connector_ui::{api, first_logon, NEW_PASSWORD};
use super::portal::{between, Curl, Resp};

/// Technical user `app` granted an echo and an HTTP entry on connector `berlin`, admin UI on,
/// hardware sampled every 100 ms.
pub async fn world() -> Granted {
    let echo = echo_server().await;
    let web = http_server().await;
    Granted::start(
        HubOptions::default(),
        "app",
        |c: TestConnector| {
            c.with_admin_ui()
                .with_toml("[monitoring]\nhardware_interval_ms = 100\ndisk_interval_ms = 200\n")
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

fn client(w: &Granted) -> Curl {
    let addr = w.conn.admin_addr().expect("the admin UI listens");
    let cert = std::fs::read_to_string(w.conn.data_dir().join("admin/ui-cert.pem")).unwrap();
    Curl::at(&format!("https://{addr}"), &cert)
}

/// The Administrator, signed on with [`NEW_PASSWORD`].
async fn admin(w: &Granted) -> Curl {
    let once = std::fs::read_to_string(w.conn.data_dir().join("admin/initial-password"))
        .unwrap()
        .trim()
        .to_string();
    let c = client(w);
    first_logon(&c, "Administrator", &once).await;
    c
}

/// A user of `role` made by `admin`, signed on with [`NEW_PASSWORD`].
async fn user(w: &Granted, admin: &Curl, name: &str, role: &str) -> Curl {
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

fn audit(w: &Granted) -> Vec<serde_json::Value> {
    std::fs::read_to_string(w.conn.audit_log())
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Polls `get` until `done` holds, within [`WAIT`].
async fn until<F, Fut>(what: &str, get: F, done: impl Fn(&Resp) -> bool) -> Resp
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
}

#[tokio::test]
async fn connector_ui_audit_viewer_filters_exports_and_checks_the_chain() {
    let w = world().await;
    let admin = admin(&w).await;
    let mona = user(&w, &admin, "mona", "Monitoring").await;
    web_get(&w).await;

    // Filters: action, principal text; newest first.
    let r = admin.get("/audit?action=admin.signin&q=mona").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<td>admin.signin</td><td>ok</td><td>mona</td>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<td>Administrator</td>"), "{}", r.body);
    assert!(admin.get("/audit?from=yesterday").await.status == 400);
    let all = admin.get("/audit").await;
    let seqs: Vec<u64> = all
        .body
        .split("<tr><td>")
        .skip(1)
        .filter_map(|s| s.split('<').next()?.parse().ok())
        .collect();
    assert!(
        seqs.len() > 3 && seqs.windows(2).all(|p| p[0] > p[1]),
        "newest first: {seqs:?}"
    );

    // Export of the filter: JSON lines of those records only.
    let r = admin.get("/audit/export?action=session.start").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l["action"] == "session.start"),
        "{}",
        r.body
    );

    // The chain check says OK, with the count.
    let r = admin.post("/audit/verify", &[("csrf", &all.csrf())]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The hash chain is intact:"), "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/audit/verify",
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["ok"], true, "{v}");

    // Monitoring: the monitoring yes, the audit no (page, nav and API).
    let m = mona.get("/monitoring/hardware").await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert!(!m.body.contains("href=\"/audit\""), "{}", m.body);
    assert_eq!(mona.get("/audit").await.status, 403);
    let r = api(&mona, "mona", NEW_PASSWORD, "GET", "/api/v1/audit", None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = api(
        &mona,
        "mona",
        NEW_PASSWORD,
        "GET",
        "/api/v1/monitoring/usage",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api(
        &mona,
        "mona",
        NEW_PASSWORD,
        "POST",
        "/api/v1/monitoring/reset/usage",
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // An edited record is reported with its line.
    let path = w.conn.audit_log();
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"outcome\":\"ok\"", "\"outcome\":\"OK\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/audit/verify",
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert!(v["line"].as_u64().is_some(), "{v}");
    let r = admin.post("/audit/verify", &[("csrf", &all.csrf())]).await;
    assert!(
        r.body.contains("The hash chain is broken at line"),
        "{}",
        r.body
    );
}

fn count(w: &Granted, action: &str) -> usize {
    audit(w).iter().filter(|e| e["action"] == action).count()
}

/// Back-dates the first `old` records of the stopped connector's log to 2020, the chain
/// recomputed (as if written then).
fn back_date(w: &Granted, old: usize) {
    let path = w.conn.audit_log();
    let mut recs = portcullis_connector::audit::read_records(&path).unwrap();
    let mut prev = portcullis_connector::audit::GENESIS_HASH.to_owned();
    let mut text = String::new();
    for (i, r) in recs.iter_mut().enumerate() {
        if i < old {
            r.at = format!("2020-01-01T00:00:{i:02}Z");
        }
        r.prev_hash = prev.clone();
        r.hash = r.compute_hash();
        prev = r.hash.clone();
        text.push_str(&serde_json::to_string(r).unwrap());
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
}

#[tokio::test]
async fn connector_ui_audit_level_decides_what_a_request_records_and_cleanup_keeps_the_chain() {
    let mut w = world().await;
    let admin = admin(&w).await;
    let dora = user(&w, &admin, "dora", "Display").await;
    let mona = user(&w, &admin, "mona", "Monitoring").await;

    // Security (the default): a request let through leaves no record.
    web_get(&w).await;
    assert_eq!(count(&w, "http.allowed"), 0);

    // All, set in the UI: the next request is recorded; the change is audited and in the file.
    let page = admin.get("/audit/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let form = [
        ("csrf", page.csrf()),
        ("level", "all".to_string()),
        ("retention_days", "0".to_string()),
        ("cat_access", "on".to_string()),
        ("cat_users", "on".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = admin.post("/audit/settings", &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let toml = std::fs::read_to_string(w.conn.config_path()).unwrap();
    assert!(toml.contains("[audit]\nlevel = \"all\""), "{toml}");
    let set = audit(&w)
        .into_iter()
        .find(|e| e["action"] == "audit.settings")
        .expect("the change is audited");
    assert_eq!(set["detail"]["by"], "Administrator");
    assert_eq!(set["detail"]["via"], "ui");
    web_get(&w).await;
    assert_eq!(
        count(&w, "http.allowed"),
        1,
        "a request at level all is recorded"
    );
    // The monitoring category is left out now: a reset is not recorded.
    let p = admin.get("/monitoring/usage").await;
    admin
        .post("/monitoring/reset/usage", &[("csrf", &p.csrf())])
        .await;
    assert_eq!(count(&w, "monitoring.reset"), 0, "category off");

    // Back to security through the API: the next request is not recorded.
    let body = r#"{"level":"security","categories":["access","trust","monitoring","users","settings"],"retention_days":0}"#;
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/audit/settings",
        Some(body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    web_get(&w).await;
    assert_eq!(
        count(&w, "http.allowed"),
        1,
        "not recorded at level security"
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/audit/settings",
        Some(r#"{"level":"loud","categories":[],"retention_days":0}"#),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Display sees the settings without controls; forged posts and API changes get 403.
    let d = dora.get("/audit/settings").await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(
        !d.body.contains(">Save</button>") && !d.body.contains("Clean up now"),
        "{}",
        d.body
    );
    let f = dora
        .post(
            "/audit/settings",
            &[
                ("csrf", &d.csrf()),
                ("level", "off"),
                ("retention_days", "0"),
            ],
        )
        .await;
    assert_eq!(f.status, 403, "{}", f.body);
    let f = dora.post("/audit/cleanup", &[("csrf", &d.csrf())]).await;
    assert_eq!(f.status, 403, "{}", f.body);
    let r = api(
        &dora,
        "dora",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/audit/settings",
        Some(body),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Monitoring does not see the audit settings at all.
    assert_eq!(mona.get("/audit/settings").await.status, 403);
    let r = api(
        &mona,
        "mona",
        NEW_PASSWORD,
        "GET",
        "/api/v1/audit/settings",
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Cleanup without a retention is refused; nothing changes.
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/audit/cleanup",
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // With old records and a 30-day retention, the cleanup removes them and the chain checks.
    w.conn.stop().await;
    back_date(&w, 5);
    w.conn.start();
    w.conn.wait_connects(1).await;
    let admin = client(&w);
    let body = r#"{"level":"security","categories":["access","trust","monitoring","users","settings"],"retention_days":30}"#;
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/audit/settings",
        Some(body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/audit/cleanup",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(c["removed"], 5, "{c}");
    let first = audit(&w).into_iter().next().unwrap();
    assert_eq!(first["action"], "audit.cleaned");
    assert_eq!(first["detail"]["by"], "Administrator");
    assert_eq!(first["detail"]["via"], "api");
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/audit/verify",
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["ok"], true, "a cleaned log verifies: {v}");
    // The header edited: reported.
    let path = w.conn.audit_log();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"removed\":5", "\"removed\":4", 1)).unwrap();
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/audit/verify",
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["line"], 1, "{v}");
}
