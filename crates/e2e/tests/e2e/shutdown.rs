//! Two-phase shutdown: stop accepting, let sessions finish within the grace period, cut the rest.

use std::time::{Duration, Instant};

use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::{echo_server, TestConnector, TestHub};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn idle_tunnels_do_not_hold_shutdown_for_the_grace_period() {
    let mut hub = TestHub::start().await;
    hub.company("acme").await;
    let _conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .run()
        .await;
    let t0 = Instant::now();
    hub.hub.take().unwrap().stop(Duration::from_secs(10)).await;
    // Nothing to drain: the stop must not sit out the 10 s grace because a tunnel is up.
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn a_live_session_is_cut_when_the_grace_period_ends() {
    let mut hub = TestHub::start().await;
    hub.company("acme").await;
    let token = hub.token("acme", "bot").await;
    let echo = echo_server().await;
    let _conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("echo", "echo.internal:7", echo)
        .run()
        .await;
    hub.grant("acme", &token, "berlin", "echo.internal:7").await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(hub.socks5(), "berlin", &token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"x").await.unwrap(), b"x");
    let running = hub.hub.take().unwrap();
    let stop = tokio::spawn(running.stop(Duration::from_millis(300)));
    let mut b = [0u8; 1];
    let r = tokio::time::timeout(Duration::from_secs(10), s.read(&mut b))
        .await
        .expect("the session is cut after the grace period");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    tokio::time::timeout(Duration::from_secs(10), stop)
        .await
        .unwrap()
        .unwrap();
}
