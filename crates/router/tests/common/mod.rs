//! Shared test harness: routers on port 0 with a table written to a temp dir, echo targets.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use portcullis_ni::{RouteString, TalkMode};
use portcullis_router::client::{self, ClientError};
use portcullis_router::io::{read_frame, write_frame};
use portcullis_router::{Router, RouterConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A router running in this process.
pub struct TestRouter {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub table: PathBuf,
    pub log: PathBuf,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<()>,
}

impl TestRouter {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `/H/<address>/S/<port>`.
    pub fn hop(&self) -> String {
        format!("/H/{}/S/{}", self.addr.ip(), self.port())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn write_table(&self, table: &str) {
        std::fs::write(&self.table, table).unwrap();
    }

    /// Waits for `run` to return (after `-s` or a soft shutdown).
    pub async fn stopped(&mut self) {
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("router stops")
            .unwrap();
    }
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts a router with `table`; `tweak` adjusts the configuration.
pub async fn start_router_with(table: &str, tweak: impl FnOnce(&mut RouterConfig)) -> TestRouter {
    let dir = tempfile::tempdir().unwrap();
    let table_path = dir.path().join("saprouttab");
    std::fs::write(&table_path, table).unwrap();
    let log = dir.path().join("saprouter.log");
    let mut config = RouterConfig::new(&table_path);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.log_file = Some(log.clone());
    config.trace_file = Some(dir.path().join("dev_rout"));
    config.trace_level = 3;
    config.host_name = "testrouter".into();
    tweak(&mut config);
    let router = Router::bind(config).await.expect("router starts");
    let addr = router.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(router.run(shutdown.clone()));
    TestRouter {
        addr,
        dir,
        table: table_path,
        log,
        shutdown,
        task,
    }
}

pub async fn start_router(table: &str) -> TestRouter {
    start_router_with(table, |_| {}).await
}

/// A raw TCP echo server.
pub async fn raw_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = tcp.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// An NI server that echoes every frame (what niping -s does).
pub async fn ni_echo() -> SocketAddr {
    ni_echo_on("127.0.0.1").await
}

/// [`ni_echo`] on another loopback address: the niping server, which echoes every frame.
pub async fn ni_echo_on(ip: &str) -> SocketAddr {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(portcullis_router::niping::serve(
        listener,
        portcullis_router::niping::ServerOptions::default(),
        CancellationToken::new(),
    ));
    addr
}

/// A target that accepts one connection and hands it to the test.
pub async fn one_shot_target() -> (SocketAddr, tokio::sync::oneshot::Receiver<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await {
            let _ = tx.send(tcp);
        }
    });
    (addr, rx)
}

pub async fn connect(route: &str, mode: TalkMode) -> Result<TcpStream, ClientError> {
    let route = RouteString::parse(route).expect("valid route string");
    client::connect(&route, mode, TIMEOUT).await
}

/// Sends one NI frame and expects it back.
pub async fn ni_roundtrip(stream: &mut TcpStream, payload: &[u8]) {
    write_frame(stream, payload).await.unwrap();
    let back = tokio::time::timeout(TIMEOUT, read_frame(stream, 1 << 20))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(back, payload);
}

/// Sends raw bytes and expects them back.
pub async fn raw_roundtrip(stream: &mut TcpStream, payload: &[u8]) {
    stream.write_all(payload).await.unwrap();
    let mut back = vec![0u8; payload.len()];
    tokio::time::timeout(TIMEOUT, stream.read_exact(&mut back))
        .await
        .expect("echo in time")
        .unwrap();
    assert_eq!(back, payload);
}

/// The refusal a route attempt ended with.
pub fn refused(result: Result<TcpStream, ClientError>) -> client::RouteRefused {
    match result {
        Err(ClientError::Refused(r)) => r,
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("expected a refusal, the route was set up"),
    }
}
