//! Live sessions (`/sessions` in the portal, `GET /companies/{c}/sessions` and
//! `POST /sessions/{id}/cut` in the API): an engineer's SOCKS5 session is listed with who,
//! from where, to what and its bytes so far; a customer admin cuts it, the engineer's
//! connection ends, and the session ends as `cut_by_admin` after a `session.cut`. Another
//! company sees nothing of it, and a user who may not operate connections gets no cut button
//! and his forged cut is refused.

use std::time::Duration;

use portcullis_client::requests::OpenWindow;
use portcullis_domain::authz::Role;
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::echo_server;
use portcullis_test_support::world::{ended_within, EngineerWorld};

use super::portal::{user_with_password, Curl};

#[tokio::test]
async fn a_customer_admin_sees_a_live_session_with_its_bytes_and_cuts_it() {
    let w = EngineerWorld::start(echo_server().await).await;
    w.open_window(&OpenWindow::now("Anna Admin")).await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "any", &w.engineer, EngineerWorld::ENTRY, 7)
            .await
            .unwrap()
    else {
        panic!("the engineer's session was refused");
    };
    assert_eq!(
        echo_round_trip(&mut s, b"hello live").await.unwrap(),
        b"hello live"
    );

    // The API lists it with its bytes so far.
    let admin = w.hub.company_admin("acme").await;
    let (status, list) = admin
        .get_raw("/api/v1/companies/acme/sessions")
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200, "{list}");
    let live = list.as_array().expect("a list");
    assert_eq!(live.len(), 1, "{list}");
    assert_eq!(live[0]["user"], "alice");
    assert_eq!(live[0]["entry"], "socks5");
    assert_eq!(live[0]["bytes_up"], 10, "{list}");
    assert_eq!(live[0]["bytes_down"], 10, "{list}");
    let id = live[0]["id"].as_str().unwrap().to_string();

    // Another company sees nothing of it.
    w.hub.company("globex").await;
    let globex = w.hub.company_admin("globex").await;
    let (_, other) = globex
        .get_raw("/api/v1/companies/globex/sessions")
        .await
        .unwrap();
    assert_eq!(other, serde_json::json!([]));
    let (status, _) = globex
        .post_raw(
            &format!("/api/v1/sessions/{id}/cut"),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 404);

    // The portal: the company's super administrator sees it and cuts it.
    let (_, pw) =
        user_with_password(&w.hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let anna = Curl::new(&w.hub);
    assert_eq!(anna.sign_in("anna", &pw).await.status, 303);
    let page = anna.get("/sessions").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(">alice<"), "{}", page.body);
    assert!(
        page.body.contains("berlin/echo.internal:7"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">10 B<"), "{}", page.body);
    let r = anna
        .post(&format!("/sessions/{id}/cut"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(
        r.header("location"),
        Some("/sessions?done=cut"),
        "{}",
        r.body
    );
    ended_within(&mut s, Duration::from_secs(5)).await;
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["cause"], "cut_by_admin", "{:?}", ends[0]);
    let cuts = w.hub.audit("session.cut").await;
    assert_eq!(cuts.len(), 1);
    assert_eq!(cuts[0].detail["session"], id.as_str());
    assert!(anna
        .get("/sessions")
        .await
        .body
        .contains("No session is open now."));
}

#[tokio::test]
async fn a_user_who_may_not_operate_connections_cannot_cut() {
    let w = EngineerWorld::start(echo_server().await).await;
    w.open_window(&OpenWindow::now("Anna Admin")).await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "any", &w.engineer, EngineerWorld::ENTRY, 7)
            .await
            .unwrap()
    else {
        panic!("refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"x").await.unwrap(), b"x");
    let company = w.system.company_id;
    let id = w.hub.state().live.of_company(company)[0].id.clone();
    let (_, pw) =
        user_with_password(&w.hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let carl = Curl::new(&w.hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    let home = carl.get("/").await;
    let r = carl
        .post(&format!("/sessions/{id}/cut"), &[("csrf", &home.csrf())])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(echo_round_trip(&mut s, b"still").await.unwrap(), b"still");
    assert!(w.hub.audit("session.cut").await.is_empty());
}
