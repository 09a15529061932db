//! `portcullis healthcheck URL` as a separate process against a real hub's `/readyz` (plain
//! HTTP on `[listen] metrics`) and a real connector's (HTTPS on its admin listener, trusted
//! with `--ca`): 0 when ready, 1 when the endpoint says not ready, 2 when nothing answers.

use std::process::Output;

use portcullis_test_support::{echo_server, TestConnector, TestHub};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

async fn healthcheck(args: &[&str]) -> Output {
    tokio::process::Command::new(BIN)
        .arg("healthcheck")
        .args(args)
        .output()
        .await
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn healthcheck_exits_by_readiness_of_the_hub_and_the_connector() {
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    let (conn, _system, _sc) = hub
        .prd_echo_service_with(echo, TestConnector::with_admin_ui)
        .await;

    let ready = format!("{}/readyz", hub.metrics_url());
    let out = healthcheck(&[&ready]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "ready");

    // The connector's admin listener, with its self-signed certificate as the trust.
    let ca = conn.data_dir().join("admin/ui-cert.pem");
    let admin = conn.admin_addr().expect("the admin UI listens");
    let url = format!("https://127.0.0.1:{}/readyz", admin.port());
    let out = healthcheck(&["--ca", ca.to_str().unwrap(), &url]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Without it the certificate is not trusted: no answer.
    let out = healthcheck(&[&url]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("TLS"), "{}", text(&out.stderr));

    // Nothing listens: no answer.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/readyz", free.local_addr().unwrap());
    drop(free);
    let out = healthcheck(&[&closed]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // A stop has begun: not ready, and why.
    hub.state().tasks.close();
    let out = healthcheck(&[&ready]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("503"), "{}", text(&out.stderr));
}
