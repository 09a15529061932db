//! Sign-in through the company's identity provider in real headless Chromium
//! (tests/browser/scenarios/portal_oidc.mjs): the settings page, the provider's own pages on
//! another site, the landing on the home page, a refusal; axe-core on the pages, screenshots
//! `oidc-settings` and `signin-sso-refused` for docs/portal.md (set
//! `PORTCULLIS_SCREENSHOTS=$PWD/docs/portal` to refresh them).

use portcullis_domain::authz::Role;
use portcullis_test_support::oidc::{IdpClient, TestIdp};
use serde_json::json;

use super::portal::{acme_with_prd, user_with_password};

#[tokio::test]
async fn sign_in_through_the_company_identity_provider_in_chromium() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    // Ben's password is a one-time one: through the provider he has none to change.
    user_with_password(&hub, Some("acme"), "ben", Role::CompanyUser, &[], true).await;
    let secret = "browser-client-secret-42";
    let idp = TestIdp::start(
        &[IdpClient {
            id: "portcullis".into(),
            secret: secret.into(),
            redirect_uri: format!("{}/signin/oidc/callback", hub.api_url),
        }],
        &[],
    )
    .await;
    portcullis_test_support::browser::run(
        "portal_oidc",
        &json!({
            "url": hub.api_url,
            "admin": {"name": "anna", "password": pw},
            "idp": {
                "issuer": idp.issuer,
                "password": idp.password,
                "ca_pem": idp.ca_pem,
                "client_id": "portcullis",
                "client_secret": secret,
            },
            "user": "ben",
            "stranger": "zed",
        }),
    )
    .await;
    // What the browser did is what the hub recorded.
    let signed_in = hub.audit("user.signed_in").await;
    assert!(signed_in
        .iter()
        .any(|e| e.target == "ben" && e.detail["method"] == "oidc"));
    let failed = hub.audit("user.sign_in_failed").await;
    assert!(failed
        .iter()
        .any(|e| e.target == "zed" && e.detail["reason"] == "oidc_unknown_user"));
    assert_eq!(hub.audit("company.oidc_set").await.len(), 1);
}
