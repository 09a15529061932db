//! The portal's second factor (TOTP) through curl: turning it on, the code step of a sign-in
//! (wrong and replayed codes refused), a company's requirement, an admin's reset, and duties
//! (a password to change, a factor to set up) that forged form posts cannot skip.

use portcullis_domain::authz::{Authorization, Role};
use portcullis_hub::signin::totp;

use super::portal::{acme_with_prd, between, user_with_password, Curl, Resp};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Turns the second factor on for the signed-in `c`; returns the secret.
pub async fn enable(c: &Curl) -> Vec<u8> {
    let page = c.get("/account/totp").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = totp::decode_base32(between(&page.body, "<code id=\"totp-secret\">", "<"))
        .expect("base32 secret");
    let sealed = between(&page.body, "name=\"sealed\" value=\"", "\"").to_string();
    let r = c
        .post(
            "/account/totp",
            &[
                ("csrf", &page.csrf()),
                ("sealed", &sealed),
                ("code", "000000"),
            ],
        )
        .await;
    if totp::code_at(&secret, now()) != "000000" {
        assert_eq!(r.status, 400, "a wrong code turned it on: {}", r.body);
        assert!(r.body.contains("The code does not match"), "{}", r.body);
    }
    let page = c.get("/account/totp").await;
    // A fresh offer each time: use this page's secret.
    let secret =
        totp::decode_base32(between(&page.body, "<code id=\"totp-secret\">", "<")).unwrap();
    let sealed = between(&page.body, "name=\"sealed\" value=\"", "\"").to_string();
    let code = totp::code_at(&secret, now());
    let r = c
        .post(
            "/account/totp",
            &[("csrf", &page.csrf()), ("sealed", &sealed), ("code", &code)],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/account?done=totp-on")),
        "{}",
        r.body
    );
    secret
}

async fn code_step(c: &Curl, code: &str) -> Resp {
    let form = c.get("/signin/code").await;
    assert_eq!(form.status, 200, "{}", form.body);
    c.post("/signin/code", &[("csrf", &form.csrf()), ("code", code)])
        .await
}

#[tokio::test]
async fn a_second_factor_is_asked_after_the_password_and_a_code_works_once() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let anna = Curl::new(&hub);
    assert_eq!(anna.sign_in("anna", &pw).await.status, 303);
    let account = anna.get("/account").await;
    assert!(
        account.body.contains("Off: your password alone"),
        "{}",
        account.body
    );
    let secret = enable(&anna).await;
    assert!(anna
        .get("/account")
        .await
        .body
        .contains("On: signing in asks"));
    let home = anna.get("/").await;
    assert_eq!(
        anna.post("/signout", &[("csrf", &home.csrf())])
            .await
            .status,
        303
    );

    // The password alone no longer signs in: it leads to the code page, and nothing else
    // is open meanwhile.
    let r = anna.sign_in("anna", &pw).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/signin/code"))
    );
    assert_eq!(anna.get("/").await.header("location"), Some("/signin"));
    let r = code_step(&anna, "123456").await;
    if totp::matching_step(&secret, "123456", now()).is_none() {
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("The code is wrong"), "{}", r.body);
    }
    let code = totp::code_at(&secret, now());
    let r = code_step(&anna, &code).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/")),
        "{}",
        r.body
    );
    assert_eq!(anna.get("/").await.status, 200);

    // The same code again, in a new sign-in: refused (its step was used).
    let other = Curl::new(&hub);
    assert_eq!(
        other.sign_in("anna", &pw).await.header("location"),
        Some("/signin/code")
    );
    let r = code_step(&other, &code).await;
    assert_eq!(r.status, 401, "a code worked twice: {}", r.body);

    let signed_in = hub.audit("user.signed_in").await;
    assert!(signed_in
        .iter()
        .any(|e| e.detail["second_factor"] == serde_json::json!(true)));
    let failed = hub.audit("user.sign_in_failed").await;
    assert!(failed.iter().any(|e| e.detail["reason"] == "wrong_code"));
    assert_eq!(hub.audit("user.totp_enabled").await.len(), 1);
}

#[tokio::test]
async fn a_company_requirement_sends_users_to_set_one_up_and_forged_posts_wait_for_it() {
    let (hub, _system, sc) = acme_with_prd().await;
    let (_, admin_pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    let (ben_id, ben_pw) = user_with_password(
        &hub,
        Some("acme"),
        "ben",
        Role::CompanyUser,
        &[Authorization::OpenServiceConnections],
        false,
    )
    .await;
    let anna = Curl::new(&hub);
    assert_eq!(anna.sign_in("anna", &admin_pw).await.status, 303);
    let account = anna.get("/account").await;
    let r = anna
        .post(
            "/account/company-totp",
            &[("csrf", &account.csrf()), ("require", "on")],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/account?done=required"),
        "{}",
        r.body
    );
    assert!(hub
        .state()
        .store
        .find_company_by_name("acme")
        .await
        .unwrap()
        .is_some_and(|c| c.require_totp));
    assert_eq!(hub.audit("company.totp_requirement").await.len(), 1);

    // Ben has none: every page sends him to set one up, and a form posted around it does
    // nothing.
    let ben = Curl::new(&hub);
    assert_eq!(ben.sign_in("ben", &ben_pw).await.status, 303);
    assert_eq!(ben.get("/").await.header("location"), Some("/account/totp"));
    let setup = ben.get("/account/totp").await;
    assert!(setup.body.contains("Your company requires a second factor"));
    let r = ben
        .post(
            &format!("/service-connections/{sc}/open"),
            &[("csrf", &setup.csrf()), ("contact", "Ben")],
        )
        .await;
    assert_eq!(r.header("location"), Some("/account/totp"), "{}", r.body);
    assert!(hub.state().store.list_windows(sc).await.unwrap().is_empty());
    enable(&ben).await;
    assert_eq!(ben.get("/").await.status, 200);
    // He cannot turn it off while the company requires it.
    let account = ben.get("/account").await;
    assert!(!account.body.contains("Turn off"), "{}", account.body);
    let r = ben
        .post(
            "/account/totp/off",
            &[("csrf", &account.csrf()), ("password", &ben_pw)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // A lost phone: the admin resets it; Ben's sessions end, and the next sign-in sets up a
    // new one.
    hub.company_admin("acme")
        .await
        .reset_user_totp(ben_id)
        .await
        .expect("reset");
    assert_eq!(ben.get("/").await.header("location"), Some("/signin"));
    assert_eq!(
        ben.sign_in("ben", &ben_pw).await.header("location"),
        Some("/")
    );
    assert_eq!(ben.get("/").await.header("location"), Some("/account/totp"));
    assert_eq!(hub.audit("user.totp_reset").await.len(), 1);
}

#[tokio::test]
async fn a_one_time_password_must_be_changed_before_any_form_works() {
    let (hub, _system, sc) = acme_with_prd().await;
    let (_, one_time) = user_with_password(
        &hub,
        Some("acme"),
        "carl",
        Role::CompanyUser,
        &[Authorization::OpenServiceConnections],
        true,
    )
    .await;
    let carl = Curl::new(&hub);
    assert_eq!(
        carl.sign_in("carl", &one_time).await.header("location"),
        Some("/password")
    );
    let page = carl.get("/password").await;
    let r = carl
        .post(
            &format!("/service-connections/{sc}/open"),
            &[("csrf", &page.csrf()), ("contact", "Carl")],
        )
        .await;
    assert_eq!(r.header("location"), Some("/password"), "{}", r.body);
    assert!(hub.state().store.list_windows(sc).await.unwrap().is_empty());
}
