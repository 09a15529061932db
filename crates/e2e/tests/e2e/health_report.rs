//! Health reports (issue #17 part 6, SB-05): a real connector sends its hub version, uptime,
//! CPU, memory, disk and each entry's reachability over the tunnel; the hub shows the latest
//! with the connector in the API (what `portcullis admin connector list` prints), on the
//! portal's Connectors page and, per service connection, on the system's page; it keeps the
//! report after the tunnel went down.

use std::time::Duration;

use portcullis_client::requests::NewServiceConnection;
use portcullis_domain::authz::Role;
use portcullis_test_support::{echo_server, TestConnector, TestHub};
use tokio::net::TcpListener;

use super::portal::{user_with_password, Curl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_shows_each_connectors_latest_health_report() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let echo = echo_server().await;
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    let mut conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .with_toml(
            "[monitoring]\nhardware_interval_ms = 100\ndisk_interval_ms = 100\n\
             report_interval_ms = 200\nreport_internal_details = true\n\
             [alerts]\nbackend_interval_ms = 200\n",
        )
        .expose("echo", "echo.internal:7", echo)
        .expose("erp", "erp.internal:3300", dead)
        .run()
        .await;

    // Reports come every 200 ms; wait for one with samples and both entries checked.
    let mut health = None;
    for _ in 0..300 {
        let list = hub.admin.list_connectors("acme").await.unwrap();
        if let Some(h) = list[0].health.clone() {
            if h.cpu_permille.is_some() && h.disk_free.is_some() && h.entries.len() == 2 {
                health = Some(h);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let h = health.expect("no complete health report reached the hub");
    assert_eq!(h.software_version, env!("CARGO_PKG_VERSION"));
    assert!(h.memory_total.unwrap() > 0 && h.disk_total.unwrap() > 0);
    assert!(h.cpu_permille.unwrap() <= 1000);
    let echo_e = h.entries.iter().find(|e| e.name == "echo").unwrap();
    let erp = h.entries.iter().find(|e| e.name == "erp").unwrap();
    assert!(echo_e.reachable, "{echo_e:?}");
    assert!(
        !erp.reachable && erp.internal == dead.to_string(),
        "{erp:?}"
    );

    // The portal shows it to the company's admin.
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let anna = Curl::new(&hub);
    anna.sign_in("anna", &pw).await;
    let page = anna.get("/connectors").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("1 of 2 back ends reachable") && page.body.contains("GB free"),
        "{}",
        page.body
    );

    // The system page says, per service connection, whether the connector reaches its back
    // end.
    let system = hub.system("acme", "PRD").await;
    for (ty, host, port) in [
        ("generic_tcp", "echo.internal", 7),
        ("ssh", "erp.internal", 3300),
    ] {
        hub.service(
            &system,
            &NewServiceConnection::new(ty, "berlin", host, port),
        )
        .await;
    }
    let page = anna.get(&format!("/systems/{}", system.id)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("The connector reaches the back end (")
            && page
                .body
                .contains("The connector does not reach the back end: "),
        "{}",
        page.body
    );

    // The last report stays when the tunnel goes.
    let received = h.received_at;
    conn.stop().await;
    let list = hub.admin.list_connectors("acme").await.unwrap();
    let kept = list[0].health.clone().expect("the report is kept");
    assert!(kept.received_at >= received);
}
