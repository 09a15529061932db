//! A window closed at the connector survives a restart of the connector until the hub has
//! confirmed the close: it is kept in `data_dir/closed-windows.json`, held closed against the
//! hub's next window set, and told to the hub again.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use portcullis_connector::audit::{read_records, verify_file};
use portcullis_connector::config::HostPort;
use portcullis_connector::local::{Request, Response};
use portcullis_connector::windows::WindowState;
use portcullis_connector::{RunningConnector, State};
use portcullis_proto::{RefuseCode, WindowClosed};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const HOUR_MS: i64 = 3_600_000;
const PENDING_FILE: &str = "closed-windows.json";

/// The window ids the pending-closes file lists.
fn pending_ids(data_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(data_dir.join(PENDING_FILE)).expect("the file exists");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    v["pending"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            assert_eq!(p["msg"]["id"], p["info"]["id"], "{p}");
            p["msg"]["id"].as_str().expect("id").to_owned()
        })
        .collect()
}

/// Starts a connector for `env` that dials `hub` (whatever its enrolment says), and waits
/// for the tunnel and the inventory.
async fn start_for(env: &Env, hub: &FakeHub) -> (RunningConnector, CancellationToken, HubTunnel) {
    let mut config = env.config();
    config.hub_tunnel = Some(HostPort::parse(&hub.addr.to_string()).expect("hub address"));
    let shutdown = CancellationToken::new();
    let mut c = portcullis_connector::spawn(config, None, shutdown.clone());
    let mut t = hub.accept(1000).await;
    t.next_inventory().await;
    wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    (c, shutdown, t)
}

async fn wait_applied(c: &mut RunningConnector, n: u64) {
    wait_status(&mut c.status, "windows applied", |s| s.windows_applied >= n).await;
}

#[tokio::test]
async fn a_local_close_the_hub_never_confirmed_survives_a_restart_and_reaches_the_hub() {
    let hub = FakeHub::start().await;
    let pki = hub.pki.clone();
    let (erp, db) = (echo_server().await, echo_server().await);
    let env = Env::new(
        &hub,
        &[
            ("erp", "erp.internal:3200", erp),
            ("db", "db.internal:5432", db),
        ],
    );
    let data = env.data_dir();
    let now = now_ms();
    let w1 = window("w1", "erp.internal", 3200, now - 1_000, now + HOUR_MS);
    let w2 = window("w2", "db.internal", 5432, now - 1_000, now + HOUR_MS);

    // First run: the hub opens two windows, then becomes unreachable.
    let (mut c, shutdown, t) = start_for(&env, &hub).await;
    t.send_windows(vec![w1.clone(), w2.clone()]);
    wait_applied(&mut c, 1).await;
    assert!(
        !data.join(PENDING_FILE).exists(),
        "nothing pending, no file"
    );
    drop(t);
    drop(hub);
    wait_status(&mut c.status, "disconnected", |s| {
        s.state != State::Connected
    })
    .await;

    // The customer closes w1 while the hub cannot hear it; then the connector stops.
    let close = Request::CloseWindow {
        window: "w1".into(),
        by: "alice".into(),
        reason: Some("maintenance is over".into()),
    };
    assert!(matches!(
        admin(&data, &close).await,
        Response::Closed { .. }
    ));
    assert_eq!(pending_ids(&data), ["w1"]);
    let mode = std::fs::metadata(data.join(PENDING_FILE))
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the connector's user may read it");
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");

    // Second run, same data_dir; the hub is back (same CA, new address).
    let hub = FakeHub::start_with(pki).await;
    let (mut c, shutdown, mut t) = start_for(&env, &hub).await;
    // Before the hub says anything about windows, w1 is closed at the connector already.
    match admin(&data, &Request::Windows).await {
        Response::Windows { windows } => {
            assert_eq!(windows.len(), 1, "{windows:?}");
            assert_eq!(windows[0].id, "w1");
            assert_eq!(windows[0].state, WindowState::Closed);
            assert_eq!(windows[0].closed_by.as_deref(), Some("connector"));
            assert_eq!(windows[0].closed_by_name.as_deref(), Some("alice"));
        }
        other => panic!("{other:?}"),
    }
    // The hub learns of the close on the new tunnel.
    assert_eq!(
        t.next_window_closed().await,
        WindowClosed {
            id: "w1".into(),
            by: "alice".into(),
            reason: Some("maintenance is over".into()),
        }
    );

    // The hub's set still lists w1 as open: it stays closed; w2 works.
    t.send_windows(vec![w1.clone(), w2.clone()]);
    wait_applied(&mut c, 1).await;
    let (code, msg) = match t.open_in("w1", "erp.internal", 3200).await {
        Err(portcullis_proto::OpenResult::Refused { code, message }) => (code, message),
        Ok(_) => panic!("a stream under w1 was connected after the restart"),
        Err(other) => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(code, RefuseCode::WindowClosed);
    assert_eq!(msg, "window w1 was closed at the connector by alice");
    let mut ok = t.open_in("w2", "db.internal", 5432).await.expect("w2");
    assert_echo(&mut ok, b"w2 is unaffected").await;
    drop(ok);
    assert_eq!(pending_ids(&data), ["w1"], "not confirmed yet");

    // The hub confirms (a set without w1): the file no longer lists it.
    t.send_windows(vec![w2]);
    wait_applied(&mut c, 2).await;
    assert!(
        pending_ids(&data).is_empty(),
        "confirmed closes are dropped"
    );

    shutdown.cancel();
    drop(t);
    c.join.await.expect("join").expect("clean stop");
    verify_file(&env.audit_path()).expect("audit chain verifies");
    let recs = read_records(&env.audit_path()).expect("records");
    let closes: Vec<_> = recs
        .iter()
        .filter(|r| r.action == "window.closed")
        .collect();
    assert_eq!(closes.len(), 1, "the restore audits nothing new: {recs:#?}");
    assert_eq!(closes[0].detail["window"], "w1");
    assert_eq!(closes[0].detail["by"], "alice");
}

#[tokio::test]
async fn a_corrupt_file_of_pending_closes_is_set_aside_and_the_connector_runs() {
    let hub = FakeHub::start().await;
    let erp = echo_server().await;
    let env = Env::new(&hub, &[("erp", "erp.internal:3200", erp)]);
    let data = env.data_dir();
    std::fs::write(data.join(PENDING_FILE), b"{ this is not JSON").expect("write");

    let (mut c, shutdown, t) = start_for(&env, &hub).await;
    let aside: Vec<String> = std::fs::read_dir(&data)
        .expect("data dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("closed-windows.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "set aside once");
    assert!(!data.join(PENDING_FILE).exists());

    // Local closes work and start a fresh file.
    let now = now_ms();
    t.send_windows(vec![window(
        "w1",
        "erp.internal",
        3200,
        now - 1_000,
        now + HOUR_MS,
    )]);
    wait_applied(&mut c, 1).await;
    let close = Request::CloseWindow {
        window: "w1".into(),
        by: "bob".into(),
        reason: None,
    };
    assert!(matches!(
        admin(&data, &close).await,
        Response::Closed { .. }
    ));
    assert_eq!(pending_ids(&data), ["w1"]);

    shutdown.cancel();
    drop(t);
    c.join.await.expect("join").expect("clean stop");
}
