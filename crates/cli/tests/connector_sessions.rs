//! `portcullis connector sessions [--json]` and `portcullis connector sessions cut ID` as a
//! separate process against a running connector (whose hub is unreachable: the admin socket
//! answers anyway, and no session runs). The cut of a real session is proved end to end in
//! `e2e/tests/e2e/connector_ui_monitoring.rs`. Everything on 127.0.0.1.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use portcullis_connector::{ConnectorConfig, Enrollment, Identity};
use portcullis_transport::pki::{self, Ca};
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
const T: Duration = Duration::from_secs(20);
const DAY: Duration = Duration::from_secs(86_400);

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_CONNECTOR_CONFIG")
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An identity whose hub is a closed port: the connector keeps retrying, its socket serves.
fn identity(dir: &Path) {
    let m = pki::generate_ca("test hub ca").expect("ca");
    let ca = Ca::from_pem(&m.cert_pem, m.key_pem.expose()).expect("load ca");
    let (csr, key) = pki::generate_csr("connector").expect("csr");
    let signed = ca.sign_csr(&csr, "acme/loc1", DAY).expect("sign");
    Identity::new(
        signed.cert_pem,
        key,
        ca.cert_pem().to_owned(),
        Enrollment {
            tunnel_addr: "127.0.0.1:1".into(),
            tunnel_server_name: "localhost".into(),
            connector_id: 1,
            company: "acme".into(),
            location: "loc1".into(),
        },
    )
    .write(&dir.join("data"), false)
    .expect("identity");
}

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
    let deadline = Instant::now() + T;
    while !socket.exists() {
        assert!(Instant::now() < deadline, "the admin socket never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

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
