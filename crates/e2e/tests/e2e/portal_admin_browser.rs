//! The customer's administration pages in real headless Chromium
//! (tests/browser/scenarios/portal_admin.mjs): creating a user and a technical user with a
//! grant, registering and revoking a connector; axe-core on each page, screenshots `users`,
//! `user-created`, `connectors` and `connector-created` for docs/portal.md (set
//! `PORTCULLIS_SCREENSHOTS=$PWD/docs/portal` to refresh them).

use portcullis_client::views::ConnectorStatus;
use portcullis_domain::authz::{Authorization, Role};
use serde_json::json;

use super::portal::{acme_with_prd, user_with_password};

#[tokio::test]
async fn users_grants_and_connectors_in_chromium() {
    let (hub, _system, sc) = acme_with_prd().await;
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    portcullis_test_support::browser::run(
        "portal_admin",
        &json!({
            "url": hub.api_url,
            "admin": {"name": "anna", "password": pw},
        }),
    )
    .await;
    // What the browser did is what the hub holds.
    let api = hub.company_admin("acme").await;
    let users = api.list_company_users("acme").await.unwrap();
    let bob = users.iter().find(|u| u.name == "bob").expect("bob");
    assert_eq!(
        bob.authorizations,
        [Authorization::OpenServiceConnections]
            .into_iter()
            .collect()
    );
    let bot = users.iter().find(|u| u.name == "ci-bot").expect("ci-bot");
    assert_eq!(bot.role, Role::Technical);
    let grants = api.list_grants("acme").await.unwrap();
    assert!(grants
        .iter()
        .any(|g| g.user_id == bot.id && g.service_connection_id == sc && g.revoked_at.is_none()));
    let hamburg = hub
        .admin
        .list_connectors("acme")
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.location == "hamburg")
        .expect("hamburg");
    assert_eq!(hamburg.status, ConnectorStatus::Revoked);
}
