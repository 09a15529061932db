//! niping server and client over real sockets on 127.0.0.1: the happy path, fake servers
//! that misbehave, a fake router in front of the server, and a server fed garbage.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use portcullis_ni::frame::{NI_PING, NI_PONG};
use portcullis_ni::{ErrorContext, ErrorInfo, Message, ReturnCode, RtErr, MAX_ROUTE_MESSAGE};
use portcullis_router::io::{read_frame, write_frame};
use portcullis_router::niping::{run_client, serve, ClientOptions, NipingError, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Upper bound for anything a test waits for, so a bug fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);

async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .expect("test step took too long")
}

/// A niping server on an ephemeral port; listening (ready) when this returns.
struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(opts: ServerOptions) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, opts, shutdown.clone()));
        Server {
            addr,
            shutdown,
            task,
        }
    }

    async fn stop(mut self) {
        self.shutdown.cancel();
        within(&mut self.task).await.unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A fake server: accepts one connection and hands it to `behave`.
async fn fake<F, Fut>(behave: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        behave(stream).await;
    });
    addr
}

fn client_for(addr: SocketAddr) -> ClientOptions {
    ClientOptions {
        port: addr.port(),
        ..ClientOptions::new("127.0.0.1")
    }
}

/// Sends one frame and returns the answer.
async fn round_trip(stream: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
    write_frame(stream, payload).await.unwrap();
    within(read_frame(stream, 1 << 20)).await.unwrap()
}

/// Reads until the peer closes (or resets) the connection.
async fn closed_by_peer(stream: &mut TcpStream) {
    let mut sink = Vec::new();
    let _ = within(stream.read_to_end(&mut sink)).await;
}

#[tokio::test]
async fn the_client_times_every_echo_of_the_server() {
    let server = Server::start(ServerOptions::default()).await;
    let opts = ClientOptions {
        loops: 20,
        len: 2000,
        ..client_for(server.addr)
    };
    let report = within(run_client(&opts)).await.unwrap();
    assert_eq!(report.loops, 20);
    assert_eq!(report.len, 2000);
    assert_eq!(report.times.len(), 20);
    let av2 = report.av2().unwrap();
    assert!(report.min() <= av2 && av2 <= report.max(), "{report:?}");
    assert!(
        report.min() <= report.avg() && report.avg() <= report.max(),
        "{report:?}"
    );
    assert!(report.tr() > 0.0);
    let text = report.to_string();
    for line in ["avg ", "max ", "min ", "tr ", "av2 ", "tr2 "] {
        assert!(text.contains(line), "{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_corrupted_echo_names_the_message() {
    let addr = fake(|mut s| async move {
        let mut n = 0;
        while let Ok(mut frame) = read_frame(&mut s, 1 << 20).await {
            n += 1;
            if n == 3 {
                frame[500] ^= 0x01;
            }
            if write_frame(&mut s, &frame).await.is_err() {
                break;
            }
        }
    })
    .await;
    let err = within(run_client(&client_for(addr))).await.unwrap_err();
    assert!(
        matches!(err, NipingError::EchoMismatch { message: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("message 3") && text.contains("byte 500"),
        "{text}"
    );
}

#[tokio::test]
async fn a_server_that_closes_is_a_clear_error() {
    let addr = fake(|mut s| async move {
        let first = read_frame(&mut s, 1 << 20).await.unwrap();
        write_frame(&mut s, &first).await.unwrap();
        // Take the second message off the socket, so closing sends FIN rather than RST.
        let _second = read_frame(&mut s, 1 << 20).await.unwrap();
    })
    .await;
    let err = within(run_client(&client_for(addr))).await.unwrap_err();
    assert!(
        matches!(err, NipingError::ServerClosed { message: 2 }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the server closed the connection before echoing message 2"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_naming_the_message() {
    let addr = fake(|mut s| async move {
        let _ = read_frame(&mut s, 1 << 20).await;
        // Hold the connection open without answering until the client gives up.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
    })
    .await;
    let opts = ClientOptions {
        timeout: Duration::from_millis(200),
        ..client_for(addr)
    };
    let err = within(run_client(&opts)).await.unwrap_err();
    assert!(
        matches!(
            err,
            NipingError::EchoTimeout {
                message: 1,
                of: 10,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn nobody_listening_is_a_connection_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = within(run_client(&client_for(addr))).await.unwrap_err();
    match &err {
        NipingError::Connect { target, error } => {
            assert_eq!(target, &format!("127.0.0.1:{}", addr.port()));
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("listening on that port"), "{err}");
}

#[tokio::test]
async fn garbage_on_one_connection_does_not_disturb_another() {
    let server = Server::start(ServerOptions {
        max_frame: 64 * 1024,
        ..ServerOptions::default()
    })
    .await;
    let mut good = TcpStream::connect(server.addr).await.unwrap();
    let msg = portcullis_ni::niping::payload(1000);
    assert_eq!(round_trip(&mut good, &msg).await, msg);

    // A header announcing 4 GiB: refused before anything is allocated, connection closed.
    let mut oversized = TcpStream::connect(server.addr).await.unwrap();
    oversized
        .write_all(&[0xff, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    closed_by_peer(&mut oversized).await;

    // Pseudo-random bytes, then end of stream: whatever frames they happen to form, the
    // server ends up closing this connection.
    let mut garbage = TcpStream::connect(server.addr).await.unwrap();
    let mut x: u32 = 0x2545_f491;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_be_bytes()[0]
        })
        .collect();
    garbage.write_all(&noise).await.unwrap();
    garbage.shutdown().await.unwrap();
    closed_by_peer(&mut garbage).await;

    // A frame cut short.
    let mut truncated = TcpStream::connect(server.addr).await.unwrap();
    truncated.write_all(&[0, 0, 0, 100, 1, 2, 3]).await.unwrap();
    truncated.shutdown().await.unwrap();
    closed_by_peer(&mut truncated).await;

    // The first connection still works, keep-alives included, and so do new ones.
    assert_eq!(round_trip(&mut good, &msg).await, msg);
    assert_eq!(round_trip(&mut good, NI_PING).await, NI_PONG);
    let at_limit = vec![7u8; 64 * 1024];
    assert_eq!(round_trip(&mut good, &at_limit).await, at_limit);
    within(run_client(&client_for(server.addr))).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_when_configured() {
    let server = Server::start(ServerOptions {
        idle_timeout: Some(Duration::from_millis(100)),
        ..ServerOptions::default()
    })
    .await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    closed_by_peer(&mut idle).await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_open_connections() {
    let server = Server::start(ServerOptions::default()).await;
    let mut open = TcpStream::connect(server.addr).await.unwrap();
    let msg = portcullis_ni::niping::payload(10);
    assert_eq!(round_trip(&mut open, &msg).await, msg);
    server.stop().await;
    closed_by_peer(&mut open).await;
}

/// A fake SAProuter: reads the route request, reports it, then answers `answer`; on
/// `NI_PONG` it echoes frames as the niping server behind it would.
async fn fake_router(
    answer: Vec<u8>,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Receiver<portcullis_ni::RouteRequest>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let addr = fake(|mut s| async move {
        let request = read_frame(&mut s, MAX_ROUTE_MESSAGE).await.unwrap();
        let Ok(Message::Route(request)) = Message::parse(&request) else {
            panic!("not a route request");
        };
        let _ = tx.send(request);
        write_frame(&mut s, &answer).await.unwrap();
        if answer == NI_PONG {
            while let Ok(frame) = read_frame(&mut s, 1 << 20).await {
                if write_frame(&mut s, &frame).await.is_err() {
                    break;
                }
            }
        }
    })
    .await;
    (addr, rx)
}

#[tokio::test]
async fn a_route_string_goes_through_the_router_to_the_niping_port() {
    let (router, request) = fake_router(NI_PONG.to_vec()).await;
    let opts = ClientOptions {
        loops: 3,
        ..ClientOptions::new(format!("/H/127.0.0.1/S/{}/H/sapapp1", router.port()))
    };
    let report = within(run_client(&opts)).await.unwrap();
    assert_eq!(report.times.len(), 3);
    let request = request.await.unwrap();
    assert_eq!(request.talk_mode, portcullis_ni::TalkMode::Msg);
    let target = request.hops.last().unwrap();
    assert_eq!(
        (target.host.as_str(), target.service.as_str()),
        ("sapapp1", "3298")
    );
}

#[tokio::test]
async fn a_refused_route_shows_the_routers_code_and_text() {
    let info = ErrorInfo::for_router(
        ReturnCode::PermDenied,
        "route permission denied (127.0.0.1 to sapapp1, 3298)",
        40,
        "",
        &ErrorContext::default(),
        true,
    );
    let refusal = RtErr::error(40, ReturnCode::PermDenied, &info).encode();
    let (router, _request) = fake_router(refusal).await;
    let opts = ClientOptions::new(format!(
        "/H/127.0.0.1/S/{}/W/secret/H/sapapp1",
        router.port()
    ));
    let err = within(run_client(&opts)).await.unwrap_err();
    assert!(matches!(err, NipingError::RouteRefused { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("NIEROUT_PERM_DENIED (-94): route permission denied"),
        "{text}"
    );
    assert!(!text.contains("secret"), "password in the message: {text}");
}
