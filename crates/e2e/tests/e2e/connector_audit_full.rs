//! The connector's audit log on a full disk (issue 13, class 4): a session must not start
//! without its audit record, so while the log cannot be written the connector refuses new
//! sessions, says why (hub audit, admin socket status), and works again by itself once there
//! is room, without a restart; the log then verifies and records the gap (`audit.resumed`).
//!
//! The full disk is real: the connector's `data_dir` is a 256 KiB tmpfs the test mounts (CI
//! runs as root) and fills with a filler file. Skipped, with a message, only where mounting is
//! not permitted. The connector's audit alert (issue #17 part 3) is raised to a webhook while
//! the log fails and resolved when it works again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use portcullis_client::requests::{NewServiceConnection, OpenWindow};
use portcullis_connector::audit::verify_report;
use portcullis_connector::local::{Request, Response};
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::mount::Tmpfs;
use portcullis_test_support::{echo_server, TestConnector, TestHub};

use crate::alerts::{hook_counts, webhook, Hook, SECRET};

const ENTRY: &str = "generic_tcp.prd.acme.portcullis";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

async fn status(data_dir: &Path) -> portcullis_connector::local::StatusView {
    match portcullis::connector_admin::request(data_dir, &Request::Status)
        .await
        .expect("the admin socket answers")
    {
        Response::Status { view } => view,
        other => panic!("not a status: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_sessions_with_the_reason_and_they_work_again_without_a_restart() {
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    hub.company("acme").await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin").await;
    // The enrolled data directory moves onto a small tmpfs mounted in its place.
    let data = conn.dir.path().join("data");
    let enrolled = conn.dir.path().join("data.enrolled");
    std::fs::rename(&data, &enrolled).unwrap();
    let disk = match Tmpfs::mount(&data, "size=256k,mode=0700") {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED: this test needs to mount a tmpfs (run it as root): {why}");
            return;
        }
    };
    copy_dir(&enrolled, &data);
    // Alerts go to a webhook (its secret off the full disk): the audit alert and its recovery.
    let hook = Arc::new(Hook::default());
    let hook_addr = webhook(hook.clone()).await;
    let secret = conn.dir.path().join("hook-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let alerts = format!(
        "[alerts]\ncheck_interval_ms = 100\n[[alerts.webhook]]\nurl = \"http://{hook_addr}/\"\nsecret_file = \"{}\"\n",
        secret.display()
    );
    let mut conn = conn
        .with_toml(&alerts)
        .expose("echo", "echo.internal:7", echo)
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    let system = hub.system("acme", "PRD").await;
    let sc = hub
        .service(
            &system,
            &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
        )
        .await;
    hub.company_admin("acme")
        .await
        .open_window(sc.id, &OpenWindow::now("Bob"))
        .await
        .unwrap();
    let engineer = hub.engineer("alice").await;
    let connect = || socks5_connect(hub.socks5(), "any", &engineer, ENTRY, 7);

    // Room on the disk: a session works.
    let Socks5Outcome::Connected(mut s) = connect().await.unwrap() else {
        panic!("refused with room on the disk");
    };
    assert_eq!(echo_round_trip(&mut s, b"one").await.unwrap(), b"one");
    drop(s);
    assert!(status(&data).await.accepting_sessions);

    // The disk is full. The audit log's last page may still take a record or two; from the
    // first write that fails on, every session is refused.
    let filler = disk.fill("filler");
    let mut refused_at = None;
    for attempt in 0..20 {
        match connect().await.unwrap() {
            Socks5Outcome::Connected(mut s) => {
                // Admitted while the log's last page still took the record; whether the
                // bytes then pass does not matter here, only when refusals begin.
                let _ = echo_round_trip(&mut s, b"x").await;
            }
            Socks5Outcome::Refused(_) => {
                refused_at = Some(attempt);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        refused_at.is_some(),
        "sessions kept starting on a full disk"
    );
    for _ in 0..3 {
        assert!(
            matches!(connect().await.unwrap(), Socks5Outcome::Refused(_)),
            "a session started while its audit record could not be written"
        );
    }
    // Why: in the hub's audit, in the connector's status (live and through the admin socket).
    let refusals = hub.wait_audit("session.refused", 4).await;
    let reason = refusals.last().unwrap().detail["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("cannot write its audit log") && reason.contains("No space left"),
        "{reason}"
    );
    let st = status(&data).await;
    assert!(!st.accepting_sessions && st.audit.failing, "{st:?}");
    assert!(
        st.audit
            .error
            .as_deref()
            .unwrap_or("")
            .contains("No space left"),
        "{st:?}"
    );
    assert!(conn.status().audit_error.is_some());
    // No torn record was left behind by the failed writes.
    assert!(std::fs::read(conn.audit_log()).unwrap().ends_with(b"\n"));

    // Room again: the connector notices by itself (no session needed, no restart) …
    std::fs::remove_file(&filler).unwrap();
    conn.wait_status("the audit log is writable again", |s| {
        s.audit_error.is_none()
    })
    .await;
    assert!(status(&data).await.accepting_sessions);
    // The audit alert was sent when the log failed, and its recovery now, once each.
    let audit = |event: &str| {
        hook_counts(&hook)
            .get(&("audit".to_owned(), event.to_owned()))
            .copied()
    };
    for _ in 0..300 {
        if audit("resolved").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((audit("raised"), audit("resolved")), (Some(1), Some(1)));
    // … and sessions work again.
    let Socks5Outcome::Connected(mut s) = connect().await.unwrap() else {
        panic!("still refused after the disk has room again");
    };
    assert_eq!(echo_round_trip(&mut s, b"two").await.unwrap(), b"two");
    drop(s);
    conn.stop().await;

    // The log verifies and says what happened.
    let v = verify_report(&conn.audit_log()).expect("the audit log verifies");
    assert_eq!(v.resumptions.len(), 1, "{v:?}");
    let resumed = &v.resumptions[0].detail;
    assert!(resumed["lost_records"].as_u64().unwrap() >= 4, "{resumed}");
    assert!(
        resumed["error"].as_str().unwrap().contains("No space left"),
        "{resumed}"
    );
    drop(disk);
}
