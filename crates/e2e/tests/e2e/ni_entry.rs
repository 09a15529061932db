//! The hub's NI entry end to end: SAP route strings (pysap, niping, a customer SAProuter
//! behind the connector) reach a system only through its service connection, with the
//! engineer's token as the route password, while a window is open; everything else gets a
//! SAProuter error, and sessions are audited like every other entry's.

use std::net::SocketAddr;
use std::time::Duration;

use portcullis_client::requests::{NewRoutePassword, NewServiceConnection, OpenWindow};
use portcullis_client::views::{Id, Window};
use portcullis_router::io::{read_frame, write_frame};
use portcullis_router::niping;
use portcullis_test_support::{echo_server, ni_echo_server, pysap, TestConnector, TestHub};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The R/3 Support service connection: an NI echo behind the connector, port 3200.
const R3: &str = "r3_support.prd.acme.portcullis";
/// A Telnet-type service connection to a raw echo, for RAW routes.
const TELNET: &str = "telnet.prd.acme.portcullis";

struct World {
    hub: TestHub,
    _conn: TestConnector,
    engineer: String,
    system: i64,
    r3: i64,
    telnet: i64,
    /// The NI echo's real address (for routes that continue behind a customer SAProuter).
    ni_echo: SocketAddr,
}

async fn world() -> World {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let ni = ni_echo_server().await;
    let raw = echo_server().await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("dispatcher", "prd.internal:3200", ni)
        .expose("telnet", "prd.internal:23", raw)
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 2)
        .await;
    let system = hub.system("acme", "PRD").await;
    let mut ids = Vec::new();
    for (ty, port) in [("r3_support", 3200), ("telnet", 23)] {
        let sc = hub
            .service(
                &system,
                &NewServiceConnection::new(ty, "berlin", "prd.internal", port),
            )
            .await;
        ids.push(sc.id);
    }
    let engineer = hub.engineer("alice").await;
    World {
        hub,
        _conn: conn,
        engineer,
        system: system.id,
        r3: ids[0],
        telnet: ids[1],
        ni_echo: ni,
    }
}

impl World {
    fn hub_hop(&self) -> String {
        format!("127.0.0.1:{}", self.hub.ni().port())
    }

    async fn open_window(&self, sc: Id) -> Window {
        self.hub
            .company_admin("acme")
            .await
            .open_window(sc, &OpenWindow::now("Basis on call, +49 30 1234"))
            .await
            .unwrap()
    }

    async fn close_window(&self, window: &Window) {
        self.hub
            .company_admin("acme")
            .await
            .close_window(window.id)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn pysap_reaches_a_system_through_the_hub_while_its_window_is_open() {
    let w = world().await;
    let r3 = format!("{R3}:3200:{}", w.engineer);

    // No window yet: the hub denies as a SAProuter would.
    let denied = pysap::route(&[w.hub_hop(), r3.clone()], "msg", "x").await;
    assert_eq!(denied["error"], "SAPRouteException", "{denied}");

    let window = w.open_window(w.r3).await;
    let msg = pysap::route(&[w.hub_hop(), r3.clone()], "msg", "EYECATCHER via the hub").await;
    assert_eq!(msg["ok"], true, "{msg}");
    assert_eq!(msg["echo"], "EYECATCHER via the hub");

    // RAW mode to a Telnet-type service connection needs its own window.
    let telnet = format!("{TELNET}:23:{}", w.engineer);
    let closed = pysap::route(&[w.hub_hop(), telnet.clone()], "raw", "x").await;
    assert_eq!(closed["error"], "SAPRouteException", "{closed}");
    w.open_window(w.telnet).await;
    let raw = pysap::route(&[w.hub_hop(), telnet], "raw", "raw via the hub").await;
    assert_eq!(raw["echo"], "raw via the hub", "{raw}");

    // Audited like any other entry's sessions, with the entry named.
    let starts = w.hub.wait_audit("session.start", 2).await;
    assert!(
        starts.iter().all(|e| e.detail["entry"] == "ni"),
        "{starts:?}"
    );
    let refused = w.hub.wait_audit("session.refused", 2).await;
    assert!(
        refused.iter().all(|e| e.detail["entry"] == "ni"),
        "{refused:?}"
    );

    // After the close, the route is denied again.
    w.close_window(&window).await;
    let after = pysap::route(
        &[w.hub_hop(), format!("{R3}:3200:{}", w.engineer)],
        "msg",
        "x",
    )
    .await;
    assert_eq!(after["error"], "SAPRouteException", "{after}");
}

#[tokio::test]
async fn a_route_password_works_as_the_hubs_password() {
    let w = world().await;
    w.open_window(w.r3).await;
    let created = w
        .hub
        .client(&w.engineer)
        .create_route_password(&NewRoutePassword {
            ttl_minutes: Some(30),
        })
        .await
        .unwrap();
    let password = created.password.expose().as_str();
    assert!(password.len() < 60, "short enough to type: {password}");
    let ok = pysap::route(
        &[w.hub_hop(), format!("{R3}:3200:{password}")],
        "msg",
        "with a route password",
    )
    .await;
    assert_eq!(ok["echo"], "with a route password", "{ok}");
    // The session is the engineer's, by the route password's token.
    let starts = w.hub.wait_audit("session.start", 1).await;
    assert!(
        starts[0].actor.as_str().contains(&created.id.to_string()),
        "{starts:?}"
    );
}

#[tokio::test]
async fn anything_but_a_service_connection_with_a_valid_token_is_denied() {
    let w = world().await;
    w.open_window(w.r3).await;
    let cases = [
        // No password.
        format!("{R3}:3200"),
        // A wrong token.
        format!("{R3}:3200:pct_000000000000_{}", "0".repeat(64)),
        // A plain host, not a service connection.
        format!("{}:{}:{}", "127.0.0.1", w.ni_echo.port(), w.engineer),
        // The service connection on a port it does not have.
        format!("{R3}:3201:{}", w.engineer),
    ];
    for hop in cases {
        let result = pysap::route(&[w.hub_hop(), hop.clone()], "msg", "x").await;
        assert_eq!(result["error"], "SAPRouteException", "{hop}: {result}");
    }
    // The hub is not a SAProuter to administer.
    let info = pysap::run(&["info", "--router", &w.hub_hop()]).await;
    assert_eq!(info["ok"], false, "{info}");
    assert_eq!(info["return_code"], -94, "{info}");
}

#[tokio::test]
async fn closing_the_window_cuts_a_live_ni_session() {
    let w = world().await;
    let window = w.open_window(w.r3).await;
    let route = portcullis_ni::RouteString::parse(&format!(
        "/H/127.0.0.1/S/{}/W/{}/H/{R3}/S/3200",
        w.hub.ni().port(),
        w.engineer
    ))
    .unwrap();
    let mut stream = portcullis_router::client::connect(
        &route,
        portcullis_ni::TalkMode::Msg,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    write_frame(&mut stream, b"before the close").await.unwrap();
    assert_eq!(
        read_frame(&mut stream, 1024).await.unwrap(),
        b"before the close"
    );
    w.close_window(&window).await;
    let cut = tokio::time::timeout(Duration::from_secs(2), read_frame(&mut stream, 1024)).await;
    assert!(
        matches!(cut, Ok(Err(_))),
        "the session ends within the window close: {cut:?}"
    );
}

#[tokio::test]
async fn niping_through_the_hub_and_a_customer_saprouter() {
    let w = world().await;
    // A customer SAProuter behind the connector, exposed as the R/3 service connection's
    // target would be in a classic setup: the route continues from it to the niping server.
    let niping_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let niping_addr = niping_listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(niping::serve(
        niping_listener,
        niping::ServerOptions::default(),
        stop.clone(),
    ));

    // Straight to the niping server is not possible (the hub routes to service connections
    // only); through the hub to the R/3 service connection's NI echo it is.
    w.open_window(w.r3).await;
    let mut opts = niping::ClientOptions::new(format!(
        "/H/127.0.0.1/S/{}/W/{}/H/{R3}/S/3200",
        w.hub.ni().port(),
        w.engineer
    ));
    opts.loops = 5;
    let report = niping::run_client(&opts).await.unwrap();
    assert_eq!(report.times.len(), 5);

    // A customer SAProuter as the service connection's target, then the niping server.
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("saprouttab");
    std::fs::write(&table, format!("P * 127.0.0.1 {}\n", niping_addr.port())).unwrap();
    let mut config = portcullis_router::RouterConfig::new(&table);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let router = portcullis_router::Router::bind(config).await.unwrap();
    let router_addr = router.local_addr().unwrap();
    tokio::spawn(router.run(stop.clone()));
    let conn2 = TestConnector::for_hub(&w.hub, "acme", "dmz")
        .await
        .expose("saprouter", "saprouter.internal:3299", router_addr)
        .run()
        .await;
    w.hub
        .wait_inventory(conn2.company_id, "dmz", |i| i.len() == 1)
        .await;
    let other: Value = w
        .hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/companies/acme/connection-types",
            &json!({"key": "saprouter", "name": "Customer SAProuter", "protocol": "ni",
                    "default_port": 3299, "needs_url": false,
                    "description": "the customer's own SAProuter"}),
        )
        .await
        .unwrap();
    assert_eq!(other["key"], "saprouter", "{other}");
    let sc = w
        .hub
        .company_admin("acme")
        .await
        .create_service_connection(
            w.system,
            &NewServiceConnection::new("saprouter", "dmz", "saprouter.internal", 3299),
        )
        .await
        .unwrap();
    w.open_window(sc.id).await;
    let mut opts = niping::ClientOptions::new(format!(
        "/H/127.0.0.1/S/{}/W/{}/H/saprouter.prd.acme.portcullis/S/3299/H/127.0.0.1/S/{}",
        w.hub.ni().port(),
        w.engineer,
        niping_addr.port()
    ));
    opts.loops = 3;
    let report = niping::run_client(&opts).await.unwrap();
    assert_eq!(report.times.len(), 3);

    // pysap takes the same three-hop route.
    let chained = pysap::route(
        &[
            w.hub_hop(),
            format!("saprouter.prd.acme.portcullis:3299:{}", w.engineer),
            format!("127.0.0.1:{}", niping_addr.port()),
        ],
        "msg",
        "hub, customer SAProuter, server",
    )
    .await;
    assert_eq!(
        chained["echo"], "hub, customer SAProuter, server",
        "{chained}"
    );

    // The customer's router still decides: a port its table does not permit is denied, and
    // its refusal reaches the client through the hub.
    let denied = pysap::route(
        &[
            w.hub_hop(),
            format!("saprouter.prd.acme.portcullis:3299:{}", w.engineer),
            format!("127.0.0.1:{}", w.ni_echo.port()),
        ],
        "msg",
        "x",
    )
    .await;
    assert_eq!(denied["error"], "SAPRouteException", "{denied}");
    stop.cancel();
}
