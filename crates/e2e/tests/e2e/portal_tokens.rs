//! A user's own tokens in the portal (`/account/tokens`): a new API token within the token
//! policy, shown once and working at the API; revoking it; another user's token is not
//! found; signing out another browser.

use portcullis_domain::authz::{Authorization, Role};

use super::portal::{acme_with_prd, between, user_with_password, Curl};

#[tokio::test]
async fn a_user_makes_lists_and_revokes_his_own_token_and_signs_out_another_browser() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let (_, pw) = user_with_password(
        &hub,
        Some("acme"),
        "anna",
        Role::CompanyUser,
        &[Authorization::OpenServiceConnections],
        false,
    )
    .await;
    let anna = Curl::new(&hub);
    assert_eq!(anna.sign_in("anna", &pw).await.status, 303);
    let page = anna.get("/account/tokens").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You have no tokens."), "{}", page.body);

    // Beyond the policy's maximum (365 days by default): refused with the rule, form kept.
    let r = anna
        .post(
            "/account/tokens",
            &[("csrf", &page.csrf()), ("name", "laptop"), ("days", "4000")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("value=\"laptop\""), "{}", r.body);

    let r = anna
        .post(
            "/account/tokens",
            &[("csrf", &page.csrf()), ("name", "laptop"), ("days", "30")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = between(&r.body, "<code class=\"cmd\" id=\"new-token\">", "<").to_string();
    assert!(token.starts_with("pct_"), "{token}");
    let api = hub.client(&token);
    let systems = api.list_systems("acme").await.expect("the new token works");
    assert_eq!(systems.len(), 1);
    let created = hub.audit("token.created").await;
    assert!(created
        .iter()
        .any(|e| e.detail["own"] == serde_json::json!(true)));

    // Listed (never its secret), then revoked: the API refuses it.
    let page = anna.get("/account/tokens").await;
    assert!(page.body.contains(">laptop<"), "{}", page.body);
    assert!(!page.body.contains(&token));
    let token_id = created
        .iter()
        .find(|e| e.detail["own"] == serde_json::json!(true))
        .and_then(|e| e.detail["token_id"].as_i64())
        .unwrap();
    let r = anna
        .post(
            &format!("/account/tokens/{token_id}/revoke"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/account/tokens?done=revoked"),
        "{}",
        r.body
    );
    let (status, _) = api.get_raw("/api/v1/companies/acme/systems").await.unwrap();
    assert_eq!(status.as_u16(), 401);

    // Another user's token: not found.
    let (_, bert_pw) =
        user_with_password(&hub, Some("acme"), "bert", Role::CompanyUser, &[], false).await;
    let bert = Curl::new(&hub);
    assert_eq!(bert.sign_in("bert", &bert_pw).await.status, 303);
    let bpage = bert.get("/account/tokens").await;
    let r = bert
        .post(
            "/account/tokens",
            &[("csrf", &bpage.csrf()), ("name", "bert-box"), ("days", "")],
        )
        .await;
    assert_eq!(r.status, 201);
    let bert_token = hub
        .audit("token.created")
        .await
        .into_iter()
        .filter_map(|e| e.detail["token_id"].as_i64())
        .max()
        .unwrap();
    let page = anna.get("/account/tokens").await;
    let r = anna
        .post(
            &format!("/account/tokens/{bert_token}/revoke"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // A second browser of Anna's, signed out from the first.
    let second = Curl::new(&hub);
    assert_eq!(second.sign_in("anna", &pw).await.status, 303);
    assert_eq!(second.get("/").await.status, 200);
    let page = anna.get("/account/tokens").await;
    assert!(page.body.contains("this browser"), "{}", page.body);
    let browsers: Vec<i64> = hub
        .state()
        .store
        .list_user_tokens(
            hub.state()
                .store
                .find_user_by_name("anna")
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.scope == portcullis_store::TokenScope::Portal && t.revoked_at.is_none())
        .map(|t| t.id)
        .collect();
    assert_eq!(browsers.len(), 2, "{browsers:?}");
    let newest = *browsers.iter().max().unwrap();
    let r = anna
        .post(
            &format!("/account/tokens/{newest}/revoke"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/account/tokens?done=revoked"),
        "{}",
        r.body
    );
    assert_eq!(second.get("/").await.header("location"), Some("/signin"));
    assert_eq!(
        anna.get("/").await.status,
        200,
        "the first browser stays signed in"
    );
}
