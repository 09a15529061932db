//! The connector admin UI's access control in real headless Chromium
//! (tests/browser/scenarios/connector_ui_access.mjs): the list, the wizard walked with the
//! keyboard (a refused virtual host shown on its step), the new entry listed, a resource
//! added, and a concurrent edit refused with the conflict message (409). axe-core on every
//! page; screenshots into `docs/connector-ui/` with `PORTCULLIS_SCREENSHOTS`.

use serde_json::json;

use super::connector_ui::{world, NEW_PASSWORD};

#[tokio::test]
async fn the_access_pages_in_chromium_wizard_resource_and_conflict() {
    let w = world().await;
    let backend = portcullis_test_support::echo_server().await;
    let addr = w.conn.admin_addr().expect("the admin UI listens");
    let taken = {
        let file = std::fs::read_to_string(w.conn.config_path()).unwrap();
        let at = file.find("virtual = \"").expect("an entry") + "virtual = \"".len();
        file[at..at + file[at..].find('"').unwrap()].to_owned()
    };
    portcullis_test_support::browser::run(
        "connector_ui_access",
        &json!({
            "url": format!("https://{addr}"),
            "initial_password": w.initial_password(),
            "new_password": NEW_PASSWORD,
            "backend": backend.to_string(),
            "taken": taken,
        }),
    )
    .await;
    // What the browser did is in the file: the entry with its resource, and the API's
    // description, not the refused form's.
    let file = std::fs::read_to_string(w.conn.config_path()).unwrap();
    assert!(
        file.contains("name = \"web\"") && file.contains("path = \"/hello\""),
        "{file}"
    );
    assert!(
        file.contains("from the API") && !file.contains("from the browser"),
        "{file}"
    );
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(
        log.contains("access.edited") && log.contains("\"via\":\"ui\""),
        "{log}"
    );
}
