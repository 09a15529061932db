//! Window editing, a system's log book and the audit list in real headless Chromium
//! (tests/browser/scenarios/portal_audit.mjs): axe-core on each page, screenshots
//! `system-edit`, `logbook` and `audit` for docs/portal.md (set
//! `PORTCULLIS_SCREENSHOTS=$PWD/docs/portal` to refresh them).

use portcullis_client::requests::{NewServiceConnection, OpenWindow};
use portcullis_domain::authz::Role;
use portcullis_test_support::TestHub;
use serde_json::json;
use time::Duration;

use super::portal::user_with_password;

#[tokio::test]
async fn window_edit_log_book_and_audit_list_in_chromium() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let system = hub.system("acme", "PRD").await;
    let sc = hub
        .service(
            &system,
            &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
        )
        .await;
    let api = hub.company_admin("acme").await;
    let w = api
        .open_window(sc.id, &OpenWindow::now("Anna Admin"))
        .await
        .expect("open a window");
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    portcullis_test_support::browser::run(
        "portal_audit",
        &json!({
            "url": hub.api_url,
            "system_id": system.id,
            "admin": {"name": "anna", "password": pw},
        }),
    )
    .await;
    // What the browser did is what the hub holds.
    let after = api.get_window(w.id).await.unwrap();
    assert_eq!(after.end_at, w.end_at + Duration::hours(4));
    assert_eq!(after.contact, "Carl Contact");
    // The extension and the moved reservation; the reservation cancelled.
    assert_eq!(hub.audit("window.edited").await.len(), 2);
    let windows = api.list_windows(w.service_connection_id).await.unwrap();
    let reservation = windows
        .iter()
        .find(|x| x.id != w.id)
        .expect("the reservation");
    assert_eq!(
        (reservation.contact.as_str(), reservation.state.as_str()),
        ("Rita Later", "closed")
    );
}
