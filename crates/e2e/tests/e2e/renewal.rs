//! Certificate renewal over the tunnel (issue #17 part 4) with lifetimes of seconds: the hub
//! issues 8-second certificates, the connector renews at a quarter of their life, again and
//! again, on the tunnel it has, while an echo session flows through it past the first
//! certificate's expiry (no reconnect, the stream never stops). After the hub restarts, the
//! connector connects with its newest certificate (the old ones expired long ago), which is the
//! one the hub has on record, and the renewed file has become `client.pem`.

use std::time::{Duration, Instant};

use portcullis_client::requests::{NewServiceConnection, OpenWindow};
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::hub::HubOptions;
use portcullis_test_support::{echo_server, TestConnector, TestHub};
use portcullis_transport::pki;

const ENTRY: &str = "generic_tcp.prd.acme.portcullis";
const LIFETIME_SECS: u64 = 8;

fn fingerprint(pem: &str) -> String {
    pki::fingerprint_hex(pki::pem_to_der_certs(pem).unwrap()[0].as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_renews_over_its_tunnel_while_a_session_flows_and_reconnects_with_the_new_one(
) {
    let mut hub = TestHub::start_with(HubOptions {
        certificate_lifetime_secs: Some(LIFETIME_SECS),
        ..Default::default()
    })
    .await;
    hub.company("acme").await;
    let echo = echo_server().await;
    let mut conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .with_toml("[certificate]\nrenew_at_percent = 25\n")
        .expose("echo", "echo.internal:7", echo)
        .run()
        .await;
    let first_pem = std::fs::read_to_string(conn.data_dir().join("identity/client.pem")).unwrap();
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    let system = hub.system("acme", "PRD").await;
    let sc = hub
        .service(
            &system,
            &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
        )
        .await;
    hub.company_admin("acme")
        .await
        .open_window(sc.id, &OpenWindow::now("Bob"))
        .await
        .unwrap();
    let engineer = hub.engineer("alice").await;
    let Socks5Outcome::Connected(mut s) = socks5_connect(hub.socks5(), "any", &engineer, ENTRY, 7)
        .await
        .unwrap()
    else {
        panic!("the session was refused");
    };

    // Bytes flow every 200 ms for longer than the first certificate lives.
    let until = Instant::now() + Duration::from_secs(LIFETIME_SECS + 3);
    let mut n = 0u32;
    while Instant::now() < until {
        let msg = format!("ping {n}");
        assert_eq!(
            echo_round_trip(&mut s, msg.as_bytes()).await.unwrap(),
            msg.as_bytes(),
            "the session broke at round {n}"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(conn.status().connects, 1, "the tunnel was never replaced");
    // Renewed more than once, each put in force at the hub with its audit event.
    let renewed = hub.wait_audit("connector.renewed", 2).await;
    assert_eq!(
        renewed[0].detail["previous_fingerprint"].as_str(),
        Some(fingerprint(&first_pem).as_str())
    );
    let local = std::fs::read_to_string(conn.audit_log()).unwrap();
    assert!(local.contains("\"certificate.renewed\""), "{local}");
    let waiting = conn.data_dir().join("identity/renewed.json");
    assert!(
        waiting.exists(),
        "the renewed certificate waits beside the one in use"
    );
    assert_eq!(
        std::fs::read_to_string(conn.data_dir().join("identity/client.pem")).unwrap(),
        first_pem,
        "the identity in use is not replaced while its tunnel runs"
    );

    // A new connection: only the newest certificate is valid and on record; it is used and
    // becomes the identity in use.
    drop(s);
    hub = hub.restart().await;
    conn.wait_connects(2).await;
    // (`renewed.json` may be there again at once: the promoted certificate is soon due.)
    let now_pem = std::fs::read_to_string(conn.data_dir().join("identity/client.pem")).unwrap();
    assert_ne!(now_pem, first_pem);
    let on_record = hub
        .state()
        .store
        .get_connector(conn.id)
        .await
        .unwrap()
        .unwrap()
        .cert_fingerprint
        .unwrap();
    // The connector may have renewed once more on the new tunnel; the hub has its latest.
    let newest = if waiting.exists() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&waiting).unwrap()).unwrap();
        v["certificate_pem"].as_str().unwrap().to_owned()
    } else {
        now_pem.clone()
    };
    assert!(
        on_record == fingerprint(&newest) || on_record == fingerprint(&now_pem),
        "the hub's record is the connector's certificate"
    );
    // And a session works on the new tunnel.
    let Socks5Outcome::Connected(mut s) = socks5_connect(hub.socks5(), "any", &engineer, ENTRY, 7)
        .await
        .unwrap()
    else {
        panic!("refused after the reconnect");
    };
    assert_eq!(echo_round_trip(&mut s, b"after").await.unwrap(), b"after");
}
