//! A vendor admin's companies in the portal (curl): create one, hand it over to its first
//! super administrator (a one-time password shown once, which signs in and must be
//! changed), and only once; an auditor reads the list without forms; a customer admin
//! changes nothing with a forged post.

use portcullis_domain::authz::Role;

use super::portal::{between, user_with_password, Curl};
use portcullis_test_support::TestHub;

#[tokio::test]
async fn a_vendor_admin_creates_a_company_and_hands_it_over_once() {
    let hub = TestHub::start().await;
    let (_, pw) = user_with_password(&hub, None, "vera", Role::VendorAdmin, &[], false).await;
    let vera = Curl::new(&hub);
    assert_eq!(vera.sign_in("vera", &pw).await.status, 303);
    let page = vera.get("/companies").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No company yet."), "{}", page.body);
    let r = vera
        .post("/companies", &[("csrf", &page.csrf()), ("name", "globex")])
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = hub
        .state()
        .store
        .find_company_by_name("globex")
        .await
        .unwrap()
        .expect("created")
        .id;
    let r = vera
        .post(
            &format!("/companies/{id}/hand-over"),
            &[
                ("csrf", &page.csrf()),
                ("name", "gina"),
                ("display_name", "Gina Admin"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let one_time = between(
        &r.body,
        "<code class=\"cmd\" id=\"handover-password\">",
        "<",
    )
    .to_string();

    // Gina signs in with it and must change it first.
    let gina = Curl::new(&hub);
    assert_eq!(
        gina.sign_in("gina", &one_time).await.header("location"),
        Some("/password")
    );

    // Only once: the company has its admin now.
    let r = vera
        .post(
            &format!("/companies/{id}/hand-over"),
            &[
                ("csrf", &page.csrf()),
                ("name", "mallory"),
                ("display_name", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(hub
        .state()
        .store
        .find_user_by_name("mallory")
        .await
        .unwrap()
        .is_none());
    assert!(vera.get("/companies").await.body.contains("handed over"));
    let created = hub.audit("user.created").await;
    assert!(created
        .iter()
        .any(|e| e.detail["first_admin"] == serde_json::json!(true)));
}

#[tokio::test]
async fn others_change_nothing_here() {
    let hub = TestHub::start().await;
    let globex = hub.company("globex").await;
    let (_, apw) = user_with_password(&hub, None, "otto", Role::Auditor, &[], false).await;
    let otto = Curl::new(&hub);
    assert_eq!(otto.sign_in("otto", &apw).await.status, 303);
    let page = otto.get("/companies").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(">globex<"), "{}", page.body);
    assert!(!page.body.contains("Create company"), "{}", page.body);
    let r = otto
        .post("/companies", &[("csrf", &page.csrf()), ("name", "initech")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    hub.company("acme").await;
    let (_, cpw) =
        user_with_password(&hub, Some("acme"), "carla", Role::CompanyAdmin, &[], false).await;
    let carla = Curl::new(&hub);
    assert_eq!(carla.sign_in("carla", &cpw).await.status, 303);
    let home = carla.get("/").await;
    let r = carla
        .post(
            &format!("/companies/{}/hand-over", globex.id),
            &[
                ("csrf", &home.csrf()),
                ("name", "eve"),
                ("display_name", ""),
            ],
        )
        .await;
    assert!(
        r.status == 403 || r.status == 404,
        "{}: {}",
        r.status,
        r.body
    );
    assert!(hub
        .state()
        .store
        .find_company_by_name("initech")
        .await
        .unwrap()
        .is_none());
    assert!(hub
        .state()
        .store
        .find_user_by_name("eve")
        .await
        .unwrap()
        .is_none());
}
