//! The connector's half of the two keys: windows pushed by a fake hub over a real tunnel, the
//! window rule for new streams, live sessions cut when a window closes or ends, and the local
//! `close-window` path through the admin socket.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use common::*;
use portcullis_connector::audit::{read_records, verify_file, AuditRecord};
use portcullis_connector::local::{self, ErrorCode, Request, Response};
use portcullis_connector::windows::WindowState;
use portcullis_connector::{RunningConnector, State, Status};
use portcullis_proto::{OpenResult, RefuseCode, WindowClosed};
use tokio_util::sync::CancellationToken;

const HOUR_MS: i64 = 3_600_000;

/// A connector exposing `erp.internal:3200` (and `db.internal:5432`) to echo servers,
/// connected to a fake hub.
struct Scene {
    hub: FakeHub,
    env: Env,
    c: RunningConnector,
    shutdown: CancellationToken,
    t: HubTunnel,
}

impl Scene {
    async fn start() -> Scene {
        let hub = FakeHub::start().await;
        let (erp, db) = (echo_server().await, echo_server().await);
        let env = Env::new(
            &hub,
            &[
                ("erp", "erp.internal:3200", erp),
                ("db", "db.internal:5432", db),
            ],
        );
        let (mut c, shutdown) = env.start();
        let mut t = hub.accept(1000).await;
        t.next_inventory().await;
        wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
        Scene {
            hub,
            env,
            c,
            shutdown,
            t,
        }
    }

    /// Sends a window set and waits until the connector applied it.
    async fn windows(&mut self, windows: Vec<portcullis_proto::WindowInfo>) {
        let n = self.applied();
        self.t.send_windows(windows);
        self.wait_applied(n + 1).await;
    }

    /// Sends a window update and waits until the connector applied it.
    async fn update(&mut self, w: portcullis_proto::WindowInfo) {
        let n = self.applied();
        self.t.update_window(w);
        self.wait_applied(n + 1).await;
    }

    fn applied(&self) -> u64 {
        self.c.status.borrow().windows_applied
    }

    async fn wait_applied(&mut self, n: u64) -> Status {
        wait_status(&mut self.c.status, "windows applied", |s| {
            s.windows_applied >= n
        })
        .await
    }

    /// Stops the connector and returns its audit records (the chain verified).
    async fn stop(self) -> Vec<AuditRecord> {
        self.shutdown.cancel();
        drop(self.t);
        self.c.join.await.expect("join").expect("clean stop");
        verify_file(&self.env.audit_path()).expect("audit chain verifies");
        read_records(&self.env.audit_path()).expect("records")
    }
}

fn refused(
    r: Result<portcullis_transport::h2stream::H2Stream, OpenResult>,
) -> (RefuseCode, String) {
    match r {
        Err(OpenResult::Refused { code, message }) => (code, message),
        Ok(_) => panic!("expected a refusal, the stream was connected"),
        Err(other) => panic!("expected a refusal, got {other:?}"),
    }
}

fn records<'a>(recs: &'a [AuditRecord], action: &str) -> Vec<&'a AuditRecord> {
    recs.iter().filter(|r| r.action == action).collect()
}

fn end_of<'a>(recs: &'a [AuditRecord], window: &str) -> &'a AuditRecord {
    recs.iter()
        .find(|r| r.action == "session.end" && r.detail["window"] == window)
        .unwrap_or_else(|| panic!("the end of the session in {window} is audited: {recs:#?}"))
}

#[tokio::test]
async fn a_stream_under_an_open_window_or_a_grant_passes_and_is_audited_with_it() {
    let mut s = Scene::start().await;
    let now = now_ms();
    s.windows(vec![window(
        "w1",
        "erp.internal",
        3200,
        now - 1_000,
        now + HOUR_MS,
    )])
    .await;

    // Host names compare case-insensitively, as in the access list.
    let mut in_window =
        s.t.open_in("w1", "ERP.internal", 3200)
            .await
            .expect("open window");
    assert_echo(&mut in_window, b"in the window").await;
    let mut granted = s.t.open("db.internal", 5432).await.expect("standing grant");
    assert_echo(&mut granted, b"under a grant").await;
    drop((in_window, granted));

    let recs = s.stop().await;
    let starts = records(&recs, "session.start");
    assert_eq!(starts.len(), 2, "{recs:#?}");
    assert_eq!(starts[0].detail["window"], "w1");
    assert_eq!(starts[0].detail["grant"], serde_json::Value::Null);
    assert_eq!(starts[1].detail["grant"], "grant-test");
    assert_eq!(starts[1].detail["window"], serde_json::Value::Null);
}

#[tokio::test]
async fn streams_the_window_rule_refuses_are_refused_with_the_reason_and_audited() {
    let mut s = Scene::start().await;
    let now = now_ms();
    s.windows(vec![
        window("open", "erp.internal", 3200, now - 1_000, now + HOUR_MS),
        window("shut", "erp.internal", 3200, now - 1_000, now + HOUR_MS),
        window(
            "later",
            "erp.internal",
            3200,
            now + HOUR_MS,
            now + 2 * HOUR_MS,
        ),
    ])
    .await;
    s.update(closed(window(
        "shut",
        "erp.internal",
        3200,
        now - 1_000,
        now + HOUR_MS,
    )))
    .await;

    let (code, msg) = refused(s.t.open_in("nope", "erp.internal", 3200).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    assert_eq!(msg, "window nope is not known to the connector");

    let (code, msg) = refused(s.t.open_in("shut", "erp.internal", 3200).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    assert_eq!(msg, "window shut was closed by the hub");

    let (code, msg) = refused(s.t.open_in("later", "erp.internal", 3200).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    assert!(msg.starts_with("window later opens at "), "{msg}");

    // An open window, but for another target: the stream cannot borrow it.
    let (code, msg) = refused(s.t.open_in("open", "db.internal", 5432).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    assert_eq!(
        msg,
        "window open opens erp.internal:3200, not db.internal:5432"
    );

    let (code, msg) = refused(s.t.open_with("erp.internal", 3200, None, None).await);
    assert_eq!(code, RefuseCode::NotAllowed);
    assert_eq!(msg, "the stream carries no window or grant");

    // The tunnel is unharmed, and the open window works.
    let mut ok =
        s.t.open_in("open", "erp.internal", 3200)
            .await
            .expect("open");
    assert_echo(&mut ok, b"still fine").await;
    drop(ok);

    let recs = s.stop().await;
    let refusals: Vec<(String, String, String)> = records(&recs, "session.refused")
        .iter()
        .map(|r| {
            (
                r.detail["code"].as_str().unwrap_or_default().to_owned(),
                r.detail["reason"].as_str().unwrap_or_default().to_owned(),
                r.detail["window"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    let expect = |c: &str, r: &str, w: &str| (c.to_owned(), r.to_owned(), w.to_owned());
    assert_eq!(
        refusals,
        [
            expect("window_closed", "unknown_window", "nope"),
            expect("window_closed", "window_closed", "shut"),
            expect("window_closed", "window_not_yet_open", "later"),
            expect("window_closed", "window_for_other_target", "open"),
            expect("not_allowed", "no_window_or_grant", "-"),
        ]
    );
    let shut = records(&recs, "window.closed");
    assert_eq!(shut.len(), 1, "{recs:#?}");
    assert_eq!(shut[0].detail["window"], "shut");
    assert_eq!(shut[0].detail["closed_by"], "hub");
}

#[tokio::test]
async fn a_window_the_connector_learns_while_the_stream_waits_is_admitted() {
    let s = Scene::start().await;
    let now = now_ms();
    let w = window("fresh", "erp.internal", 3200, now - 1_000, now + HOUR_MS);
    // The stream goes first; the window follows on the control channel.
    let (opened, ()) = tokio::join!(s.t.open_in("fresh", "erp.internal", 3200), async {
        s.t.update_window(w)
    });
    let mut stream = opened.expect("admitted once the window arrived");
    assert_echo(&mut stream, b"just in time").await;
    drop(stream);
    s.stop().await;
}

#[tokio::test]
async fn the_hub_closing_a_window_cuts_its_live_session_within_a_second() {
    let mut s = Scene::start().await;
    let now = now_ms();
    let w1 = window("w1", "erp.internal", 3200, now - 1_000, now + HOUR_MS);
    let w2 = window("w2", "erp.internal", 3200, now - 1_000, now + HOUR_MS);
    s.windows(vec![w1.clone(), w2.clone()]).await;
    let mut one = s.t.open_in("w1", "erp.internal", 3200).await.expect("w1");
    let mut two = s.t.open_in("w2", "erp.internal", 3200).await.expect("w2");
    assert_echo(&mut one, b"before").await;

    let t0 = Instant::now();
    s.t.update_window(closed(w1.clone()));
    assert_cut(&mut one, "the session in the closed window").await;
    let took = t0.elapsed();
    assert!(took.as_millis() < 1_000, "cut after {took:?}");
    assert_echo(&mut two, b"the other window is untouched").await;
    // A stale update cannot reopen it.
    s.update(w1).await;
    let (code, _) = refused(s.t.open_in("w1", "erp.internal", 3200).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    drop(two);

    let recs = s.stop().await;
    let end = end_of(&recs, "w1");
    assert_eq!(end.outcome, "cut");
    assert_eq!(end.detail["ended_by"], "window closed by hub");
    assert_eq!(end.detail["cause"], "window_closed");
    assert_eq!(end.detail["cut_reason"], "window w1 was closed by the hub");
    let closes = records(&recs, "window.closed");
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].detail["sessions_cut"], 1);
    assert_eq!(closes[0].target.as_deref(), Some("erp.internal:3200"));
}

#[tokio::test]
async fn a_window_ending_cuts_its_live_session_by_the_connectors_clock() {
    let mut s = Scene::start().await;
    let start = now_ms();
    let end = start + 1_500;
    s.windows(vec![window("short", "erp.internal", 3200, start, end)])
        .await;
    let mut stream =
        s.t.open_in("short", "erp.internal", 3200)
            .await
            .expect("open");
    assert_echo(&mut stream, b"while it lasts").await;

    assert_cut(&mut stream, "the session of the window that ended").await;
    let cut_at = now_ms();
    assert!(
        cut_at >= end,
        "cut {} ms before the window's end",
        end - cut_at
    );
    assert!(
        cut_at < end + 1_000,
        "cut {} ms after the window's end",
        cut_at - end
    );
    let (code, msg) = refused(s.t.open_in("short", "erp.internal", 3200).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    assert!(msg.starts_with("window short ended at "), "{msg}");

    let recs = s.stop().await;
    let rec = end_of(&recs, "short");
    assert_eq!(rec.outcome, "cut");
    assert_eq!(rec.detail["ended_by"], "window expired");
    assert_eq!(rec.detail["cause"], "window_expired");
}

#[tokio::test]
async fn closing_a_window_at_the_connector_cuts_audits_and_tells_the_hub() {
    let mut s = Scene::start().await;
    let data = s.env.data_dir();
    let sock = local::socket_path(&data);
    let mode = std::fs::metadata(&sock)
        .expect("socket exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the connector's user may use it");

    let now = now_ms();
    s.windows(vec![
        window("w1", "erp.internal", 3200, now - 1_000, now + HOUR_MS),
        window("w2", "db.internal", 5432, now + HOUR_MS, now + 2 * HOUR_MS),
    ])
    .await;
    let mut live = s.t.open_in("w1", "erp.internal", 3200).await.expect("w1");
    assert_echo(&mut live, b"before the close").await;

    match admin(&data, &Request::Windows).await {
        Response::Windows { windows } => {
            let states: Vec<(&str, WindowState)> =
                windows.iter().map(|w| (w.id.as_str(), w.state)).collect();
            assert_eq!(
                states,
                [("w1", WindowState::Open), ("w2", WindowState::Reserved)]
            );
            assert_eq!(windows[1].target, "db.internal:5432");
        }
        other => panic!("{other:?}"),
    }

    let t0 = Instant::now();
    let close = Request::CloseWindow {
        window: "w1".into(),
        by: "alice".into(),
        reason: Some("maintenance is over".into()),
    };
    match admin(&data, &close).await {
        Response::Closed {
            window,
            sessions_cut,
        } => {
            assert_eq!(window.state, WindowState::Closed);
            assert_eq!(window.closed_by.as_deref(), Some("connector"));
            assert_eq!(sessions_cut, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_cut(&mut live, "the session in the window closed locally").await;
    assert!(t0.elapsed().as_millis() < 1_000, "{:?}", t0.elapsed());
    assert_eq!(
        s.t.next_window_closed().await,
        WindowClosed {
            id: "w1".into(),
            by: "alice".into(),
            reason: Some("maintenance is over".into()),
        }
    );
    let (code, msg) = refused(s.t.open_in("w1", "erp.internal", 3200).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    assert_eq!(msg, "window w1 was closed at the connector by alice");

    // The hub has not confirmed yet and sends w1 as open: it stays closed.
    s.windows(vec![
        window("w1", "erp.internal", 3200, now - 1_000, now + HOUR_MS),
        window("w2", "db.internal", 5432, now + HOUR_MS, now + 2 * HOUR_MS),
    ])
    .await;
    assert!(refused(s.t.open_in("w1", "erp.internal", 3200).await)
        .1
        .contains("alice"));

    // Unknown and already closed windows are refused clearly.
    let again = admin(&data, &close).await;
    assert!(
        matches!(&again, Response::Error { code: ErrorCode::AlreadyClosed, message } if message.contains("already closed")),
        "{again:?}"
    );
    let unknown = Request::CloseWindow {
        window: "w9".into(),
        by: "alice".into(),
        reason: None,
    };
    assert_eq!(
        admin(&data, &unknown).await,
        Response::Error {
            code: ErrorCode::UnknownWindow,
            message: "the connector does not know window w9".into(),
        }
    );

    let recs = s.stop().await;
    assert!(!sock.exists(), "the socket is removed at stop");
    let end = end_of(&recs, "w1");
    assert_eq!(
        end.detail["ended_by"],
        "window closed at connector by alice"
    );
    assert_eq!(end.detail["cause"], "window_closed");
    let closes = records(&recs, "window.closed");
    assert_eq!(closes.len(), 1, "{recs:#?}");
    let d = &closes[0].detail;
    assert_eq!(d["window"], "w1");
    assert_eq!(d["closed_by"], "connector");
    assert_eq!(d["by"], "alice");
    assert_eq!(d["reason"], "maintenance is over");
    assert_eq!(d["sessions_cut"], 1);
    assert!(d["peer_uid"].is_u64(), "{d}");
}

#[tokio::test]
async fn a_close_made_while_the_tunnel_is_down_reaches_the_hub_after_reconnecting() {
    let mut s = Scene::start().await;
    let data = s.env.data_dir();
    let now = now_ms();
    let w1 = window("w1", "erp.internal", 3200, now - 1_000, now + HOUR_MS);
    s.windows(vec![w1.clone()]).await;

    // The hub goes away; the connector keeps its table and accepts local closes.
    let Scene {
        hub,
        env,
        mut c,
        shutdown,
        t,
    } = s;
    drop(t);
    wait_status(&mut c.status, "disconnected", |s| {
        s.state != State::Connected
    })
    .await;
    let close = Request::CloseWindow {
        window: "w1".into(),
        by: "bob".into(),
        reason: None,
    };
    assert!(matches!(
        admin(&data, &close).await,
        Response::Closed { .. }
    ));

    let mut t = hub.accept(1000).await;
    let got = t.next_window_closed().await;
    assert_eq!((got.id.as_str(), got.by.as_str()), ("w1", "bob"));
    // Confirmed by the hub: not sent again on the next tunnel.
    t.update_window(closed(w1));
    wait_status(&mut c.status, "the confirmation", |s| {
        s.windows_applied >= 2
    })
    .await;
    drop(t);
    let mut t = hub.accept(1000).await;
    t.next_inventory().await;
    wait_status(&mut c.status, "the third tunnel", |s| {
        s.connects >= 3 && s.state == State::Connected
    })
    .await;
    // A queued WindowClosed is written right after the inventory, before any heartbeat.
    tokio::time::timeout(T, t.heartbeats.wait_for(|n| *n >= 1))
        .await
        .expect("a heartbeat in time")
        .expect("control channel open");
    assert!(t.others.try_recv().is_err(), "nothing else was sent");

    shutdown.cancel();
    drop(t);
    c.join.await.expect("join").expect("clean stop");
    drop(env);
}

#[tokio::test]
async fn after_a_reconnect_a_window_set_without_a_window_cuts_its_sessions() {
    let mut s = Scene::start().await;
    let now = now_ms();
    let keep = window("keep", "erp.internal", 3200, now - 1_000, now + HOUR_MS);
    let gone = window("gone", "erp.internal", 3200, now - 1_000, now + HOUR_MS);
    s.windows(vec![keep.clone(), gone]).await;

    let Scene {
        hub,
        env,
        mut c,
        shutdown,
        t,
    } = s;
    drop(t);
    let mut t = hub.accept(1000).await;
    t.next_inventory().await;
    wait_status(&mut c.status, "reconnected", |s| {
        s.connects >= 2 && s.state == State::Connected
    })
    .await;
    // The table survived the reconnect: until the new set arrives, both windows stand.
    let mut in_gone = t
        .open_in("gone", "erp.internal", 3200)
        .await
        .expect("gone, still known");
    let mut in_keep = t.open_in("keep", "erp.internal", 3200).await.expect("keep");
    assert_echo(&mut in_gone, b"before the new set").await;

    let t0 = Instant::now();
    t.send_windows(vec![keep]);
    assert_cut(&mut in_gone, "the session of the window left out").await;
    assert!(t0.elapsed().as_millis() < 1_000, "{:?}", t0.elapsed());
    assert_echo(&mut in_keep, b"the listed window stays").await;
    let (code, msg) = refused(t.open_in("gone", "erp.internal", 3200).await);
    assert_eq!(code, RefuseCode::WindowClosed);
    assert_eq!(
        msg,
        "window gone was closed by the hub (no longer in its window set)"
    );

    shutdown.cancel();
    drop((t, in_keep));
    c.join.await.expect("join").expect("clean stop");
    let recs = read_records(&env.audit_path()).expect("records");
    let end = end_of(&recs, "gone");
    assert_eq!(end.detail["ended_by"], "window closed by hub");
    let closes = records(&recs, "window.closed");
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].detail["reason"], "not in the hub's window set");
}

#[tokio::test]
async fn a_second_connector_on_the_same_data_dir_is_refused_and_a_stale_socket_replaced() {
    let s = Scene::start().await;
    // Same data_dir while the first runs: refused before it dials anything.
    let second = portcullis_connector::spawn(s.env.config(), None, CancellationToken::new());
    let err = tokio::time::timeout(T, second.join)
        .await
        .expect("stops at once")
        .expect("join")
        .expect_err("refused");
    assert!(
        err.to_string().contains("another connector is running"),
        "{err}"
    );
    let data = s.env.data_dir();
    assert!(matches!(
        admin(&data, &Request::Windows).await,
        Response::Windows { .. }
    ));
    let Scene {
        hub,
        env,
        c,
        shutdown,
        t,
    } = s;
    shutdown.cancel();
    drop(t);
    c.join.await.expect("join").expect("clean stop");
    assert!(!local::socket_path(&data).exists(), "removed at stop");
    drop(hub);

    // A socket file left behind by a crash (nobody answers) is replaced.
    let sock = local::socket_path(&data);
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("stale socket"));
    assert!(sock.exists());
    let (mut c, shutdown) = env.start();
    wait_status(&mut c.status, "trying to connect", |s| {
        s.last_error.is_some()
    })
    .await;
    assert!(matches!(
        admin(&data, &Request::Windows).await,
        Response::Windows { .. }
    ));
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");
    assert!(!sock.exists());
}
