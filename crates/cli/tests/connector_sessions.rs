//! `portcullis connector sessions [--json]` and `portcullis connector sessions cut ID` as a
//! separate process against a running connector (whose hub is unreachable: the admin socket
//! answers anyway, and no session runs). The cut of a real session is proved end to end in
//! `e2e/tests/e2e/connector_ui_monitoring.rs`. Everything on 127.0.0.1.

mod common;

use common::{identity, run, text, T};
use portcullis_connector::ConnectorConfig;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_verbs_list_and_refuse_an_unknown_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    identity(dir.path());
    let config = dir.path().join("connector.toml");
    std::fs::write(
        &config,
        "data_dir = \"data\"\n[admin]\nlisten = \"\"\n[reconnect]\ninitial_ms = 1000\nmax_ms = 5000\n",
    )
    .expect("config");
    let cfg = ConnectorConfig::load(&config).expect("config loads");
    let shutdown = CancellationToken::new();
    let c = portcullis_connector::spawn(cfg, Some(config.clone()), shutdown.clone());
    let cfg_arg = config.to_str().expect("utf-8 path");
    let socket = dir.path().join("data/connector.sock");
    common::socket_ready(&socket).await;

    let out = run(&["connector", "sessions", "--config", cfg_arg, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(list, serde_json::json!([]));
    let out = run(&["connector", "sessions", "--config", cfg_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("no live session"),
        "{}",
        text(&out.stdout)
    );

    let out = run(&[
        "connector",
        "sessions",
        "--config",
        cfg_arg,
        "cut",
        "7",
        "--by",
        "alice",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no live session has the id 7"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["connector", "sessions"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--config FILE"),
        "{}",
        text(&out.stderr)
    );

    shutdown.cancel();
    let _ = tokio::time::timeout(T, c.join).await;
}
