//! Nothing reachable from the network panics or stalls the hub: random bytes, truncated
//! handshakes and silent clients on every listener, then a real session still works.

use std::net::SocketAddr;
use std::time::Duration;

use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::hub::HubOptions;
use portcullis_test_support::world::Granted;
use portcullis_test_support::{echo_server, TestConnector, TestHub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Sends `bytes`, then reads until the server closes or 2 s pass.
async fn poke(addr: SocketAddr, bytes: &[u8]) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        panic!("listener {addr} stopped accepting");
    };
    let _ = s.write_all(bytes).await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn random_bytes_on_every_listener() {
    let Granted {
        hub,
        conn: _conn,
        token,
    } = Granted::echo_with(HubOptions {
        preauth_timeout_secs: Some(1),
        ..Default::default()
    })
    .await;
    let a = hub.addrs();
    let listeners = [
        a.api,
        a.tunnel,
        a.socks5.unwrap(),
        a.http_proxy.unwrap(),
        a.web.unwrap(),
    ];
    let mut rnd = xorshift(0x5EED);
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"\x05".to_vec(),
        b"\x05\x01\x02\x01\xff".to_vec(),
        b"\x05\x01\x02\x01\x04user\xff".to_vec(),
        b"\x16\x03\x01\xff\xff".to_vec(),
        b"CONNECT \r\n\r\n".to_vec(),
        b"CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic !!!\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"PRTCLS\x00\x01\xff\xff\xff\xff".to_vec(),
    ];
    for _ in 0..40 {
        let len = (rnd() % 700) as usize;
        inputs.push((0..len).map(|_| rnd() as u8).collect());
    }
    let mut tasks = Vec::new();
    for l in listeners {
        for inp in &inputs {
            let inp = inp.clone();
            tasks.push(tokio::spawn(async move { poke(l, &inp).await }));
        }
    }
    for t in tasks {
        t.await.expect("poking task");
    }
    // Everything still works.
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(hub.socks5(), "berlin", &token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("hub broken after garbage");
    };
    assert_eq!(echo_round_trip(&mut s, b"alive").await.unwrap(), b"alive");
    let health: serde_json::Value = hub.admin.get("/api/v1/health").await.unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn silent_clients_are_dropped_at_the_preauth_deadline() {
    let hub = TestHub::start_with(HubOptions {
        preauth_timeout_secs: Some(1),
        ..Default::default()
    })
    .await;
    let a = hub.addrs();
    for addr in [
        a.api,
        a.tunnel,
        a.socks5.unwrap(),
        a.http_proxy.unwrap(),
        a.web.unwrap(),
    ] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut b = [0u8; 1];
        // The server must close within the deadline (1 s) plus slack; a read that is still
        // pending after 5 s means the listener kept a silent client.
        let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await;
        assert!(r.is_ok(), "{addr} kept a silent client past its deadline");
    }
}

#[tokio::test]
async fn a_keep_alive_client_cannot_hold_the_http_proxy_preauth_slot() {
    let hub = TestHub::start_with(HubOptions {
        preauth_timeout_secs: Some(2),
        max_preauth: Some(1),
        ..Default::default()
    })
    .await;
    // The only pre-auth slot: a client that sends a cheap request and wants to keep the
    // connection.
    let mut holder = TcpStream::connect(hub.http_proxy()).await.unwrap();
    holder
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let mut resp = Vec::new();
    // The hub answers 400 (an origin-form request names no target) and closes: read_to_end
    // returns instead of hanging.
    tokio::time::timeout(Duration::from_secs(5), holder.read_to_end(&mut resp))
        .await
        .expect("the proxy closes after one request")
        .unwrap();
    assert!(String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 400"));
    // The slot is free again for the next client.
    let (status, _, _) = portcullis_test_support::clients::http_connect(
        hub.http_proxy(),
        "berlin",
        "pct_00_00",
        "echo.internal:7",
    )
    .await
    .unwrap();
    assert_eq!(status, 407);
}

/// Opens a TLS connection to the API and returns it without sending anything.
async fn api_tls(
    hub: &portcullis_test_support::TestHub,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    tls_to(hub, hub.addrs().api, "localhost").await
}

/// Opens a TLS connection to `addr` (the API, or the web entry with a service's host name)
/// without sending anything.
async fn tls_to(
    hub: &portcullis_test_support::TestHub,
    addr: SocketAddr,
    name: &str,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let ca = portcullis_transport::pki::pem_to_der_certs(&hub.ca_pem)
        .unwrap()
        .remove(0);
    let cfg = portcullis_transport::tls::pinned_client_config(ca, &[b"http/1.1"]).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(cfg)
        .connect(
            rustls_pki_types::ServerName::try_from(name.to_owned()).unwrap(),
            tcp,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn api_clients_silent_after_tls_are_dropped_and_hold_no_slot_for_long() {
    let hub = TestHub::start_with(HubOptions {
        preauth_timeout_secs: Some(1),
        max_preauth: Some(2),
        ..Default::default()
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(api_tls(&hub).await);
    }
    // The web entry's browsers too (every service connection is a host under the web domain).
    silent.push(tls_to(&hub, hub.web(), "sc1.web.localhost").await);
    for mut s in silent {
        let mut b = [0u8; 1];
        let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await;
        assert!(
            r.is_ok(),
            "an API client that sent nothing after TLS was kept"
        );
    }
    // And the API still answers.
    let health: serde_json::Value = hub.admin.get("/api/v1/health").await.unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn an_authenticated_http_proxy_request_gives_its_preauth_slot_back() {
    use base64::Engine;
    let hub = TestHub::start_with(HubOptions {
        max_preauth: Some(1),
        ..Default::default()
    })
    .await;
    hub.company("acme").await;
    let token = hub.token("acme", "app").await;
    // A back end that accepts and never answers: the forwarded request waits on it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let (accepted_tx, accepted_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (held, _) = silent.accept().await.unwrap();
        let _ = accepted_tx.send(());
        // Keep it open, silent, for the rest of the test.
        std::future::pending::<()>().await;
        drop(held);
    });
    let echo = echo_server().await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("slow", "slow.internal:80", silent_addr)
        .expose("echo", "echo.internal:7", echo)
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 2)
        .await;
    hub.grant("acme", &token, "berlin", "slow.internal:80")
        .await;
    hub.grant("acme", &token, "berlin", "echo.internal:7").await;

    // Client A: an absolute-form request that will wait on the silent back end.
    let cred = base64::engine::general_purpose::STANDARD.encode(format!("berlin:{token}"));
    let mut a = TcpStream::connect(hub.http_proxy()).await.unwrap();
    a.write_all(
        format!(
            "GET http://slow.internal/ HTTP/1.1\r\nHost: slow.internal\r\n\
             Proxy-Authorization: Basic {cred}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(20), accepted_rx)
        .await
        .expect("the request reached the back end")
        .unwrap();

    // Client B gets the only pre-auth slot while A's request is still in flight.
    let (status, _, _) = portcullis_test_support::clients::http_connect(
        hub.http_proxy(),
        "berlin",
        &token,
        "echo.internal:7",
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    drop(a);
}
