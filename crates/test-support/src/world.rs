//! Worlds: the setups several end-to-end subjects start from, built once here instead of in
//! each test file.
//!
//! - [`GrantedEcho`]: a technical user granted an echo server behind connector `berlin`
//!   (the entry points' subjects: SOCKS5, HTTP CONNECT, limits, restarts).
//! - [`EngineerWorld`]: a support engineer and a service connection to an echo server, no
//!   window yet (the two-key subjects: windows, route passwords, independent opening).
//!
//! And the small checks those subjects share ([`ended_within`], [`time_of`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use portcullis_client::requests::OpenWindow;
use portcullis_client::views::{Id, System, Window};

use crate::clients::{socks5_connect, Socks5Outcome};
use crate::{echo_server, HubOptions, TestConnector, TestHub};

/// Company `acme`, its technical user `bot` (token [`GrantedEcho::token`]) with a standing
/// grant to `echo.internal:7`, which connector `berlin` exposes (an echo server).
#[derive(Debug)]
pub struct GrantedEcho {
    pub hub: TestHub,
    pub conn: TestConnector,
    /// `bot`'s API token: the SOCKS5 / proxy password.
    pub token: String,
}

impl GrantedEcho {
    /// On a hub with default options.
    pub async fn start() -> GrantedEcho {
        Self::start_with(HubOptions::default()).await
    }

    /// On a hub started with `options`; returns once the hub lists the connector's target.
    pub async fn start_with(options: HubOptions) -> GrantedEcho {
        let hub = TestHub::start_with(options).await;
        hub.company("acme").await;
        let token = hub.token("acme", "bot").await;
        let echo = echo_server().await;
        let conn = TestConnector::for_hub(&hub, "acme", "berlin")
            .await
            .expose("echo", "echo.internal:7", echo)
            .run()
            .await;
        hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
            .await;
        hub.grant("acme", &token, "berlin", "echo.internal:7").await;
        GrantedEcho { hub, conn, token }
    }

    /// A SOCKS5 session to the echo server as `bot`; panics when refused.
    pub async fn socks5_echo(&self) -> TcpStream {
        match socks5_connect(self.hub.socks5(), "berlin", &self.token, "echo.internal", 7)
            .await
            .expect("SOCKS5 entry answers")
        {
            Socks5Outcome::Connected(s) => s,
            other => panic!("echo.internal:7 not reachable: {other:?}"),
        }
    }
}

/// [`TestHub::prd_echo_service`] (system PRD of `acme`, a generic TCP service connection
/// `generic_tcp.prd.acme.portcullis:7` to `backend` behind connector `berlin`, no window) and
/// support engineer `alice` with an API token.
#[derive(Debug)]
pub struct EngineerWorld {
    pub hub: TestHub,
    pub conn: TestConnector,
    /// System PRD.
    pub system: System,
    /// The service connection's id.
    pub sc: Id,
    /// `alice`'s user id.
    pub engineer_id: Id,
    /// `alice`'s API token.
    pub engineer: String,
}

impl EngineerWorld {
    /// The service connection's name at every entry point (port 7).
    pub const ENTRY: &'static str = "generic_tcp.prd.acme.portcullis";

    /// With `backend` behind the service connection.
    pub async fn start(backend: SocketAddr) -> EngineerWorld {
        let hub = TestHub::start().await;
        let (conn, system, sc) = hub.prd_echo_service(backend).await;
        let (engineer_id, engineer) = hub
            .user_with_token(serde_json::json!({"name": "alice", "role": "support_engineer"}))
            .await;
        EngineerWorld {
            hub,
            conn,
            system,
            sc: sc.id,
            engineer_id,
            engineer,
        }
    }

    /// Opens a window on the service connection as `acme`'s admin.
    pub async fn open_window(&self, body: &OpenWindow) -> Window {
        self.hub
            .company_admin("acme")
            .await
            .open_window(self.sc, body)
            .await
            .expect("open a window")
    }
}

/// Waits for the stream to end (closed or reset) and asserts it did within `limit`; returns
/// how long that took.
pub async fn ended_within(s: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut b = [0u8; 16];
    let r = tokio::time::timeout(limit, s.read(&mut b)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "the live session was not cut within {limit:?}: {r:?}"
    );
    start.elapsed()
}

/// An RFC 3339 time of the API's JSON (where a test reads an answer untyped).
pub fn time_of(v: &serde_json::Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("a time"), &Rfc3339).expect("RFC 3339")
}
