//! Alerting (issue #17 part 3): a real connector raises an alert per category, once while its
//! condition lasts, and a recovery notice when it clears; each is delivered to a real SMTP
//! server (aiosmtpd over STARTTLS with AUTH, from `scripts/smtp-venv`, which `scripts/test`
//! runs) and to a webhook receiver that checks the signature. A delivery the receiver refused
//! is retried; one pending when the connector stops is made after its restart.
//!
//! The conditions are real: the hub stopped (tunnel), a busy thread with the CPU threshold at
//! 0 % (cpu), a free-disk threshold above the disk's size (disk), a validity threshold longer
//! than the client certificate's life (certificate), an entry whose back end is a closed port
//! (backend). They clear by the configuration file's next version and the hub's restart.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use portcullis::connector_admin::request;
use portcullis_connector::alerts::book::AlertStatus;
use portcullis_connector::alerts::AlertsView;
use portcullis_connector::local::{Request, Response};
use portcullis_test_support::{TestConnector, TestHub};
use rcgen::ExtendedKeyUsagePurpose;
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;

use crate::backend_tls::{ca, leaf};

const CATEGORIES: [&str; 5] = ["tunnel", "cpu", "disk", "certificate", "backend"];
pub(crate) const SECRET: &str = "webhook-secret-for-the-test-0123";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// aiosmtpd on 127.0.0.1 port 0 (killed when dropped) and the directory it writes mail to.
struct Smtp {
    _child: tokio::process::Child,
    port: u16,
    mailbox: PathBuf,
    ca_file: PathBuf,
}

async fn smtp(dir: &Path) -> Smtp {
    let python = workspace().join("target/smtp-venv/bin/python");
    assert!(
        python.exists(),
        "aiosmtpd is not installed: run ./scripts/smtp-venv (./scripts/test does)"
    );
    let ca = ca("Test mail CA");
    let (cert, key, _, _) = leaf(&ca, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    for (name, text) in [
        ("smtp.pem", &cert),
        ("smtp.key", &key),
        ("smtp-ca.pem", &ca.pem),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let mailbox = dir.join("mailbox");
    std::fs::create_dir(&mailbox).unwrap();
    let mut child = tokio::process::Command::new(python)
        .arg(workspace().join("tests/smtp/server.py"))
        .args([dir.join("smtp.pem"), dir.join("smtp.key")])
        .args(["alerts", "mail-password"])
        .arg(&mailbox)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the SMTP server did not get ready")
        .unwrap()
        .expect("the SMTP server ended");
    let port = line.strip_prefix("READY ").unwrap().parse().unwrap();
    Smtp {
        _child: child,
        port,
        mailbox,
        ca_file: dir.join("smtp-ca.pem"),
    }
}

/// The subjects of the mails received so far, by file name order.
fn subjects(mailbox: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(mailbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            assert!(text.contains("X-Envelope-To: basis@example.com"), "{text}");
            text.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// A webhook receiver: records every request whose signature verifies; answers 500 while
/// `fail` is set (counting those).
#[derive(Default)]
pub(crate) struct Hook {
    pub(crate) got: Mutex<Vec<(String, serde_json::Value)>>,
    pub(crate) refused: AtomicUsize,
    pub(crate) fail: AtomicBool,
    pub(crate) bad_signatures: AtomicUsize,
}

pub(crate) async fn webhook(hook: Arc<Hook>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let hook = hook.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let hook = hook.clone();
                        async move {
                            let delivery = req.headers()["portcullis-delivery"]
                                .to_str()
                                .unwrap()
                                .to_owned();
                            let sig = req.headers()["portcullis-signature"]
                                .to_str()
                                .unwrap()
                                .to_owned();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let (t, v1) = sig.split_once(',').unwrap();
                            let t = t.strip_prefix("t=").unwrap();
                            let mut mac =
                                Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                            mac.update(format!("{t}.").as_bytes());
                            mac.update(&body);
                            let want = v1.strip_prefix("v1=").unwrap();
                            if mac.verify_slice(&hex::decode(want).unwrap()).is_err() {
                                hook.bad_signatures.fetch_add(1, Ordering::SeqCst);
                            }
                            let status = if hook.fail.load(Ordering::SeqCst) {
                                hook.refused.fetch_add(1, Ordering::SeqCst);
                                500
                            } else {
                                hook.got
                                    .lock()
                                    .unwrap()
                                    .push((delivery, serde_json::from_slice(&body).unwrap()));
                                200
                            };
                            let mut r = hyper::Response::new(Full::new(Bytes::new()));
                            *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, Infallible>(r)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

/// `(category, event)` counts of the webhook calls received.
pub(crate) fn hook_counts(hook: &Hook) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for (_, v) in hook.got.lock().unwrap().iter() {
        let k = (
            v["category"].as_str().unwrap().to_owned(),
            v["event"].as_str().unwrap().to_owned(),
        );
        *m.entry(k).or_default() += 1;
    }
    m
}

fn mail_counts(mailbox: &Path) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for s in subjects(mailbox) {
        // "[Portcullis <location>] ALERT cpu: …"
        let rest = s.split_once("] ").unwrap().1;
        let (event, rest) = rest.split_once(' ').unwrap();
        let category = rest.split_once(':').unwrap().0;
        let event = if event == "ALERT" {
            "raised"
        } else {
            "resolved"
        };
        *m.entry((category.to_owned(), event.to_owned()))
            .or_default() += 1;
    }
    m
}

async fn alerts(data_dir: &Path) -> AlertsView {
    match request(data_dir, &Request::Alerts).await.unwrap() {
        Response::Alerts { view } => view,
        other => panic!("not alerts: {other:?}"),
    }
}

/// Polls `f` (every 100 ms, up to 60 s) until it returns `Some`.
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn until_async_cpu_resolved(data: &Path) {
    for _ in 0..600 {
        let v = alerts(data).await;
        if v.alerts
            .iter()
            .any(|a| a.category.name() == "cpu" && a.status == AlertStatus::Resolved)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the CPU alert was not resolved by the new threshold");
}

fn alerts_toml(dir: &Path, smtp: &Smtp, hook: SocketAddr, raise: bool) -> String {
    let (cpu, disk, days) = if raise {
        (0, 1_000_000_000_000u64, 3650)
    } else {
        (100, 0, 0)
    };
    format!(
        r#"
[monitoring]
hardware_interval_ms = 200
disk_interval_ms = 200

[alerts]
check_interval_ms = 200
backend_interval_ms = 300
tunnel_tolerance_secs = 2
cpu_load_percent = {cpu}
cpu_tolerance_secs = 0
free_disk_mb = {disk}
certificate_validity_days = {days}

[alerts.email]
smtp_host = "127.0.0.1"
smtp_port = {port}
security = "starttls"
user = "alerts"
password_file = "{pw}"
from = "Connector <connector@example.com>"
to = ["basis@example.com"]
ca_file = "{ca}"

[[alerts.webhook]]
url = "http://{hook}/portcullis"
secret_file = "{secret}"
"#,
        port = smtp.port,
        pw = dir.join("smtp-password").display(),
        ca = smtp.ca_file.display(),
        secret = dir.join("hook-secret").display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_category_is_delivered_once_by_mail_and_webhook_with_its_recovery() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smtp-password"), "mail-password\n").unwrap();
    std::fs::write(dir.path().join("hook-secret"), format!("{SECRET}\n")).unwrap();
    let smtp = smtp(dir.path()).await;
    let hook = Arc::new(Hook::default());
    hook.fail.store(true, Ordering::SeqCst); // the first calls are refused, then retried
    let hook_addr = webhook(hook.clone()).await;
    // A closed port: bound, then released.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let live_addr = live.local_addr().unwrap();
    tokio::spawn(async move { while live.accept().await.is_ok() {} });

    // The CPU works from before the connector starts until its threshold is sane again, so
    // the CPU condition holds from the first sample on and is raised once.
    let busy = Arc::new(AtomicBool::new(true));
    let spinner = {
        let busy = busy.clone();
        std::thread::spawn(move || {
            let mut x = 0u64;
            while busy.load(Ordering::Relaxed) {
                x = x.wrapping_add(1);
                std::hint::black_box(x);
            }
        })
    };
    let mut hub = TestHub::start().await;
    hub.company("acme").await;
    let mut conn = TestConnector::for_hub(&hub, "acme", "plant-1")
        .await
        .expose("erp", "erp.internal:3300", dead_addr)
        .with_toml(&alerts_toml(dir.path(), &smtp, hook_addr, true))
        .run()
        .await;
    let data = conn.data_dir();

    // Raise: the hub goes away, the CPU works.
    hub.stop().await;
    let mut active = Vec::new();
    for _ in 0..600 {
        let v = alerts(&data).await;
        active = v
            .alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Active)
            .map(|a| a.category.name().to_owned())
            .collect::<Vec<_>>();
        if CATEGORIES.iter().all(|c| active.iter().any(|a| a == c)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        CATEGORIES.iter().all(|c| active.iter().any(|a| a == c)),
        "not every category raised: {active:?}"
    );
    // Each by mail once; the webhook refused the first, so it is retried.
    until("a raise mail per category", || {
        let m = mail_counts(&smtp.mailbox);
        CATEGORIES
            .iter()
            .all(|c| m.contains_key(&(c.to_string(), "raised".into())))
            .then_some(())
    })
    .await;
    until("the webhook to refuse a call", || {
        (hook.refused.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
    let v = alerts(&data).await;
    assert!(
        v.pending
            .iter()
            .any(|d| d.channel.starts_with("webhook") && d.attempts >= 1),
        "the refused call waits for its retry: {:?}",
        v.pending
    );
    hook.fail.store(false, Ordering::SeqCst);
    until("a raise call per category", || {
        let m = hook_counts(&hook);
        CATEGORIES
            .iter()
            .all(|c| m.contains_key(&(c.to_string(), "raised".into())))
            .then_some(())
    })
    .await;

    // Clear: the thresholds back to sane values, the entry to a live back end, the hub back.
    conn.access[0].internal = live_addr.to_string();
    conn.extra_toml = alerts_toml(dir.path(), &smtp, hook_addr, false);
    conn.write_config();
    // The CPU rests only once the new threshold is in force (its alert resolved while the CPU
    // still works), so no idle sample can resolve it and a busy one raise it again.
    until_async_cpu_resolved(&data).await;
    busy.store(false, Ordering::Relaxed);
    spinner.join().unwrap();
    hub = hub.restart().await;
    conn.wait_status("the tunnel back", |s| {
        s.state == portcullis_connector::status::State::Connected
    })
    .await;
    let want: BTreeMap<(String, String), usize> = CATEGORIES
        .iter()
        .flat_map(|c| {
            [
                ((c.to_string(), "raised".to_owned()), 1),
                ((c.to_string(), "resolved".to_owned()), 1),
            ]
        })
        .collect();
    until("a recovery mail and call per category", || {
        (mail_counts(&smtp.mailbox) == want && hook_counts(&hook) == want).then_some(())
    })
    .await;
    // Nothing more comes while nothing changes (ten more checks).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mail_counts(&smtp.mailbox), want);
    assert_eq!(hook_counts(&hook), want);
    assert_eq!(hook.bad_signatures.load(Ordering::SeqCst), 0);
    let v = alerts(&data).await;
    assert!(v.pending.is_empty(), "{:?}", v.pending);
    assert!(
        v.alerts.iter().all(|a| a.status == AlertStatus::Resolved),
        "{:?}",
        v.alerts
    );
    // Each webhook delivery id came once (the refused attempt was not recorded).
    let ids: Vec<String> = hook
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(d, _)| d.clone())
        .collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");

    // A delivery pending at a stop is made after the restart; the alert is not raised again.
    hook.fail.store(true, Ordering::SeqCst);
    conn.extra_toml = alerts_toml(dir.path(), &smtp, hook_addr, false).replace(
        "certificate_validity_days = 0",
        "certificate_validity_days = 3650",
    );
    conn.write_config();
    let before = hook.refused.load(Ordering::SeqCst);
    until("the raise call to be refused", || {
        (hook.refused.load(Ordering::SeqCst) > before).then_some(())
    })
    .await;
    let raised = alerts(&data).await.alerts[0].clone();
    assert_eq!(
        (raised.category.name(), raised.status),
        ("certificate", AlertStatus::Active)
    );
    conn.stop().await;
    hook.fail.store(false, Ordering::SeqCst);
    conn.start();
    until("the pending call after the restart", || {
        hook.got
            .lock()
            .unwrap()
            .iter()
            .any(|(d, _)| *d == format!("{}-raised", raised.id))
            .then_some(())
    })
    .await;
    let v = alerts(&data).await;
    assert_eq!(v.alerts[0], raised, "the alert was raised again");
    drop(hub);
}
