//! The audit log's checks over the API: `GET /audit/verify` and `GET /audit/export`, who may
//! call them, and that an export a second party receives verifies on its own.
//! (Tampering with the database and the `portcullis audit` commands: `cli/tests/audit.rs`.)

use portcullis::audit::{verify_export, ExportSummary};
use portcullis_client::ApiClient;
use portcullis_hub::api::audit::VerifyReport;
use portcullis_store::{AuditEvent, NewAuditEvent, MAX_AUDIT_LIMIT};
use portcullis_test_support::TestHub;
use serde_json::{json, Value};

/// A company administrator's token for `company`.
async fn company_admin(hub: &TestHub, company: &str, name: &str) -> ApiClient {
    let v: Value = hub
        .company_admin(company)
        .await
        .post(
            &format!("/api/v1/companies/{company}/tokens"),
            &json!({"name": name, "role": "company_admin"}),
        )
        .await
        .expect("create company admin token");
    hub.client(v["token"].as_str().unwrap())
}

/// Two companies with a few audited actions each.
async fn two_companies(hub: &TestHub) -> (i64, i64) {
    let acme = hub.company("acme").await.id;
    let globex = hub.company("globex").await.id;
    hub.token("acme", "bot").await;
    hub.connector("acme", "berlin").await;
    hub.token("globex", "bot").await;
    hub.connector("globex", "paris").await;
    (acme, globex)
}

async fn download(client: &ApiClient, path: &str) -> anyhow::Result<String> {
    let mut body = Vec::new();
    client.download(path, &mut body).await?;
    Ok(String::from_utf8(body)?)
}

fn verified(text: &str) -> ExportSummary {
    verify_export(std::io::Cursor::new(text)).unwrap_or_else(|b| panic!("export broken: {b}"))
}

async fn events(hub: &TestHub, action: &str) -> Vec<AuditEvent> {
    hub.admin
        .get(&format!("/api/v1/audit?action={action}&limit=1000"))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_untouched_log_verifies_and_the_check_is_itself_audited() {
    let hub = TestHub::start().await;
    two_companies(&hub).await;
    let r: VerifyReport = hub.admin.get("/api/v1/audit/verify").await.unwrap();
    assert!(r.ok, "{r:?}");
    assert!(r.events.unwrap() >= 6, "{r:?}");
    assert_eq!((r.first_bad_seq, r.events_before), (None, None));
    let ev = events(&hub, "audit.verified").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].outcome, "ok");
    assert_eq!(ev[0].detail["events"], json!(r.events.unwrap()));
    // The raw answer has exactly the documented shape.
    let raw: Value = hub.admin.get("/api/v1/audit/verify").await.unwrap();
    assert_eq!(raw, json!({"ok": true, "events": r.events.unwrap() + 1}));
}

#[tokio::test]
async fn a_full_export_verifies_offline_and_names_its_hub() {
    let hub = TestHub::start().await;
    two_companies(&hub).await;
    let text = download(&hub.admin, "/api/v1/audit/export").await.unwrap();
    let s = verified(&text);
    assert!(s.complete);
    let h = s.header.as_ref().unwrap();
    assert!(h.filter.is_unfiltered());
    assert_eq!(h.hub, "localhost");
    assert_eq!(
        h.hub_ca_fingerprint,
        hub.state().pki.ca.fingerprint_hex().to_string()
    );
    assert_eq!(s.first_seq, Some(1));
    assert_eq!(
        s.links_checked, s.events,
        "every link checked, from genesis"
    );
    // The export was recorded before it was streamed, so it holds its own record.
    let last: Value = serde_json::from_str(text.lines().nth_back(1).unwrap()).unwrap();
    assert_eq!(last["action"], "audit.exported");
    assert!(last["actor"].as_str().unwrap().starts_with("token:"));
    // A range.
    let part = download(&hub.admin, "/api/v1/audit/export?from_seq=3&to_seq=5")
        .await
        .unwrap();
    let s = verified(&part);
    assert_eq!((s.events, s.first_seq, s.last_seq), (3, Some(3), Some(5)));
    let bad = download(&hub.admin, "/api/v1/audit/export?from_seq=0")
        .await
        .unwrap_err()
        .to_string();
    assert!(bad.contains("invalid_query"), "{bad}");
}

#[tokio::test]
async fn a_company_admin_exports_only_his_company_and_cannot_verify_the_whole_chain() {
    let hub = TestHub::start().await;
    let (acme, globex) = two_companies(&hub).await;
    let boss = company_admin(&hub, "acme", "boss").await;
    let text = download(&boss, "/api/v1/audit/export").await.unwrap();
    let s = verified(&text);
    assert_eq!(s.header.as_ref().unwrap().filter.company_id, Some(acme));
    assert_eq!(
        s.header.as_ref().unwrap().filter.company.as_deref(),
        Some("acme")
    );
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("seq").is_some())
        .collect();
    assert!(lines.len() >= 3, "acme's own events: {}", lines.len());
    assert!(
        lines.iter().all(|v| v["company_id"] == json!(acme)),
        "only acme's events: {text}"
    );
    assert!(s.gaps >= 1, "globex's events fall between acme's");
    // Naming his own company is the same; another company does not exist for him.
    let named = download(&boss, "/api/v1/audit/export?company=acme")
        .await
        .unwrap();
    assert!(verified(&named).events >= s.events);
    let other = download(&boss, &format!("/api/v1/audit/export?company={globex}"))
        .await
        .unwrap_err()
        .to_string();
    assert!(other.contains("not_found"), "{other}");
    // The whole chain is vendor-wide data.
    let e = boss
        .get::<Value>("/api/v1/audit/verify")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("forbidden"), "{e}");
    // A technical token reads no audit at all.
    let bot = hub.client(&hub.token("acme", "bot2").await);
    let e = download(&bot, "/api/v1/audit/export")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("forbidden"), "{e}");
    let e = bot
        .get::<Value>("/api/v1/audit/verify")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("forbidden"), "{e}");
    // His export is on acme's record, where he and the vendor can see it.
    let ev = events(&hub, "audit.exported").await;
    assert!(ev
        .iter()
        .any(|e| e.company_id == Some(acme) && e.actor.contains("boss")));
}

#[tokio::test]
async fn a_large_export_streams_page_by_page_and_verifies() {
    let hub = TestHub::start().await;
    let n = MAX_AUDIT_LIMIT as usize * 2 + 500;
    let batch = (0..n)
        .map(|i| NewAuditEvent {
            at: time::OffsetDateTime::now_utc(),
            company_id: None,
            actor: "test".into(),
            action: "test.bulk".into(),
            target: format!("t{i}"),
            outcome: "ok".into(),
            detail: json!({"i": i, "text": "ä\u{7f}\"\\"}),
        })
        .collect();
    hub.state()
        .store
        .append_audit_batch(batch)
        .await
        .expect("bulk append");
    let text = download(&hub.admin, "/api/v1/audit/export").await.unwrap();
    let s = verified(&text);
    assert!(s.events as usize > n, "{} events", s.events);
    assert_eq!(s.links_checked, s.events);
    let r: VerifyReport = hub.admin.get("/api/v1/audit/verify").await.unwrap();
    assert!(r.ok && r.events.unwrap() as usize > n, "{r:?}");
    // An action filter: links only where consecutive.
    let only = download(&hub.admin, "/api/v1/audit/export?action=test.")
        .await
        .unwrap();
    let s = verified(&only);
    assert_eq!(s.events as usize, n);
    assert_eq!(s.header.unwrap().filter.action.as_deref(), Some("test."));
}
