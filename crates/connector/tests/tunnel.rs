//! The agent against a fake hub over real loopback sockets: inventory, sessions, refusals,
//! rejection, reconnects and heartbeats.

mod common;

use std::time::Duration;

use common::*;
use portcullis_connector::audit::{read_records, verify_file};
use portcullis_connector::{ConnectorError, State};
use portcullis_proto::{
    Goodbye, GoodbyeReason, Heartbeat, InventoryTarget, Message, OpenResult, RefuseCode, Reject,
    RejectCode, TargetProtocol, VersionWarning,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn connects_reports_inventory_and_relays_to_a_listed_target() {
    let hub = FakeHub::start().await;
    let echo = echo_server().await;
    let env = Env::new(&hub, &[("erp", "ERP.internal:3200", echo)]);
    let (mut c, shutdown) = env.start();

    let mut t = hub.accept(1000).await;
    assert_eq!(t.hello.location, "loc1");
    assert_eq!(t.hello.software_version, env!("CARGO_PKG_VERSION"));
    let inv = t.next_inventory().await;
    assert_eq!(
        inv.targets,
        vec![InventoryTarget {
            name: "erp".into(),
            virtual_host: "erp.internal".into(),
            port_start: 3200,
            port_end: 3200,
            protocol: TargetProtocol::Tcp,
        }]
    );
    let st = wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    assert_eq!(st.connects, 1);
    assert_eq!(st.hub_version.as_deref(), Some("9.9.9"));
    assert_eq!(st.warning, None);

    let mut s = t.open("erp.internal", 3200).await.expect("connected");
    assert_echo(&mut s, b"hello erp").await;
    s.shutdown().await.expect("half-close");
    let mut rest = Vec::new();
    tokio::time::timeout(T, s.read_to_end(&mut rest))
        .await
        .expect("the echo closes after us")
        .expect("clean end");
    assert!(rest.is_empty());
    // This hub's welcome names no features (as an older hub's): the connector sent nothing
    // newer, no health report (the first would have gone when the control channel came up).
    if let Ok(m) = t.others.try_recv() {
        panic!("an older hub was sent {}", m.name());
    }

    shutdown.cancel();
    let res = tokio::time::timeout(T, c.join)
        .await
        .expect("stops in time");
    assert!(matches!(res, Ok(Ok(()))), "{res:?}");
    assert_eq!(c.status.borrow().state, State::Stopped);
    // The hub was told why the tunnel goes away.
    let bye = tokio::time::timeout(T, t.others.recv())
        .await
        .expect("goodbye");
    assert!(
        matches!(
            bye,
            Some(Message::Goodbye(Goodbye {
                reason: GoodbyeReason::Shutdown,
                ..
            }))
        ),
        "{bye:?}"
    );

    let n = verify_file(&env.audit_path()).expect("audit chain verifies");
    let recs = read_records(&env.audit_path()).expect("records");
    assert_eq!(n as usize, recs.len());
    let actions: Vec<&str> = recs.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tunnel.connected",
            "session.start",
            "session.end",
            "tunnel.disconnected"
        ]
    );
    let end = &recs[2];
    assert_eq!(end.target.as_deref(), Some("erp.internal:3200"));
    assert_eq!(end.principal.as_deref(), Some("engineer@vendor"));
    assert_eq!(end.outcome, "closed");
    assert_eq!(end.detail["bytes_from_hub"], 9);
    assert_eq!(end.detail["bytes_to_hub"], 9);
    assert_eq!(
        end.detail["ended_by"], "hub side closed",
        "the hub half-closed first"
    );
    assert_eq!(end.detail["cause"], "client_closed");
    assert!(end.detail.get("fault").is_none());
    assert!(end.detail["duration_ms"].is_u64());
    assert_eq!(recs[1].detail["internal"], echo.to_string());
}

#[tokio::test]
async fn unlisted_target_is_refused_and_audited() {
    let hub = FakeHub::start().await;
    let echo = echo_server().await;
    let env = Env::new(&hub, &[("erp", "erp.internal:3200", echo)]);
    let (mut c, shutdown) = env.start();
    let mut t = hub.accept(1000).await;
    t.next_inventory().await;
    wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;

    match t.open("db.internal", 5432).await {
        Err(OpenResult::Refused { code, message }) => {
            assert_eq!(code, RefuseCode::NotAllowed);
            assert_eq!(message, "no access control entry allows db.internal:5432");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A neighbouring port of a listed host is just as unlisted.
    assert!(matches!(
        t.open("erp.internal", 3201).await,
        Err(OpenResult::Refused {
            code: RefuseCode::NotAllowed,
            ..
        })
    ));

    // The refusal is audited before it is sent.
    let recs = read_records(&env.audit_path()).expect("records");
    let refused: Vec<_> = recs
        .iter()
        .filter(|r| r.action == "session.refused")
        .collect();
    assert_eq!(refused.len(), 2, "{recs:?}");
    assert_eq!(refused[0].target.as_deref(), Some("db.internal:5432"));
    assert_eq!(refused[0].principal.as_deref(), Some("engineer@vendor"));
    assert_eq!(refused[0].outcome, "refused");
    assert_eq!(refused[0].detail["code"], "not_allowed");
    assert!(verify_file(&env.audit_path()).expect("chain verifies") >= 3);

    // The tunnel is unharmed.
    let mut s = t.open("erp.internal", 3200).await.expect("listed target");
    assert_echo(&mut s, b"still here").await;
    shutdown.cancel();
    drop(s);
    c.join.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn listed_target_with_nothing_listening_is_connection_refused() {
    let hub = FakeHub::start().await;
    let dead = closed_port().await;
    let env = Env::new(&hub, &[("gone", "gone.internal:22", dead)]);
    let (mut c, shutdown) = env.start();
    let t = hub.accept(1000).await;
    wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;

    match t.open("gone.internal", 22).await {
        Err(OpenResult::Refused { code, message }) => {
            assert_eq!(code, RefuseCode::ConnectionRefused);
            assert!(message.contains("gone.internal:22"), "{message}");
            assert!(
                !message.contains(&dead.to_string()),
                "internal addresses stay inside: {message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let recs = read_records(&env.audit_path()).expect("records");
    let last = recs.last().expect("a record");
    assert_eq!(last.action, "session.refused");
    assert_eq!(last.detail["code"], "connection_refused");
    assert_eq!(last.detail["entry"], "gone");
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn client_too_old_stops_the_agent_with_the_minimum_version() {
    let hub = FakeHub::start().await;
    let env = Env::new(&hub, &[]);
    let (c, _shutdown) = env.start();
    hub.reject(Reject {
        code: RejectCode::ClientTooOld,
        message: "connector 0.1.0 is too old; upgrade to 2.0.0".into(),
        minimum_version: Some("2.0.0".into()),
    })
    .await;
    let res = tokio::time::timeout(T, c.join).await.expect("run returns");
    match res.expect("no panic") {
        Err(ConnectorError::Rejected(r)) => {
            assert_eq!(r.code, RejectCode::ClientTooOld);
            assert_eq!(r.minimum_version.as_deref(), Some("2.0.0"));
            let shown = ConnectorError::Rejected(r).to_string();
            assert!(shown.contains("2.0.0"), "{shown}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let st = c.status.borrow().clone();
    assert_eq!(st.state, State::Rejected);
    assert_eq!(st.connects, 0);
}

#[tokio::test]
async fn a_temporary_rejection_is_retried() {
    let hub = FakeHub::start().await;
    let env = Env::new(&hub, &[]);
    let (mut c, shutdown) = env.start();
    hub.reject(Reject {
        code: RejectCode::Unavailable,
        message: "hub is restarting".into(),
        minimum_version: None,
    })
    .await;
    let _t = hub.accept(1000).await;
    let st = wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    assert_eq!(st.connects, 1);
    assert!(st.last_error.unwrap_or_default().contains("restarting"));
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn version_warning_is_published() {
    let hub = FakeHub::start().await;
    let env = Env::new(&hub, &[]);
    let (mut c, shutdown) = env.start();
    let warning = VersionWarning {
        message: "upgrade before 2027-01-31".into(),
        minimum_version: "1.4.0".into(),
        sunset_date: Some("2027-01-31".into()),
    };
    let _hub_side = hub.accept_raw(1000, Some(warning.clone())).await;
    let st = wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    assert_eq!(st.warning, Some(warning));
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn reconnects_after_the_hub_drops_the_connection() {
    let hub = FakeHub::start().await;
    let echo = echo_server().await;
    let env = Env::new(&hub, &[("erp", "erp.internal:3200", echo)]);
    let (mut c, shutdown) = env.start();

    let t = hub.accept(1000).await;
    wait_status(&mut c.status, "first connect", |s| s.connects == 1).await;
    let mut old = t.open("erp.internal", 3200).await.expect("connected");
    assert_echo(&mut old, b"before").await;
    t.mux.close();
    drop(t);

    let mut t2 = hub.accept(1000).await;
    t2.next_inventory().await;
    let st = wait_status(&mut c.status, "second connect", |s| {
        s.connects == 2 && s.state == State::Connected
    })
    .await;
    assert!(st.last_error.is_some());
    let mut s = t2
        .open("erp.internal", 3200)
        .await
        .expect("connected again");
    assert_echo(&mut s, b"after").await;

    // The stream of the dropped tunnel is gone.
    let mut b = [0u8; 1];
    let r = tokio::time::timeout(T, old.read(&mut b))
        .await
        .expect("old stream ends");
    assert!(matches!(r, Err(_) | Ok(0)), "{r:?}");

    shutdown.cancel();
    drop(s);
    c.join.await.expect("join").expect("clean stop");
    verify_file(&env.audit_path()).expect("chain verifies");
    let recs = read_records(&env.audit_path()).expect("records");
    // Both sessions' ends are audited, the first one's although its tunnel vanished.
    let ends = recs.iter().filter(|r| r.action == "session.end").count();
    assert_eq!(ends, 2, "{recs:?}");
}

#[tokio::test]
async fn answered_heartbeats_keep_the_tunnel_and_hub_heartbeats_are_answered() {
    let hub = FakeHub::start().await;
    let env = Env::new(&hub, &[]);
    let (mut c, shutdown) = env.start();
    let mut t = hub.accept(100).await;
    wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;

    // Ten heartbeats take a second, well past three 100 ms intervals.
    tokio::time::timeout(T, t.heartbeats.wait_for(|n| *n >= 10))
        .await
        .expect("heartbeats keep coming")
        .expect("hub control task alive");
    let st = c.status.borrow().clone();
    assert_eq!((st.state, st.connects), (State::Connected, 1), "{st:?}");

    t.send
        .send(Message::Heartbeat(Heartbeat {
            seq: 77,
            ack: false,
        }))
        .expect("send");
    let ack = tokio::time::timeout(T, t.acks.recv())
        .await
        .expect("answer in time");
    assert_eq!(ack, Some(77));
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn a_silent_hub_is_declared_dead_and_the_agent_reconnects() {
    let hub = FakeHub::start().await;
    let env = Env::new(&hub, &[]);
    let (mut c, shutdown) = env.start();
    // Accepts the handshake, keeps the connection, never says a word on control.
    let _silent = hub.accept_raw(100, None).await;
    wait_status(&mut c.status, "first connect", |s| s.connects == 1).await;

    let _t = hub.accept(1000).await;
    let st = tokio::time::timeout(
        Duration::from_secs(5),
        c.status.wait_for(|s| s.connects >= 2),
    )
    .await
    .expect("reconnected within 5 s")
    .expect("still running")
    .clone();
    assert!(
        st.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("heartbeat"),
        "{st:?}"
    );
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn goodbye_revoked_stops_the_agent() {
    let hub = FakeHub::start().await;
    let env = Env::new(&hub, &[]);
    let (mut c, _shutdown) = env.start();
    let t = hub.accept(1000).await;
    wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    t.send
        .send(Message::Goodbye(Goodbye {
            reason: GoodbyeReason::Revoked,
            message: "certificate revoked by admin".into(),
        }))
        .expect("send");
    let res = tokio::time::timeout(T, c.join).await.expect("run returns");
    match res.expect("no panic") {
        Err(ConnectorError::Rejected(r)) => {
            assert_eq!(r.code, RejectCode::Revoked);
            assert!(r.message.contains("revoked by admin"));
        }
        other => panic!("expected a revocation, got {other:?}"),
    }
    assert_eq!(c.status.borrow().state, State::Rejected);
}

#[tokio::test]
async fn shutdown_cuts_sessions_that_outlive_the_grace_period() {
    let hub = FakeHub::start().await;
    let echo = echo_server().await;
    let env = Env::new(&hub, &[("erp", "erp.internal:3200", echo)]);
    let (mut c, shutdown) = env.start();
    let t = hub.accept(1000).await;
    wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    let mut s = t.open("erp.internal", 3200).await.expect("connected");
    assert_echo(&mut s, b"long session").await;

    shutdown.cancel();
    // The session keeps working during the grace period …
    assert_echo(&mut s, b"still draining").await;
    // … and is cut after it.
    let res = tokio::time::timeout(T, c.join)
        .await
        .expect("stops after the grace period");
    assert!(matches!(res, Ok(Ok(()))), "{res:?}");
    let recs = read_records(&env.audit_path()).expect("records");
    let end = recs
        .iter()
        .find(|r| r.action == "session.end")
        .expect("session end audited");
    assert_eq!(end.outcome, "cut");
    assert_eq!(end.detail["ended_by"], "connector shutdown");
    assert_eq!(end.detail["cause"], "connector_shutdown");
    verify_file(&env.audit_path()).expect("chain verifies");
}
