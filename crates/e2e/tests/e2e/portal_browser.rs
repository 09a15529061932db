//! The portal in real headless Chromium (tests/browser/scenarios/portal.mjs, and
//! portal_vendor.mjs for the support engineer's side, up to an HTTP service's page with the
//! web entry's banner): every page
//! through a browser, axe-core on each, screenshots for docs/portal.md (set
//! `PORTCULLIS_SCREENSHOTS=docs/portal` to refresh them).

use portcullis_client::requests::{NewServiceConnection, OpenWindow, SystemData};
use portcullis_domain::authz::Role;
use portcullis_test_support::world::WebWorld;
use portcullis_test_support::TestHub;
use serde_json::json;

use super::portal::user_with_password;

#[tokio::test]
async fn the_portal_in_chromium_sign_in_change_open_refuse_close_sign_out() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let system = hub.system("acme", "PRD").await;
    hub.service(
        &system,
        &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
    )
    .await;
    let qas = hub.system("acme", "QAS").await;
    hub.service(
        &qas,
        &NewServiceConnection::new("r3_support", "berlin", "qas.internal", 3200),
    )
    .await;
    let (_, admin_pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], true).await;
    let (_, viewer_pw) =
        user_with_password(&hub, Some("acme"), "victor", Role::CompanyUser, &[], false).await;
    portcullis_test_support::browser::run(
        "portal",
        &json!({
            "url": hub.api_url,
            "system_id": system.id,
            "admin": {"name": "anna", "password": admin_pw},
            "viewer": {"name": "victor", "password": viewer_pw},
        }),
    )
    .await;
    // What the browser did is what the hub recorded.
    let opened = hub.audit("window.opened").await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(hub.audit("window.closed").await.len(), 1);
    assert_eq!(hub.audit("user.password_changed").await.len(), 1);
}

#[tokio::test]
async fn the_engineers_home_in_chromium_reach_now_route_password_browser_link() {
    // A real web application behind a running connector: "Open in browser" goes all the way
    // to its page, with the web entry's banner.
    let w = WebWorld::start(super::web_entry::site().await).await;
    let hub = &w.hub;
    let ni = hub
        .service(
            &w.system,
            &NewServiceConnection::new("r3_support", "berlin", "prd.internal", 3200),
        )
        .await;
    let acme = hub.company_admin("acme").await;
    acme.open_window(ni.id, &OpenWindow::now("Anna Admin, +49 30 1234"))
        .await
        .unwrap();
    let web_window = w
        .open_window(&OpenWindow::now("Anna Admin, +49 30 1234"))
        .await;
    // QAS's customer lets support open a connection on its own.
    let qas = hub.system("acme", "QAS").await;
    acme.update_system(
        qas.id,
        &SystemData {
            allow_independent_opening: true,
            ..qas.data.clone()
        },
    )
    .await
    .unwrap();
    let qas_tcp = hub
        .service(
            &qas,
            &NewServiceConnection::new("generic_tcp", "berlin", "qas.internal", 7),
        )
        .await;
    let (_, pw) = user_with_password(hub, None, "erik", Role::SupportEngineer, &[], false).await;
    let origin = hub
        .state()
        .web_origins
        .as_ref()
        .expect("web entry on")
        .origin(w.sc.id);
    let end = web_window.end_at;
    let web_until = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        end.year(),
        u8::from(end.month()),
        end.day(),
        end.hour(),
        end.minute()
    );
    portcullis_test_support::browser::run(
        "portal_vendor",
        &json!({
            "url": hub.api_url,
            "engineer": {"name": "erik", "password": pw},
            "ni_service": ni.id,
            "web_service": w.sc.id,
            "web_origin": origin,
            "web_until": web_until,
            "independent_service": qas_tcp.id,
        }),
    )
    .await;
    assert_eq!(hub.audit("route_password.created").await.len(), 1);
    assert_eq!(hub.audit("web.link_created").await.len(), 1);
    assert_eq!(hub.audit("web.login").await.len(), 1);
    let independent: Vec<_> = hub
        .audit("window.opened")
        .await
        .into_iter()
        .filter(|e| e.detail["independent"] == json!(true))
        .collect();
    assert_eq!(independent.len(), 1, "{independent:?}");
    assert_eq!(independent[0].target, "acme/QAS/generic_tcp");
    assert_eq!(hub.audit("window.closed").await.len(), 1);
}

#[tokio::test]
async fn two_factor_sign_in_in_chromium() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    portcullis_test_support::browser::run(
        "portal_totp",
        &json!({"url": hub.api_url, "user": {"name": "anna", "password": pw}}),
    )
    .await;
    let signed_in = hub.audit("user.signed_in").await;
    assert!(
        signed_in
            .iter()
            .any(|e| e.detail["second_factor"] == json!(true)),
        "{signed_in:?}"
    );
}

#[tokio::test]
async fn a_vendor_admins_companies_in_chromium() {
    let hub = TestHub::start().await;
    let (_, pw) = user_with_password(&hub, None, "vera", Role::VendorAdmin, &[], false).await;
    portcullis_test_support::browser::run(
        "portal_companies",
        &json!({"url": hub.api_url, "user": {"name": "vera", "password": pw}}),
    )
    .await;
    assert!(hub
        .state()
        .store
        .find_user_by_name("gina")
        .await
        .unwrap()
        .is_some_and(|u| u.role == Role::CompanyAdmin));
}
