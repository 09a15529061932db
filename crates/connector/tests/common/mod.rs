//! Test harness: a minimal fake hub built from the transport APIs, echo back ends, temporary
//! directories and status waiting. Everything binds 127.0.0.1 port 0.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portcullis_connector::{ConnectorConfig, Enrollment, Identity, RunningConnector, Status};
use portcullis_proto::{
    Heartbeat, Hello, Inventory, Message, OpenResult, Reject, StreamOpen, Welcome, WindowClosed,
    WindowInfo, WindowSet, WindowUpdate,
};
use portcullis_transport::framed::{read_message, write_message};
use portcullis_transport::h2stream::H2Stream;
use portcullis_transport::pki::{self, Ca};
use portcullis_transport::tls;
use portcullis_transport::tunnel::{hub_read_hello, hub_reject, hub_welcome, HubMux, MuxSettings};
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// Upper bound for anything a test waits for.
pub const T: Duration = Duration::from_secs(10);
const DAY: Duration = Duration::from_secs(86_400);

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "portcullis-connector-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A hub CA with a `localhost`/`127.0.0.1` server certificate.
pub struct TestPki {
    pub ca: Ca,
    ca_material: pki::CaMaterial,
    pub server_chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    pub server_key_pem: String,
}

impl Clone for TestPki {
    fn clone(&self) -> Self {
        TestPki {
            ca: Ca::from_pem(
                &self.ca_material.cert_pem,
                self.ca_material.key_pem.expose(),
            )
            .expect("reload ca"),
            ca_material: self.ca_material.clone(),
            server_chain: self.server_chain.clone(),
            server_key_pem: self.server_key_pem.clone(),
        }
    }
}

impl TestPki {
    pub fn new() -> TestPki {
        let m = pki::generate_ca("test hub ca").expect("ca");
        let ca = Ca::from_pem(&m.cert_pem, m.key_pem.expose()).expect("load ca");
        let leaf = ca
            .issue_server_cert(&["localhost".into(), "127.0.0.1".into()], DAY)
            .expect("server cert");
        let mut server_chain = pki::pem_to_der_certs(&leaf.cert_pem).expect("leaf");
        server_chain.push(ca.cert_der().clone());
        TestPki {
            ca,
            ca_material: m,
            server_chain,
            server_key_pem: leaf.key_pem.into_inner(),
        }
    }

    pub fn server_key(&self) -> rustls_pki_types::PrivateKeyDer<'static> {
        pki::pem_to_private_key(&self.server_key_pem).expect("key")
    }

    /// A connector identity signed by this CA, pointing at `tunnel_addr`.
    pub fn identity(&self, tunnel_addr: SocketAddr) -> Identity {
        let (csr, key) = pki::generate_csr("connector").expect("csr");
        let signed = self.ca.sign_csr(&csr, "acme/loc1", DAY).expect("sign");
        Identity::new(
            signed.cert_pem,
            key,
            self.ca.cert_pem().to_owned(),
            Enrollment {
                tunnel_addr: tunnel_addr.to_string(),
                tunnel_server_name: "localhost".into(),
                connector_id: 7,
                company: "acme".into(),
                location: "loc1".into(),
            },
        )
    }
}

/// The hub's side of one tunnel, with a control task that answers heartbeats.
pub struct HubTunnel {
    pub hello: Hello,
    pub mux: HubMux,
    /// Inventories the connector sent, in order.
    pub inventories: mpsc::UnboundedReceiver<Inventory>,
    /// Heartbeats (ack = false) the connector sent so far.
    pub heartbeats: watch::Receiver<u64>,
    /// Heartbeat answers (ack = true) the connector sent, by seq.
    pub acks: mpsc::UnboundedReceiver<u64>,
    /// Other control frames from the connector (e.g. Goodbye).
    pub others: mpsc::UnboundedReceiver<Message>,
    /// Frames to send on the control channel.
    pub send: mpsc::UnboundedSender<Message>,
    _tasks: Vec<JoinHandle<()>>,
}

impl HubTunnel {
    /// Opens a session stream to `host:port` under a standing grant (`grant-test`): the
    /// connector's access list alone decides.
    pub async fn open(&self, host: &str, port: u16) -> Result<H2Stream, OpenResult> {
        self.open_with(host, port, None, Some("grant-test")).await
    }

    /// Opens a session stream to `host:port` under window `window`.
    pub async fn open_in(
        &self,
        window: &str,
        host: &str,
        port: u16,
    ) -> Result<H2Stream, OpenResult> {
        self.open_with(host, port, Some(window), None).await
    }

    /// Opens a session stream naming the given window and grant (either may be absent).
    pub async fn open_with(
        &self,
        host: &str,
        port: u16,
        window: Option<&str>,
        grant: Option<&str>,
    ) -> Result<H2Stream, OpenResult> {
        let open = StreamOpen {
            session_id: uuid::Uuid::new_v4().to_string(),
            host: host.into(),
            port,
            principal: "engineer@vendor".into(),
            entry: "test".into(),
            client_addr: Some("192.0.2.1:5555".into()),
            window: window.map(Into::into),
            grant: grant.map(Into::into),
        };
        self.mux.open_stream(&open, T).await.expect("tunnel works")
    }

    /// Sends a `WindowSet` on the control channel.
    pub fn send_windows(&self, windows: Vec<WindowInfo>) {
        self.send
            .send(Message::WindowSet(WindowSet { windows }))
            .expect("control writer running");
    }

    /// Sends a `WindowUpdate` on the control channel.
    pub fn update_window(&self, window: WindowInfo) {
        self.send
            .send(Message::WindowUpdate(WindowUpdate { window }))
            .expect("control writer running");
    }

    /// The next `WindowClosed` from the connector, within `T` (other frames are skipped).
    pub async fn next_window_closed(&mut self) -> WindowClosed {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            match tokio::time::timeout_at(deadline, self.others.recv()).await {
                Err(_) => panic!("no WindowClosed within {T:?}"),
                Ok(None) => panic!("control channel closed before a WindowClosed"),
                Ok(Some(Message::WindowClosed(c))) => return c,
                Ok(Some(_)) => {}
            }
        }
    }

    /// The next inventory, within `T`.
    pub async fn next_inventory(&mut self) -> Inventory {
        tokio::time::timeout(T, self.inventories.recv())
            .await
            .expect("an inventory in time")
            .expect("control channel open")
    }
}

impl Drop for HubTunnel {
    fn drop(&mut self) {
        for t in &self._tasks {
            t.abort();
        }
    }
}

/// A hub that accepts connector tunnels on 127.0.0.1.
pub struct FakeHub {
    pub pki: TestPki,
    config: Arc<ServerConfig>,
    listener: TcpListener,
    pub addr: SocketAddr,
}

impl FakeHub {
    pub async fn start() -> FakeHub {
        Self::start_with(TestPki::new()).await
    }

    /// A hub using an existing PKI (e.g. the one an enrolment server signed with).
    pub async fn start_with(pki: TestPki) -> FakeHub {
        let config = tls::tunnel_server_config(
            pki.server_chain.clone(),
            pki.server_key(),
            pki.ca.cert_der().clone(),
        )
        .expect("tunnel server config");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        FakeHub {
            pki,
            config,
            listener,
            addr,
        }
    }

    pub fn identity(&self) -> Identity {
        self.pki.identity(self.addr)
    }

    /// Accepts one TCP connection and the TLS handshake; returns the hub's side of it.
    pub async fn accept_tls(&self) -> TlsStream<TcpStream> {
        let (tcp, _) = tokio::time::timeout(T, self.listener.accept())
            .await
            .expect("connector dialled in time")
            .expect("accept");
        TlsAcceptor::from(self.config.clone())
            .accept(tcp)
            .await
            .expect("TLS with the connector")
    }

    /// Accepts a tunnel and answers heartbeats on its control channel.
    pub async fn accept(&self, heartbeat_ms: u64) -> HubTunnel {
        let (hello, mux, control) = self.accept_raw(heartbeat_ms, None).await;
        let (mut r, mut w) = tokio::io::split(control);
        let (send, mut outbox) = mpsc::unbounded_channel::<Message>();
        let (inv_tx, inventories) = mpsc::unbounded_channel();
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let (other_tx, others) = mpsc::unbounded_channel();
        let (hb_tx, heartbeats) = watch::channel(0u64);
        let answer = send.clone();
        let reader = tokio::spawn(async move {
            while let Ok(msg) = read_message(&mut r).await {
                match msg {
                    Message::Heartbeat(Heartbeat { seq, ack: false }) => {
                        hb_tx.send_modify(|n| *n += 1);
                        let _ = answer.send(Message::Heartbeat(Heartbeat { seq, ack: true }));
                    }
                    Message::Heartbeat(Heartbeat { seq, ack: true }) => {
                        let _ = ack_tx.send(seq);
                    }
                    Message::Inventory(inv) => {
                        let _ = inv_tx.send(inv);
                    }
                    other => {
                        let _ = other_tx.send(other);
                    }
                }
            }
        });
        let writer = tokio::spawn(async move {
            while let Some(msg) = outbox.recv().await {
                if write_message(&mut w, &msg).await.is_err() {
                    break;
                }
            }
        });
        HubTunnel {
            hello,
            mux,
            inventories,
            heartbeats,
            acks,
            others,
            send,
            _tasks: vec![reader, writer],
        }
    }

    /// Accepts a tunnel; returns the control stream untouched (a hub that never speaks).
    pub async fn accept_raw(
        &self,
        heartbeat_ms: u64,
        warning: Option<portcullis_proto::VersionWarning>,
    ) -> (Hello, HubMux, H2Stream) {
        let mut tls = self.accept_tls().await;
        let hello = hub_read_hello(&mut tls, T).await.expect("hello");
        let welcome = Welcome {
            hub_version: "9.9.9".into(),
            heartbeat_interval_ms: heartbeat_ms,
            warning,
            // As an older hub: no renewal offered.
            features: Vec::new(),
        };
        let (mux, control) = hub_welcome(tls, welcome, &MuxSettings::default(), T)
            .await
            .expect("welcome");
        (hello, mux, control)
    }

    /// Accepts a connection and rejects it.
    pub async fn reject(&self, reject: Reject) -> Hello {
        let mut tls = self.accept_tls().await;
        let hello = hub_read_hello(&mut tls, T).await.expect("hello");
        hub_reject(tls, reject).await.expect("reject");
        hello
    }
}

/// The wall clock in unix milliseconds (the connector uses the same clock).
pub fn now_ms() -> i64 {
    portcullis_connector::windows::now_ms()
}

/// A window on `host:port` from `start_ms` to `end_ms`.
pub fn window(id: &str, host: &str, port: u16, start_ms: i64, end_ms: i64) -> WindowInfo {
    WindowInfo {
        id: id.into(),
        service: format!("acme/PRD/{id}"),
        virtual_host: host.into(),
        virtual_port: port,
        start_ms,
        end_ms,
        closed: false,
    }
}

/// The same window, closed.
pub fn closed(mut w: WindowInfo) -> WindowInfo {
    w.closed = true;
    w
}

/// One request to the connector's admin socket in `data_dir`, one answer.
pub async fn admin(
    data_dir: &Path,
    req: &portcullis_connector::local::Request,
) -> portcullis_connector::local::Response {
    let path = portcullis_connector::local::socket_path(data_dir);
    let mut s = tokio::net::UnixStream::connect(&path)
        .await
        .unwrap_or_else(|e| panic!("admin socket {}: {e}", path.display()));
    let mut line = serde_json::to_vec(req).expect("request");
    line.push(b'\n');
    s.write_all(&line).await.expect("send request");
    let mut answer = String::new();
    tokio::time::timeout(T, s.read_to_string(&mut answer))
        .await
        .expect("answer in time")
        .expect("read answer");
    serde_json::from_str(answer.trim_end()).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

/// An echo server; each connection gets its bytes back until it closes.
pub async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// A local port with nothing listening.
pub async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

/// Writes `msg` and expects it back.
pub async fn assert_echo(s: &mut H2Stream, msg: &[u8]) {
    s.write_all(msg).await.expect("write");
    let mut got = vec![0u8; msg.len()];
    tokio::time::timeout(T, s.read_exact(&mut got))
        .await
        .expect("echo in time")
        .expect("read echo");
    assert_eq!(got, msg);
}

/// Expects the stream to end (end-of-stream or a reset) within `T`, without more data.
pub async fn assert_cut(s: &mut H2Stream, what: &str) {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(T, s.read(&mut buf)).await {
        Err(_) => panic!("{what} was not cut within {T:?}"),
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("{what} was not cut: it delivered {n} more bytes"),
    }
}

/// Configuration text with fast reconnects and the given `(name, virtual, internal)` entries.
pub fn config_text(entries: &[(&str, &str, SocketAddr)]) -> String {
    let mut s = String::from(
        "data_dir = \"data\"\n\n[reconnect]\ninitial_ms = 20\nmax_ms = 200\nstable_after_secs = 60\n\n[admin]\nlisten = \"\"\n",
    );
    for (name, virt, internal) in entries {
        s.push_str(&format!(
            "\n[[access]]\nname = \"{name}\"\nvirtual = \"{virt}\"\ninternal = \"{internal}\"\nprotocol = \"tcp\"\n"
        ));
    }
    s
}

/// Writes a file by temp-and-rename, as careful editors and config management do.
pub fn write_file_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write temp");
    std::fs::rename(&tmp, path).expect("rename");
}

/// A connector environment: temp dir with config file and identity for `hub`.
pub struct Env {
    pub dir: TempDir,
    pub config_path: PathBuf,
}

impl Env {
    pub fn new(hub: &FakeHub, entries: &[(&str, &str, SocketAddr)]) -> Env {
        let dir = TempDir::new("env");
        let config_path = dir.path().join("connector.toml");
        std::fs::write(&config_path, config_text(entries)).expect("write config");
        let data = dir.path().join("data");
        hub.identity().write(&data, false).expect("write identity");
        Env { dir, config_path }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn audit_path(&self) -> PathBuf {
        self.data_dir().join("audit.log")
    }

    pub fn config(&self) -> ConnectorConfig {
        ConnectorConfig::load(&self.config_path).expect("config parses")
    }

    /// Starts the connector (watching the config file) with its own shutdown token.
    pub fn start(&self) -> (RunningConnector, CancellationToken) {
        let shutdown = CancellationToken::new();
        let c = portcullis_connector::spawn(
            self.config(),
            Some(self.config_path.clone()),
            shutdown.clone(),
        );
        (c, shutdown)
    }
}

/// Waits until `cond` holds for the status, or panics with the last status after `T`.
pub async fn wait_status(
    rx: &mut watch::Receiver<Status>,
    what: &str,
    cond: impl Fn(&Status) -> bool,
) -> Status {
    let res = tokio::time::timeout(T, rx.wait_for(|s| cond(s)))
        .await
        .map(|r| r.map(|s| s.clone()));
    match res {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => panic!("connector stopped before {what}: {:?}", *rx.borrow()),
        Err(_) => panic!("timed out waiting for {what}: {:?}", *rx.borrow()),
    }
}
