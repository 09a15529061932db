//! The systems list in real headless Chromium (tests/browser/scenarios/portal_list.mjs): the
//! filter syntax and grouping typed by keyboard, a favourite marked from the list, axe-core on
//! the filtered and grouped list, screenshot `systems-filtered` for docs/portal.md (set
//! `PORTCULLIS_SCREENSHOTS=$PWD/docs/portal` to refresh it).

use portcullis_client::requests::{NewServiceConnection, OpenWindow};
use portcullis_domain::authz::Role;
use portcullis_domain::system::{SystemStatus, SystemType};
use portcullis_test_support::TestHub;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::portal::user_with_password;

#[tokio::test]
async fn the_systems_list_filtered_grouped_and_marked_in_chromium() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let prd = hub.system("acme", "PRD").await;
    let qas = hub.system("acme", "QAS").await;
    let api = hub.company_admin("acme").await;
    let dev = hub.system("acme", "DEV").await;
    let mut data = dev.data.clone();
    data.status = SystemStatus::Inactive;
    data.system_type = SystemType::Java;
    data.product = "SAP NetWeaver".into();
    api.update_system(dev.id, &data).await.expect("update DEV");
    let prd_sc = hub
        .service(
            &prd,
            &NewServiceConnection::new("generic_tcp", "berlin", "prd.internal", 7),
        )
        .await;
    let qas_sc = hub
        .service(
            &qas,
            &NewServiceConnection::new("generic_tcp", "berlin", "qas.internal", 7),
        )
        .await;
    api.open_window(prd_sc.id, &OpenWindow::now("Anna"))
        .await
        .expect("open");
    let tomorrow = OffsetDateTime::now_utc() + Duration::days(1);
    api.open_window(qas_sc.id, &OpenWindow::reserve("Anna", tomorrow))
        .await
        .expect("reserve");
    let (anna, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyUser, &[], false).await;
    portcullis_test_support::browser::run(
        "portal_list",
        &json!({
            "url": hub.api_url,
            "user": {"name": "anna", "password": pw},
        }),
    )
    .await;
    // What the browser did is what the hub holds.
    assert_eq!(
        hub.state().store.list_favourites(anna).await.unwrap(),
        [prd.id]
    );
}
