//! Maintaining systems in the portal (curl): a new system (a bad SID refused with the rule,
//! the form kept), its data edited, a connection type set up and removed, the system deleted
//! only once it has none; a user without *maintain system data* gets no form and a forged
//! post changes nothing.

use portcullis_domain::authz::{Authorization, Role};

use super::portal::{acme_with_prd, user_with_password, Curl, Resp};

fn location(r: &Resp) -> &str {
    r.header("location").unwrap_or("")
}

fn system_form<'a>(csrf: &'a str, sid: &'a str, product: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("sid", sid),
        ("system_number", "01"),
        ("system_type", "abap"),
        ("status", "active"),
        ("product", product),
        ("product_version", "2023"),
        ("installation_number", "0020123456"),
        ("description", "quality assurance"),
        ("eu_data_protection", "on"),
    ]
}

#[tokio::test]
async fn an_admin_creates_edits_sets_up_and_deletes_a_system() {
    let (hub, _prd, _sc) = acme_with_prd().await;
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let anna = Curl::new(&hub);
    assert_eq!(anna.sign_in("anna", &pw).await.status, 303);
    let form = anna.get("/systems/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();

    // A SID must start with a letter: refused with the rule, what was typed kept.
    let r = anna
        .post("/systems/new", &system_form(&csrf, "1AB", "SAP S/4HANA"))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("value=\"1AB\""), "{}", r.body);
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);

    let r = anna
        .post("/systems/new", &system_form(&csrf, "QAS", "SAP S/4HANA"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id: i64 = location(&r)
        .strip_prefix("/systems/")
        .and_then(|s| s.strip_suffix("?done=created"))
        .expect("to the new system")
        .parse()
        .unwrap();
    let api = hub.company_admin("acme").await;
    let qas = api.get_system(id).await.unwrap();
    assert_eq!(
        (
            qas.system.data.sid.as_str(),
            qas.system.data.eu_data_protection
        ),
        ("QAS", true)
    );

    // Edit: the product changes, the flag goes off (its box unticked), audited.
    let r = anna
        .post(
            &format!("/systems/{id}/edit"),
            &system_form(&csrf, "QAS", "SAP BW/4HANA")[..9],
        )
        .await;
    assert_eq!(
        location(&r),
        format!("/systems/{id}?done=saved"),
        "{}",
        r.body
    );
    let qas = api.get_system(id).await.unwrap();
    assert_eq!(qas.system.data.product, "SAP BW/4HANA");
    assert!(!qas.system.data.eu_data_protection);
    assert_eq!(hub.audit("system.updated").await.len(), 1);

    // Set up a connection type through connector berlin.
    let page = anna.get(&format!("/systems/{id}")).await;
    assert!(
        page.body.contains("Set up a connection type"),
        "{}",
        page.body
    );
    let r = anna
        .post(
            &format!("/systems/{id}/service-connections"),
            &[
                ("csrf", &csrf),
                ("connection_type", "generic_tcp"),
                ("location", "berlin"),
                ("virtual_host", "qas.internal"),
                ("virtual_port", "7"),
                ("url", ""),
            ],
        )
        .await;
    assert_eq!(
        location(&r),
        format!("/systems/{id}?done=set-up"),
        "{}",
        r.body
    );
    let services = api.list_service_connections("acme").await.unwrap();
    let sc = services
        .iter()
        .find(|s| s.system_id == id)
        .expect("the new service connection");

    // Not deletable while it has a connection type; then removed, then deleted.
    let r = anna
        .post(
            &format!("/systems/{id}/delete"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert!(r.status >= 400, "{}: {}", r.status, r.body);
    assert!(api.get_system(id).await.is_ok());
    let r = anna
        .post(
            &format!("/service-connections/{}/delete", sc.id),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        location(&r),
        format!("/systems/{id}?done=removed"),
        "{}",
        r.body
    );
    let r = anna
        .post(
            &format!("/systems/{id}/delete"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(location(&r), "/systems", "{}", r.body);
    assert!(
        api.get_system(id).await.is_err(),
        "the system is still there"
    );
}

#[tokio::test]
async fn a_user_without_maintain_system_data_gets_no_form_and_forged_posts_change_nothing() {
    let (hub, prd, _sc) = acme_with_prd().await;
    let (_, pw) = user_with_password(
        &hub,
        Some("acme"),
        "otto",
        Role::CompanyUser,
        &[Authorization::OpenServiceConnections],
        false,
    )
    .await;
    let otto = Curl::new(&hub);
    assert_eq!(otto.sign_in("otto", &pw).await.status, 303);
    let page = otto.get(&format!("/systems/{prd}")).await;
    assert!(!page.body.contains("Edit system data"), "{}", page.body);
    assert_eq!(otto.get(&format!("/systems/{prd}/edit")).await.status, 403);
    assert_eq!(otto.get("/systems/new").await.status, 403);
    let csrf = page.csrf();
    let r = otto
        .post(
            &format!("/systems/{prd}/edit"),
            &system_form(&csrf, "PRD", "forged"),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = otto
        .post("/systems/new", &system_form(&csrf, "ZZZ", "forged"))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let api = hub.company_admin("acme").await;
    assert_eq!(
        api.get_system(prd).await.unwrap().system.data.product,
        "SAP S/4HANA"
    );
    assert_eq!(api.list_systems("acme").await.unwrap().len(), 1);
}
