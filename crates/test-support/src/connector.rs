//! [`TestConnector`]: a connector enrolled with a [`TestHub`](crate::TestHub) through the real
//! API, running from a config file it watches.

use std::net::SocketAddr;
use std::path::PathBuf;

use portcullis_connector::run::{State, Status};
use portcullis_connector::{ConnectorConfig, ConnectorError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{TestHub, WAIT};

/// One `[[access]]` entry.
#[derive(Debug, Clone)]
pub struct Access {
    /// Name.
    pub name: String,
    /// Virtual `host:port`.
    pub virtual_target: String,
    /// Internal `host:port`.
    pub internal: String,
    /// The entry's other lines (`protocol = "tcp"` and whatever else).
    pub toml: String,
}

/// Builder and handle.
#[derive(Debug)]
pub struct TestConnector {
    /// Hub id of the connector.
    pub id: i64,
    /// Company id.
    pub company_id: i64,
    /// Location ID.
    pub location: String,
    /// Temporary directory with the config and data.
    pub dir: tempfile::TempDir,
    /// Access entries written to the config.
    pub access: Vec<Access>,
    /// Outbound proxy `(addr, user, password)`.
    pub proxy: Option<(SocketAddr, String, String)>,
    /// Further configuration (tables such as `[backend_tls]`), written before the entries.
    pub extra_toml: String,
    /// Tunnel address override (defaults to the enrolment answer).
    pub hub_tunnel: Option<SocketAddr>,
    /// `[admin] listen`: `""` (the UI off) unless [`TestConnector::with_admin_ui`] asked for
    /// it (`127.0.0.1:0`); its address is `Status::admin_addr` once running.
    pub admin_listen: String,
    /// Further `[admin]` settings (limits, timeouts), written after `listen`.
    pub admin_toml: String,
    /// Live status (after `run`).
    pub status: Option<watch::Receiver<Status>>,
    /// Stops it.
    pub shutdown: CancellationToken,
    /// Its task.
    pub join: Option<JoinHandle<Result<(), ConnectorError>>>,
}

impl TestConnector {
    /// Creates the connector on the hub (company by name) and enrols it.
    pub async fn for_hub(hub: &TestHub, company: &str, location: &str) -> TestConnector {
        let (id, token) = hub.connector(company, location).await;
        let dir = tempfile::tempdir().expect("temp dir");
        portcullis_connector::enroll::enroll(&hub.api_url, &token, &dir.path().join("data"), false)
            .await
            .expect("enrolment succeeds");
        let company_id = hub
            .state()
            .store
            .find_company_by_name(company)
            .await
            .unwrap()
            .expect("company exists")
            .id;
        TestConnector {
            id,
            company_id,
            location: location.into(),
            dir,
            access: Vec::new(),
            proxy: None,
            extra_toml: String::new(),
            hub_tunnel: None,
            admin_listen: String::new(),
            admin_toml: String::new(),
            status: None,
            shutdown: CancellationToken::new(),
            join: None,
        }
    }

    /// Adds an access entry.
    pub fn expose(self, name: &str, virtual_target: &str, internal: SocketAddr) -> Self {
        self.expose_with(name, virtual_target, internal, "protocol = \"tcp\"\n")
    }

    /// Adds an `[[access]]` entry whose remaining lines (protocol, resources, …) are
    /// `toml`, written after `name`, `virtual` and `internal`.
    pub fn expose_with(
        mut self,
        name: &str,
        virtual_target: &str,
        internal: SocketAddr,
        toml: &str,
    ) -> Self {
        self.access.push(Access {
            name: name.into(),
            virtual_target: virtual_target.into(),
            internal: internal.to_string(),
            toml: toml.into(),
        });
        self
    }

    /// Adds configuration tables (e.g. `[backend_tls]`) to the file.
    pub fn with_toml(mut self, toml: &str) -> Self {
        self.extra_toml.push_str(toml);
        self
    }

    /// Turns the admin UI and REST API on, on `127.0.0.1` port 0.
    pub fn with_admin_ui(mut self) -> Self {
        self.admin_listen = "127.0.0.1:0".into();
        self
    }

    /// Turns the admin UI on ([`TestConnector::with_admin_ui`]) with further `[admin]`
    /// settings (`max_preauth = 4`, …).
    pub fn with_admin_toml(mut self, toml: &str) -> Self {
        self.admin_toml.push_str(toml);
        self.with_admin_ui()
    }

    /// The admin UI's address (after `run`, when it is on).
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.status().admin_addr
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Dials the hub through an HTTP CONNECT proxy.
    pub fn via_proxy(mut self, addr: SocketAddr, user: &str, pass: &str) -> Self {
        self.proxy = Some((addr, user.into(), pass.into()));
        self
    }

    /// The config file path.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("connector.toml")
    }

    /// The connector's audit log.
    pub fn audit_log(&self) -> PathBuf {
        self.dir.path().join("data").join("audit.log")
    }

    /// Writes the config file from the current fields.
    pub fn write_config(&self) {
        let mut t = String::from("data_dir = \"data\"\n");
        if let Some(a) = self.hub_tunnel {
            t.push_str(&format!("hub_tunnel = \"{a}\"\n"));
        }
        t.push_str("[reconnect]\ninitial_ms = 20\nmax_ms = 500\nstable_after_secs = 5\n");
        t.push_str(&format!("[admin]\nlisten = {:?}\n", self.admin_listen));
        t.push_str(&self.admin_toml);
        if let Some((addr, user, pass)) = &self.proxy {
            t.push_str(&format!(
                "[proxy]\naddress = \"{addr}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n"
            ));
        }
        t.push_str(&self.extra_toml);
        for a in &self.access {
            t.push_str(&format!(
                "[[access]]\nname = \"{}\"\nvirtual = \"{}\"\ninternal = \"{}\"\n{}",
                a.name, a.virtual_target, a.internal, a.toml
            ));
        }
        let tmp = self.config_path().with_extension("tmp");
        std::fs::write(&tmp, t).expect("write config");
        std::fs::rename(&tmp, self.config_path()).expect("replace config");
    }

    /// Writes the config and starts the connector; returns once the tunnel is up.
    pub async fn run(mut self) -> TestConnector {
        self.start();
        self.wait_connects(1).await;
        self
    }

    /// Writes the config and starts the connector without waiting.
    pub fn start(&mut self) {
        self.write_config();
        let cfg = ConnectorConfig::load(&self.config_path()).expect("valid connector config");
        self.shutdown = CancellationToken::new();
        let r = portcullis_connector::spawn(cfg, Some(self.config_path()), self.shutdown.clone());
        self.status = Some(r.status);
        self.join = Some(r.join);
    }

    /// Current status.
    pub fn status(&self) -> Status {
        self.status.as_ref().expect("started").borrow().clone()
    }

    /// Waits until `pred(status)` holds.
    pub async fn wait_status(&mut self, what: &str, pred: impl Fn(&Status) -> bool) -> Status {
        let rx = self.status.as_mut().expect("started");
        let res = tokio::time::timeout(WAIT, rx.wait_for(|s| pred(s)))
            .await
            .map(|r| r.map(|s| s.clone()));
        match res {
            Ok(Ok(s)) => s,
            _ => panic!(
                "timed out waiting for connector: {what}; status {:?}",
                rx.borrow()
            ),
        }
    }

    /// Waits until the connector has completed `n` handshakes and is connected.
    pub async fn wait_connects(&mut self, n: u64) -> Status {
        self.wait_status(&format!("{n} connects"), |s| {
            s.connects >= n && s.state == State::Connected
        })
        .await
    }

    /// Waits for the connector task to end and returns its result.
    pub async fn finished(&mut self) -> Result<(), ConnectorError> {
        let j = self.join.take().expect("started");
        tokio::time::timeout(WAIT, j)
            .await
            .expect("connector stops in time")
            .expect("connector task does not panic")
    }

    /// Stops the connector and waits for it.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(j) = self.join.take() {
            let _ = tokio::time::timeout(WAIT, j).await;
        }
    }
}

/// A small HTTP CONNECT proxy with Basic auth for tests: counts the CONNECTs it relayed.
pub mod proxy {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A running proxy.
    #[derive(Debug, Clone)]
    pub struct TestProxy {
        /// Where it listens.
        pub addr: SocketAddr,
        /// CONNECTs relayed.
        pub relayed: Arc<AtomicUsize>,
        /// CONNECTs refused for bad credentials.
        pub refused: Arc<AtomicUsize>,
    }

    impl TestProxy {
        /// Relayed CONNECT count.
        pub fn relayed(&self) -> usize {
            self.relayed.load(Ordering::SeqCst)
        }
    }

    /// Starts a proxy that requires `user:pass`.
    pub async fn start(user: &str, pass: &str) -> TestProxy {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let want = format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        let p = TestProxy {
            addr,
            relayed: Arc::new(AtomicUsize::new(0)),
            refused: Arc::new(AtomicUsize::new(0)),
        };
        let pc = p.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let (want, pc) = (want.clone(), pc.clone());
                tokio::spawn(async move {
                    let _ = serve(s, &want, &pc).await;
                });
            }
        });
        p
    }

    async fn serve(mut s: TcpStream, want: &str, p: &TestProxy) -> std::io::Result<()> {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
            if s.read(&mut b).await? == 0 {
                return Ok(());
            }
            head.push(b[0]);
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let target = text.split_whitespace().nth(1).unwrap_or("").to_string();
        let authed = text.lines().any(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("proxy-authorization:")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
        });
        if !authed {
            p.refused.fetch_add(1, Ordering::SeqCst);
            s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                .await?;
            return Ok(());
        }
        let Ok(mut up) = TcpStream::connect(&target).await else {
            s.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                .await?;
            return Ok(());
        };
        p.relayed.fetch_add(1, Ordering::SeqCst);
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
        Ok(())
    }
}
