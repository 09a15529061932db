//! The tunnel's handshake and multiplexer over real loopback TCP.

use std::time::Duration;

use portcullis_proto::*;
use portcullis_transport::tunnel::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const T: Duration = Duration::from_secs(10);

fn hello(v: &str) -> Hello {
    Hello {
        software_version: v.into(),
        location: "loc1".into(),
        hostname: None,
    }
}

fn open(port: u16) -> StreamOpen {
    StreamOpen {
        session_id: format!("s-{port}"),
        host: "echo.internal".into(),
        port,
        principal: "test".into(),
        entry: "test".into(),
        client_addr: None,
        window: None,
        grant: None,
    }
}

/// A connector whose only target is an in-process echo on port 7; anything else is refused.
async fn run_connector(io: TcpStream) -> Result<Welcome, TunnelError> {
    run_connector_with(io, &MuxSettings::default()).await
}

async fn run_connector_with(io: TcpStream, settings: &MuxSettings) -> Result<Welcome, TunnelError> {
    let (welcome, mut mux) = connector_handshake(io, hello("1.0.0"), settings, T).await?;
    tokio::spawn(async move {
        while let Some(inc) = mux.accept().await {
            let Ok(inc) = inc else { break };
            tokio::spawn(async move {
                match inc {
                    Incoming::Control(mut c) => {
                        // Echo control frames back so the hub side can check the channel.
                        let mut b = vec![0u8; 1024];
                        while let Ok(n) = c.read(&mut b).await {
                            if n == 0 || c.write_all(&b[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                    Incoming::Stream(s) => {
                        let p = s.read_open(T).await.unwrap();
                        if p.open.port != 7 {
                            p.refuse(OpenResult::Refused {
                                code: RefuseCode::NotAllowed,
                                message: "not listed".into(),
                            })
                            .unwrap();
                            return;
                        }
                        let mut s = p.accept().unwrap();
                        let (mut r, mut w) = tokio::io::split(&mut s);
                        let _ = tokio::io::copy(&mut r, &mut w).await;
                        let _ = w.shutdown().await;
                    }
                }
            });
        }
    });
    Ok(welcome)
}

async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    (s, c)
}

async fn hub_accept(io: TcpStream) -> (HubMux, portcullis_transport::h2stream::H2Stream) {
    hub_accept_with(io, &MuxSettings::default()).await
}

async fn hub_accept_with(
    mut io: TcpStream,
    settings: &MuxSettings,
) -> (HubMux, portcullis_transport::h2stream::H2Stream) {
    let h = hub_read_hello(&mut io, T).await.unwrap();
    assert_eq!(h.software_version, "1.0.0");
    let welcome = Welcome {
        hub_version: "9.9.9".into(),
        heartbeat_interval_ms: 1000,
        warning: None,
        features: Vec::new(),
    };
    hub_welcome(io, welcome, settings, T).await.unwrap()
}

#[tokio::test]
async fn handshake_control_echo_and_refusal() {
    let (hub_io, conn_io) = pair().await;
    let (welcome, (mux, mut control)) = tokio::join!(run_connector(conn_io), hub_accept(hub_io));
    assert_eq!(welcome.unwrap().hub_version, "9.9.9");

    control.write_all(b"ping").await.unwrap();
    let mut b = [0u8; 4];
    control.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"ping");

    let mut s = mux.open_stream(&open(7), T).await.unwrap().unwrap();
    s.write_all(b"hello through the tunnel").await.unwrap();
    let mut got = vec![0u8; 24];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"hello through the tunnel");

    match mux.open_stream(&open(8), T).await.unwrap() {
        Err(OpenResult::Refused { code, .. }) => assert_eq!(code, RefuseCode::NotAllowed),
        other => panic!("expected refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn rejected_connector_learns_why() {
    let (mut hub_io, conn_io) = pair().await;
    let hub = tokio::spawn(async move {
        hub_read_hello(&mut hub_io, T).await.unwrap();
        hub_reject(
            hub_io,
            Reject {
                code: RejectCode::ClientTooOld,
                message: "upgrade to 2.0.0".into(),
                minimum_version: Some("2.0.0".into()),
            },
        )
        .await
        .unwrap();
    });
    match run_connector(conn_io).await {
        Err(TunnelError::Rejected(r)) => {
            assert_eq!(r.code, RejectCode::ClientTooOld);
            assert_eq!(r.minimum_version.as_deref(), Some("2.0.0"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    hub.await.unwrap();
}

#[tokio::test]
async fn garbage_instead_of_a_preface_is_refused_quickly() {
    let (mut hub_io, mut conn_io) = pair().await;
    conn_io.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let err = hub_read_hello(&mut hub_io, T).await.unwrap_err();
    assert!(
        matches!(err, TunnelError::Decode(DecodeError::BadPreface)),
        "{err:?}"
    );
}

#[tokio::test]
async fn silent_peer_hits_the_hello_deadline() {
    let (mut hub_io, _conn_io) = pair().await;
    let err = hub_read_hello(&mut hub_io, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, TunnelError::Timeout("hello")), "{err:?}");
}

#[tokio::test]
async fn bulk_transfer_larger_than_every_window_arrives_intact() {
    bulk_through(&MuxSettings::default(), 40 << 20).await;
}

#[tokio::test]
async fn the_smallest_configurable_stream_window_still_carries_bulk_intact() {
    let small = MuxSettings::with_stream_window_kib(64).unwrap();
    assert_eq!(small.stream_window, 64 * 1024);
    assert!(MuxSettings::with_stream_window_kib(63)
        .unwrap_err()
        .contains("64..=16384"));
    assert!(MuxSettings::with_stream_window_kib(16 * 1024 + 1).is_err());
    bulk_through(&small, 8 << 20).await;
}

/// Sends `n` bytes hub → connector echo → hub and checks every byte, with `settings` on both
/// sides.
async fn bulk_through(settings: &MuxSettings, n: usize) {
    let (hub_io, conn_io) = pair().await;
    let (w, (mux, _control)) = tokio::join!(
        run_connector_with(conn_io, settings),
        hub_accept_with(hub_io, settings)
    );
    w.unwrap();
    let s = mux.open_stream(&open(7), T).await.unwrap().unwrap();
    let (mut r, mut wr) = tokio::io::split(s);
    // More than the stream window (and, at 40 MiB, the 16 MiB connection window), so flow
    // control must work both ways for this to finish.
    let big = n;
    let writer = tokio::spawn(async move {
        let chunk: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
        let mut sent = 0;
        while sent < big {
            wr.write_all(&chunk).await.unwrap();
            sent += chunk.len();
        }
        wr.shutdown().await.unwrap();
    });
    let mut total = 0usize;
    let mut buf = vec![0u8; 100_000];
    loop {
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        for (i, b) in buf[..n].iter().enumerate() {
            assert_eq!(
                *b,
                (((total + i) % 65536) % 251) as u8,
                "corrupt at {}",
                total + i
            );
        }
        total += n;
    }
    writer.await.unwrap();
    assert_eq!(total, n);
}

#[tokio::test]
async fn many_concurrent_streams_each_get_their_own_bytes() {
    let (hub_io, conn_io) = pair().await;
    let (w, (mux, _control)) = tokio::join!(run_connector(conn_io), hub_accept(hub_io));
    w.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let mux = mux.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = mux.open_stream(&open(7), T).await.unwrap().unwrap();
            let msg = format!("stream {i} says hi");
            s.write_all(msg.as_bytes()).await.unwrap();
            let mut got = vec![0u8; msg.len()];
            s.read_exact(&mut got).await.unwrap();
            assert_eq!(got, msg.as_bytes());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn closing_the_tunnel_fails_live_streams() {
    let (hub_io, conn_io) = pair().await;
    let (w, (mux, _control)) = tokio::join!(run_connector(conn_io), hub_accept(hub_io));
    w.unwrap();
    let mut s = mux.open_stream(&open(7), T).await.unwrap().unwrap();
    s.write_all(b"x").await.unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
    mux.close();
    let res = tokio::time::timeout(T, s.read(&mut b)).await.unwrap();
    assert!(matches!(res, Err(_) | Ok(0)), "{res:?}");
    assert!(mux.open_stream(&open(7), T).await.is_err());
}

#[tokio::test]
async fn a_hostile_connector_cannot_push_streams_to_the_hub() {
    use portcullis_transport::framed::{read_message, read_preface, write_preface_and};
    let (hub_io, mut conn_io) = pair().await;
    let hub = tokio::spawn(hub_accept(hub_io));
    // A connector that speaks the handshake by hand, then runs its own h2 server.
    write_preface_and(&mut conn_io, &Message::Hello(hello("1.0.0")))
        .await
        .unwrap();
    read_preface(&mut conn_io).await.unwrap();
    assert!(matches!(
        read_message(&mut conn_io).await.unwrap(),
        Message::Welcome(_)
    ));
    let mut h2 = h2::server::handshake(conn_io).await.unwrap();
    let (req, mut respond) = h2.accept().await.unwrap().unwrap();
    assert_eq!(req.uri().path(), CONTROL_PATH);
    let _control = respond
        .send_response(http::Response::new(()), false)
        .unwrap();
    tokio::spawn(async move { while h2.accept().await.is_some() {} });
    let push = http::Request::builder()
        .uri("https://tunnel/pushed")
        .body(())
        .unwrap();
    assert!(
        respond.push_request(push).is_err(),
        "the hub must advertise SETTINGS_ENABLE_PUSH = 0"
    );
    let _ = hub.await;
}

/// A relay on the hub's side between a local TCP socket and a stream to the connector's echo:
/// returns the client's end of the socket, the cut token and the relay's task.
async fn relayed_echo() -> (
    TcpStream,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<(
        portcullis_transport::relay::RelayStats,
        portcullis_transport::relay::RelayEnd,
        Option<std::io::Error>,
    )>,
) {
    let (hub_io, conn_io) = pair().await;
    let (welcome, (mux, control)) = tokio::join!(run_connector(conn_io), hub_accept(hub_io));
    welcome.unwrap();
    let stream = mux.open_stream(&open(7), T).await.unwrap().unwrap();
    let (local_far, client) = pair().await;
    let cut = tokio_util::sync::CancellationToken::new();
    let task = {
        let cut = cut.clone();
        tokio::spawn(async move {
            // The multiplexer and control stream live as long as the relay.
            let _keep = (mux, control);
            portcullis_transport::relay::relay(local_far, stream, cut.cancelled()).await
        })
    };
    (client, cut, task)
}

/// The relay between a local socket and a tunnel stream: light and bulk traffic both ways,
/// byte counts, who closed first.
#[tokio::test]
async fn relay_moves_light_and_bulk_traffic_and_counts_it() {
    use portcullis_transport::relay::{RelayEnd, Side};
    let (mut client, _cut, relayed) = relayed_echo().await;

    // Light traffic first (stack reads), then 3 MiB in one go (bulk reads, larger than every
    // window), then light again: every byte comes back in order.
    let mut sent = Vec::new();
    for i in 0..20u8 {
        let msg = [i; 64];
        client.write_all(&msg).await.unwrap();
        let mut back = [0u8; 64];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(back, msg);
        sent.extend_from_slice(&msg);
    }
    let bulk: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 + i / 4096) as u8)
        .collect();
    let (mut rd, mut wr) = client.into_split();
    let writer = {
        let bulk = bulk.clone();
        tokio::spawn(async move {
            wr.write_all(&bulk).await.unwrap();
            wr.write_all(b"tail").await.unwrap();
            wr.shutdown().await.unwrap();
        })
    };
    let mut back = Vec::new();
    tokio::time::timeout(T, rd.read_to_end(&mut back))
        .await
        .expect("the echo ends after the client's end")
        .unwrap();
    writer.await.unwrap();
    assert_eq!(back.len(), bulk.len() + 4);
    assert!(
        back[..bulk.len()] == bulk[..],
        "bulk bytes intact and in order"
    );
    assert_eq!(&back[bulk.len()..], b"tail");

    let (stats, end, err) = tokio::time::timeout(T, relayed).await.unwrap().unwrap();
    assert_eq!(end, RelayEnd::Closed, "{err:?}");
    let total = (sent.len() + bulk.len() + 4) as u64;
    assert_eq!(stats.to_tunnel, total);
    assert_eq!(stats.from_tunnel, total);
    assert_eq!(
        stats.closed_first,
        Some(Side::Local),
        "the client closed first"
    );
}

/// Cutting a relay ends it at once, with what was counted so far, and the peer's stream fails.
#[tokio::test]
async fn a_cut_relay_ends_at_once() {
    use portcullis_transport::relay::RelayEnd;
    let (mut client, cut, relayed) = relayed_echo().await;
    client.write_all(b"abc").await.unwrap();
    let mut back = [0u8; 3];
    client.read_exact(&mut back).await.unwrap();
    cut.cancel();
    let (stats, end, _) = tokio::time::timeout(T, relayed).await.unwrap().unwrap();
    assert_eq!(end, RelayEnd::Cut);
    assert_eq!((stats.to_tunnel, stats.from_tunnel), (3, 3));
    // The relay dropped its socket: the client sees the end.
    let mut rest = Vec::new();
    let n = tokio::time::timeout(T, client.read_to_end(&mut rest))
        .await
        .unwrap();
    assert!(n.map(|n| n == 0).unwrap_or(true));
}
