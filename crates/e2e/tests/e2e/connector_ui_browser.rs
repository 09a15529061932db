//! The connector's admin UI in real headless Chromium (tests/browser/scenarios/
//! connector_ui.mjs): the first logon with the one-time password and the forced change, the
//! hub connection page, closing a window, a new Display user who sees no close button.
//! axe-core on every page; screenshots into `docs/connector-ui/` with
//! `PORTCULLIS_SCREENSHOTS=$PWD/docs/connector-ui` (shown in docs/connector.md).

use serde_json::json;

use super::connector_ui::{world, NEW_PASSWORD};

#[tokio::test]
async fn the_connector_admin_ui_in_chromium_first_logon_hub_windows_close_users() {
    let mut w = world().await;
    let window = w.open_window().await;
    let reserved = w.reserve_window().await;
    let addr = w.conn.admin_addr().expect("the admin UI listens");
    portcullis_test_support::browser::run(
        "connector_ui",
        &json!({
            "url": format!("https://{addr}"),
            "initial_password": w.initial_password(),
            "window": window,
            "reserved": reserved,
            "new_password": NEW_PASSWORD,
        }),
    )
    .await;
    // The close in the browser was the connector's close: audited with its door, told to
    // the hub.
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"via\":\"ui\""), "{log}");
    let closed = w.hub.wait_audit("window.closed", 1).await;
    assert_eq!(closed[0].actor, "connector:berlin:Administrator");
}
