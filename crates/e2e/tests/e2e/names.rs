//! Names that differ only in case (issue 13, class 8): company names, SIDs and location IDs are
//! unique without regard to case and found in any case, so `prd.ACME` means acme and no other
//! tenant, at every entry point.

use portcullis_client::ClientError;
use portcullis_test_support::clients::{
    echo_round_trip, http_connect, socks5_connect, Socks5Outcome,
};
use portcullis_test_support::{echo_server, TestHub};
use serde_json::{json, Value};

/// The status of a refused call.
fn status(r: Result<Value, ClientError>) -> u16 {
    match r.expect_err("the call should be refused") {
        ClientError::Refused { status, .. } => status.as_u16(),
        other => panic!("not a JSON error: {other}"),
    }
}

#[tokio::test]
async fn acme_and_acme_in_another_case_cannot_both_exist_and_prd_acme_reaches_acme_only() {
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    let (_conn, _, sc) = hub.prd_echo_service(echo).await;
    let acme = hub.company_admin("acme").await;

    // One tenant per name, whatever the case.
    for name in ["ACME", "Acme", "aCmE"] {
        let got = hub
            .admin
            .post::<_, Value>("/api/v1/companies", &json!({ "name": name }))
            .await;
        assert_eq!(status(got), 409, "{name} beside acme");
    }
    let got = acme
        .post::<_, Value>(
            "/api/v1/companies/acme/connectors",
            &json!({"location": "BERLIN"}),
        )
        .await;
    assert_eq!(status(got), 409, "BERLIN beside berlin");
    // Found in any case, and shown as stored.
    let c: Vec<Value> = acme.get("/api/v1/companies/ACME/systems").await.unwrap();
    assert_eq!(c[0]["sid"], "PRD");
    let companies: Vec<Value> = hub.admin.get("/api/v1/companies").await.unwrap();
    assert_eq!(companies.len(), 1, "{companies:?}");
    assert_eq!(companies[0]["name"], "acme");

    // Another tenant, with a technical user of its own.
    hub.company("globex").await;
    let intruder = hub.token("globex", "intruder").await;

    // The engineer a window admits reaches acme's PRD named in any case, through SOCKS5 and
    // the HTTP proxy.
    let alice = hub.engineer("alice").await;
    let _: Value = acme
        .post(
            &format!("/api/v1/service-connections/{}/windows", sc.id),
            &json!({"contact": "Bob Admin", "engineers": ["alice"]}),
        )
        .await
        .unwrap();
    for host in [
        "generic_tcp.PRD.ACME.portcullis",
        "GENERIC_TCP.prd.Acme.PORTCULLIS",
    ] {
        let Socks5Outcome::Connected(mut s) = socks5_connect(hub.socks5(), "any", &alice, host, 7)
            .await
            .unwrap()
        else {
            panic!("{host}: refused under an open window");
        };
        assert_eq!(echo_round_trip(&mut s, b"acme").await.unwrap(), b"acme");
        let (code, _, s) = http_connect(hub.http_proxy(), "any", &alice, &format!("{host}:7"))
            .await
            .unwrap();
        assert_eq!(code, 200, "{host} via the HTTP proxy");
        let mut s = s.unwrap();
        assert_eq!(echo_round_trip(&mut s, b"acme").await.unwrap(), b"acme");
    }
    // Another tenant's user, naming acme in another case, is refused: never reaches it.
    for host in [
        "generic_tcp.PRD.ACME.portcullis",
        "generic_tcp.prd.acme.portcullis",
    ] {
        match socks5_connect(hub.socks5(), "any", &intruder, host, 7)
            .await
            .unwrap()
        {
            Socks5Outcome::Refused(_) => {}
            other => panic!("globex's user reached {host}: {other:?}"),
        }
        let (code, _, _) = http_connect(hub.http_proxy(), "any", &intruder, &format!("{host}:7"))
            .await
            .unwrap();
        assert_ne!(code, 200, "globex's user reached {host} via the HTTP proxy");
    }

    // SOCKS5 user = location, in any case: acme's technical user with a grant.
    let bot = hub.token("acme", "bot").await;
    hub.grant("acme", &bot, "berlin", "echo.internal:7").await;
    for location in ["berlin", "BERLIN", "Berlin"] {
        let Socks5Outcome::Connected(mut s) =
            socks5_connect(hub.socks5(), location, &bot, "echo.internal", 7)
                .await
                .unwrap()
        else {
            panic!("location {location}: refused");
        };
        assert_eq!(echo_round_trip(&mut s, b"bot").await.unwrap(), b"bot");
    }
    // Globex has no location berlin in any case: its user reaches nothing there.
    let got = socks5_connect(hub.socks5(), "BERLIN", &intruder, "echo.internal", 7)
        .await
        .unwrap();
    assert!(
        !matches!(got, Socks5Outcome::Connected(_)),
        "globex's user reached acme's berlin"
    );
}
