//! The customer's administration pages in real headless Chromium
//! (tests/browser/scenarios/portal_admin.mjs): creating a user and a technical user with a
//! grant, registering and revoking a connector, a running connector's health report on the
//! Connectors page; axe-core on each page, screenshots `users`,
//! `user-created`, `connectors` and `connector-created` for docs/portal.md (set
//! `PORTCULLIS_SCREENSHOTS=$PWD/docs/portal` to refresh them).

use portcullis_client::views::ConnectorStatus;
use portcullis_domain::authz::{Authorization, Role};
use serde_json::json;

use super::portal::{acme_with_prd, user_with_password};

#[tokio::test]
async fn users_grants_and_connectors_in_chromium() {
    let (hub, _system, sc) = acme_with_prd().await;
    // A running connector, whose health report the Connectors page shows.
    let echo = portcullis_test_support::echo_server().await;
    let munich = portcullis_test_support::TestConnector::for_hub(&hub, "acme", "munich")
        .await
        .with_toml(
            "[monitoring]\nreport_interval_ms = 200\nhardware_interval_ms = 200\n\
             [alerts]\nbackend_interval_ms = 200\n",
        )
        .expose("echo", "echo.internal:7", echo)
        .run()
        .await;
    // Its first report comes when its tunnel is up, with its entry checked once.
    for _ in 0..300 {
        if hub.state().health.of(munich.id).is_some_and(|h| {
            h.report.entries.len() == 1
                && h.report.disk_free.is_some()
                && h.report.cpu_permille.is_some()
        }) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
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
