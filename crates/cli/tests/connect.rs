//! `portcullis connect` as a user runs it: the real binary against the quickstart's hub and
//! connector, by a service connection's name alone and by location plus virtual target.
//! Readiness is the "Forwarding <addr> → …" line on standard output.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use portcullis::quickstart::{self, Info};
use portcullis_test_support::clients::echo_round_trip;
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// A running `portcullis connect`; killed on drop.
struct Forwarder(Child);

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn base_args(info: &Info, token: &str) -> Vec<String> {
    vec![
        "connect".into(),
        "--hub".into(),
        info.api_url.clone(),
        "--ca".into(),
        info.ca_cert.display().to_string(),
        "--token".into(),
        token.into(),
    ]
}

/// Starts `portcullis connect … target --listen 127.0.0.1:0` and returns the address it
/// printed.
async fn forward(info: &Info, token: &str, target: &[&str]) -> (Forwarder, SocketAddr, String) {
    let mut args = base_args(info, token);
    args.extend(target.iter().map(|s| s.to_string()));
    args.extend(["--listen".into(), "127.0.0.1:0".into()]);
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .strip_prefix("Forwarding ")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .parse()
            .unwrap();
        (Forwarder(child), addr, line)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn connect_by_service_name_or_by_location_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let qs = quickstart::start(dir.path()).await.unwrap();
    let info = qs.info.clone();
    let echo = info
        .services
        .iter()
        .find(|s| s.connection_type == "generic_tcp")
        .expect("the demo's generic TCP service")
        .entry
        .clone();

    // A support engineer names the service connection alone; its window is open.
    let (_f, addr, line) = forward(&info, &info.engineer_token, &[&echo]).await;
    assert!(line.contains(&echo), "{line}");
    let mut s = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        echo_round_trip(&mut s, b"by name").await.unwrap(),
        b"by name"
    );

    // The cloud application names its connector's location and virtual host.
    let (_g, addr, _) = forward(&info, &info.token, &[&info.location, "echo.demo:7"]).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        echo_round_trip(&mut s, b"by location").await.unwrap(),
        b"by location"
    );

    // A plain host alone is refused before anything listens, with what to write instead.
    let mut args = base_args(&info, &info.token);
    args.push("echo.demo:7".into());
    let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a service connection name")
            && err.contains("portcullis connect <LOCATION> echo.demo:7"),
        "{err}"
    );
    qs.shutdown().await;
}
