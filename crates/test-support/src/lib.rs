//! Builders that start real components on loopback port 0 and return when they are ready.
//!
//! ```ignore
//! let hub = TestHub::start().await;
//! let acme = hub.company("acme").await;
//! let token = hub.token("acme", "bot").await;
//! let echo = echo_server().await;
//! let conn = TestConnector::for_hub(&hub, "acme", "berlin").await
//!     .expose("echo", "echo.internal:7", echo).run().await;
//! ```
//!
//! # Layout
//! - [`browser`]: browser scenarios (`tests/browser`): headless Chromium driven by
//!   playwright-core, axe-core accessibility checks and screenshots, with a JSON fixture.
//! - [`hub`]: [`TestHub`], a hub with its own temporary data directory.
//! - [`connector`]: [`TestConnector`], an enrolled connector with a config file it reloads.
//! - [`clients`]: SOCKS5 and HTTP CONNECT clients written from the RFCs, for tests.
//! - [`process`]: [`process::Proc`], the real binary as a child process (readiness from its
//!   log lines, SIGKILL on drop).
//! - [`pysap`]: the pysap-based NI client (`tests/pysap/ni_client.py`), a third-party client.
//! - [`oidc`]: [`oidc::TestIdp`], a real OpenID Connect provider (oidc-provider, npm) over
//!   HTTPS with a CA of its own.
//! - [`mount`]: a small tmpfs mounted for a test (a real full or read-only file system).
//! - [`serial`]: the guard that keeps the heavy end-to-end tests apart.
//! - [`world`]: the setups several end-to-end subjects start from.
#![forbid(unsafe_code)]

pub mod browser;
pub mod clients;
pub mod connector;
pub mod hub;
pub mod mount;
pub mod oidc;
pub mod process;
pub mod pysap;
pub mod serial;
pub mod world;

use std::net::SocketAddr;
use std::time::Duration;

pub use connector::TestConnector;
pub use hub::{HubOptions, TestHub};
use tokio_util::sync::CancellationToken;

/// How long tests wait for anything before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Starts a TCP echo server on 127.0.0.1 port 0 that lives as long as the test process.
pub async fn echo_server() -> SocketAddr {
    portcullis::demo::echo_server("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
        .await
        .expect("echo server binds")
}

/// Starts a TCP echo server on 127.0.0.1 port 0 that reports, for every connection, the
/// moment it ended (the peer closed or reset it): how a test sees that the connector cut its
/// side of a session, on the back end's own socket.
pub async fn watched_echo_server() -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<std::time::Instant>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("echo binds");
    let addr = listener.local_addr().expect("echo address");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = tx.send(std::time::Instant::now());
            });
        }
    });
    (addr, rx)
}

/// Starts an NI echo server (`portcullis niping -s`) on 127.0.0.1 port 0 that lives as long
/// as the test process: what a route in MSG mode reaches.
pub async fn ni_echo_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("ni echo binds");
    let addr = listener.local_addr().expect("ni echo address");
    tokio::spawn(portcullis_router::niping::serve(
        listener,
        portcullis_router::niping::ServerOptions::default(),
        CancellationToken::new(),
    ));
    addr
}

/// Starts the demo HTTP server on 127.0.0.1 port 0.
pub async fn http_server() -> SocketAddr {
    portcullis::demo::http_server("127.0.0.1:0".parse().unwrap(), CancellationToken::new())
        .await
        .expect("http server binds")
}
