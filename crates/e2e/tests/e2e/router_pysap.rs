//! Interoperability with a third-party client: pysap (PyPI) against `portcullis router`.
//!
//! pysap asks for the router's version, then sends its route request on the same
//! connection, and decodes answers with its own packet definitions: if Portcullis got a byte
//! layout wrong, these tests fail.

use std::net::SocketAddr;

use portcullis_router::{Router, RouterConfig};
use portcullis_test_support::{echo_server, ni_echo_server, pysap};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

struct Running {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Running {
    fn hop(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }
}

async fn router(table: &str, info_password: Option<&str>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saprouttab");
    std::fs::write(&path, table).unwrap();
    let mut config = RouterConfig::new(&path);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.info_password = info_password.map(str::to_owned);
    let router = Router::bind(config).await.unwrap();
    let addr = router.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(router.run(stop.clone()));
    Running {
        addr,
        _dir: dir,
        stop,
    }
}

fn target(addr: SocketAddr) -> String {
    format!("127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn pysap_routes_in_msg_and_raw_mode() {
    let ni = ni_echo_server().await;
    let raw = echo_server().await;
    let r = router(
        &format!("P * * {}\nP * * {}\n", ni.port(), raw.port()),
        None,
    )
    .await;
    let msg = pysap::route(&[r.hop(), target(ni)], "msg", "EYECATCHER msg via pysap").await;
    assert_eq!(msg["ok"], true, "{msg}");
    assert_eq!(msg["echo"], "EYECATCHER msg via pysap");
    assert_eq!(msg["router_version"], 40, "pysap read our version response");

    let native = pysap::route(&[r.hop(), target(raw)], "raw", "raw bytes via pysap").await;
    assert_eq!(native["ok"], true, "{native}");
    assert_eq!(native["echo"], "raw bytes via pysap");
}

#[tokio::test]
async fn pysap_decodes_a_denied_route_as_perm_denied() {
    let raw = echo_server().await;
    let r = router("D * * *\n", None).await;
    let denied = pysap::route(&[r.hop(), target(raw)], "raw", "x").await;
    assert_eq!(denied["ok"], false, "{denied}");
    // pysap raises SAPRouteException exactly for NIEROUT_PERM_DENIED (-94).
    assert_eq!(denied["error"], "SAPRouteException", "{denied}");

    // Other refusals arrive as pysap's response error with the code.
    let unknown = pysap::route(&[r.hop(), "no-such-host.invalid:3200".into()], "msg", "x").await;
    assert_eq!(unknown["error"], "SAPRouterResponseError", "{unknown}");
    assert_eq!(unknown["return_code"], -90, "{unknown}");
}

#[tokio::test]
async fn pysap_checks_route_passwords() {
    let raw = echo_server().await;
    let r = router(&format!("P * * {} pass1234\n", raw.port()), None).await;
    let without = pysap::route(&[r.hop(), target(raw)], "raw", "x").await;
    assert_eq!(without["error"], "SAPRouteException", "{without}");
    let wrong = pysap::route(&[r.hop(), format!("{}:wrong", target(raw))], "raw", "x").await;
    assert_eq!(wrong["error"], "SAPRouteException", "{wrong}");
    // The password on the target's entry (SAP GUI, legacy /P/) …
    let on_target =
        pysap::route(&[r.hop(), format!("{}:pass1234", target(raw))], "raw", "in").await;
    assert_eq!(on_target["echo"], "in", "{on_target}");
    // … or on the router's own entry (pysap's route-string parser puts /W/ there).
    let on_router = pysap::route(
        &[format!("{}:pass1234", r.hop()), target(raw)],
        "raw",
        "own",
    )
    .await;
    assert_eq!(on_router["echo"], "own", "{on_router}");
}

#[tokio::test]
async fn pysap_decodes_the_info_client_list() {
    let ni = ni_echo_server().await;
    let r = router(&format!("P * * {}\n", ni.port()), Some("infopw")).await;
    // Hold a routed connection open while pysap asks.
    let route_string = portcullis_ni::RouteString::parse(&format!(
        "/H/127.0.0.1/S/{}/H/127.0.0.1/S/{}",
        r.addr.port(),
        ni.port()
    ))
    .unwrap();
    let _held = portcullis_router::client::connect(
        &route_string,
        portcullis_ni::TalkMode::Msg,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();

    let refused = pysap::run(&["info", "--router", &r.hop(), "--password", "wrong"]).await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["return_code"], -99, "{refused}");

    let info = pysap::run(&["info", "--router", &r.hop(), "--password", "infopw"]).await;
    assert_eq!(info["ok"], true, "{info}");
    assert_eq!(info["server"]["port"], r.addr.port(), "{info}");
    let clients = info["clients"].as_array().unwrap();
    let routed: Vec<&Value> = clients.iter().filter(|c| c["routed"] == 1).collect();
    assert_eq!(routed.len(), 2, "{info}");
    let service = ni.port().to_string();
    assert!(
        routed
            .iter()
            .any(|c| c["partner"] == "127.0.0.1" && c["service"].as_str() == Some(&service)),
        "{info}"
    );
    assert!(routed.iter().all(|c| c["address"] == "127.0.0.1"), "{info}");
    assert!(
        info["lines"][0]
            .as_str()
            .unwrap()
            .starts_with("Total no. of clients: 3"),
        "{info}"
    );
}

#[tokio::test]
async fn pysap_through_a_chain_of_two_routers() {
    let ni = ni_echo_server().await;
    let second = router(&format!("P 127.0.0.1 127.0.0.1 {}\n", ni.port()), None).await;
    let first = router(
        &format!("P 127.0.0.1 127.0.0.1 {}\n", second.addr.port()),
        None,
    )
    .await;
    let chained = pysap::route(&[first.hop(), second.hop(), target(ni)], "msg", "two hops").await;
    assert_eq!(chained["echo"], "two hops", "{chained}");
    // The second router denies a port the first permits: pysap sees the denial.
    let raw = echo_server().await;
    let first_open = router("P * * *\n", None).await;
    let denied = pysap::route(&[first_open.hop(), second.hop(), target(raw)], "msg", "x").await;
    assert_eq!(denied["error"], "SAPRouteException", "{denied}");
}
