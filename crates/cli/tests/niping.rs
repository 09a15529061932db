//! `portcullis niping` as separate processes: a server on an ephemeral port, announced on its
//! stdout, and clients against it and against a port nobody listens on.

use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// Upper bound for anything a test waits for, so a bug fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

/// A `portcullis niping -s` child, killed when dropped (also when an assertion fails).
struct ServerProc {
    child: Child,
    port: u16,
}

impl ServerProc {
    /// Starts the server on port 0 and waits for its readiness line.
    async fn start() -> ServerProc {
        let mut child = Command::new(BIN)
            .args(["niping", "-s", "-S", "0", "-H", "127.0.0.1"])
            .env("PORTCULLIS_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        // Guard first: from here on a failed assertion still kills the child.
        let mut server = ServerProc { child, port: 0 };
        let line = tokio::time::timeout(PATIENCE, BufReader::new(stdout).lines().next_line())
            .await
            .expect("readiness line in time")
            .expect("stdout readable")
            .expect("a readiness line before stdout closed");
        let addr = line
            .strip_prefix("niping server listening on ")
            .unwrap_or_else(|| panic!("unexpected readiness line {line:?}"));
        server.port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        server
    }

    /// Kills the server and waits for it to exit.
    async fn stop(mut self) {
        self.child.kill().await.expect("the server can be killed");
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn niping(args: &[&str]) -> Output {
    let run = Command::new(BIN)
        .arg("niping")
        .args(args)
        .env("PORTCULLIS_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(PATIENCE, run)
        .await
        .expect("the client finishes in time")
        .expect("the binary runs")
}

#[tokio::test]
async fn a_client_measures_the_server() {
    let server = ServerProc::start().await;
    let port = server.port.to_string();
    let out = niping(&[
        "-c",
        "-H",
        "127.0.0.1",
        "-S",
        &port,
        "-L",
        "5",
        "-B",
        "2000",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.starts_with("connect to server o.k.\n"), "{stdout}");
    assert!(
        stdout.contains("send and receive 5 messages (len 2000)"),
        "{stdout}"
    );
    for label in ["avg", "max", "min", "tr", "av2", "tr2"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{label} "))),
            "no {label} line in:\n{stdout}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_against_a_closed_port_fails_readably() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    drop(listener);
    let out = niping(&["-c", "-H", "127.0.0.1", "-S", &port, "-L", "1"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("cannot connect to 127.0.0.1:{port}"))
            && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
}

#[tokio::test]
async fn a_buffer_shorter_than_the_eye_catcher_is_refused() {
    let out = niping(&["-c", "-H", "127.0.0.1", "-B", "4"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("eye catcher"), "{stderr}");
}
