//! The connector admin UI's certificate and mapping pages by role, and the domain mappings:
//! Display sees no edit controls and a forged POST gets 403; every new API route answers
//! Administrator, Display and Monitoring as their roles allow; domain mappings added and
//! removed are in force for the next request without a restart (the world of
//! `connector_ui_trust`).

use super::connector_ui::{api, first_logon, NEW_PASSWORD};
use super::connector_ui_trust::{
    json, upload, world, write, ApiCase, CHAIN, CSR, GENERATE, MAPPING, UI_CSR,
};

#[tokio::test]
async fn display_sees_no_edit_controls_forged_posts_get_403_and_the_api_follows_the_roles() {
    let w = world().await;
    let admin = w.admin().await;
    let dora = w.user(&admin, "dora", "Display").await;
    let _moni = w.one_time(&admin, "moni", "Monitoring").await;
    // Moni must change his password before the API answers: do it through a client.
    let moni_once = _moni;
    let moni = w.client();
    first_logon(&moni, "moni", &moni_once).await;

    let r = dora.get("/trust").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("action=\"/trust/add\""), "{}", r.body);
    assert!(
        !r.body.contains("action=\"/trust/trust-all\""),
        "{}",
        r.body
    );
    assert!(!r.body.contains(">Remove</button>"), "{}", r.body);
    let r = dora.get("/settings/ui-certificate").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("action=\"/settings/ui-certificate/pem\""),
        "{}",
        r.body
    );
    let csrf = r.csrf();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &w.server_ca.pem);
    let r = upload(
        &dora,
        "/trust/add",
        &[
            format!("csrf={csrf}"),
            "name=x".into(),
            format!("file=@{ca_file}"),
        ],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = dora
        .post(
            "/trust/trust-all",
            &[("csrf", &csrf), ("on", "yes"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = upload(
        &dora,
        "/settings/ui-certificate/pem",
        &[
            format!("csrf={csrf}"),
            format!("chain=@{ca_file}"),
            format!("key=@{ca_file}"),
        ],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The system certificate and domain mapping pages: shown, without forms; forged posts 403.
    for (page, form) in [
        ("/system-certificate", "/system-certificate/generate"),
        ("/domain-mappings", "/domain-mappings/add"),
    ] {
        let r = dora.get(page).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            !r.body.contains("method=\"post\" action=\"/system"),
            "{}",
            r.body
        );
        assert!(
            !r.body.contains("method=\"post\" action=\"/domain"),
            "{}",
            r.body
        );
        let r = dora
            .post(
                form,
                &[
                    ("csrf", &csrf),
                    ("subject", "CN=forged"),
                    ("days", "30"),
                    ("internal", "corp.example"),
                    ("virtual", "portal.example"),
                ],
            )
            .await;
        assert_eq!(r.status, 403, "{form}: {}", r.body);
    }
    // Without the CSRF token even the Administrator is refused.
    let r = upload(
        &admin,
        "/trust/add",
        &["name=x".into(), format!("file=@{ca_file}")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        !w.config().contains("trust"),
        "nothing changed: {}",
        w.config()
    );

    // The API: (method, path, body, Administrator, Display, Monitoring).
    let add = serde_json::json!({ "name": "erp-ca", "pem": w.server_ca.pem }).to_string();
    let cases: [ApiCase; 15] = [
        ("GET", "/api/v1/trust", None, 200, 200, 403),
        ("GET", "/api/v1/security", None, 200, 200, 200),
        ("GET", "/api/v1/ui-certificate", None, 200, 200, 403),
        ("POST", "/api/v1/trust", Some(&add), 201, 403, 403),
        (
            "PUT",
            "/api/v1/trust/trust-all",
            Some("{\"trust_all\":false}"),
            200,
            403,
            403,
        ),
        (
            "PUT",
            "/api/v1/ui-certificate",
            Some("{\"chain_pem\":\"x\",\"key_pem\":\"y\"}"),
            422,
            403,
            403,
        ),
        ("DELETE", "/api/v1/trust/erp-ca", None, 200, 403, 403),
        ("GET", "/api/v1/system-certificate", None, 200, 200, 403),
        (
            "POST",
            "/api/v1/system-certificate/generate",
            Some(GENERATE),
            201,
            403,
            403,
        ),
        (
            "POST",
            "/api/v1/system-certificate/csr",
            Some(CSR),
            201,
            403,
            403,
        ),
        (
            "PUT",
            "/api/v1/system-certificate",
            Some(CHAIN),
            422,
            403,
            403,
        ),
        ("GET", "/api/v1/domain-mappings", None, 200, 200, 403),
        (
            "POST",
            "/api/v1/domain-mappings",
            Some(MAPPING),
            201,
            403,
            403,
        ),
        (
            "DELETE",
            "/api/v1/domain-mappings/c.example",
            None,
            200,
            403,
            403,
        ),
        (
            "POST",
            "/api/v1/ui-certificate/csr",
            Some(UI_CSR),
            201,
            403,
            403,
        ),
    ];
    for (method, path, body, a, d, m) in cases {
        // Display and Monitoring first: their refusal must leave the Administrator's call its
        // effect.
        for (user, client, want) in [
            ("dora", &dora, d),
            ("moni", &moni, m),
            ("Administrator", &admin, a),
        ] {
            let r = api(client, user, NEW_PASSWORD, method, path, body).await;
            assert_eq!(r.status, want, "{user} {method} {path}: {}", r.body);
            let v = json(&r);
            if want >= 400 {
                assert!(v["code"].is_string() && v["message"].is_string(), "{v}");
            }
        }
    }
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "DELETE",
        "/api/v1/trust/erp-ca",
        None,
    )
    .await;
    assert_eq!(
        (r.status, json(&r)["code"].as_str()),
        (404, Some("unknown_certificate"))
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/trust",
        Some("{\"name\":\"../x\",\"pem\":\"y\"}"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/trust/trust-all",
        Some("{\"on\":1}"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn domain_mappings_are_added_and_removed_and_apply_without_a_restart() {
    let w = world().await;
    let admin = w.admin().await;
    assert!(
        w.cookie().await.contains("Domain=.corp.example"),
        "unmapped at first"
    );
    let page = admin.get("/domain-mappings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No domain mappings."), "{}", page.body);
    // What the loader refuses is refused, nothing changes.
    let r = admin
        .post(
            "/domain-mappings/add",
            &[
                ("csrf", &page.csrf()),
                ("internal", "corp example"),
                ("virtual", "portal.example"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("domains of letters, digits"), "{}", r.body);
    assert!(!w.config().contains("domain_mapping"), "{}", w.config());

    let r = admin
        .post(
            "/domain-mappings/add",
            &[
                ("csrf", &page.csrf()),
                ("internal", "corp.example"),
                ("virtual", "portal.example"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<td>corp.example</td>"), "{}", r.body);
    // In force for the next request, no restart: poll until the reload watcher has it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let c = w.cookie().await;
        if c.contains("Domain=portal.example") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never mapped: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/domain-mappings",
        None,
    )
    .await;
    assert_eq!(
        json(&r)["domain_mappings"][0]["virtual"],
        "portal.example",
        "{}",
        r.body
    );
    // Twice the same internal domain: refused.
    let twice = "{\"virtual\":\"other.example\",\"internal\":\"corp.example\"}";
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/domain-mappings",
        Some(twice),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "DELETE",
        "/api/v1/domain-mappings/corp.example",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let c = w.cookie().await;
        if c.contains("Domain=.corp.example") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never unmapped: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "DELETE",
        "/api/v1/domain-mappings/corp.example",
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(w.audit().matches("\"op\":\"domain_mapping_").count(), 2);
}
