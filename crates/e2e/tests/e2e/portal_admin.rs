//! The customer's administration pages without JavaScript, driven by curl: users (create with
//! a one-time password shown once, authorizations, disable one or several), a technical
//! user's grants and tokens, connectors (create with the enrolment command, revoke); who may
//! not see them gets 403 or 404, and forged forms change nothing. The browser test
//! (`portal_admin_browser`) drives the same pages in Chromium.

use portcullis_client::views::ConnectorStatus;
use portcullis_domain::authz::{Authorization, Role};
use portcullis_test_support::TestHub;

use super::portal::{acme_with_prd, user_with_password, Curl, Resp};

/// The text of the element marked `attr` (`data-secret`, `data-enrol-command`).
fn marked(r: &Resp, attr: &str) -> String {
    let at = r
        .body
        .find(attr)
        .unwrap_or_else(|| panic!("no {attr} in {}", r.body));
    let rest = &r.body[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</code>").unwrap();
    rest[start..end].trim().to_string()
}

/// The first value of attribute `attr` (`data-grant`) in the page.
fn attr_value(r: &Resp, attr: &str) -> i64 {
    let at = r
        .body
        .find(&format!("{attr}=\""))
        .unwrap_or_else(|| panic!("no {attr} in {}", r.body));
    let rest = &r.body[at + attr.len() + 2..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

/// acme's super administrator `anna`, signed in.
async fn anna(hub: &TestHub) -> Curl {
    let (_, pw) =
        user_with_password(hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let c = Curl::new(hub);
    assert_eq!(c.sign_in("anna", &pw).await.status, 303);
    c
}

async fn user_id(hub: &TestHub, name: &str) -> i64 {
    let admin = hub.company_admin("acme").await;
    admin
        .list_company_users("acme")
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("no user {name}"))
        .id
}

#[tokio::test]
async fn an_admin_creates_a_user_whose_one_time_password_is_shown_once_and_signs_in() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let anna = anna(&hub).await;
    let list = anna.get("/users").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("href=\"/users\""), "no Users entry");
    assert!(
        list.body.contains("href=\"/connectors\""),
        "no Connectors entry"
    );
    let r = anna
        .post(
            "/users",
            &[
                ("csrf", &list.csrf()),
                ("name", "bob"),
                ("display_name", "Bob Builder"),
                ("email", "bob@acme.example"),
                ("role", "company_user"),
                ("maintain_system_data", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let one_time = marked(&r, "data-secret");
    assert!(one_time.len() >= 12, "{one_time}");
    // What the hub holds is what the form said.
    let bob = hub
        .company_admin("acme")
        .await
        .list_company_users("acme")
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "bob")
        .expect("bob exists");
    assert_eq!(bob.role, Role::CompanyUser);
    assert_eq!(bob.email.as_deref(), Some("bob@acme.example"));
    assert_eq!(
        bob.authorizations,
        [Authorization::MaintainSystemData].into_iter().collect()
    );
    // Shown once: neither the list nor bob's page shows it again.
    let list = anna.get("/users").await;
    assert!(list.body.contains("Bob Builder"), "{}", list.body);
    assert!(!list.body.contains(&one_time));
    let page = anna.get(&format!("/users/{}", bob.id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(&one_time));

    // A refused form keeps what was typed: the same name again.
    let r = anna
        .post(
            "/users",
            &[
                ("csrf", &list.csrf()),
                ("name", "bob"),
                ("display_name", "Bob Again"),
                ("role", "company_user"),
            ],
        )
        .await;
    assert!(r.status >= 400, "{} {}", r.status, r.body);
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    assert!(r.body.contains("value=\"Bob Again\""), "{}", r.body);

    // bob signs in with it and must change it first.
    let bob_c = Curl::new(&hub);
    let r = bob_c.sign_in("bob", &one_time).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/password")));
    let page = bob_c.get("/password").await;
    let new = "granite-harbor-7-maple";
    let r = bob_c
        .post(
            "/password",
            &[
                ("csrf", &page.csrf()),
                ("current", &one_time),
                ("new", new),
                ("repeat", new),
            ],
        )
        .await;
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    assert_eq!(bob_c.get("/systems").await.status, 200);
    // A user is no admin: no Users entry.
    assert!(!bob_c.get("/").await.body.contains("href=\"/users\""));
}

#[tokio::test]
async fn an_authorizations_edit_takes_effect_and_a_password_reset_is_shown_once() {
    let (hub, system, _sc) = acme_with_prd().await;
    let anna = anna(&hub).await;
    let (carl_id, pw) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let carl = Curl::new(&hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    let sys = format!("/systems/{system}");
    assert!(!carl.get(&sys).await.body.contains("Open connection"));

    let page = anna.get(&format!("/users/{carl_id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = anna
        .post(
            &format!("/users/{carl_id}/authorizations"),
            &[("csrf", &page.csrf()), ("open_service_connections", "on")],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some(format!("/users/{carl_id}?done=authorizations").as_str()),
        "{}",
        r.body
    );
    let page = anna.get(&format!("/users/{carl_id}")).await;
    assert!(
        page.body
            .contains("name=\"open_service_connections\" checked"),
        "{}",
        page.body
    );
    // carl's next page has the button.
    assert!(carl.get(&sys).await.body.contains("Open connection"));

    // A reset password is shown once and ends carl's session.
    let r = anna
        .post(
            &format!("/users/{carl_id}/password"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reset = marked(&r, "data-secret");
    let r = carl.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/signin")));
    let r = carl.sign_in("carl", &reset).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/password")));
}

#[tokio::test]
async fn disabling_ends_the_users_portal_session_one_or_several_at_once() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let anna = anna(&hub).await;
    let (carl_id, pw) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let carl = Curl::new(&hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    assert_eq!(carl.get("/").await.status, 200);

    // Without the box ticked nothing happens.
    let page = anna.get(&format!("/users/{carl_id}")).await;
    let r = anna
        .post(
            &format!("/users/{carl_id}/disable"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(carl.get("/").await.status, 200);

    let r = anna
        .post(
            &format!("/users/{carl_id}/disable"),
            &[("csrf", &page.csrf()), ("confirm", "on")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = carl.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/signin")));
    assert_eq!(carl.sign_in("carl", &pw).await.status, 401);
    let page = anna.get(&format!("/users/{carl_id}")).await;
    assert!(page.body.contains("disabled"), "{}", page.body);

    // Several from the list.
    let (dora_id, dpw) =
        user_with_password(&hub, Some("acme"), "dora", Role::CompanyUser, &[], false).await;
    let (eve_id, _) =
        user_with_password(&hub, Some("acme"), "eve", Role::CompanyUser, &[], false).await;
    let dora = Curl::new(&hub);
    assert_eq!(dora.sign_in("dora", &dpw).await.status, 303);
    let list = anna.get("/users").await;
    assert!(
        list.body
            .contains(&format!("name=\"user\" value=\"{dora_id}\"")),
        "{}",
        list.body
    );
    let r = anna
        .post(
            "/users/disable",
            &[
                ("csrf", &list.csrf()),
                ("user", &dora_id.to_string()),
                ("user", &eve_id.to_string()),
                ("confirm", "on"),
            ],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/users?done=disabled-many"),
        "{}",
        r.body
    );
    assert_eq!(dora.get("/").await.status, 303);
    let users = hub
        .company_admin("acme")
        .await
        .list_company_users("acme")
        .await
        .unwrap();
    for name in ["carl", "dora", "eve"] {
        assert!(
            users
                .iter()
                .any(|u| u.name == name && u.disabled_at.is_some()),
            "{name} is not disabled"
        );
    }
    assert!(users
        .iter()
        .any(|u| u.name == "anna" && u.disabled_at.is_none()));
    assert_eq!(hub.audit("user.disabled").await.len(), 3);
}

#[tokio::test]
async fn a_company_user_gets_no_admin_page_and_forged_forms_are_refused() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let (anna_id, _) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let (_, pw) = user_with_password(
        &hub,
        Some("acme"),
        "carl",
        Role::CompanyUser,
        &[Authorization::OpenServiceConnections],
        false,
    )
    .await;
    let carl = Curl::new(&hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    let home = carl.get("/").await;
    assert!(!home.body.contains("href=\"/users\""), "{}", home.body);
    assert!(!home.body.contains("href=\"/connectors\""), "{}", home.body);
    for path in ["/users", "/connectors", &format!("/users/{anna_id}")] {
        let r = carl.get(path).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let csrf = home.csrf();
    let anna_s = anna_id.to_string();
    let forged: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/users".into(),
            vec![("name", "mallory"), ("role", "company_admin")],
        ),
        ("/connectors".into(), vec![("location", "evil")]),
        (format!("/users/{anna_id}/disable"), vec![("confirm", "on")]),
        (format!("/users/{anna_id}/password"), vec![]),
        (
            "/users/disable".into(),
            vec![("user", anna_s.as_str()), ("confirm", "on")],
        ),
    ];
    for (path, fields) in &forged {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let r = carl.post(path, &form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let users = hub
        .company_admin("acme")
        .await
        .list_company_users("acme")
        .await
        .unwrap();
    assert!(!users.iter().any(|u| u.name == "mallory"));
    assert!(users.iter().all(|u| u.disabled_at.is_none()));
    let conns = hub.admin.list_connectors("acme").await.unwrap();
    assert!(!conns.iter().any(|c| c.location == "evil"));
}

#[tokio::test]
async fn another_companys_user_is_not_found() {
    let (hub, _system, _sc) = acme_with_prd().await;
    hub.company("globex").await;
    let (carl_id, _) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let (_, pw) =
        user_with_password(&hub, Some("globex"), "gina", Role::CompanyAdmin, &[], false).await;
    let gina = Curl::new(&hub);
    assert_eq!(gina.sign_in("gina", &pw).await.status, 303);
    let list = gina.get("/users").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(!list.body.contains("carl"), "{}", list.body);
    assert_eq!(gina.get(&format!("/users/{carl_id}")).await.status, 404);
    for path in [
        format!("/users/{carl_id}/disable"),
        format!("/users/{carl_id}/password"),
        format!("/users/{carl_id}/authorizations"),
    ] {
        let r = gina
            .post(&path, &[("csrf", &list.csrf()), ("confirm", "on")])
            .await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let r = gina
        .post(
            "/users/disable",
            &[
                ("csrf", &list.csrf()),
                ("user", &carl_id.to_string()),
                ("confirm", "on"),
            ],
        )
        .await;
    assert!(r.status >= 400, "{}", r.body);
    let carl = hub
        .company_admin("acme")
        .await
        .list_company_users("acme")
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "carl")
        .unwrap();
    assert!(carl.disabled_at.is_none());
}

#[tokio::test]
async fn a_technical_users_grants_and_tokens_are_made_and_revoked() {
    let (hub, _system, sc) = acme_with_prd().await;
    let anna = anna(&hub).await;
    let list = anna.get("/users").await;
    let r = anna
        .post(
            "/users",
            &[
                ("csrf", &list.csrf()),
                ("name", "ci-bot"),
                ("display_name", "CI"),
                ("role", "technical"),
            ],
        )
        .await;
    let bot = user_id(&hub, "ci-bot").await;
    assert_eq!(
        r.header("location"),
        Some(format!("/users/{bot}?done=created").as_str()),
        "{}",
        r.body
    );
    let page = anna.get(&format!("/users/{bot}")).await;
    assert!(page.body.contains("Standing grants"), "{}", page.body);
    assert!(!page.body.contains("Reset password"), "{}", page.body);
    let api = hub.company_admin("acme").await;

    // A grant, shown in the API's list, then revoked.
    let r = anna
        .post(
            &format!("/users/{bot}/grants"),
            &[("csrf", &page.csrf()), ("service", &sc.to_string())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let grants = api.list_grants("acme").await.unwrap();
    let g = grants
        .iter()
        .find(|g| g.user_id == bot && g.service_connection_id == sc)
        .expect("the grant");
    assert!(g.revoked_at.is_none());
    let page = anna.get(&format!("/users/{bot}")).await;
    assert_eq!(attr_value(&page, "data-grant"), g.id);
    assert!(
        page.body.contains("PRD · generic_tcp · berlin"),
        "{}",
        page.body
    );
    let r = anna
        .post(
            &format!("/grants/{}/revoke", g.id),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let grants = api.list_grants("acme").await.unwrap();
    assert!(grants
        .iter()
        .find(|x| x.id == g.id)
        .unwrap()
        .revoked_at
        .is_some());

    // A grant for a person is refused with the reason, on the page.
    let (carl_id, _) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let r = anna
        .post(
            &format!("/users/{carl_id}/grants"),
            &[("csrf", &page.csrf()), ("service", &sc.to_string())],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("standing grants are for technical users"),
        "{}",
        r.body
    );

    // A token, shown once, that the API takes; then revoked.
    let r = anna
        .post(
            &format!("/users/{bot}/tokens"),
            &[("csrf", &page.csrf()), ("name", "pipeline"), ("days", "30")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = marked(&r, "data-secret");
    let as_bot = hub.client(&token);
    assert!(as_bot.list_systems("acme").await.is_ok());
    let page = anna.get(&format!("/users/{bot}")).await;
    assert!(!page.body.contains(&token));
    let tid = attr_value(&page, "data-token");
    let r = anna
        .post(&format!("/tokens/{tid}/revoke"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let tokens = api.list_company_tokens("acme").await.unwrap();
    assert!(tokens
        .iter()
        .find(|t| t.id == tid)
        .unwrap()
        .revoked_at
        .is_some());
    assert!(as_bot.list_systems("acme").await.is_err());
}

#[tokio::test]
async fn a_new_connector_shows_its_enrolment_command_and_revoke_marks_it_revoked() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let anna = anna(&hub).await;
    let list = anna.get("/connectors").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("berlin"), "{}", list.body);
    let r = anna
        .post(
            "/connectors",
            &[("csrf", &list.csrf()), ("location", "hamburg")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let cmd = marked(&r, "data-enrol-command");
    let prefix = format!(
        "portcullis connector enroll --hub {} --token PCE1",
        hub.api_url
    );
    assert!(cmd.starts_with(&prefix), "{cmd}");
    assert!(cmd.ends_with("--config connector.toml"), "{cmd}");
    let token = cmd.split_whitespace().nth(6).unwrap().to_string();
    // Shown once: the list does not show it again.
    let list = anna.get("/connectors").await;
    assert!(!list.body.contains(&token));
    let hamburg = hub
        .admin
        .list_connectors("acme")
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.location == "hamburg")
        .expect("hamburg registered");
    assert_eq!(hamburg.status, ConnectorStatus::NotEnrolled);

    // A new enrolment token: another command.
    let r = anna
        .post(
            &format!("/connectors/{}/token", hamburg.id),
            &[("csrf", &list.csrf())],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let cmd2 = marked(&r, "data-enrol-command");
    assert_ne!(cmd2, cmd);

    // The command's token enrols the connector; the list then shows its certificate.
    let token2 = cmd2.split_whitespace().nth(6).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = portcullis_connector::enroll::enroll(&hub.api_url, token2, dir.path(), false)
        .await
        .expect("the command's token enrols");
    assert_eq!(id.enrollment.location, "hamburg");
    let list = anna.get("/connectors").await;
    let row = &list.body[list
        .body
        .find(&format!("data-connector=\"{}\"", hamburg.id))
        .unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("not connected"), "{row}");
    assert!(row.contains(" UTC"), "no certificate expiry: {row}");

    // Revoke: not without the box ticked.
    let path = format!("/connectors/{}/revoke", hamburg.id);
    let r = anna.post(&path, &[("csrf", &list.csrf())]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = anna
        .post(&path, &[("csrf", &list.csrf()), ("confirm", "on")])
        .await;
    assert_eq!(
        r.header("location"),
        Some("/connectors?done=revoked"),
        "{}",
        r.body
    );
    let after = hub
        .admin
        .list_connectors("acme")
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == hamburg.id)
        .unwrap();
    assert_eq!(after.status, ConnectorStatus::Revoked);
    let list = anna.get("/connectors?done=revoked").await;
    assert!(list.body.contains("badge revoked"), "{}", list.body);
    assert!(!list.body.contains(&path), "{}", list.body);
}

#[tokio::test]
async fn a_vendor_admin_manages_the_vendor_users_on_the_same_page() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let (_, pw) = user_with_password(&hub, None, "vera", Role::VendorAdmin, &[], false).await;
    let vera = Curl::new(&hub);
    assert_eq!(vera.sign_in("vera", &pw).await.status, 303);
    let list = vera.get("/users").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("Vendor users"), "{}", list.body);
    assert!(
        list.body.contains("value=\"support_engineer\""),
        "{}",
        list.body
    );
    assert!(
        !list.body.contains("value=\"company_user\""),
        "{}",
        list.body
    );
    // No company connectors for the vendor.
    assert!(!list.body.contains("href=\"/connectors\""), "{}", list.body);
    let r = vera
        .post(
            "/users",
            &[
                ("csrf", &list.csrf()),
                ("name", "sam"),
                ("display_name", "Sam Support"),
                ("role", "support_engineer"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let one_time = marked(&r, "data-secret");
    let sam = hub
        .admin
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "sam")
        .expect("sam is a vendor user");
    assert_eq!((sam.role, sam.company_id), (Role::SupportEngineer, None));
    let sam_c = Curl::new(&hub);
    let r = sam_c.sign_in("sam", &one_time).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/password")));
    // A company's users are not the vendor admin's to manage.
    let (carl_id, _) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    assert_eq!(vera.get(&format!("/users/{carl_id}")).await.status, 403);
}

#[tokio::test]
async fn an_admin_resets_a_users_second_factor_and_his_sessions_end() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let anna = anna(&hub).await;
    let (carl_id, pw) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let carl = Curl::new(&hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    let page = anna.get(&format!("/users/{carl_id}")).await;
    assert!(
        page.body.contains("<dt>Second factor</dt><dd>Off</dd>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Reset second factor"), "{}", page.body);
    super::portal_totp::enable(&carl).await;
    let page = anna.get(&format!("/users/{carl_id}")).await;
    assert!(
        page.body.contains("<dt>Second factor</dt><dd>On</dd>"),
        "{}",
        page.body
    );
    let r = anna
        .post(
            &format!("/users/{carl_id}/totp-reset"),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some(format!("/users/{carl_id}?done=totp-reset").as_str()),
        "{}",
        r.body
    );
    // His session ended; his password alone signs him in again.
    let r = carl.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/signin")));
    let r = carl.sign_in("carl", &pw).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    let page = anna.get(&format!("/users/{carl_id}?done=totp-reset")).await;
    assert!(
        page.body.contains("<dt>Second factor</dt><dd>Off</dd>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("The second factor is removed"),
        "{}",
        page.body
    );
}
