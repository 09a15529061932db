//! Tunnels over time: revocation, restarts, config reload, outbound proxy, version policy.

use std::time::Instant;

use portcullis_connector::run::State;
use portcullis_connector::ConnectorError;
use portcullis_proto::RejectCode;
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::connector::proxy;
use portcullis_test_support::hub::HubOptions;
use portcullis_test_support::world::Granted;
use portcullis_test_support::{echo_server, TestConnector, TestHub, WAIT};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

async fn open(hub: &TestHub, loc: &str, token: &str, host: &str, port: u16) -> TcpStream {
    match socks5_connect(hub.socks5(), loc, token, host, port)
        .await
        .unwrap()
    {
        Socks5Outcome::Connected(s) => s,
        other => panic!("{host}:{port} not reachable: {other:?}"),
    }
}

#[tokio::test]
async fn revoked_connector_is_cut_off_at_once_and_stays_off() {
    let Granted {
        hub,
        mut conn,
        token,
    } = Granted::echo().await;
    let mut s = open(&hub, "berlin", &token, "echo.internal", 7).await;
    assert_eq!(echo_round_trip(&mut s, b"before").await.unwrap(), b"before");

    let v: Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/connectors/{}/revoke", conn.id),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    assert_eq!(v["status"], "revoked");

    // The live stream ends.
    let mut b = [0u8; 1];
    let r = tokio::time::timeout(WAIT, s.read(&mut b))
        .await
        .expect("stream ends");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    // The connector stops for good, saying why.
    match conn.finished().await {
        Err(ConnectorError::Rejected(r)) => assert_eq!(r.code, RejectCode::Revoked),
        other => panic!("expected a revocation, got {other:?}"),
    }
    // New sessions fail: the connector is gone.
    match socks5_connect(hub.socks5(), "berlin", &token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Refused(c) => assert_eq!(c, 0x03),
        other => panic!("revoked connector reachable: {other:?}"),
    }
    // Restarting it with the revoked certificate is refused at the handshake.
    conn.start();
    match conn.finished().await {
        Err(ConnectorError::Rejected(r)) => assert_eq!(r.code, RejectCode::Revoked),
        other => panic!("revoked certificate accepted: {other:?}"),
    }
}

#[tokio::test]
async fn hub_restart_and_connector_restart_reconnect() {
    let Granted {
        hub,
        mut conn,
        token,
    } = Granted::echo_with(HubOptions {
        heartbeat_ms: Some(200),
        ..Default::default()
    })
    .await;
    let mut s = open(&hub, "berlin", &token, "echo.internal", 7).await;
    assert_eq!(echo_round_trip(&mut s, b"one").await.unwrap(), b"one");

    let t0 = Instant::now();
    let hub = hub.restart().await;
    conn.wait_connects(2).await;
    let mut s = open(&hub, "berlin", &token, "echo.internal", 7).await;
    assert_eq!(echo_round_trip(&mut s, b"two").await.unwrap(), b"two");
    println!(
        "reconnect after hub restart: {} ms to the first successful stream",
        t0.elapsed().as_millis()
    );

    conn.stop().await;
    let t1 = Instant::now();
    conn.start();
    conn.wait_connects(1).await;
    let mut s = open(&hub, "berlin", &token, "echo.internal", 7).await;
    assert_eq!(echo_round_trip(&mut s, b"three").await.unwrap(), b"three");
    println!(
        "connector restart to first successful stream: {} ms",
        t1.elapsed().as_millis()
    );
}

#[tokio::test]
async fn config_reload_adds_and_removes_targets_without_dropping_streams() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let token = hub.token("acme", "bot").await;
    let (e1, e2, e3) = (
        echo_server().await,
        echo_server().await,
        echo_server().await,
    );
    let mut conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("a", "a.internal:7", e1)
        .expose("keep", "keep.internal:7", e3)
        .run()
        .await;
    hub.grant("acme", &token, "berlin", "a.internal:7").await;
    hub.grant("acme", &token, "berlin", "keep.internal:7").await;
    hub.grant("acme", &token, "berlin", "b.internal:7").await;
    let mut to_removed = open(&hub, "berlin", &token, "a.internal", 7).await;
    assert_eq!(echo_round_trip(&mut to_removed, b"x").await.unwrap(), b"x");
    let mut to_kept = open(&hub, "berlin", &token, "keep.internal", 7).await;
    assert_eq!(echo_round_trip(&mut to_kept, b"k").await.unwrap(), b"k");
    let gen0 = conn.status().acl_generation;

    conn.access.retain(|a| a.name != "a");
    conn = conn.expose("b", "b.internal:7", e2);
    conn.write_config();
    conn.wait_status("reload applied", |s| s.acl_generation > gen0)
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| {
        i.len() == 2
            && i.iter().any(|t| t.virtual_host == "b.internal")
            && !i.iter().any(|t| t.virtual_host == "a.internal")
    })
    .await;

    // The stream to the removed target is cut: removing an entry closes the door.
    let mut buf = [0u8; 16];
    match tokio::time::timeout(WAIT, to_removed.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("the stream to the removed target delivered {n} bytes"),
        Err(_) => panic!("the stream to the removed target was not cut"),
    }
    // The stream to the kept target keeps flowing, through the same tunnel.
    assert_eq!(
        echo_round_trip(&mut to_kept, b"still here").await.unwrap(),
        b"still here"
    );
    assert_eq!(
        conn.status().connects,
        1,
        "the tunnel was not re-established"
    );
    // New streams follow the new list.
    let mut b = open(&hub, "berlin", &token, "b.internal", 7).await;
    assert_eq!(echo_round_trip(&mut b, b"b").await.unwrap(), b"b");
    match socks5_connect(hub.socks5(), "berlin", &token, "a.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Refused(c) => assert_eq!(c, 0x02),
        other => panic!("removed target still reachable: {other:?}"),
    }
    // A broken config is rejected and the current list stays.
    std::fs::write(
        conn.config_path(),
        "data_dir = \"data\"\n[[access]]\nname = 1\n",
    )
    .unwrap();
    conn.wait_status("the broken file refused", |s| s.config_rejections >= 1)
        .await;
    let mut again = open(&hub, "berlin", &token, "b.internal", 7).await;
    assert_eq!(echo_round_trip(&mut again, b"ok").await.unwrap(), b"ok");
    assert_eq!(
        echo_round_trip(&mut to_kept, b"and on").await.unwrap(),
        b"and on"
    );
}

#[tokio::test]
async fn connector_behind_an_http_connect_proxy() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let token = hub.token("acme", "bot").await;
    let echo = echo_server().await;
    let p = proxy::start("svc", "s3cret").await;
    let _conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("echo", "echo.internal:7", echo)
        .via_proxy(p.addr, "svc", "s3cret")
        .run()
        .await;
    hub.grant("acme", &token, "berlin", "echo.internal:7").await;
    assert_eq!(p.relayed(), 1, "the tunnel went through the proxy");
    let mut s = open(&hub, "berlin", &token, "echo.internal", 7).await;
    assert_eq!(
        echo_round_trip(&mut s, b"proxied").await.unwrap(),
        b"proxied"
    );

    // Wrong proxy credentials: the connector keeps trying and says why.
    let mut bad = TestConnector::for_hub(&hub, "acme", "paris")
        .await
        .via_proxy(p.addr, "svc", "wrong");
    bad.start();
    let st = bad
        .wait_status("proxy error reported", |s| s.last_error.is_some())
        .await;
    let err = st.last_error.unwrap();
    assert!(err.to_lowercase().contains("proxy"), "{err}");
    assert!(p.refused.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    bad.stop().await;
}

#[tokio::test]
async fn too_old_connectors_are_refused_with_the_minimum_and_warned_before() {
    let this = env!("CARGO_PKG_VERSION");
    let hub = TestHub::start_with(HubOptions {
        min_version: Some("99.0.0".into()),
        ..Default::default()
    })
    .await;
    hub.company("acme").await;
    let mut conn = TestConnector::for_hub(&hub, "acme", "berlin").await;
    conn.start();
    match conn.finished().await {
        Err(ConnectorError::Rejected(r)) => {
            assert_eq!(r.code, RejectCode::ClientTooOld);
            assert_eq!(r.minimum_version.as_deref(), Some("99.0.0"));
            assert!(
                r.message.contains("99.0.0") && r.message.contains(this),
                "{}",
                r.message
            );
        }
        other => panic!("expected too old, got {other:?}"),
    }
    assert_eq!(conn.status().state, State::Rejected);
    let refused: Vec<Value> = hub
        .admin
        .get("/api/v1/audit?action=tunnel.refused")
        .await
        .unwrap();
    assert_eq!(refused.len(), 1);

    let hub = TestHub::start_with(HubOptions {
        warn_below: Some("99.0.0".into()),
        sunset_date: Some("2027-06-30".into()),
        ..Default::default()
    })
    .await;
    hub.company("acme").await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .run()
        .await;
    let w = conn.status().warning.expect("connector got a warning");
    assert_eq!(w.minimum_version, "99.0.0");
    assert_eq!(w.sunset_date.as_deref(), Some("2027-06-30"));
    let list: Vec<Value> = hub
        .admin
        .get("/api/v1/companies/acme/connectors")
        .await
        .unwrap();
    assert_eq!(list[0]["status"], "connected");
    assert_eq!(list[0]["tunnel"]["warning"]["minimum_version"], "99.0.0");
}
