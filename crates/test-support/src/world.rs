//! Worlds: the setups several end-to-end subjects start from, built once here instead of in
//! each test file.
//!
//! - [`Granted`]: a technical user granted targets behind connector `berlin`; an echo
//!   server for the entry points' subjects (SOCKS5, HTTP CONNECT, limits, restarts), HTTP
//!   back ends for the HTTP ones.
//! - [`EngineerWorld`]: a support engineer and a service connection to an echo server, no
//!   window yet (the two-key subjects: windows, route passwords, independent opening).
//! - [`WebWorld`]: an HTTP service connection to a web application behind connector
//!   `berlin`, no window yet (the web entry and the browser tests that open a service).
//!
//! And the small checks those subjects share ([`ended_within`], [`time_of`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use portcullis_client::requests::{NewServiceConnection, NewUser, OpenWindow};
use portcullis_client::views::{Id, ServiceConnection, System, Window};
use portcullis_domain::authz::Role;
use portcullis_domain::conntype::ConnTypeDef;

use crate::{echo_server, HubOptions, TestConnector, TestHub};

/// Company `acme` and its technical user (token [`Granted::token`]) with standing grants to
/// targets that connector `berlin` exposes.
#[derive(Debug)]
pub struct Granted {
    pub hub: TestHub,
    pub conn: TestConnector,
    /// The technical user's API token: the SOCKS5 / proxy password.
    pub token: String,
}

impl Granted {
    /// On a hub started with `options`: technical user `user`, connector `berlin` as
    /// `expose` sets it up (one access entry per target), and a grant to each of `targets`
    /// (`host:port`). Returns once the hub lists every target.
    pub async fn start(
        options: HubOptions,
        user: &str,
        expose: impl FnOnce(TestConnector) -> TestConnector,
        targets: &[&str],
    ) -> Granted {
        let hub = TestHub::start_with(options).await;
        hub.company("acme").await;
        let token = hub.token("acme", user).await;
        let conn = expose(TestConnector::for_hub(&hub, "acme", "berlin").await)
            .run()
            .await;
        hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == targets.len())
            .await;
        for target in targets {
            hub.grant("acme", &token, "berlin", target).await;
        }
        Granted { hub, conn, token }
    }

    /// Technical user `bot` granted `echo.internal:7`, an echo server, on a hub with default
    /// options.
    pub async fn echo() -> Granted {
        Self::echo_with(HubOptions::default()).await
    }

    /// [`Granted::echo`] on a hub started with `options`.
    pub async fn echo_with(options: HubOptions) -> Granted {
        let echo = echo_server().await;
        Self::start(
            options,
            "bot",
            |c| c.expose("echo", "echo.internal:7", echo),
            &["echo.internal:7"],
        )
        .await
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
            .user_with_token(NewUser::new("alice", Role::SupportEngineer))
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

/// Company `acme`, connector `berlin` exposing `backend` (a web application) as
/// `erp.internal:80` with HTTP processing (every path allowed), system PRD and an HTTP service
/// connection to it with the start URL `http://erp.internal/start`; no window yet.
#[derive(Debug)]
pub struct WebWorld {
    pub hub: TestHub,
    pub conn: TestConnector,
    /// System PRD.
    pub system: System,
    /// The HTTP service connection.
    pub sc: ServiceConnection,
}

impl WebWorld {
    /// With catalogue type `http_connect`.
    pub async fn start(backend: SocketAddr) -> WebWorld {
        Self::start_with(backend, None).await
    }

    /// With `own`, a connection type of acme's own (an HTTP one), instead of `http_connect`.
    pub async fn start_with(backend: SocketAddr, own: Option<ConnTypeDef>) -> WebWorld {
        let hub = TestHub::start().await;
        hub.company("acme").await;
        let conn = TestConnector::for_hub(&hub, "acme", "berlin")
            .await
            .expose_with(
                "erp",
                "erp.internal:80",
                backend,
                "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
            )
            .run()
            .await;
        hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
            .await;
        let system = hub.system("acme", "PRD").await;
        let key = match own {
            Some(def) => {
                hub.company_admin("acme")
                    .await
                    .create_connection_type("acme", &def)
                    .await
                    .expect("acme's own connection type")
                    .def
                    .key
            }
            None => "http_connect".to_owned(),
        };
        let sc = hub
            .service(
                &system,
                &NewServiceConnection::new(&key, "berlin", "erp.internal", 80)
                    .with_url("http://erp.internal/start"),
            )
            .await;
        WebWorld {
            hub,
            conn,
            system,
            sc,
        }
    }

    /// Opens a window on the service connection as `acme`'s admin.
    pub async fn open_window(&self, body: &OpenWindow) -> Window {
        self.hub
            .company_admin("acme")
            .await
            .open_window(self.sc.id, body)
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
