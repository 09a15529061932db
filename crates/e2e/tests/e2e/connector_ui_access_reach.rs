//! The access list shows each entry's last reachability result from every check: the
//! connector's own after a change of the list (no one pressed "Check"), and the checks asked
//! for through the socket, the UI or the API, all kept in one place (`Shared::reach`).

use std::time::Duration;

use portcullis_test_support::WAIT;
use serde_json::Value;

use super::connector_ui::{api, first_logon, world, NEW_PASSWORD};

#[tokio::test]
async fn an_imported_entry_shows_the_connector_s_own_reachability_check() {
    let w = world().await;
    let c = w.client();
    first_logon(&c, "Administrator", &w.initial_password()).await;
    let admin = |m: &'static str, p: &'static str, b: Option<String>| {
        let c = &c;
        async move { api(c, "Administrator", NEW_PASSWORD, m, p, b.as_deref()).await }
    };
    let list: Value =
        serde_json::from_str(&admin("GET", "/api/v1/access", None).await.body).unwrap();
    let echo = list["entries"][0]["entry"]["internal"]
        .as_str()
        .unwrap_or_else(|| panic!("the echo entry's internal address: {list}"))
        .to_owned();
    // A reachable and an unreachable entry, imported: nobody asks for a check.
    let toml = format!(
        "[[access]]\nname = \"up\"\nvirtual = \"up.internal:7\"\ninternal = \"{echo}\"\n\
         [[access]]\nname = \"down\"\nvirtual = \"down.internal:7\"\ninternal = \"127.0.0.1:1\"\n"
    );
    let body = serde_json::json!({ "toml": toml }).to_string();
    let r = admin("POST", "/api/v1/access/import", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The reload checks the new entries on its own; the list shows what it found.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = c.get("/access").await;
        let up = page.body.contains("reachable (");
        let down = page.body.contains("not reachable:");
        if up && down {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reachability shown for the imported entries: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list: Value =
        serde_json::from_str(&admin("GET", "/api/v1/access", None).await.body).unwrap();
    let of = |name: &str| {
        list["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["entry"]["name"] == name)
            .map(|e| e["reachability"]["reachable"].clone())
    };
    assert_eq!(of("up"), Some(Value::Bool(true)), "{list}");
    assert_eq!(of("down"), Some(Value::Bool(false)), "{list}");
}
