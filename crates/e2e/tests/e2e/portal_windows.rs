//! The company's open and reserved windows across systems (`/windows`), with bulk extend and
//! bulk close through the same operations as the system page: the rules hold per window (a
//! bulk extend beyond 20 days is refused for each, nothing changes), and a user who may not
//! operate connections changes nothing with a forged post.

use portcullis_client::requests::{NewServiceConnection, OpenWindow};
use portcullis_domain::authz::Role;

use super::portal::{acme_with_prd, user_with_password, Curl};

#[tokio::test]
async fn windows_are_extended_and_closed_in_bulk_within_the_rules() {
    let (hub, _prd, sc_prd) = acme_with_prd().await;
    let qas = hub.system("acme", "QAS").await;
    let sc_qas = hub
        .service(
            &qas,
            &NewServiceConnection::new("generic_tcp", "berlin", "qas.internal", 7),
        )
        .await
        .id;
    let api = hub.company_admin("acme").await;
    let w1 = api
        .open_window(sc_prd, &OpenWindow::now("Anna"))
        .await
        .unwrap();
    let w2 = api
        .open_window(sc_qas, &OpenWindow::now("Anna"))
        .await
        .unwrap();
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let anna = Curl::new(&hub);
    assert_eq!(anna.sign_in("anna", &pw).await.status, 303);
    let page = anna.get("/windows").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for sid in ["PRD", "QAS"] {
        assert!(page.body.contains(&format!(">{sid}</a>")), "{}", page.body);
    }
    let csrf = page.csrf();
    let (a, b) = (w1.id.to_string(), w2.id.to_string());

    // Extend both by 4 hours.
    let r = anna
        .post(
            "/windows/bulk",
            &[
                ("csrf", &csrf),
                ("window", &a),
                ("window", &b),
                ("action", "extend"),
                ("hours", "4"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("2 windows extended."), "{}", r.body);
    for w in [&w1, &w2] {
        let now = api.get_window(w.id).await.unwrap();
        assert_eq!(now.end_at - w.end_at, time::Duration::hours(4));
    }

    // Beyond 20 days: refused for each, with the rule; nothing changes.
    let before = api.get_window(w1.id).await.unwrap().end_at;
    let r = anna
        .post(
            "/windows/bulk",
            &[
                ("csrf", &csrf),
                ("window", &a),
                ("window", &b),
                ("action", "extend"),
                ("hours", "480"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body.matches("role=\"alert\"").count(), 2, "{}", r.body);
    assert!(r.body.contains("20 days"), "{}", r.body);
    assert_eq!(api.get_window(w1.id).await.unwrap().end_at, before);

    // Close both.
    let r = anna
        .post(
            "/windows/bulk",
            &[
                ("csrf", &csrf),
                ("window", &a),
                ("window", &b),
                ("action", "close"),
            ],
        )
        .await;
    assert!(r.body.contains("2 windows closed."), "{}", r.body);
    for w in [&w1, &w2] {
        assert!(api.get_window(w.id).await.unwrap().closed_at.is_some());
    }
    assert!(anna
        .get("/windows")
        .await
        .body
        .contains("No connection is open or reserved."));
}

#[tokio::test]
async fn a_user_who_may_not_operate_changes_nothing_in_bulk() {
    let (hub, _prd, sc) = acme_with_prd().await;
    let api = hub.company_admin("acme").await;
    let w = api.open_window(sc, &OpenWindow::now("Anna")).await.unwrap();
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "vera", Role::CompanyUser, &[], false).await;
    let vera = Curl::new(&hub);
    assert_eq!(vera.sign_in("vera", &pw).await.status, 303);
    let page = vera.get("/windows").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("name=\"window\""), "{}", page.body);
    let id = w.id.to_string();
    let r = vera
        .post(
            "/windows/bulk",
            &[("csrf", &page.csrf()), ("window", &id), ("action", "close")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(api.get_window(w.id).await.unwrap().closed_at.is_none());
}
