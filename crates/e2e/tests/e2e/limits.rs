//! Per-token limits, and the audit invariant that every started session has an end.

use portcullis_test_support::clients::{
    echo_round_trip, http_connect, socks5_connect, Socks5Outcome,
};
use portcullis_test_support::hub::HubOptions;
use portcullis_test_support::world::Granted;
use portcullis_test_support::WAIT;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_token_cannot_hold_more_sessions_than_its_cap() {
    let Granted {
        hub,
        conn: _conn,
        token,
    } = Granted::echo_with(HubOptions {
        max_sessions_per_token: Some(2),
        ..Default::default()
    })
    .await;
    let mut live = Vec::new();
    for _ in 0..2 {
        match socks5_connect(hub.socks5(), "berlin", &token, "echo.internal", 7)
            .await
            .unwrap()
        {
            Socks5Outcome::Connected(s) => live.push(s),
            other => panic!("{other:?}"),
        }
    }
    match socks5_connect(hub.socks5(), "berlin", &token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Refused(code) => assert_eq!(code, 0x01),
        other => panic!("third session allowed: {other:?}"),
    }
    let (status, body, _) = http_connect(hub.http_proxy(), "berlin", &token, "echo.internal:7")
        .await
        .unwrap();
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too_many_sessions"));
    // Another token of the same company is not affected.
    let other = hub.token("acme", "other").await;
    hub.grant("acme", &other, "berlin", "echo.internal:7").await;
    assert!(matches!(
        socks5_connect(hub.socks5(), "berlin", &other, "echo.internal", 7)
            .await
            .unwrap(),
        Socks5Outcome::Connected(_)
    ));
    // Closing a session frees its slot (released when the relay ends).
    drop(live.pop());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match socks5_connect(hub.socks5(), "berlin", &token, "echo.internal", 7)
            .await
            .unwrap()
        {
            Socks5Outcome::Connected(mut s) => {
                assert_eq!(echo_round_trip(&mut s, b"again").await.unwrap(), b"again");
                break;
            }
            _ if tokio::time::Instant::now() < deadline => {
                // The hub notices the close asynchronously; try again on the next tick.
                tokio::task::yield_now().await;
            }
            other => panic!("slot never freed: {other:?}"),
        }
    }
}

#[tokio::test]
async fn every_started_session_has_an_end_even_when_clients_vanish() {
    let Granted {
        hub,
        conn: _conn,
        token,
    } = Granted::echo_with(HubOptions::default()).await;
    let cred = base64_basic(&format!("berlin:{token}"));
    // Five clients vanish right after asking, five right after the hub said 200.
    for i in 0..10 {
        let mut s = TcpStream::connect(hub.http_proxy()).await.unwrap();
        s.write_all(
            format!(
                "CONNECT echo.internal:7 HTTP/1.1\r\nHost: echo.internal:7\r\nProxy-Authorization: Basic {cred}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        if i % 2 == 1 {
            let mut head = [0u8; 12];
            s.read_exact(&mut head).await.unwrap();
            assert_eq!(&head, b"HTTP/1.1 200");
        }
        drop(s);
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let starts: Vec<Value> = hub
            .admin
            .get("/api/v1/audit?action=session.start&limit=1000")
            .await
            .unwrap();
        let ends: Vec<Value> = hub
            .admin
            .get("/api/v1/audit?action=session.end&limit=1000")
            .await
            .unwrap();
        let refused: Vec<Value> = hub
            .admin
            .get("/api/v1/audit?action=session.refused&limit=1000")
            .await
            .unwrap();
        if starts.len() >= 5 && ends.len() == starts.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "starts {} ends {} refused {}",
            starts.len(),
            ends.len(),
            refused.len()
        );
        tokio::task::yield_now().await;
    }
}

fn base64_basic(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
