//! Reaching an internal system through each entry point, and being refused with the right
//! answer when the target, the token or the connector is wrong.

use portcullis::connect::{self, Forward};
use portcullis_client::ApiClient;
use portcullis_test_support::clients::{
    echo_round_trip, http_connect, socks5_connect, Socks5Outcome,
};
use portcullis_test_support::world::Granted;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn echo_through_socks5_is_audited_with_bytes() {
    let w = Granted::echo().await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("socks5 connect refused");
    };
    assert_eq!(
        echo_round_trip(&mut s, b"hello, berlin").await.unwrap(),
        b"hello, berlin"
    );
    drop(s);
    // The end event is written when the relay finishes; wait for it through the API.
    let ends = w.hub.wait_audit("session.end", 1).await;
    let d = &ends[0].detail;
    assert_eq!(d["entry"], "socks5");
    assert_eq!(d["bytes_up"], 13);
    assert_eq!(d["bytes_down"], 13);
    assert_eq!(ends[0].target, "berlin/echo.internal:7");
    assert_eq!(d["ended_by"], "client closed", "the client hung up first");
    assert!(ends[0].actor.starts_with("token:bot#"));
    // The connector audited the same session id.
    let session = d["session"].as_str().unwrap().to_string();
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(
        log.contains(&session),
        "connector audit lacks session {session}"
    );
    portcullis_connector::audit::verify_file(&w.conn.audit_log()).unwrap();
}

#[tokio::test]
async fn echo_through_http_connect_with_basic_and_bearer() {
    let w = Granted::echo().await;
    let (status, _, s) = http_connect(w.hub.http_proxy(), "berlin", &w.token, "echo.internal:7")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let mut s = s.unwrap();
    assert_eq!(
        echo_round_trip(&mut s, b"via connect").await.unwrap(),
        b"via connect"
    );

    // Bearer with the location header.
    let mut raw = TcpStream::connect(w.hub.http_proxy()).await.unwrap();
    raw.write_all(
        format!(
            "CONNECT echo.internal:7 HTTP/1.1\r\nHost: echo.internal:7\r\nProxy-Authorization: Bearer {}\r\nPortcullis-Location: berlin\r\n\r\n",
            w.token
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = [0u8; 12];
    raw.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
}

#[tokio::test]
async fn echo_through_portcullis_connect() {
    let w = Granted::echo().await;
    let client = ApiClient::new(&w.hub.api_url, &w.hub.ca_pem, Some(w.token.clone())).unwrap();
    let (listener, addr) = connect::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let stop = CancellationToken::new();
    let fwd = Forward {
        location: "berlin".into(),
        target: "echo.internal:7".into(),
    };
    tokio::spawn(connect::serve(client, fwd, listener, stop.clone()));
    let mut s = TcpStream::connect(addr).await.unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    assert_eq!(echo_round_trip(&mut s, &big).await.unwrap(), big);
    drop(s);
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["entry"], "connect");
    stop.cancel();
}

#[tokio::test]
async fn unlisted_target_is_refused_everywhere_and_audited_on_both_sides() {
    let w = Granted::echo().await;
    // The hub's key allows these two (a service connection and a grant exist), the
    // connector's access control does not list them: the connector refuses.
    w.hub
        .grant("acme", &w.token, "berlin", "secret.internal:22")
        .await;
    w.hub
        .grant("acme", &w.token, "berlin", "echo.internal:8")
        .await;
    match socks5_connect(w.hub.socks5(), "berlin", &w.token, "secret.internal", 22)
        .await
        .unwrap()
    {
        Socks5Outcome::Refused(code) => assert_eq!(code, 0x02, "not allowed by ruleset"),
        other => panic!("expected refusal, got {other:?}"),
    }
    let (status, body, _) = http_connect(w.hub.http_proxy(), "berlin", &w.token, "echo.internal:8")
        .await
        .unwrap();
    assert_eq!(status, 403);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "not_allowed");

    let refused = w.hub.audit("session.refused").await;
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0].detail["code"], "not_allowed");
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert_eq!(
        log.matches("session.refused").count(),
        2,
        "connector audit:\n{log}"
    );
    assert!(log.contains("secret.internal"));

    // No service connection at all: the hub refuses by itself, the connector never hears of it.
    let (status, body, _) =
        http_connect(w.hub.http_proxy(), "berlin", &w.token, "nothing.internal:1")
            .await
            .unwrap();
    assert_eq!(status, 403);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "denied", "{body}");
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(!log.contains("nothing.internal"), "connector audit:\n{log}");
}

#[tokio::test]
async fn wrong_expired_and_vendor_tokens_are_refused() {
    let w = Granted::echo().await;
    let bad = format!("{}0", &w.token[..w.token.len() - 1]);
    let bad = if bad == w.token {
        format!("{}1", &w.token[..w.token.len() - 1])
    } else {
        bad
    };
    match socks5_connect(w.hub.socks5(), "berlin", &bad, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::AuthFailed(_) => {}
        other => panic!("wrong token accepted: {other:?}"),
    }
    match socks5_connect(w.hub.socks5(), "berlin", "not-a-token", "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::AuthFailed(_) => {}
        other => panic!("garbage token accepted: {other:?}"),
    }
    let (status, _, _) = http_connect(w.hub.http_proxy(), "berlin", &bad, "echo.internal:7")
        .await
        .unwrap();
    assert_eq!(status, 407);

    // An expired token: issued with an expiry already in the past.
    let store = &w.hub.state().store;
    let company = store.find_company_by_name("acme").await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    let user = portcullis_hub::accounts::create_user(
        &mut *tx,
        Some(company.id),
        None,
        "old",
        portcullis_store::Role::Technical,
        Default::default(),
    )
    .await
    .unwrap();
    let expired = portcullis_hub::accounts::issue_token(
        &mut *tx,
        user.id,
        "old",
        Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1)),
    )
    .await
    .unwrap()
    .token
    .into_inner();
    tx.commit().await.unwrap();
    match socks5_connect(w.hub.socks5(), "berlin", &expired, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::AuthFailed(_) => {}
        other => panic!("expired token accepted: {other:?}"),
    }

    // The vendor admin token belongs to no company: it may administer but not open sessions.
    let admin_token = std::fs::read_to_string(w.hub.data_dir().join("admin.token")).unwrap();
    match socks5_connect(
        w.hub.socks5(),
        "berlin",
        admin_token.trim(),
        "echo.internal",
        7,
    )
    .await
    .unwrap()
    {
        Socks5Outcome::Refused(code) => assert_eq!(code, 0x02),
        other => panic!("vendor token opened a session: {other:?}"),
    }
}

#[tokio::test]
async fn other_companies_and_unknown_locations_are_unreachable() {
    let w = Granted::echo().await;
    w.hub.company("globex").await;
    let other = w.hub.token("globex", "intruder").await;
    // globex has no connector "berlin": acme's connector must not be reachable with its token.
    match socks5_connect(w.hub.socks5(), "berlin", &other, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Refused(code) => assert_eq!(code, 0x03, "network unreachable"),
        other => panic!("cross-company access: {other:?}"),
    }
    match socks5_connect(w.hub.socks5(), "paris", &w.token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Refused(code) => assert_eq!(code, 0x03),
        other => panic!("unknown location: {other:?}"),
    }
    // Technical tokens cannot administer.
    let tech = w.hub.client(&w.token);
    let err = tech
        .post::<_, Value>(
            "/api/v1/companies/acme/connectors",
            &serde_json::json!({"location": "x"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("forbidden"), "{err}");
}

#[tokio::test]
async fn revoking_a_token_cuts_its_live_sessions_and_refuses_new_ones() {
    let w = Granted::echo().await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("socks5 connect refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"live").await.unwrap(), b"live");
    let acme = w.hub.company_admin("acme").await;
    let tokens = acme.list_company_tokens("acme").await.unwrap();
    let id = tokens.iter().find(|t| t.name == "bot").unwrap().id;
    let v = acme.revoke_token(id).await.unwrap();
    assert!(v.revoked && v.was_active, "{v:?}");
    let mut b = [0u8; 1];
    let r = tokio::time::timeout(portcullis_test_support::WAIT, s.read(&mut b))
        .await
        .expect("the live session is cut");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["ended_by"], "token revoked");
    match socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::AuthFailed(_) => {}
        other => panic!("revoked token accepted: {other:?}"),
    }
}

#[tokio::test]
async fn a_session_ends_when_its_token_expires() {
    let w = Granted::echo().await;
    let v: Value = w
        .hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/companies/acme/tokens",
            &serde_json::json!({"name": "short", "expires_in_secs": 1}),
        )
        .await
        .unwrap();
    let short = v["token"].as_str().unwrap().to_string();
    w.hub
        .grant("acme", &short, "berlin", "echo.internal:7")
        .await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "berlin", &short, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("socks5 connect refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"brief").await.unwrap(), b"brief");
    // The session must end at the expiry (1 s), well before the test's wait runs out.
    let mut b = [0u8; 1];
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut b))
        .await
        .expect("the session ends at token expiry");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["ended_by"], "token expired");
}
