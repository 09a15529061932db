//! Routes through real routers on port 0: talk modes, the table's decisions, passwords,
//! chains of routers, limits, timeouts and the log file.

mod common;

use std::time::Duration;

use common::*;
use portcullis_ni::{ReturnCode, TalkMode};
use portcullis_router::client::{self, ClientError};
use portcullis_router::io::{read_frame, write_frame};

#[tokio::test]
async fn msg_and_raw_routes_reach_their_targets() {
    let ni = ni_echo().await;
    let raw = raw_echo().await;
    let router = start_router(&format!(
        "P 127.0.0.1 127.0.0.1 {}\nP 127.0.0.1 127.0.0.1 {}\n",
        ni.port(),
        raw.port()
    ))
    .await;

    let mut msg = connect(
        &format!("{}/H/127.0.0.1/S/{}", router.hop(), ni.port()),
        TalkMode::Msg,
    )
    .await
    .unwrap();
    ni_roundtrip(&mut msg, b"EYECATCHER over a MSG route").await;
    ni_roundtrip(&mut msg, &vec![7u8; 100_000]).await;

    let mut native = connect(
        &format!("{}/H/127.0.0.1/S/{}", router.hop(), raw.port()),
        TalkMode::Raw,
    )
    .await
    .unwrap();
    raw_roundtrip(&mut native, b"raw bytes, no framing").await;

    let log = router.log_text();
    for action in [
        "INIT LOGFILE",
        "READ ROUTTAB",
        "CONNECT FROM C1/-",
        "CONNECT TO S1/2",
    ] {
        assert!(log.contains(action), "{action} missing from:\n{log}");
    }
    drop(msg);
    // The DISCONNECT line is written when the relay ends; wait for it through the log.
    let pair_closed = async {
        while !router.log_text().contains("DISCONNECT S1/2") {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(TIMEOUT, pair_closed)
        .await
        .expect("DISCONNECT logged");
}

#[tokio::test]
async fn rout_mode_is_relayed_as_ni() {
    // Talk mode NI_ROUT_IO (2) carries NI frames like MSG; `S` lines permit it.
    let ni = ni_echo().await;
    let router = start_router(&format!("S 127.0.0.1 127.0.0.1 {}\n", ni.port())).await;
    let mut stream = connect(
        &format!("{}/H/127.0.0.1/S/{}", router.hop(), ni.port()),
        TalkMode::Rout,
    )
    .await
    .unwrap();
    ni_roundtrip(&mut stream, b"ROUT mode").await;
}

#[tokio::test]
async fn a_route_no_entry_permits_is_denied_with_94() {
    let raw = raw_echo().await;
    // Only a different port is permitted: default deny for this one.
    let router = start_router("P 127.0.0.1 127.0.0.1 1\n").await;
    let refusal = refused(
        connect(
            &format!("{}/H/127.0.0.1/S/{}", router.hop(), raw.port()),
            TalkMode::Raw,
        )
        .await,
    );
    assert_eq!(refusal.code(), Some(ReturnCode::PermDenied));
    assert_eq!(
        refusal.text,
        format!(
            "testrouter: route permission denied (127.0.0.1 to 127.0.0.1, {})",
            raw.port()
        )
    );
    let log = router.log_text();
    assert!(log.contains("PERM DENIED C1/- host 127.0.0.1/"), "{log}");
    assert!(
        log.contains(&format!("to 127.0.0.1/{}", raw.port())),
        "{log}"
    );
}

#[tokio::test]
async fn a_deny_line_wins_over_a_later_permit() {
    let raw = raw_echo().await;
    let router = start_router(&format!(
        "D 127.0.0.1 127.0.0.1 {port}\nP * * *\n",
        port = raw.port()
    ))
    .await;
    let refusal = refused(
        connect(
            &format!("{}/H/127.0.0.1/S/{}", router.hop(), raw.port()),
            TalkMode::Msg,
        )
        .await,
    );
    assert_eq!(refusal.return_code, -94);
}

#[tokio::test]
async fn s_lines_refuse_native_routes_with_101() {
    let ni = ni_echo().await;
    let router = start_router(&format!("S 127.0.0.1 127.0.0.1 {}\n", ni.port())).await;
    let route = format!("{}/H/127.0.0.1/S/{}", router.hop(), ni.port());
    let mut ok = connect(&route, TalkMode::Msg).await.unwrap();
    ni_roundtrip(&mut ok, b"NI is allowed").await;
    let refusal = refused(connect(&route, TalkMode::Raw).await);
    assert_eq!(refusal.code(), Some(ReturnCode::ModeDenied));
}

#[tokio::test]
async fn a_route_password_is_required_when_the_line_has_one() {
    let raw = raw_echo().await;
    let router = start_router(&format!("P 127.0.0.1 127.0.0.1 {} s3cret\n", raw.port())).await;
    let target = format!("/H/127.0.0.1/S/{}", raw.port());
    for wrong in ["", "/W/wrong", "/W/S3CRET"] {
        let refusal =
            refused(connect(&format!("{}{wrong}{target}", router.hop()), TalkMode::Raw).await);
        assert_eq!(refusal.return_code, -94, "password {wrong:?}");
    }
    let mut ok = connect(&format!("{}/W/s3cret{target}", router.hop()), TalkMode::Raw)
        .await
        .unwrap();
    raw_roundtrip(&mut ok, b"with the password").await;
    assert!(
        !router.log_text().contains("s3cret"),
        "the password never reaches the log"
    );
}

#[tokio::test]
async fn version_request_and_ping_are_answered_before_the_route() {
    let raw = raw_echo().await;
    let router = start_router(&format!("P * * {}\n", raw.port())).await;
    let mut tcp = tokio::net::TcpStream::connect(router.addr).await.unwrap();
    assert_eq!(client::query_version(&mut tcp).await.unwrap(), 40);
    write_frame(&mut tcp, portcullis_ni::frame::NI_PING)
        .await
        .unwrap();
    assert_eq!(
        read_frame(&mut tcp, 64).await.unwrap(),
        portcullis_ni::frame::NI_PONG
    );
    let route = portcullis_ni::RouteString::parse(&format!(
        "{}/H/127.0.0.1/S/{}",
        router.hop(),
        raw.port()
    ))
    .unwrap()
    .to_request(TalkMode::Raw, 40);
    client::request_route(&mut tcp, &route).await.unwrap();
    raw_roundtrip(&mut tcp, b"after a version request").await;
}

#[tokio::test]
async fn no_route_within_the_timeout_is_answered_with_5() {
    let router = start_router_with("P * * *\n", |c| c.timeout = Duration::from_millis(300)).await;
    let mut tcp = tokio::net::TcpStream::connect(router.addr).await.unwrap();
    let err = client::read_route_answer(&mut tcp).await.unwrap_err();
    let ClientError::Refused(refusal) = err else {
        panic!("{err:?}")
    };
    assert_eq!(refusal.code(), Some(ReturnCode::Timeout));
    assert_eq!(refusal.text, "connection timed out");
}

#[tokio::test]
async fn unknown_host_service_and_closed_port_have_their_codes() {
    let router = start_router("P * * *\n").await;
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let cases = [
        (
            format!("/H/no-such-host.invalid/S/{closed}"),
            ReturnCode::RouterHostUnknown,
        ),
        (
            "/H/127.0.0.1/S/nosuchservice".to_owned(),
            ReturnCode::RouterServiceUnknown,
        ),
        (
            format!("/H/127.0.0.1/S/{closed}"),
            ReturnCode::RouterConnRefused,
        ),
    ];
    for (target, code) in cases {
        // MSG mode: `P * * *` does not permit native routes to non-SAP ports.
        let refusal = refused(connect(&format!("{}{target}", router.hop()), TalkMode::Msg).await);
        assert_eq!(refusal.code(), Some(code), "{target}: {refusal}");
    }
}

#[tokio::test]
async fn two_routers_in_a_chain() {
    let ni = ni_echo().await;
    let second = start_router(&format!("P 127.0.0.1 127.0.0.1 {}\n", ni.port())).await;
    let first = start_router(&format!("P 127.0.0.1 127.0.0.1 {}\n", second.port())).await;
    let route = format!(
        "{}{}/H/127.0.0.1/S/{}",
        first.hop(),
        second.hop(),
        ni.port()
    );
    let mut stream = connect(&route, TalkMode::Msg).await.unwrap();
    ni_roundtrip(&mut stream, b"through two routers").await;
    assert!(first
        .log_text()
        .contains(&format!("CONNECT TO S1/2 host 127.0.0.1/{}", second.port())));
    assert!(second
        .log_text()
        .contains(&format!("CONNECT TO S1/2 host 127.0.0.1/{}", ni.port())));

    // A refusal by the second router reaches the client as the second router sent it.
    let raw = raw_echo().await;
    let refusal = refused(
        connect(
            &format!(
                "{}{}/H/127.0.0.1/S/{}",
                first.hop(),
                second.hop(),
                raw.port()
            ),
            TalkMode::Raw,
        )
        .await,
    );
    assert_eq!(refusal.code(), Some(ReturnCode::PermDenied));
    assert!(
        refusal
            .text
            .starts_with("testrouter: route permission denied"),
        "{refusal}"
    );
    assert!(second.log_text().contains("PERM DENIED"));
}

#[tokio::test]
async fn hop_limits_count_the_routers_before_and_after() {
    let ni = ni_echo().await;
    // The second router allows no router before it.
    let second = start_router(&format!("P0,* 127.0.0.1 127.0.0.1 {}\n", ni.port())).await;
    let first = start_router(&format!("P * 127.0.0.1 {}\n", second.port())).await;
    let direct = format!("{}/H/127.0.0.1/S/{}", second.hop(), ni.port());
    let mut ok = connect(&direct, TalkMode::Msg).await.unwrap();
    ni_roundtrip(&mut ok, b"no router before").await;
    let chained = format!("{}{direct}", first.hop());
    assert_eq!(
        refused(connect(&chained, TalkMode::Msg).await).return_code,
        -94
    );
}

#[tokio::test]
async fn the_client_limit_answers_100() {
    let raw = raw_echo().await;
    // Two clients: one routed connection fills the table.
    let table = format!("P * 127.0.0.1 {}\n", raw.port());
    let router = start_router_with(&table, |c| c.max_clients = 2).await;
    let route = format!("{}/H/127.0.0.1/S/{}", router.hop(), raw.port());
    let mut first = connect(&route, TalkMode::Raw).await.unwrap();
    raw_roundtrip(&mut first, b"holding two clients").await;
    let refusal = refused(connect(&route, TalkMode::Raw).await);
    assert_eq!(refusal.code(), Some(ReturnCode::Overflow));
    drop(first);
    // Once the pair is gone, a new route fits again.
    let retry = async {
        loop {
            if let Ok(mut s) = connect(&route, TalkMode::Raw).await {
                raw_roundtrip(&mut s, b"room again").await;
                break;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(TIMEOUT, retry)
        .await
        .expect("room again");
}

#[tokio::test]
async fn star_does_not_permit_native_routes_to_other_services() {
    // SAP's rule: `P * * *` permits NI routes anywhere, native (RAW) routes only to SAP
    // service ports unless the line names the port.
    let raw = raw_echo().await;
    let router = start_router("P * * *\n").await;
    let route = format!("{}/H/127.0.0.1/S/{}", router.hop(), raw.port());
    assert_eq!(
        refused(connect(&route, TalkMode::Raw).await).return_code,
        -94
    );
    router.write_table(&format!("P * * {}\n", raw.port()));
    let reloaded = portcullis_router::admin_client::send(
        "127.0.0.1",
        &router.port().to_string(),
        portcullis_ni::AdminCommand::NewRouteTable,
        TIMEOUT,
    )
    .await;
    assert!(reloaded.is_ok(), "{reloaded:?}");
    let mut ok = connect(&route, TalkMode::Raw).await.unwrap();
    raw_roundtrip(&mut ok, b"named port").await;
}

#[tokio::test]
async fn a_missing_table_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = portcullis_router::RouterConfig::new(dir.path().join("saprouttab"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    let err = portcullis_router::Router::bind(config).await.unwrap_err();
    assert!(err.to_string().contains("saprouttab"), "{err}");
    let mut config = portcullis_router::RouterConfig::new(dir.path().join("bad"));
    std::fs::write(dir.path().join("bad"), "P * * *\nX * *\n").unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let err = portcullis_router::Router::bind(config).await.unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[tokio::test]
async fn ipv6_targets_need_the_6_option() {
    let listener = tokio::net::TcpListener::bind("[::1]:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                while let Ok(frame) = read_frame(&mut tcp, 1024).await {
                    let _ = write_frame(&mut tcp, &frame).await;
                }
            });
        }
    });
    let route = |router: &TestRouter| format!("{}/H/::1/S/{}", router.hop(), target.port());
    let v4_only = start_router("P * * *\n").await;
    let refusal = refused(connect(&route(&v4_only), TalkMode::Msg).await);
    assert_eq!(
        refusal.code(),
        Some(ReturnCode::RouterHostUnknown),
        "{refusal}"
    );

    let v6 = start_router_with("P * * *\n", |c| {
        c.ipv6 = true;
        c.listen = "[::1]:0".parse().unwrap();
    })
    .await;
    let hop = format!("/H/::1/S/{}/H/::1/S/{}", v6.port(), target.port());
    let mut stream = connect(&hop, TalkMode::Msg).await.unwrap();
    ni_roundtrip(&mut stream, b"over IPv6").await;
}
