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

/// A user's own account without the UI: the Administrator's one-time password changed through
/// the API (the initial password file goes with it), a new user's too, and his API tokens
/// made, used and revoked through the API.
#[tokio::test]
async fn a_user_changes_his_one_time_password_and_manages_his_tokens_through_the_api() {
    let w = world().await;
    let c = w.client();
    let initial = w.initial_password();
    let status = |user: &'static str, pw: String| {
        let c = &c;
        async move { api(c, user, &pw, "GET", "/api/v1/status", None).await }
    };
    let r = status("Administrator", initial.clone()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("password_change_required"), "{}", r.body);

    // A wrong current password, a new one that breaks the rules: refused, nothing changed.
    let change = |current: &str, new: &str| format!(r#"{{"current":"{current}","new":"{new}"}}"#);
    let body = change("not-it-at-all", NEW_PASSWORD);
    let r = api(
        &c,
        "Administrator",
        &initial,
        "PUT",
        "/api/v1/me/password",
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("wrong_password"), "{}", r.body);
    let body = change(&initial, "short");
    let r = api(
        &c,
        "Administrator",
        &initial,
        "PUT",
        "/api/v1/me/password",
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(status("Administrator", initial.clone()).await.status, 403);

    let body = change(&initial, NEW_PASSWORD);
    let r = api(
        &c,
        "Administrator",
        &initial,
        "PUT",
        "/api/v1/me/password",
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(
        !w.conn.data_dir().join("admin/initial-password").exists(),
        "the initial password's file goes with the change"
    );
    assert_eq!(status("Administrator", initial).await.status, 401);
    let r = status("Administrator", NEW_PASSWORD.to_owned()).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Another role, the same way: a Monitoring user made by the Administrator.
    let r = api(
        &c,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/users",
        Some(r#"{"name":"mo","role":"Monitoring"}"#),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let one_time = json(&r.body)["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = api(
        &c,
        "mo",
        &one_time,
        "POST",
        "/api/v1/me/tokens",
        Some(r#"{"name":"x"}"#),
    )
    .await;
    assert_eq!(r.status, 403, "no token before the change: {}", r.body);
    let body = change(&one_time, NEW_PASSWORD);
    let r = api(
        &c,
        "mo",
        &one_time,
        "PUT",
        "/api/v1/me/password",
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // His token acts as him (Monitoring: the status yes, the users no) until he revokes it.
    let r = api(
        &c,
        "mo",
        NEW_PASSWORD,
        "POST",
        "/api/v1/me/tokens",
        Some(r#"{"name":"grafana"}"#),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = json(&r.body);
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("pcc_"), "{token}");
    let id = v["tokens"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["tokens"][0]["name"], "grafana");
    let bearer = format!("authorization: Bearer {token}");
    let with_token = |path: &'static str| {
        let (c, bearer) = (&c, &bearer);
        async move { c.run(&["-H", bearer, &c.url(path)]).await }
    };
    assert_eq!(with_token("/api/v1/status").await.status, 200);
    assert_eq!(with_token("/api/v1/users").await.status, 403);
    let r = api(&c, "mo", NEW_PASSWORD, "GET", "/api/v1/me/tokens", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("grafana") && !r.body.contains(&token),
        "{}",
        r.body
    );
    let path = format!("/api/v1/me/tokens/{id}");
    let r = api(&c, "mo", NEW_PASSWORD, "DELETE", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r.body)["tokens"], serde_json::json!([]));
    let r = api(&c, "mo", NEW_PASSWORD, "DELETE", &path, None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Last: a failed token slows this address down for a moment.
    assert_eq!(with_token("/api/v1/status").await.status, 401);

    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    for outcome in ["password_changed", "token_created", "token_revoked"] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("\"outcome\":\"{outcome}\"")) && l.contains("api")),
            "{outcome} via api: {log}"
        );
    }
}
