//! The tunnel's data path in one process, for repeatable instruction counts under
//! `valgrind --tool=callgrind` (driven by `bench/callgrind`).
//!
//! ```text
//! callgrind_ops rtt N    N round trips of 64 B on one stream
//! callgrind_ops open N   N × {open a stream, one 64 B round trip, close it}
//! callgrind_ops bulk N   N MiB one way through one stream
//! ```
//!
//! The real stack, both ends: a CA, a hub certificate and an enrolled connector certificate
//! from [`pki`]; TLS 1.3 with client certificates from [`tls`]; the handshake and the h2
//! multiplexer from [`tunnel`](portcullis_transport::tunnel); the [`relay`] on both sides, as
//! the hub's session and the connector's session run it. Every socket is an in-memory pipe
//! (`tokio::io::duplex`) instead:
//!
//! ```text
//! client ─pipe─ hub relay ─ h2 client ─ TLS ═pipe═ TLS ─ h2 server ─ connector relay ─pipe─ back end
//! ```
//!
//! The back end echoes (port 7) or counts and discards (port 9). One `current_thread` runtime
//! and no sockets make the schedule, and so the instruction count, the same from run to run;
//! the set-up (key generation, TLS handshake) costs the same whatever N is, so
//! `(Ir(N2) − Ir(N1)) / (N2 − N1)` is the cost of one operation.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use portcullis_proto::{Hello, OpenResult, StreamOpen, Welcome};
use portcullis_transport::h2stream::H2Stream;
use portcullis_transport::pki::{self, Ca};
use portcullis_transport::relay::{relay, RelayEnd};
use portcullis_transport::tls;
use portcullis_transport::tunnel::{
    connector_handshake, hub_read_hello, hub_welcome, HubMux, Incoming, MuxSettings,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Deadline of the handshake phases and of a stream open: generous, as callgrind runs the
/// code ~50× slower.
const T: Duration = Duration::from_secs(600);
/// Validity of the generated certificates.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Size of one round trip's message.
const MSG: usize = 64;
/// The write size of the bulk sender, as `bench/load` uses.
const CHUNK: usize = 64 << 10;
/// Buffer of the pipe standing in for the hub–connector TCP connection.
const TUNNEL_PIPE: usize = 256 << 10;
/// Buffer of the pipes standing in for the client's and the back end's sockets.
const SOCKET_PIPE: usize = 64 << 10;
/// Read buffer of the echo back end.
const ECHO_BUF: usize = 4 << 10;
/// Back-end port that echoes.
const ECHO: u16 = 7;
/// Back-end port that discards and reports how much it got.
const DISCARD: u16 = 9;

const USAGE: &str = "usage: callgrind_ops rtt N | open N | bulk N
  rtt N   N round trips of 64 B on one stream
  open N  N x {open a stream, one 64 B round trip, close}
  bulk N  N MiB one way through one stream";

#[derive(Debug, Clone, Copy)]
enum Workload {
    Rtt,
    Open,
    Bulk,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((work, n)) = parse(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (hub, connector) = identities();
        let (report, mut discarded) = mpsc::unbounded_channel();
        let (mux, _control) = tunnel(hub, connector, report).await;
        match work {
            Workload::Rtt => round_trips(&mux, n).await,
            Workload::Open => opens(&mux, n).await,
            Workload::Bulk => bulk(&mux, n, &mut discarded).await,
        }
    });
    ExitCode::SUCCESS
}

fn parse(args: &[String]) -> Option<(Workload, u64)> {
    let [work, n] = args else { return None };
    let work = match work.as_str() {
        "rtt" => Workload::Rtt,
        "open" => Workload::Open,
        "bulk" => Workload::Bulk,
        _ => return None,
    };
    Some((work, n.parse().ok()?))
}

/// The hub's tunnel server configuration and an enrolled connector's client configuration.
fn identities() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let material = pki::generate_ca("callgrind CA").expect("CA");
    let ca = Ca::from_pem(&material.cert_pem, material.key_pem.expose()).expect("load CA");
    let leaf = ca
        .issue_server_cert(&["localhost".to_owned()], DAY)
        .expect("server certificate");
    let mut chain = pki::pem_to_der_certs(&leaf.cert_pem).expect("server chain");
    chain.push(ca.cert_der().clone());
    let server_key = pki::pem_to_private_key(leaf.key_pem.expose()).expect("server key");
    let server = tls::tunnel_server_config(chain, server_key, ca.cert_der().clone())
        .expect("tunnel server config");

    let (csr, key_pem) = pki::generate_csr("callgrind-connector").expect("CSR");
    let signed = ca
        .sign_csr(&csr, "connector-1", DAY)
        .expect("connector certificate");
    let client = tls::tunnel_client_config(
        ca.cert_der().clone(),
        pki::pem_to_der_certs(&signed.cert_pem).expect("connector chain"),
        pki::pem_to_private_key(&key_pem).expect("connector key"),
    )
    .expect("tunnel client config");
    (server, client)
}

/// Connects a connector to the hub over TLS on an in-memory pipe and completes the tunnel
/// handshake. The connector serves the hub's streams in spawned tasks; the returned control
/// stream must be kept for the tunnel's lifetime. Its discard back ends report the bytes they
/// got to `discarded`.
async fn tunnel(
    hub: Arc<ServerConfig>,
    connector: Arc<ClientConfig>,
    discarded: mpsc::UnboundedSender<u64>,
) -> (HubMux, H2Stream) {
    let (hub_io, connector_io) = tokio::io::duplex(TUNNEL_PIPE);
    tokio::spawn(run_connector(connector, connector_io, discarded));
    let mut io = TlsAcceptor::from(hub)
        .accept(hub_io)
        .await
        .expect("hub TLS handshake");
    hub_read_hello(&mut io, T).await.expect("hello");
    let welcome = Welcome {
        hub_version: env!("CARGO_PKG_VERSION").into(),
        heartbeat_interval_ms: 60_000,
        warning: None,
        features: Vec::new(),
    };
    hub_welcome(io, welcome, &MuxSettings::default(), T)
        .await
        .expect("welcome")
}

/// The connector: TLS, the tunnel handshake, then every stream the hub opens in its own task.
async fn run_connector(
    config: Arc<ClientConfig>,
    io: DuplexStream,
    discarded: mpsc::UnboundedSender<u64>,
) {
    let name = ServerName::try_from("localhost").expect("server name");
    let io = TlsConnector::from(config)
        .connect(name, io)
        .await
        .expect("connector TLS handshake");
    let hello = Hello {
        software_version: env!("CARGO_PKG_VERSION").into(),
        location: "callgrind".into(),
        hostname: None,
    };
    let (_, mut mux) = connector_handshake(io, hello, &MuxSettings::default(), T)
        .await
        .expect("connector handshake");
    while let Some(Ok(incoming)) = mux.accept().await {
        tokio::spawn(connector_session(incoming, discarded.clone()));
    }
}

/// The connector's side of one stream: accept it, "dial" the back end, relay until both
/// directions end.
async fn connector_session(incoming: Incoming, discarded: mpsc::UnboundedSender<u64>) {
    match incoming {
        Incoming::Control(mut control) => {
            // Held open, and read, for the tunnel's lifetime; nothing is sent on it here.
            let mut b = [0u8; 64];
            while matches!(control.read(&mut b).await, Ok(n) if n > 0) {}
        }
        Incoming::Stream(s) => {
            let pending = s.read_open(T).await.expect("stream open");
            let port = pending.open.port;
            let stream = pending.accept().expect("accept stream");
            let (ours, backend) = tokio::io::duplex(SOCKET_PIPE);
            match port {
                ECHO => tokio::spawn(echo(backend)),
                _ => tokio::spawn(discard(backend, discarded)),
            };
            let (_, end, err) = relay(ours, stream, std::future::pending::<()>()).await;
            assert_eq!(end, RelayEnd::Closed, "connector relay: {err:?}");
        }
    }
}

/// Echoes until the far end closes, then closes. Reads into uninitialised room
/// (`read_buf`), so the harness zeroes no buffer per stream.
async fn echo(mut io: DuplexStream) {
    let mut buf = BytesMut::with_capacity(ECHO_BUF);
    loop {
        buf.clear();
        match io.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if io.write_all(&buf).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = io.shutdown().await;
}

/// Reads and discards until the far end closes; reports the byte count.
async fn discard(mut io: DuplexStream, report: mpsc::UnboundedSender<u64>) {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    while let Ok(n) = io.read(&mut buf).await {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    let _ = report.send(total);
}

fn open_request(port: u16) -> StreamOpen {
    StreamOpen {
        session_id: "callgrind".into(),
        host: "backend.internal".into(),
        port,
        principal: "callgrind".into(),
        entry: "callgrind".into(),
        client_addr: None,
        window: None,
        grant: None,
    }
}

/// Opens a stream to `port` and starts the hub's relay between it and a fresh client pipe;
/// returns the client's end and the relay's task.
async fn session(mux: &HubMux, port: u16) -> (DuplexStream, tokio::task::JoinHandle<RelayEnd>) {
    let stream = match mux.open_stream(&open_request(port), T).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(OpenResult::Refused { message, .. })) => panic!("refused: {message}"),
        Ok(Err(other)) => panic!("not connected: {other:?}"),
        Err(e) => panic!("open failed: {e}"),
    };
    let (client, ours) = tokio::io::duplex(SOCKET_PIPE);
    (client, tokio::spawn(hub_session(ours, stream)))
}

/// The hub's side of one stream: relay between the client's socket and the stream.
async fn hub_session(client: DuplexStream, stream: H2Stream) -> RelayEnd {
    let (_, end, err) = relay(client, stream, std::future::pending::<()>()).await;
    assert_eq!(end, RelayEnd::Closed, "hub relay: {err:?}");
    end
}

async fn round_trip(client: &mut DuplexStream, buf: &mut [u8; MSG]) {
    let sent = *buf;
    client.write_all(buf).await.expect("write");
    client.read_exact(buf).await.expect("read");
    assert_eq!(*buf, sent, "the echo changed the bytes");
}

async fn round_trips(mux: &HubMux, n: u64) {
    let (mut client, _relay) = session(mux, ECHO).await;
    let mut buf = [7u8; MSG];
    for _ in 0..n {
        round_trip(&mut client, &mut buf).await;
    }
}

async fn opens(mux: &HubMux, n: u64) {
    let mut buf = [7u8; MSG];
    for _ in 0..n {
        let (mut client, relay) = session(mux, ECHO).await;
        round_trip(&mut client, &mut buf).await;
        // Close as a client does: half-close, read the echo's end, wait for the relay to end.
        client.shutdown().await.expect("shutdown");
        assert_eq!(client.read(&mut buf).await.expect("read end"), 0);
        drop(client);
        relay.await.expect("hub relay task");
    }
}

async fn bulk(mux: &HubMux, mib: u64, discarded: &mut mpsc::UnboundedReceiver<u64>) {
    let (mut client, relay) = session(mux, DISCARD).await;
    let chunk = vec![1u8; CHUNK];
    let total = mib << 20;
    for _ in 0..total / CHUNK as u64 {
        client.write_all(&chunk).await.expect("write");
    }
    client.shutdown().await.expect("shutdown");
    let got = discarded.recv().await.expect("the back end's count");
    assert_eq!(got, total, "bytes that reached the back end");
    let mut end = [0u8; 1];
    assert_eq!(client.read(&mut end).await.expect("read end"), 0);
    relay.await.expect("hub relay task");
}
