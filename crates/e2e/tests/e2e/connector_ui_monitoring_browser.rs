//! The connector admin UI's monitoring, live sessions and audit viewer in real headless
//! Chromium (tests/browser/scenarios/connector_ui_monitoring.mjs): hardware charts with
//! samples, the other monitoring pages after real traffic, cutting a live echo session held
//! open here (its stream ends), the audit viewer with a filter and the chain check, the audit
//! level set to all (the next request is recorded). axe-core on
//! every page; screenshots with `PORTCULLIS_SCREENSHOTS=$PWD/docs/connector-ui`.

use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::WAIT;
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::connector_ui::NEW_PASSWORD;
use super::connector_ui_monitoring::{samples, web_get, world};

#[tokio::test]
async fn connector_ui_monitoring_in_chromium_charts_sessions_cut_audit() {
    let w = world().await;
    web_get(&w).await;
    samples(&w).await;
    let mut s = match socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Connected(s) => s,
        other => panic!("not connected: {other:?}"),
    };
    assert_eq!(echo_round_trip(&mut s, b"ping").await.unwrap(), b"ping");
    let addr = w.conn.admin_addr().expect("the admin UI listens");
    let once = std::fs::read_to_string(w.conn.data_dir().join("admin/initial-password")).unwrap();
    portcullis_test_support::browser::run(
        "connector_ui_monitoring",
        &json!({
            "url": format!("https://{addr}"),
            "initial_password": once.trim(),
            "new_password": NEW_PASSWORD,
        }),
    )
    .await;
    // The cut in the browser ended the stream.
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(WAIT, s.read(&mut buf))
        .await
        .expect("the stream ends");
    assert!(matches!(n, Ok(0) | Err(_)), "the stream ended: {n:?}");
    // The level set in the browser is in the configuration file and in force.
    let toml = std::fs::read_to_string(w.conn.config_path()).unwrap();
    assert!(
        toml.contains("level = \"all\"") && toml.contains("retention_days = 90"),
        "{toml}"
    );
    web_get(&w).await;
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"action\":\"http.allowed\""), "{log}");
}
