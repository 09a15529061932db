//! Revocation holds even when it races a connector's handshake.

use std::time::Duration;

use portcullis_connector::Identity;
use portcullis_proto::Hello;
use portcullis_test_support::{TestConnector, TestHub};
use portcullis_transport::tunnel::{connector_handshake, MuxSettings, TunnelError};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[tokio::test]
async fn a_handshake_in_flight_when_the_connector_is_revoked_does_not_survive() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin").await;
    let id = Identity::load(&conn.dir.path().join("data")).unwrap();
    let tcp = TcpStream::connect(hub.addrs().tunnel).await.unwrap();
    let tls = TlsConnector::from(id.tls_client_config().unwrap())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    // TLS is up and the hub has looked the certificate up; now revoke, then say Hello.
    let _: serde_json::Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/connectors/{}/revoke", conn.id),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    let hello = Hello {
        software_version: env!("CARGO_PKG_VERSION").into(),
        location: "berlin".into(),
        hostname: None,
    };
    match connector_handshake(tls, hello, &MuxSettings::default(), Duration::from_secs(10)).await {
        // Refused at the handshake (a Reject, or the connection closed): fine. A timeout or a
        // garbled answer is not a refusal.
        Err(e) => assert!(
            matches!(
                e,
                TunnelError::Rejected(_) | TunnelError::Closed | TunnelError::Io(_)
            ),
            "the handshake failed otherwise than by a refusal: {e}"
        ),
        // Welcomed: the hub must cut the tunnel right after registering it.
        Ok((_, mut mux)) => {
            // Hold every stream (the control stream included) so only a cut by the hub can end
            // the tunnel; heartbeats would end it after 15 s, so allow 3.
            let mut held = Vec::new();
            let ended = tokio::time::timeout(Duration::from_secs(3), async {
                while let Some(Ok(inc)) = mux.accept().await {
                    held.push(inc);
                }
            })
            .await;
            assert!(ended.is_ok(), "the revoked connector's tunnel stayed up");
        }
    }
    let reg = &hub.state().registry;
    hub.wait_registry("no tunnel for the revoked connector", |r| {
        r.by_connector(conn.id).is_none()
    })
    .await;
    assert!(reg.by_connector(conn.id).is_none());
}

/// Asking a new enrolment token for a revoked connector is the caller's mistake, answered
/// 409 `revoked`, not a 500 (the store's "revoked" fell through to an internal error).
#[tokio::test]
async fn an_enrolment_token_for_a_revoked_connector_is_refused_with_409_revoked() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (id, _) = hub.connector("acme", "berlin").await;
    let _: serde_json::Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/connectors/{id}/revoke"),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    let err = hub
        .company_admin("acme")
        .await
        .post::<_, serde_json::Value>(
            &format!("/api/v1/connectors/{id}/enrollment-token"),
            &serde_json::json!({}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("409") && err.contains("[revoked]"),
        "expected 409 revoked, got: {err}"
    );
    // Nothing was issued: the connector stays revoked and unenrolled.
    let list: Vec<serde_json::Value> = hub
        .admin
        .get("/api/v1/companies/acme/connectors")
        .await
        .unwrap();
    assert_eq!(list[0]["status"], "revoked");
}
