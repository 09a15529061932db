//! Editing the access list of a running connector through its admin socket (CC-24):
//! export, import (merge, overwrite), remove; an edit that would not load is refused and the
//! file is left alone; applied edits reach the hub's inventory like a saved file.

use portcullis_connector::local::{Request, Response};
use portcullis_test_support::{echo_server, TestConnector, TestHub};

#[tokio::test]
async fn export_import_remove_through_the_admin_socket() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let echo = echo_server().await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("echo", "echo.internal:7", echo)
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    let data_dir = conn.dir.path().join("data");
    let ask = |req: Request| {
        let data_dir = data_dir.clone();
        async move { portcullis::connector_admin::request(&data_dir, &req).await }
    };

    let Response::AccessExport { toml } = ask(Request::AccessExport).await.unwrap() else {
        panic!("an export")
    };
    assert!(
        toml.contains("name = \"echo\"") && toml.contains("echo.internal:7"),
        "{toml}"
    );

    // Import: a new entry is added, the existing one skipped.
    let echo2 = echo_server().await;
    let import = format!(
        "{toml}\n[[access]]\nname = \"echo2\"\nvirtual = \"echo2.internal:7\"\ninternal = \"{echo2}\"\n"
    );
    let Response::AccessEdited { summary, .. } = ask(Request::AccessImport {
        toml: import.clone(),
        overwrite: false,
    })
    .await
    .unwrap() else {
        panic!("an edit")
    };
    assert_eq!(summary.added, ["echo2"]);
    assert_eq!(summary.skipped, ["echo"]);
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 2)
        .await;
    let file = std::fs::read_to_string(conn.config_path()).unwrap();
    assert!(
        file.contains("[reconnect]"),
        "other settings are kept: {file}"
    );

    // An import that would not load changes nothing.
    let bad = "[[access]]\nname = \"bad\"\nvirtual = \"nope\"\ninternal = \"10.0.0.1:1\"\n";
    let err = ask(Request::AccessImport {
        toml: bad.into(),
        overwrite: false,
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("would not load"), "{err}");
    assert_eq!(std::fs::read_to_string(conn.config_path()).unwrap(), file);

    // Overwrite replaces by name.
    let moved = format!(
        "[[access]]\nname = \"echo2\"\nvirtual = \"echo2.internal:8\"\ninternal = \"{echo2}\"\n"
    );
    let Response::AccessEdited { summary, .. } = ask(Request::AccessImport {
        toml: moved,
        overwrite: true,
    })
    .await
    .unwrap() else {
        panic!("an edit")
    };
    assert_eq!(summary.replaced, ["echo2"]);
    hub.wait_inventory(conn.company_id, "berlin", |i| {
        i.iter().any(|t| t.port_start == 8)
    })
    .await;

    // Remove.
    let Response::AccessEdited { removed, .. } = ask(Request::AccessRemove {
        name: "echo2".into(),
    })
    .await
    .unwrap() else {
        panic!("an edit")
    };
    assert_eq!(removed, ["echo2"]);
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    let unknown = ask(Request::AccessRemove { name: "zzz".into() })
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("no access entry is named"),
        "{unknown}"
    );

    // Every applied edit is audited at the connector.
    let audit = std::fs::read_to_string(conn.audit_log()).unwrap();
    assert_eq!(audit.matches("access.edited").count(), 3, "{audit}");
}
