//! The network status per system and per service connection (RC-08): what SAP's Remote
//! Connection app shows as *connected / not connected / canceled* for the customer's SAProuter,
//! here the status of the connectors a system's service connections go through.

use portcullis_client::requests::NewServiceConnection;
use portcullis_client::views::{
    ConnectorStatus, Id, ServiceConnection, System, SystemNetwork, SystemView,
};
use portcullis_test_support::{echo_server, TestConnector, TestHub};

async fn service(
    hub: &TestHub,
    system: &System,
    kind: &str,
    location: &str,
    port: u16,
) -> ServiceConnection {
    hub.service(
        system,
        &NewServiceConnection::new(kind, location, "echo.internal", port),
    )
    .await
}

async fn system_network(hub: &TestHub, id: Id) -> SystemNetwork {
    hub.admin.get_system(id).await.unwrap().network
}

async fn service_network(hub: &TestHub, id: Id) -> ConnectorStatus {
    hub.admin.get_service_connection(id).await.unwrap().network
}

/// The SIDs the system list answers with these filters (raw query: the typed call has none).
async fn sids(hub: &TestHub, query: &str) -> Vec<String> {
    let v: Vec<SystemView> = hub
        .admin
        .get(&format!("/api/v1/companies/acme/systems?{query}"))
        .await
        .unwrap();
    v.into_iter().map(|s| s.system.data.sid).collect()
}

#[tokio::test]
async fn systems_show_whether_their_connectors_are_connected() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let echo = echo_server().await;
    let mut berlin = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("echo", "echo.internal:7", echo)
        .run()
        .await;
    hub.wait_inventory(berlin.company_id, "berlin", |i| i.len() == 1)
        .await;
    // A second location, registered but never enrolled.
    hub.connector("acme", "munich").await;

    let prd = hub.system("acme", "PRD").await;
    let qas = hub.system("acme", "QAS").await;
    let dev = hub.system("acme", "DEV").await;
    let prd_sc = service(&hub, &prd, "generic_tcp", "berlin", 7).await;
    service(&hub, &qas, "generic_tcp", "berlin", 7).await;
    let qas_munich = service(&hub, &qas, "ssh", "munich", 22).await;

    assert_eq!(prd_sc.network, ConnectorStatus::Connected, "{prd_sc:?}");
    assert_eq!(
        qas_munich.network,
        ConnectorStatus::NotEnrolled,
        "{qas_munich:?}"
    );
    assert_eq!(system_network(&hub, prd.id).await, SystemNetwork::Connected);
    // One of QAS's connectors is not connected: QAS is not.
    assert_eq!(
        system_network(&hub, qas.id).await,
        SystemNetwork::NotConnected
    );
    assert_eq!(system_network(&hub, dev.id).await, SystemNetwork::NotSetUp);
    assert_eq!(sids(&hub, "network=connected").await, ["PRD"]);
    assert_eq!(sids(&hub, "network=not_connected").await, ["QAS"]);
    assert_eq!(sids(&hub, "network=not_set_up").await, ["DEV"]);
    let e = hub
        .admin
        .get::<serde_json::Value>("/api/v1/companies/acme/systems?network=up")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not one of connected"), "{e}");
    let list: Vec<ServiceConnection> = hub
        .admin
        .get("/api/v1/companies/acme/service-connections?network=not_enrolled")
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, qas_munich.id);

    // The Berlin connector stops: PRD is not connected any more.
    berlin.stop().await;
    let company = berlin.company_id;
    hub.wait_registry("berlin's tunnel gone", |r| {
        r.get(company, "berlin").is_none()
    })
    .await;
    assert_eq!(
        service_network(&hub, prd_sc.id).await,
        ConnectorStatus::NotConnected
    );
    assert_eq!(
        system_network(&hub, prd.id).await,
        SystemNetwork::NotConnected
    );

    // Revoked: SAP's "canceled".
    let revoked = hub
        .company_admin("acme")
        .await
        .revoke_connector(berlin.id)
        .await
        .unwrap();
    assert_eq!(revoked.status, ConnectorStatus::Revoked);
    assert_eq!(
        service_network(&hub, prd_sc.id).await,
        ConnectorStatus::Revoked
    );
    assert_eq!(
        system_network(&hub, prd.id).await,
        SystemNetwork::NotConnected
    );
}
