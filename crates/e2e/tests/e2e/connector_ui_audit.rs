//! The connector admin UI's audit log, curl against a real connector after real traffic: the
//! viewer filters (newest first) and exports, the chain check says OK and names the line of an
//! edited record; the audit level decides whether a request is recorded (a request after the
//! change), a category left out is not recorded, the change is audited and in the file; the
//! retention cleanup keeps the chain verifiable and an edited header is reported; Display reads
//! but cannot change, Monitoring sees neither the log nor the settings.

use portcullis_test_support::world::Granted;

use super::connector_ui::{api, NEW_PASSWORD};
use super::connector_ui_monitoring::{admin, audit, client, user, web_get, world};

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
    assert_eq!(admin.get("/audit?offset=abc").await.status, 400);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/audit?limit=abc",
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.starts_with("{\"code\":\"bad_request\""),
        "{}",
        r.body
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/audit?limit=0",
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
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

    // The security status names the category left out, with the page that fixes it.
    let audit_check = |body: &str| {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "audit_level")
            .cloned()
            .expect("an audit_level check")
    };
    let sec = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/security",
        None,
    )
    .await;
    let c = audit_check(&sec.body);
    assert_eq!(c["state"], "warning", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("monitoring"), "{c}");
    assert_eq!(c["fix"], "/audit/settings");

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
    let sec = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/security",
        None,
    )
    .await;
    assert_eq!(audit_check(&sec.body)["state"], "ok");
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
