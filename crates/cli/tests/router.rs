//! `portcullis router` as a separate process with SAProuter's letters: start on an ephemeral
//! port (announced on stdout), administer it from the same host, stop it.

use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `portcullis router -r`, killed when dropped.
struct RouterProc {
    child: Child,
    port: String,
    dir: tempfile::TempDir,
}

impl Drop for RouterProc {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start(table: &str) -> RouterProc {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("saprouttab"), table).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "router",
            "-r",
            "-S",
            "0",
            "-H",
            "127.0.0.1",
            "-R",
            "saprouttab",
        ])
        .args(["-G", "saprouter.log", "-T", "dev_rout", "-V", "2"])
        .current_dir(dir.path())
        .env("PORTCULLIS_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut proc = RouterProc {
        child,
        port: String::new(),
        dir,
    };
    let mut lines = BufReader::new(stdout).lines();
    let ready = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("portcullis router listening on ") {
                return addr.rsplit(':').next().unwrap().to_owned();
            }
        }
        panic!("stdout closed before the readiness line")
    };
    proc.port = tokio::time::timeout(PATIENCE, ready)
        .await
        .expect("ready in time");
    proc
}

async fn router(args: &[&str]) -> Output {
    let run = Command::new(BIN)
        .arg("router")
        .args(args)
        .env("PORTCULLIS_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(PATIENCE, run)
        .await
        .expect("finishes in time")
        .expect("runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn start_list_reload_cancel_and_stop() {
    let mut r = start("P * * *\n").await;
    let admin = |cmd: &'static str| {
        let port = r.port.clone();
        async move { router(&[cmd, "-H", "127.0.0.1", "-S", &port]).await }
    };
    let list = admin("-l").await;
    assert!(list.status.success(), "{}", text(&list));
    let listing = text(&list);
    assert!(
        listing.contains(&format!("running on port {}", r.port)),
        "{listing}"
    );
    assert!(listing.contains("Total no. of clients: 1"), "{listing}");
    assert!(
        listing.contains("Routtab             : saprouttab"),
        "{listing}"
    );

    let long = admin("-L").await;
    assert!(text(&long).contains("FLAGS"), "{}", text(&long));

    let reload = admin("-n").await;
    assert!(reload.status.success());
    assert!(text(&reload).contains("route permission table reloaded"));

    // A table that does not parse: refused with the line, the old one stays.
    std::fs::write(r.dir.path().join("saprouttab"), "P * * *\nQ * *\n").unwrap();
    let bad = admin("-n").await;
    assert!(!bad.status.success());
    assert!(text(&bad).contains("line 2"), "{}", text(&bad));

    let port = r.port.clone();
    let cancel = router(&["-c", "999", "-H", "127.0.0.1", "-S", &port]).await;
    assert!(!cancel.status.success());
    assert!(
        text(&cancel).contains("NIEROUT_NOCLIENT (-102)"),
        "{}",
        text(&cancel)
    );

    let stop = admin("-s").await;
    assert!(stop.status.success(), "{}", text(&stop));
    let status = tokio::time::timeout(PATIENCE, r.child.wait())
        .await
        .expect("the router exits after -s")
        .unwrap();
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(r.dir.path().join("saprouter.log")).unwrap();
    assert!(
        log.contains("INIT LOGFILE") && log.contains("READ ROUTTAB"),
        "{log}"
    );
}

#[tokio::test]
async fn refusals_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothere");
    let out = router(&[
        "-r",
        "-S",
        "0",
        "-H",
        "127.0.0.1",
        "-R",
        missing.to_str().unwrap(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(text(&out).contains("nothere"), "{}", text(&out));

    let snc = router(&["-r", "-K", "p:CN=router"]).await;
    assert!(!snc.status.success());
    assert!(text(&snc).contains("--tls-cert"), "{}", text(&snc));

    let two = router(&["-r", "-s"]).await;
    assert!(!two.status.success(), "one action at a time");

    let long_pw = router(&["-r", "-P", "twenty-characters-xx"]).await;
    assert!(text(&long_pw).contains("at most 19"), "{}", text(&long_pw));
}
