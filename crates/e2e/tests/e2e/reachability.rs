//! Reachability of access entries (CC-20): on demand through the connector's admin socket
//! (what `portcullis connector check` asks), and after a reload that adds an entry (audited).

use portcullis_connector::local::{Request, Response};

use portcullis_test_support::{echo_server, http_server, TestConnector, TestHub};

#[tokio::test]
async fn entries_are_checked_on_demand_and_after_a_reload() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let echo = echo_server().await;
    let web = http_server().await;
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let mut conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("echo", "echo.internal:7", echo)
        .expose_with(
            "web",
            "web.internal:80",
            web,
            "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\n",
        )
        .expose("gone", "gone.internal:9", closed)
        .run()
        .await;
    let data_dir = conn.dir.path().join("data");

    let Response::Reachability { results } =
        portcullis::connector_admin::request(&data_dir, &Request::Check { entry: None })
            .await
            .unwrap()
    else {
        panic!("a reachability answer")
    };
    let by_name = |n: &str| results.iter().find(|r| r.entry == n).unwrap().clone();
    let echo_r = by_name("echo");
    assert!(
        echo_r.reachable && echo_r.detail == "TCP connect",
        "{echo_r:?}"
    );
    let web_r = by_name("web");
    assert!(web_r.reachable && web_r.detail == "HTTP 200", "{web_r:?}");
    let gone = by_name("gone");
    assert!(!gone.reachable, "{gone:?}");
    assert!(gone.detail.contains("refused"), "{gone:?}");

    // An unknown entry is an error the client turns into a message.
    let err = portcullis::connector_admin::request(
        &data_dir,
        &Request::Check {
            entry: Some("nope".into()),
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("no access entry is named \"nope\""),
        "{err}"
    );

    // A reload that adds an entry checks it and audits the result.
    let echo2 = echo_server().await;
    conn = conn.expose("echo2", "echo2.internal:7", echo2);
    conn.write_config();
    let audit = conn.audit_log();
    let seen = async {
        loop {
            let text = std::fs::read_to_string(&audit).unwrap_or_default();
            if text
                .lines()
                .any(|l| l.contains("access.reachability") && l.contains("echo2"))
            {
                return text;
            }
            tokio::task::yield_now().await;
        }
    };
    let text = tokio::time::timeout(std::time::Duration::from_secs(20), seen)
        .await
        .expect("the new entry is checked after the reload");
    let event: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|e: &serde_json::Value| e["action"] == "access.reachability")
        .unwrap();
    assert_eq!(event["outcome"], "reachable", "{event}");
    assert_eq!(event["detail"]["entry"], "echo2", "{event}");
}
