//! Measures the tunnel multiplexer candidates over a real loopback TCP connection wrapped in
//! real TLS 1.3 (the production rustls configurations, ring provider, mutual auth):
//!
//! - `baseline`: the raw TLS stream, no multiplexer (one stream = the connection);
//! - `h2`: Portcullis' own code path (`tunnel::{hub_read_hello, hub_welcome,
//!   connector_handshake}`, `HubMux::open_stream`, `H2Stream`) with `MuxSettings::default()`;
//! - `yamux`: the libp2p `yamux` crate over the same TLS stream, streams opened by the hub,
//!   carrying the same `StreamOpen` / `StreamReply` frames as the h2 path.
//!
//! Both ends run in this process on a 2-worker multi-thread tokio runtime. The hub is the TLS
//! server and opens streams; the connector is the TLS client and sinks or echoes.
//!
//! `cargo run --release -- [--quick] [--runs N] [--yamux-split BYTES]`. See README.md.

use std::collections::VecDeque;
use std::error::Error;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use portcullis_proto::{Hello, Message, OpenResult, StreamOpen, StreamReply, Welcome};
use portcullis_transport::framed::{read_message, write_message};
use portcullis_transport::h2stream::H2Stream;
use portcullis_transport::pki::{self, Ca};
use portcullis_transport::tls;
use portcullis_transport::tunnel::{
    connector_handshake, hub_read_hello, hub_welcome, HubMux, Incoming, MuxSettings,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

type BoxError = Box<dyn Error + Send + Sync>;
type R<T> = Result<T, BoxError>;

/// Handshake and stream-open deadline (generous: only a hung bench should hit it).
const T: Duration = Duration::from_secs(10);
/// Size of one bulk write and of the sink's read buffer.
const CHUNK: usize = 64 * 1024;
/// Size of one latency probe.
const PROBE: usize = 64;
/// Virtual ports that select the connector's behaviour for a stream.
const PORT_SINK: u16 = 9;
const PORT_ECHO: u16 = 7;

// ---------------------------------------------------------------------------------------------
// Parameters

#[derive(Debug, Clone)]
struct Params {
    runs: usize,
    bulk_secs: f64,
    bulk_warmup: Duration,
    concurrent_streams: usize,
    rtt_warmup: usize,
    rtt_count: usize,
    opens: usize,
    hol_idle: usize,
    hol_count: usize,
    hol_warmup: Duration,
    /// Upper bound on any one measured loop, whatever its count.
    loop_cap: Duration,
    /// Upper bound on one (figure, candidate, run); a run past it is reported as a timeout.
    run_cap: Duration,
    /// One yamux column per frame size (`split_send_size`).
    yamux_splits: Vec<usize>,
    /// Figures to run (letters a..e).
    only: String,
    /// Candidates to run: any of `raw`, `h2`, `yamux`, comma-separated.
    candidates: String,
    /// Diagnostics, off by default (production sets neither): TCP_NOTSENT_LOWAT and
    /// SO_SNDBUF/SO_RCVBUF on both ends' sockets.
    notsent_lowat: Option<u32>,
    sockbuf: Option<usize>,
    /// h2 settings given to the production handshake functions. `MuxSettings::default()`
    /// unless a `--h2-*` diagnostic flag changes it.
    h2: MuxSettings,
}

impl Params {
    fn full() -> Self {
        Params {
            runs: 3,
            bulk_secs: 3.0,
            bulk_warmup: Duration::from_millis(300),
            concurrent_streams: 8,
            rtt_warmup: 500,
            rtt_count: 10_000,
            opens: 2_000,
            hol_idle: 500,
            hol_count: 2_000,
            hol_warmup: Duration::from_millis(300),
            loop_cap: Duration::from_secs(30),
            run_cap: Duration::from_secs(90),
            yamux_splits: vec![16 * 1024, 256 * 1024],
            only: "abcde".into(),
            candidates: "raw,h2,yamux".into(),
            notsent_lowat: None,
            sockbuf: None,
            h2: MuxSettings::default(),
        }
    }

    fn quick() -> Self {
        Params {
            runs: 1,
            bulk_secs: 0.2,
            bulk_warmup: Duration::from_millis(50),
            concurrent_streams: 8,
            rtt_warmup: 20,
            rtt_count: 200,
            opens: 50,
            hol_idle: 20,
            hol_count: 100,
            hol_warmup: Duration::from_millis(50),
            loop_cap: Duration::from_secs(5),
            run_cap: Duration::from_secs(20),
            yamux_splits: vec![16 * 1024, 256 * 1024],
            only: "abcde".into(),
            candidates: "raw,h2,yamux".into(),
            notsent_lowat: None,
            sockbuf: None,
            h2: MuxSettings::default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TLS material, made once with the production PKI and TLS code

struct Tls {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

fn make_tls() -> R<Tls> {
    let day = Duration::from_secs(24 * 3600);
    let material = pki::generate_ca("bench hub CA")?;
    let ca = Ca::from_pem(&material.cert_pem, material.key_pem.expose())?;
    let leaf = ca.issue_server_cert(&["127.0.0.1".to_owned(), "localhost".to_owned()], day)?;
    let mut server_chain = pki::pem_to_der_certs(&leaf.cert_pem)?;
    server_chain.push(ca.cert_der().clone());
    let server = tls::tunnel_server_config(
        server_chain,
        pki::pem_to_private_key(leaf.key_pem.expose())?,
        ca.cert_der().clone(),
    )?;
    let (csr, key_pem) = pki::generate_csr("bench-connector")?;
    let signed = ca.sign_csr(&csr, "bench-connector", day)?;
    let client = tls::tunnel_client_config(
        ca.cert_der().clone(),
        pki::pem_to_der_certs(&signed.cert_pem)?,
        pki::pem_to_private_key(&key_pem)?,
    )?;
    Ok(Tls { server, client })
}

type HubTls = tokio_rustls::server::TlsStream<TcpStream>;
type ConnTls = tokio_rustls::client::TlsStream<TcpStream>;

/// One loopback TCP connection (TCP_NODELAY both ends, as in production) with TLS 1.3 on it:
/// the connector dials, the hub accepts.
async fn tls_pair(
    tls: &Tls,
    p: &Params,
    listener: &TcpListener,
    addr: SocketAddr,
) -> R<(HubTls, ConnTls)> {
    let acceptor = TlsAcceptor::from(tls.server.clone());
    let connector = TlsConnector::from(tls.client.clone());
    let hub = async {
        let (tcp, _) = listener.accept().await?;
        sock_opts(&tcp, p)?;
        Ok::<_, BoxError>(acceptor.accept(tcp).await?)
    };
    let conn = async {
        let tcp = TcpStream::connect(addr).await?;
        sock_opts(&tcp, p)?;
        let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
        Ok::<_, BoxError>(connector.connect(name, tcp).await?)
    };
    let (h, c) = tokio::time::timeout(T, async { tokio::join!(hub, conn) }).await?;
    let (h, c) = (h?, c?);
    if h.get_ref().1.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return Err("not TLS 1.3".into());
    }
    Ok((h, c))
}

async fn fresh_tls_pair(tls: &Tls, p: &Params) -> R<(HubTls, ConnTls)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tls_pair(tls, p, &listener, addr).await
}

/// TCP_NODELAY as in production (hub `tunnel_endpoint.rs`, connector), plus the diagnostics.
fn sock_opts(tcp: &TcpStream, p: &Params) -> R<()> {
    tcp.set_nodelay(true)?;
    let s = socket2::SockRef::from(tcp);
    if let Some(n) = p.notsent_lowat {
        s.set_tcp_notsent_lowat(n)?;
    }
    if let Some(n) = p.sockbuf {
        s.set_send_buffer_size(n)?;
        s.set_recv_buffer_size(n)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The connector's side: what it does with a stream

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type BoxIo = Box<dyn Io>;

#[derive(Debug, Default)]
struct Counters {
    /// Bytes the connector's sinks have read (the receiver side counts).
    sunk: AtomicU64,
}

fn open_msg(port: u16) -> StreamOpen {
    StreamOpen {
        session_id: format!("bench-{port}"),
        host: "bench.internal".into(),
        port,
        principal: "bench".into(),
        entry: "bench".into(),
        client_addr: None,
        window: None,
        grant: None,
    }
}

/// Port 9: read and count until EOF. Port 7: echo until EOF. Then close our side.
async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, port: u16, c: Arc<Counters>) {
    let mut buf = vec![0u8; CHUNK];
    if port == PORT_SINK {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    c.sunk.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        }
    } else {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).await.is_err() || s.flush().await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    let _ = s.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Candidates

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Baseline,
    H2,
    /// yamux with this frame size (`split_send_size`).
    Yamux(usize),
}

impl Kind {
    fn label(self) -> String {
        match self {
            Kind::Baseline => "no mux (raw TLS)".into(),
            Kind::H2 => "h2 (Portcullis H2Stream)".into(),
            Kind::Yamux(split) if split % 1024 == 0 => {
                format!("yamux 0.14 ({} KiB frames)", split / 1024)
            }
            Kind::Yamux(split) => format!("yamux 0.14 ({split} B frames)"),
        }
    }
}

/// The hub's handle on one tunnel of one candidate.
enum Hub {
    /// The raw TLS stream; the connector's behaviour was fixed at setup.
    Raw(Option<BoxIo>),
    H2 {
        mux: HubMux,
        _control: H2Stream,
    },
    Yamux(YamuxHub),
}

struct Tunnel {
    hub: Hub,
    counters: Arc<Counters>,
    connector: JoinHandle<()>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.connector.abort();
    }
}

impl Tunnel {
    async fn open(&mut self, port: u16) -> R<BoxIo> {
        match &mut self.hub {
            Hub::Raw(s) => s.take().ok_or_else(|| "raw TLS carries one stream".into()),
            Hub::H2 { mux, .. } => match mux.open_stream(&open_msg(port), T).await? {
                Ok(s) => Ok(Box::new(s)),
                Err(r) => Err(format!("refused: {r:?}").into()),
            },
            Hub::Yamux(y) => y.open(port).await,
        }
    }
}

/// Sets up one tunnel. For the baseline, `raw_port` fixes what the connector does.
async fn setup(kind: Kind, tls: &Tls, p: &Params, raw_port: u16) -> R<Tunnel> {
    let (hub_io, conn_io) = fresh_tls_pair(tls, p).await?;
    let counters = Arc::new(Counters::default());
    let c2 = counters.clone();
    match kind {
        Kind::Baseline => {
            let connector = tokio::spawn(serve_stream(conn_io, raw_port, c2));
            Ok(Tunnel {
                hub: Hub::Raw(Some(Box::new(hub_io))),
                counters,
                connector,
            })
        }
        Kind::H2 => {
            let h2_settings = p.h2.clone();
            let (ready_tx, ready_rx) = oneshot::channel();
            let connector = tokio::spawn(async move {
                let hello = Hello {
                    software_version: "1.0.0".into(),
                    location: "bench".into(),
                    hostname: None,
                };
                let r = connector_handshake(conn_io, hello, &h2_settings, T).await;
                let mut mux = match r {
                    Ok((_, mux)) => {
                        let _ = ready_tx.send(Ok(()));
                        mux
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                // `accept` also drives the connection: loop for as long as the tunnel lives.
                while let Some(Ok(inc)) = mux.accept().await {
                    let c = c2.clone();
                    tokio::spawn(async move {
                        match inc {
                            Incoming::Control(s) => serve_stream(s, PORT_SINK, c).await,
                            Incoming::Stream(s) => {
                                let Ok(pending) = s.read_open(T).await else { return };
                                let port = pending.open.port;
                                if let Ok(s) = pending.accept() {
                                    serve_stream(s, port, c).await;
                                }
                            }
                        }
                    });
                }
            });
            let mut hub_io = hub_io;
            hub_read_hello(&mut hub_io, T).await?;
            let welcome = Welcome {
                hub_version: "1.0.0".into(),
                heartbeat_interval_ms: 15_000,
                warning: None,
                features: Vec::new(),
            };
            let (mux, control) = hub_welcome(hub_io, welcome, &p.h2, T).await?;
            ready_rx.await?.map_err(BoxError::from)?;
            Ok(Tunnel {
                hub: Hub::H2 {
                    mux,
                    _control: control,
                },
                counters,
                connector,
            })
        }
        Kind::Yamux(split) => {
            let cfg = yamux_config(split);
            let ccfg = cfg.clone();
            let connector = tokio::spawn(async move {
                let mut conn =
                    yamux::Connection::new(conn_io.compat(), ccfg, yamux::Mode::Server);
                // Polling for inbound streams also drives the connection.
                while let Some(Ok(st)) =
                    std::future::poll_fn(|cx| conn.poll_next_inbound(cx)).await
                {
                    let c = c2.clone();
                    tokio::spawn(async move {
                        let mut s = st.compat();
                        let Ok(Message::StreamOpen(open)) = read_message(&mut s).await else {
                            return;
                        };
                        let reply = Message::StreamReply(StreamReply {
                            session_id: open.session_id.clone(),
                            result: OpenResult::Connected,
                        });
                        if write_message(&mut s, &reply).await.is_ok() {
                            serve_stream(s, open.port, c).await;
                        }
                    });
                }
            });
            let hub = YamuxHub::start(hub_io.compat(), cfg);
            Ok(Tunnel {
                hub: Hub::Yamux(hub),
                counters,
                connector,
            })
        }
    }
}

/// yamux tuned as far as 0.13/0.14 allow: there is no per-stream window setting (windows start
/// at 256 KiB and auto-tune towards the bandwidth-delay product), nor a send-buffer setting.
/// The connection-wide receive limit stays at its default (1 GiB, i.e. effectively unbounded
/// per stream); the frame size is `split` (yamux's own default is 16 KiB).
fn yamux_config(split: usize) -> yamux::Config {
    let mut cfg = yamux::Config::default();
    cfg.set_split_send_size(split);
    cfg
}

type OpenReply = oneshot::Sender<Result<yamux::Stream, yamux::ConnectionError>>;

/// The hub's yamux side: a task owns the `Connection`, drives it, and opens streams on request.
struct YamuxHub {
    requests: mpsc::UnboundedSender<OpenReply>,
    driver: JoinHandle<()>,
}

impl Drop for YamuxHub {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl YamuxHub {
    fn start<IO>(io: IO, cfg: yamux::Config) -> Self
    where
        IO: futures::AsyncRead + futures::AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<OpenReply>();
        let mut conn = yamux::Connection::new(io, cfg, yamux::Mode::Client);
        let driver = tokio::spawn(async move {
            let mut waiting: VecDeque<OpenReply> = VecDeque::new();
            std::future::poll_fn(|cx| {
                while let Poll::Ready(Some(r)) = rx.poll_recv(cx) {
                    waiting.push_back(r);
                }
                while !waiting.is_empty() {
                    match conn.poll_new_outbound(cx) {
                        Poll::Ready(res) => {
                            let _ = waiting.pop_front().expect("non-empty").send(res);
                        }
                        Poll::Pending => break,
                    }
                }
                loop {
                    match conn.poll_next_inbound(cx) {
                        Poll::Ready(Some(Ok(_unexpected_inbound))) => continue,
                        Poll::Ready(Some(Err(_))) | Poll::Ready(None) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            })
            .await;
        });
        YamuxHub {
            requests: tx,
            driver,
        }
    }

    /// Opens a stream and runs the same `StreamOpen` / `StreamReply` exchange as the h2 path.
    async fn open(&self, port: u16) -> R<BoxIo> {
        tokio::time::timeout(T, async {
            let (tx, rx) = oneshot::channel();
            self.requests.send(tx).map_err(|_| "yamux driver gone")?;
            let mut s = rx.await??.compat();
            write_message(&mut s, &Message::StreamOpen(open_msg(port))).await?;
            match read_message(&mut s).await? {
                Message::StreamReply(StreamReply {
                    result: OpenResult::Connected,
                    ..
                }) => Ok(Box::new(s) as BoxIo),
                other => Err(format!("unexpected {}", other.name()).into()),
            }
        })
        .await?
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// Process CPU time (user + system) in seconds, from /proc/self/stat (Linux only).
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Busy CPU time of the whole machine (all cores, every process) in seconds, from /proc/stat.
fn machine_busy_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7)?;
    Some(busy / 100.0)
}

/// A snapshot for measuring how much CPU *other* processes used during a run.
#[derive(Clone, Copy)]
struct Load {
    machine: Option<f64>,
    own: Option<f64>,
    at: Instant,
}

impl Load {
    fn now() -> Self {
        Load {
            machine: machine_busy_secs(),
            own: cpu_secs(),
            at: Instant::now(),
        }
    }

    /// Average number of cores other processes kept busy since `self`.
    fn foreign_cores_since(&self) -> f64 {
        let later = Load::now();
        match (self.machine, later.machine, self.own, later.own) {
            (Some(m0), Some(m1), Some(o0), Some(o1)) => {
                (((m1 - m0) - (o1 - o0)) / (later.at - self.at).as_secs_f64()).max(0.0)
            }
            _ => f64::NAN,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bulk {
    gbps: f64,
    /// CPU seconds (both ends, whole process) per GB moved.
    cpu_per_gb: f64,
}

/// Writes 64 KiB chunks from the hub side on `n` streams, counts what the connector reads.
async fn fig_bulk(kind: Kind, tls: &Tls, p: &Params, n: usize) -> R<Bulk> {
    let mut t = setup(kind, tls, p, PORT_SINK).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let hard_stop = Instant::now() + p.loop_cap;
    let mut writers = Vec::new();
    for _ in 0..n {
        let mut s = t.open(PORT_SINK).await?;
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let chunk = vec![0xa5u8; CHUNK];
            while !stop.load(Ordering::Relaxed) && Instant::now() < hard_stop {
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
            }
            let _ = s.shutdown().await;
        }));
    }
    tokio::time::sleep(p.bulk_warmup).await;
    let (b0, t0, c0) = (t.counters.sunk.load(Ordering::Relaxed), Instant::now(), cpu_secs());
    tokio::time::sleep(Duration::from_secs_f64(p.bulk_secs)).await;
    let (b1, t1, c1) = (t.counters.sunk.load(Ordering::Relaxed), Instant::now(), cpu_secs());
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
    }
    let bytes = (b1 - b0) as f64;
    let secs = (t1 - t0).as_secs_f64();
    let cpu = match (c0, c1) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    Ok(Bulk {
        gbps: bytes * 8.0 / secs / 1e9,
        cpu_per_gb: cpu / (bytes / 1e9),
    })
}

/// One 64-byte round trip on an echo stream, in µs.
async fn round_trip(s: &mut BoxIo, out: &[u8; PROBE], back: &mut [u8; PROBE]) -> R<f64> {
    let t = Instant::now();
    s.write_all(out).await?;
    s.flush().await?;
    s.read_exact(back).await?;
    Ok(t.elapsed().as_secs_f64() * 1e6)
}

async fn round_trips(s: &mut BoxIo, warmup: usize, count: usize, cap: Duration) -> R<Vec<f64>> {
    let out = [0x5au8; PROBE];
    let mut back = [0u8; PROBE];
    let end = Instant::now() + cap;
    for _ in 0..warmup {
        round_trip(s, &out, &mut back).await?;
        if Instant::now() > end {
            break;
        }
    }
    let mut v = Vec::with_capacity(count);
    for _ in 0..count {
        v.push(round_trip(s, &out, &mut back).await?);
        if Instant::now() > end {
            break;
        }
    }
    Ok(v)
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i]
}

#[derive(Debug, Clone, Copy)]
struct Lat {
    p50: f64,
    p99: f64,
    /// Samples taken (printed with the individual runs; short if a loop hit its time cap).
    #[allow(dead_code)]
    n: usize,
}

fn lat(mut v: Vec<f64>) -> Lat {
    Lat {
        p50: pct(&mut v, 0.50),
        p99: pct(&mut v, 0.99),
        n: v.len(),
    }
}

async fn fig_latency(kind: Kind, tls: &Tls, p: &Params) -> R<Lat> {
    let mut t = setup(kind, tls, p, PORT_ECHO).await?;
    let mut s = t.open(PORT_ECHO).await?;
    let v = round_trips(&mut s, p.rtt_warmup, p.rtt_count, p.loop_cap).await?;
    let _ = s.shutdown().await;
    Ok(lat(v))
}

/// Open a stream, one 64-byte round trip, close and wait for the far side's close; repeated.
/// For the baseline, each "stream" is a new TCP + TLS 1.3 connection (mutual auth).
async fn fig_opens(kind: Kind, tls: &Tls, p: &Params) -> R<(f64, usize)> {
    let out = [0x5au8; PROBE];
    let mut back = [0u8; PROBE];
    let mut rest = [0u8; 16];
    let end = Instant::now() + p.loop_cap;
    let mut done = 0usize;
    let start;
    if kind == Kind::Baseline {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        start = Instant::now();
        while done < p.opens && Instant::now() < end {
            let (hub_io, conn_io) = tls_pair(tls, p, &listener, addr).await?;
            let far = tokio::spawn(serve_stream(conn_io, PORT_ECHO, Arc::default()));
            let mut s: BoxIo = Box::new(hub_io);
            round_trip(&mut s, &out, &mut back).await?;
            s.shutdown().await?;
            let n = s.read(&mut rest).await?;
            if n != 0 {
                return Err("expected EOF".into());
            }
            drop(s);
            let _ = far.await;
            done += 1;
        }
    } else {
        let mut t = setup(kind, tls, p, PORT_ECHO).await?;
        start = Instant::now();
        while done < p.opens && Instant::now() < end {
            let mut s = t.open(PORT_ECHO).await?;
            round_trip(&mut s, &out, &mut back).await?;
            s.shutdown().await?;
            let n = s.read(&mut rest).await?;
            if n != 0 {
                return Err("expected EOF".into());
            }
            done += 1;
        }
    }
    Ok((done as f64 / start.elapsed().as_secs_f64(), done))
}

#[derive(Debug, Clone, Copy)]
struct Hol {
    idle: Lat,
    loaded: Lat,
    bulk_gbps: f64,
}

/// Interactive 64-byte round trips on one stream, first with the connection idle, then while a
/// bulk stream on the same connection sends 64 KiB writes in the same direction (hub to
/// connector).
async fn fig_hol(kind: Kind, tls: &Tls, p: &Params) -> R<Hol> {
    let mut t = setup(kind, tls, p, PORT_ECHO).await?;
    let mut inter = t.open(PORT_ECHO).await?;
    let mut bulk = t.open(PORT_SINK).await?;
    let idle = round_trips(&mut inter, p.rtt_warmup.min(100), p.hol_idle, p.loop_cap).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let hard_stop = Instant::now() + p.loop_cap + p.hol_warmup;
    let stop2 = stop.clone();
    let writer = tokio::spawn(async move {
        let chunk = vec![0xa5u8; CHUNK];
        while !stop2.load(Ordering::Relaxed) && Instant::now() < hard_stop {
            if bulk.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = bulk.shutdown().await;
    });
    tokio::time::sleep(p.hol_warmup).await;
    let (b0, t0) = (t.counters.sunk.load(Ordering::Relaxed), Instant::now());
    let loaded = round_trips(&mut inter, 0, p.hol_count, p.loop_cap).await;
    let (b1, t1) = (t.counters.sunk.load(Ordering::Relaxed), Instant::now());
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    let loaded = loaded?;
    Ok(Hol {
        idle: lat(idle),
        loaded: lat(loaded),
        bulk_gbps: (b1 - b0) as f64 * 8.0 / (t1 - t0).as_secs_f64() / 1e9,
    })
}

// ---------------------------------------------------------------------------------------------
// Driver and report

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `f` for every candidate, `runs` times, interleaving candidates within a run so that
/// drift on the machine hits all of them alike. Returns, per candidate, the runs that finished.
async fn measure<T, F, Fut>(
    name: &str,
    kinds: &[Kind],
    p: &Params,
    log: &mut Vec<String>,
    foreign: &mut Vec<f64>,
    mut f: F,
) -> Vec<Vec<T>>
where
    T: std::fmt::Debug,
    F: FnMut(Kind) -> Fut,
    Fut: Future<Output = R<T>>,
{
    let mut out: Vec<Vec<T>> = kinds.iter().map(|_| Vec::new()).collect();
    for run in 0..p.runs {
        for (i, &k) in kinds.iter().enumerate() {
            let load = Load::now();
            let r = tokio::time::timeout(p.run_cap, f(k)).await;
            let fc = load.foreign_cores_since();
            foreign.push(fc);
            let what = match r {
                Ok(Ok(v)) => {
                    let w = format!("{v:?}");
                    out[i].push(v);
                    w
                }
                Ok(Err(e)) => format!("ERROR {e}"),
                Err(_) => "TIMEOUT".to_owned(),
            };
            let line = format!(
                "{name} | run {} | {} | {what} | other processes: {fc:.2} cores",
                run + 1,
                k.label()
            );
            eprintln!("  {line}");
            log.push(line);
            // Let the closed tunnel's tasks wind down before the next one starts.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("nproc {nproc}, CPU \"{cpu}\", kernel {kernel}")
}

fn f1(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "–".into()
    }
}

fn f2(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: portcullis-bench-mux [--quick] [--runs N] [--only abcde] [--candidates raw,h2,yamux] \
         [--yamux-split BYTES[,BYTES…]] [--notsent-lowat BYTES] [--sockbuf BYTES] \
         [--h2-stream-window N] [--h2-conn-window N] [--h2-frame N] [--h2-send-buffer N]"
    );
    std::process::exit(2)
}

fn main() -> R<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut p = if argv.iter().any(|a| a == "--quick") {
        Params::quick()
    } else {
        Params::full()
    };
    let quick = argv.iter().any(|a| a == "--quick");
    let mut args = argv.into_iter();
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--quick" => {}
            "--runs" => p.runs = val().parse().unwrap_or_else(|_| usage()),
            "--only" => p.only = val(),
            "--candidates" => p.candidates = val(),
            "--yamux-split" => {
                p.yamux_splits = val()
                    .split(',')
                    .map(|v| v.parse().unwrap_or_else(|_| usage()))
                    .collect()
            }
            "--notsent-lowat" => {
                p.notsent_lowat = Some(val().parse().unwrap_or_else(|_| usage()))
            }
            "--sockbuf" => p.sockbuf = Some(val().parse().unwrap_or_else(|_| usage())),
            "--h2-stream-window" => p.h2.stream_window = val().parse().unwrap_or_else(|_| usage()),
            "--h2-conn-window" => p.h2.connection_window = val().parse().unwrap_or_else(|_| usage()),
            "--h2-frame" => p.h2.max_frame_size = val().parse().unwrap_or_else(|_| usage()),
            "--h2-send-buffer" => p.h2.max_send_buffer = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if p.runs == 0 || p.runs > 9 {
        usage();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(p, quick))
}

async fn run(p: Params, quick: bool) -> R<()> {
    let tls = make_tls()?;
    let want = |c: &str| p.candidates.split(',').any(|x| x.trim() == c);
    let mut all = Vec::new();
    if want("raw") {
        all.push(Kind::Baseline);
    }
    if want("h2") {
        all.push(Kind::H2);
    }
    if want("yamux") {
        all.extend(p.yamux_splits.iter().map(|&s| Kind::Yamux(s)));
    }
    if all.is_empty() {
        usage();
    }
    let muxes: Vec<Kind> = all.iter().copied().filter(|&k| k != Kind::Baseline).collect();
    let mut log = Vec::new();
    let mut foreign = Vec::new();
    let started = Instant::now();
    let tls = &tls;
    let pr = &p;
    let on = |f: char| p.only.contains(f);

    let a = if on('a') {
        eprintln!("(a) bulk, 1 stream");
        measure("a", &all, pr, &mut log, &mut foreign, |k| fig_bulk(k, tls, pr, 1)).await
    } else {
        vec![Vec::new(); all.len()]
    };
    let b = if on('b') {
        eprintln!("(b) bulk, {} streams", p.concurrent_streams);
        measure("b", &muxes, pr, &mut log, &mut foreign, |k| {
            fig_bulk(k, tls, pr, pr.concurrent_streams)
        })
        .await
    } else {
        vec![Vec::new(); muxes.len()]
    };
    let c = if on('c') {
        eprintln!("(c) 64-byte round trips");
        measure("c", &all, pr, &mut log, &mut foreign, |k| fig_latency(k, tls, pr)).await
    } else {
        vec![Vec::new(); all.len()]
    };
    let d = if on('d') {
        eprintln!("(d) open + round trip + close");
        measure("d", &all, pr, &mut log, &mut foreign, |k| fig_opens(k, tls, pr)).await
    } else {
        vec![Vec::new(); all.len()]
    };
    let e = if on('e') {
        eprintln!("(e) head-of-line");
        measure("e", &muxes, pr, &mut log, &mut foreign, |k| fig_hol(k, tls, pr)).await
    } else {
        vec![Vec::new(); muxes.len()]
    };

    // Medians per candidate; "n/a" where a figure does not apply to a candidate.
    let col = |k: Kind| all.iter().position(|&x| x == k).unwrap();
    let mcol = |k: Kind| muxes.iter().position(|&x| x == k);
    let cell_bulk = |v: &Vec<Bulk>| {
        format!(
            "{} ({} CPU-s/GB)",
            f2(median(v.iter().map(|x| x.gbps).collect())),
            f2(median(v.iter().map(|x| x.cpu_per_gb).collect()))
        )
    };
    let cell_lat = |v: &Vec<Lat>| {
        format!(
            "{} / {}",
            f1(median(v.iter().map(|x| x.p50).collect())),
            f1(median(v.iter().map(|x| x.p99).collect()))
        )
    };

    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    if on('a') {
        rows.push((
            format!("(a) bulk, 1 stream, {} s of 64 KiB writes: Gbit/s", p.bulk_secs),
            all.iter().map(|&k| cell_bulk(&a[col(k)])).collect(),
        ));
    }
    if on('b') {
        rows.push((
            format!("(b) bulk, {} concurrent streams, aggregate: Gbit/s", p.concurrent_streams),
            all.iter()
                .map(|&k| mcol(k).map(|i| cell_bulk(&b[i])).unwrap_or_else(|| "n/a".into()))
                .collect(),
        ));
    }
    if on('c') {
        rows.push((
            format!(
                "(c) 64 B round trip, idle, {} after {} warm-ups: p50 / p99 µs",
                p.rtt_count, p.rtt_warmup
            ),
            all.iter().map(|&k| cell_lat(&c[col(k)])).collect(),
        ));
    }
    if on('d') {
        rows.push((
            format!("(d) open + 64 B round trip + close, {} sequential: opens/s", p.opens),
            all.iter()
                .map(|&k| {
                    let s = f1(median(d[col(k)].iter().map(|x| x.0).collect()));
                    if k == Kind::Baseline {
                        format!("{s} (new TCP+TLS conn each)")
                    } else {
                        s
                    }
                })
                .collect(),
        ));
    }
    if on('e') {
        let per = |f: &dyn Fn(&Vec<Hol>) -> String| -> Vec<String> {
            all.iter()
                .map(|&k| mcol(k).map(|i| f(&e[i])).unwrap_or_else(|| "n/a".into()))
                .collect()
        };
        rows.push((
            format!(
                "(e) 64 B round trip while 1 bulk stream runs, {} trips: p50 / p99 µs",
                p.hol_count
            ),
            per(&|v| cell_lat(&v.iter().map(|h| h.loaded).collect())),
        ));
        rows.push((
            format!(
                "(e) same stream, connection idle (just before, {} trips): p50 / p99 µs",
                p.hol_idle
            ),
            per(&|v| cell_lat(&v.iter().map(|h| h.idle).collect())),
        ));
        rows.push((
            "(e) bulk stream's rate meanwhile: Gbit/s".into(),
            per(&|v| f2(median(v.iter().map(|h| h.bulk_gbps).collect()))),
        ));
    }

    println!(
        "## Multiplexer measurement{}",
        if quick { " (--quick: NOT representative)" } else { "" }
    );
    println!();
    println!("- machine: {}", machine());
    println!(
        "- tokio multi-thread runtime, 2 workers, hub and connector in one process; loopback TCP \
         (TCP_NODELAY) + TLS 1.3 (production rustls configs, ring, mutual auth)"
    );
    let d = MuxSettings::default();
    let h2_default = p.h2.stream_window == d.stream_window
        && p.h2.connection_window == d.connection_window
        && p.h2.max_frame_size == d.max_frame_size
        && p.h2.max_send_buffer == d.max_send_buffer;
    if !h2_default {
        println!("- DIAGNOSTIC h2 settings (not MuxSettings::default()): {:?}", p.h2);
    }
    if p.notsent_lowat.is_some() || p.sockbuf.is_some() {
        println!(
            "- DIAGNOSTIC socket options (not production): TCP_NOTSENT_LOWAT {:?}, SO_SNDBUF/SO_RCVBUF {:?}",
            p.notsent_lowat, p.sockbuf
        );
    }
    println!(
        "- median of {} run(s) per figure; candidates interleaved within each run; total {:.0} s",
        p.runs,
        started.elapsed().as_secs_f64()
    );
    let worst = foreign.iter().cloned().filter(|x| x.is_finite()).fold(0.0, f64::max);
    let mean = median(foreign.clone());
    println!(
        "- CPU used by other processes during the runs: median {mean:.2} cores, worst {worst:.2} cores{}",
        if worst > 0.2 { " — WARNING: the machine was not idle; numbers are disturbed" } else { "" }
    );
    println!();
    print!("| figure |");
    for &k in &all {
        print!(" {} |", k.label());
    }
    println!();
    print!("|---|");
    for _ in &all {
        print!("---|");
    }
    println!();
    for (name, cells) in rows {
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!();
    println!("### Individual runs");
    println!();
    for l in log {
        println!("- {l}");
    }
    Ok(())
}
