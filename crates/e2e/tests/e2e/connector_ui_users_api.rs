//! The connector's users and logon text through the REST API: what the Users and logon-text
//! pages do, for scripts, with the same permits and audit records (`via: api`). A user the API
//! creates logs on with the one-time password it answered and must change it; a Display user
//! may do none of it.

use serde_json::Value;

use super::connector_ui::{api, first_logon, world, NEW_PASSWORD};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn users_and_the_logon_text_are_managed_through_the_api_by_administrators_only() {
    let w = world().await;
    let c = w.client();
    first_logon(&c, "Administrator", &w.initial_password()).await;
    let admin = |m: &'static str, p: &'static str, b: Option<&'static str>| {
        let c = &c;
        async move { api(c, "Administrator", NEW_PASSWORD, m, p, b).await }
    };

    let r = admin(
        "POST",
        "/api/v1/users",
        Some(r#"{"name":"dora","role":"Display"}"#),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let one_time = json(&r.body)["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    // The one-time password is dora's, and her first logon must change it.
    let dora = w.client();
    first_logon(&dora, "dora", &one_time).await;

    let r = admin("GET", "/api/v1/users", None).await;
    assert_eq!(r.status, 200);
    let users = json(&r.body)["users"].as_array().unwrap().clone();
    let d = users
        .iter()
        .find(|u| u["name"] == "dora")
        .expect("dora listed");
    assert_eq!(
        (d["role"].as_str(), d["must_change"].as_bool()),
        (Some("Display"), Some(false))
    );

    // Refused with reasons: a taken name, an unknown role, oneself disabled, an unknown user.
    let taken = admin(
        "POST",
        "/api/v1/users",
        Some(r#"{"name":"dora","role":"Display"}"#),
    )
    .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    let role = admin(
        "POST",
        "/api/v1/users",
        Some(r#"{"name":"eve","role":"Root"}"#),
    )
    .await;
    assert_eq!(role.status, 400, "{}", role.body);
    let me = admin(
        "PUT",
        "/api/v1/users/Administrator",
        Some(r#"{"disabled":true}"#),
    )
    .await;
    assert_eq!(me.status, 400, "{}", me.body);
    let ghost = admin("POST", "/api/v1/users/ghost/reset", None).await;
    assert_eq!(ghost.status, 404, "{}", ghost.body);

    // A Display user may not manage users or the logon text, through the API either.
    for (m, p, b) in [
        ("GET", "/api/v1/users", None),
        (
            "POST",
            "/api/v1/users",
            Some(r#"{"name":"mallory","role":"Administrator"}"#),
        ),
        ("POST", "/api/v1/users/dora/reset", None),
        (
            "PUT",
            "/api/v1/users/Administrator",
            Some(r#"{"disabled":true}"#),
        ),
        ("GET", "/api/v1/settings/logon-text", None),
        (
            "PUT",
            "/api/v1/settings/logon-text",
            Some(r#"{"text":"x"}"#),
        ),
    ] {
        let r = api(&c, "dora", NEW_PASSWORD, m, p, b).await;
        assert_eq!(r.status, 403, "dora {m} {p}: {}", r.body);
    }

    // A reset answers a new one-time password; a disable stops her API calls.
    let r = admin("POST", "/api/v1/users/dora/reset", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api(&c, "dora", NEW_PASSWORD, "GET", "/api/v1/status", None)
            .await
            .status,
        401
    );
    let r = admin("PUT", "/api/v1/users/dora", Some(r#"{"disabled":true}"#)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r.body)["disabled"], true);

    // The logon text: kept as typed, shown sanitised, on the logon page at once.
    let r = admin(
        "PUT",
        "/api/v1/settings/logon-text",
        Some(r#"{"text":"<p>Call <strong>ops</strong></p><script>x</script>"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(json(&r.body)["html"]
        .as_str()
        .unwrap()
        .contains("&lt;script&gt;"));
    let page = w.client().get("/signin").await;
    assert!(page.body.contains("<strong>ops</strong>"), "{}", page.body);
    assert!(!page.body.contains("<script>x"));

    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    for outcome in ["created", "password_reset", "disabled", "logon_text"] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("\"outcome\":\"{outcome}\""))
                    && l.contains("\"via\":\"api\"")),
            "{outcome} via api: {log}"
        );
    }
}
