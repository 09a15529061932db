//! `portcullis connector windows|close-window` as a separate process against a running
//! connector, whose tunnel goes to a minimal fake hub that pushes a window set and records what
//! the connector sends back. Everything on 127.0.0.1, port 0, readiness from status signals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use portcullis_connector::{ConnectorConfig, Enrollment, Identity, State};
use portcullis_proto::Welcome;
use portcullis_proto::{Message, WindowClosed, WindowInfo, WindowSet};
use portcullis_transport::framed::{read_message, write_message};
use portcullis_transport::pki::{self, Ca};
use portcullis_transport::tls;
use portcullis_transport::tunnel::{hub_read_hello, hub_welcome, MuxSettings};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
const T: Duration = Duration::from_secs(10);
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

/// A hub that accepts one tunnel, sends `windows`, and forwards every control frame the
/// connector sends to the returned channel.
async fn fake_hub(dir: &Path, windows: Vec<WindowInfo>) -> mpsc::UnboundedReceiver<Message> {
    let m = pki::generate_ca("test hub ca").expect("ca");
    let ca = Ca::from_pem(&m.cert_pem, m.key_pem.expose()).expect("load ca");
    let leaf = ca
        .issue_server_cert(&["localhost".into()], DAY)
        .expect("server cert");
    let mut chain = pki::pem_to_der_certs(&leaf.cert_pem).expect("leaf");
    chain.push(ca.cert_der().clone());
    let key = pki::pem_to_private_key(leaf.key_pem.expose()).expect("key");
    let config = tls::tunnel_server_config(chain, key, ca.cert_der().clone()).expect("tls");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");

    let (csr, key) = pki::generate_csr("connector").expect("csr");
    let signed = ca.sign_csr(&csr, "acme/loc1", DAY).expect("sign");
    Identity::new(
        signed.cert_pem,
        key,
        ca.cert_pem().to_owned(),
        Enrollment {
            tunnel_addr: addr.to_string(),
            tunnel_server_name: "localhost".into(),
            connector_id: 1,
            company: "acme".into(),
            location: "loc1".into(),
        },
    )
    .write(&dir.join("data"), false)
    .expect("identity");

    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("connector dials");
        let mut tls = TlsAcceptor::from(config).accept(tcp).await.expect("tls");
        hub_read_hello(&mut tls, T).await.expect("hello");
        let welcome = Welcome {
            hub_version: "9.9.9".into(),
            heartbeat_interval_ms: 1000,
            warning: None,
            features: Vec::new(),
        };
        let (_mux, control) = hub_welcome(tls, welcome, &MuxSettings::default(), T)
            .await
            .expect("welcome");
        let (mut r, mut w) = tokio::io::split(control);
        write_message(&mut w, &Message::WindowSet(WindowSet { windows }))
            .await
            .expect("window set");
        while let Ok(msg) = read_message(&mut r).await {
            if let Message::Heartbeat(hb) = &msg {
                if !hb.ack {
                    let ack = Message::Heartbeat(portcullis_proto::Heartbeat {
                        seq: hb.seq,
                        ack: true,
                    });
                    let _ = write_message(&mut w, &ack).await;
                }
                continue;
            }
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    rx
}

fn window(id: &str, start_ms: i64, end_ms: i64) -> WindowInfo {
    WindowInfo {
        id: id.into(),
        service: format!("acme/PRD/{id}"),
        virtual_host: "prd.internal".into(),
        virtual_port: 22,
        start_ms,
        end_ms,
        closed: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_are_listed_and_closed_through_the_running_connectors_socket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = portcullis_connector::windows::now_ms();
    let mut from_connector = fake_hub(
        dir.path(),
        vec![
            window("w1", now - 60_000, now + 3_600_000),
            window("w2", now + 3_600_000, now + 7_200_000),
        ],
    )
    .await;
    let config: PathBuf = dir.path().join("connector.toml");
    std::fs::write(
        &config,
        "data_dir = \"data\"\n[admin]\nlisten = \"\"\n[[access]]\nname = \"prd\"\nvirtual = \"prd.internal:22\"\ninternal = \"127.0.0.1:1\"\n",
    )
    .expect("config");
    let cfg = ConnectorConfig::load(&config).expect("config loads");
    let shutdown = CancellationToken::new();
    let mut c = portcullis_connector::spawn(cfg, Some(config.clone()), shutdown.clone());
    tokio::time::timeout(
        T,
        c.status
            .wait_for(|s| s.state == State::Connected && s.windows_applied >= 1),
    )
    .await
    .expect("the window set in time")
    .expect("connector runs");
    let cfg_arg = config.to_str().expect("utf-8 path");

    // JSON for scripts.
    let out = run(&["connector", "windows", "--config", cfg_arg, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let states: Vec<(&str, &str)> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|w| (w["id"].as_str().unwrap(), w["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("w1", "open"), ("w2", "reserved")]);
    assert_eq!(listed[0]["target"], "prd.internal:22");
    // A table for people.
    let out = run(&["connector", "windows", "--config", cfg_arg]);
    let table = text(&out.stdout);
    assert!(
        table.contains("WINDOW") && table.contains("acme/PRD/w1") && table.contains("reserved"),
        "{table}"
    );

    let out = run(&[
        "connector",
        "close-window",
        "--config",
        cfg_arg,
        "--window",
        "w1",
        "--by",
        "alice",
        "--reason",
        "done for today",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Closed window w1 (acme/PRD/w1, prd.internal:22)"),
        "{}",
        text(&out.stdout)
    );
    let told = loop {
        match tokio::time::timeout(T, from_connector.recv())
            .await
            .expect("the hub hears of it")
            .expect("tunnel up")
        {
            Message::WindowClosed(c) => break c,
            _ => continue,
        }
    };
    assert_eq!(
        told,
        WindowClosed {
            id: "w1".into(),
            by: "alice".into(),
            reason: Some("done for today".into()),
        }
    );
    let out = run(&["connector", "windows", "--config", cfg_arg]);
    assert!(
        text(&out.stdout).contains("closed at connector by alice"),
        "{}",
        text(&out.stdout)
    );

    // Clear refusals: an unknown window, a closed one, a connector that is not running.
    let out = run(&[
        "connector",
        "close-window",
        "--config",
        cfg_arg,
        "--window",
        "w9",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown window: the connector does not know window w9"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&[
        "connector",
        "close-window",
        "--config",
        cfg_arg,
        "--window",
        "w1",
        "--by",
        "bob",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already closed"),
        "{}",
        text(&out.stderr)
    );

    // One access entry added by its fields (the admin UI wizard's operation): a protocol
    // the back-end type does not offer is refused with the reason; a good one is in force
    // when the verb answers.
    let add = |backend: &'static str, protocol: &'static str| {
        run(&[
            "connector",
            "access",
            "add",
            "--config",
            cfg_arg,
            "--name",
            "web",
            "--virtual",
            "web.internal:80",
            "--internal",
            "127.0.0.1:1",
            "--protocol",
            protocol,
            "--backend-type",
            backend,
            "--by",
            "carol",
        ])
    };
    let out = add("PI", "ni");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("ni is not offered for back-end type PI"),
        "{}",
        text(&out.stderr)
    );
    let out = add("PI", "http");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("added: web (version ")
            && text(&out.stdout).contains("in force"),
        "{}",
        text(&out.stdout)
    );
    let file = std::fs::read_to_string(&config).expect("config");
    assert!(
        file.contains("name = \"web\"") && file.contains("backend_type = \"PI\""),
        "{file}"
    );

    // The trust store, through the same socket: empty, one added, listed, removed.
    let out = run(&["connector", "trust", "list", "--config", cfg_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the trust store is empty"),
        "{}",
        text(&out.stdout)
    );
    let erp_ca = pki::generate_ca("ERP CA").expect("ca");
    let ca_file = dir.path().join("erp-ca.pem");
    std::fs::write(&ca_file, &erp_ca.cert_pem).expect("ca file");
    let out = run(&[
        "connector",
        "trust",
        "add",
        "--config",
        cfg_arg,
        "--name",
        "erp",
        ca_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Added data/trust/erp.pem")
            && text(&out.stdout).contains("ERP CA"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&["connector", "trust", "list", "--config", cfg_arg, "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(listed["certificates"][0]["file"], "data/trust/erp.pem");
    assert_eq!(listed["certificates"][0]["ca"], true);
    let table = text(&run(&["connector", "trust", "list", "--config", cfg_arg]).stdout);
    assert!(
        table.contains("SUBJECT") && table.contains("ERP CA"),
        "{table}"
    );
    let out = run(&["connector", "trust", "remove", "--config", cfg_arg, "erp"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["connector", "trust", "remove", "--config", cfg_arg, "erp"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("has no file \"erp\""),
        "{}",
        text(&out.stderr)
    );

    // Trust all: on only with its confirmation, then off again; the file says so each time.
    let cfg_text = || std::fs::read_to_string(&config).expect("config");
    let out = run(&["connector", "trust", "all", "--config", cfg_arg, "on"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--yes-trust-every-back-end"),
        "{}",
        text(&out.stderr)
    );
    assert!(!cfg_text().contains("trust_all = true"), "{}", cfg_text());
    let on = ["connector", "trust", "all", "--config", cfg_arg, "on"];
    let out = run(&[&on[..], &["--yes-trust-every-back-end"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(cfg_text().contains("trust_all = true"), "{}", cfg_text());
    let out = run(&["connector", "trust", "all", "--config", cfg_arg, "off"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(cfg_text().contains("trust_all = false"), "{}", cfg_text());
    let out = run(&["connector", "trust", "all", "--config", cfg_arg, "off"]);
    assert!(
        text(&out.stdout).contains("nothing changed"),
        "{}",
        text(&out.stdout)
    );

    shutdown.cancel();
    tokio::time::timeout(T, c.join)
        .await
        .expect("stops in time")
        .expect("join")
        .expect("clean stop");
    let out = run(&["connector", "windows", "--config", cfg_arg]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the connector is not running"),
        "{}",
        text(&out.stderr)
    );

    let audit = std::fs::read_to_string(dir.path().join("data").join("audit.log")).expect("audit");
    assert!(audit.contains("\"action\":\"window.closed\""), "{audit}");

    // The connector's own audit log verifies, and an edit or a deletion is named by line.
    let out = run(&["connector", "audit-verify", "--config", cfg_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<&str> = audit.lines().collect();
    assert!(
        text(&out.stdout).starts_with(&format!("intact: {} records", lines.len())),
        "{}",
        text(&out.stdout)
    );
    let at = lines
        .iter()
        .position(|l| l.contains("\"by\":\"alice\""))
        .expect("the close names alice");
    let copy = dir.path().join("copy.log");
    let mut edited = lines.clone();
    let forged = lines[at].replace("\"by\":\"alice\"", "\"by\":\"mallory\"");
    edited[at] = &forged;
    std::fs::write(&copy, edited.join("\n") + "\n").expect("copy");
    let out = run(&[
        "connector",
        "audit-verify",
        "--file",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("line {}: hash chain broken", at + 1)),
        "{}",
        text(&out.stdout)
    );
    let mut removed = lines.clone();
    removed.remove(0);
    std::fs::write(&copy, removed.join("\n") + "\n").expect("copy");
    let out = run(&[
        "connector",
        "audit-verify",
        "--file",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("line 1: hash chain broken"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&[
        "connector",
        "audit-verify",
        "--file",
        "/nonexistent/audit.log",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_self_signed_system_certificate_is_written_with_a_private_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("system.pem");
    let key = dir.path().join("system.key");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "connector",
            "system-certificate",
            "generate",
            "--subject",
            "CN=connector-berlin, O=ACME, C=DE",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    let out = args(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("system_certificate_key"));
    assert!(std::fs::read_to_string(&cert)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The connector loads what was written.
    portcullis_connector::backend_tls::BackendTls::load(
        &portcullis_connector::backend_tls::BackendTlsConfig {
            trust_all: true,
            trust_store: vec![],
            system_certificate: Some((cert.clone(), key.clone())),
        },
    )
    .unwrap();
    // No silent overwrite.
    let again = args(&[]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    assert!(args(&["--force"]).status.success());
}

/// Issue 13, class 4: a log that ends in half a record (a crash, a full disk) is a torn tail,
/// not an edit — `audit-verify` says so with its own exit status (3); an edited record still
/// says edited (1); the connector sets the tail aside when it starts, records
/// `audit.repaired`, and the log verifies again (0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_is_told_from_an_edit_and_set_aside_when_the_connector_starts() {
    use portcullis_connector::audit::{read_records, AuditAction, AuditEvent, AuditLog};
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let now = portcullis_connector::windows::now_ms();
    let _hub = fake_hub(
        dir.path(),
        vec![window("w1", now - 60_000, now + 3_600_000)],
    )
    .await;
    let log = dir.path().join("data").join("audit.log");
    {
        let audit = AuditLog::open(&log).expect("open");
        for n in 0..3 {
            audit
                .record(AuditEvent::new(
                    AuditAction::AclReloaded,
                    "ok",
                    serde_json::json!({ "n": n }),
                ))
                .expect("write");
        }
    }
    let whole = std::fs::read_to_string(&log).expect("read");
    // What a write cut short leaves: the start of a record, no end of line.
    let half = "{\"seq\":3,\"at\":\"2026-12-07T05:00:00Z\",\"action\":\"sess";
    std::fs::write(&log, format!("{whole}{half}")).expect("tear");
    let log_arg = log.to_str().expect("utf-8");

    let out = run(&["connector", "audit-verify", "--file", log_arg]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{said}{}", text(&out.stderr));
    assert!(
        said.contains("TORN TAIL") && said.contains("line 4") && !said.contains("BROKEN"),
        "{said}"
    );

    // An edited record before the torn tail is an edit.
    let copy = dir.path().join("edited.log");
    std::fs::write(
        &copy,
        format!("{}{half}", whole.replacen("\"n\":1", "\"n\":9", 1)),
    )
    .expect("copy");
    let out = run(&[
        "connector",
        "audit-verify",
        "--file",
        copy.to_str().unwrap(),
    ]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("BROKEN (edited)") && said.contains("line 2: hash chain broken"),
        "{said}"
    );

    // The connector starts, sets the tail aside and records it.
    let config: PathBuf = dir.path().join("connector.toml");
    std::fs::write(&config, "data_dir = \"data\"\n[admin]\nlisten = \"\"\n").expect("config");
    let cfg = ConnectorConfig::load(&config).expect("config loads");
    let shutdown = CancellationToken::new();
    let mut c = portcullis_connector::spawn(cfg, Some(config.clone()), shutdown.clone());
    tokio::time::timeout(T, c.status.wait_for(|s| s.state == State::Connected))
        .await
        .expect("connected in time")
        .expect("connector runs");
    shutdown.cancel();
    tokio::time::timeout(T, c.join)
        .await
        .expect("stops in time")
        .expect("no panic")
        .expect("clean stop");

    let out = run(&[
        "connector",
        "audit-verify",
        "--config",
        config.to_str().unwrap(),
    ]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(said.starts_with("intact: "), "{said}");
    assert!(
        said.contains("repaired at seq 3")
            && said.contains(&format!("torn tail of {} bytes", half.len()))
            && said.contains("kept, SHA-256 matches"),
        "{said}"
    );
    let records = read_records(&log).expect("records");
    assert_eq!(records[3].action, "audit.repaired");
    let aside = dir
        .path()
        .join("data")
        .join(records[3].detail["file"].as_str().expect("file named"));
    assert_eq!(std::fs::read_to_string(&aside).expect("kept"), half);
    assert_eq!(
        std::fs::metadata(&aside).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&log)
        .expect("read")
        .starts_with(&whole));
}
