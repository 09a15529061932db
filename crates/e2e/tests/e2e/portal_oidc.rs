//! Sign-in through a company's own identity provider (OpenID Connect), against a real
//! provider (`oidc-provider` from npm, `tests/oidc/idp.mjs`) that each test starts on
//! loopback over HTTPS with a CA of its own, driven by curl like the other portal tests:
//! the settings (API, sealed secret, audit), a sign-in that lands on the home page, the
//! refusals (unknown company, unknown, disabled and other company's users, replayed and forged
//! `state`, a flow from another browser, a wrong client secret, an untrusted certificate),
//! the second factor after the provider, and the slowing of failures.
//!
//! Each test keeps to at most three failures from its address before the one that checks the
//! slowing: failures from 127.0.0.1 slow down (per hub) after three.

use hyper::Method;
use portcullis_domain::authz::Role;
use portcullis_hub::signin::totp;
use portcullis_test_support::oidc::{IdpClient, TestIdp};
use portcullis_test_support::TestHub;
use serde_json::json;

use super::portal::{acme_with_prd, between, user_with_password, Curl, Resp};

const CLIENT: &str = "portcullis-hub";
const SECRET: &str = "hub-client-secret-0123456789";

/// A hub with acme (anna the super administrator, ben a user, carl disabled, a technical
/// user) and globex (olga), and a provider where the hub is a client.
struct World {
    hub: TestHub,
    idp: TestIdp,
    anna_pw: String,
}

async fn world() -> World {
    let (hub, _system, _sc) = acme_with_prd().await;
    let (_, anna_pw) =
        user_with_password(&hub, Some("acme"), "anna", Role::CompanyAdmin, &[], false).await;
    user_with_password(&hub, Some("acme"), "ben", Role::CompanyUser, &[], true).await;
    let (carl, _) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    hub.company_admin("acme")
        .await
        .disable_user(carl)
        .await
        .expect("disable carl");
    hub.company("globex").await;
    user_with_password(&hub, Some("globex"), "olga", Role::CompanyUser, &[], false).await;
    let idp = TestIdp::start(
        &[IdpClient {
            id: CLIENT.into(),
            secret: SECRET.into(),
            redirect_uri: format!("{}/signin/oidc/callback", hub.api_url),
        }],
        &[],
    )
    .await;
    World { hub, idp, anna_pw }
}

impl World {
    /// Sets acme's provider through the API as its super administrator.
    async fn configure(&self, secret: &str, extra_ca: Option<&str>) {
        let (status, body) = self
            .hub
            .company_admin("acme")
            .await
            .raw(
                Method::PUT,
                "/api/v1/companies/acme/oidc",
                Some(&json!({
                    "issuer": self.idp.issuer,
                    "client_id": CLIENT,
                    "client_secret": secret,
                    "extra_ca_pem": extra_ca,
                })),
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }

    /// A browser: one jar for the hub, one for the provider (their cookies never mix anyway).
    fn browser(&self) -> (Curl, Curl) {
        (
            Curl::new(&self.hub),
            Curl::at(&self.idp.issuer, &self.idp.ca_pem),
        )
    }
}

/// The path and query of `url` under `base`.
fn under<'a>(url: &'a str, base: &str) -> &'a str {
    url.strip_prefix(base)
        .unwrap_or_else(|| panic!("{url} is not under {base}"))
}

/// Starts a sign-in at the hub for `company`, logs in at the provider as `login`, and
/// returns the hub's callback URL (path and query) the provider sends the browser to.
async fn through_provider(w: &World, hub: &Curl, idp: &Curl, company: &str, login: &str) -> String {
    let r = hub.get(&format!("/signin/sso/{company}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let flow_cookie = r
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("__Host-portcullis-oidc="))
        .expect("the flow's cookie")
        .to_string();
    for attr in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(flow_cookie.contains(attr), "{flow_cookie} lacks {attr}");
    }
    let auth = r.header("location").unwrap().to_string();
    for p in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "response_type=code",
    ] {
        assert!(auth.contains(p), "{auth} lacks {p}");
    }
    let mut next = auth;
    for _ in 0..10 {
        let r = idp.get(under(&next, &w.idp.issuer)).await;
        match r.status {
            302 | 303 => {
                let loc = r.header("location").unwrap().to_string();
                if loc.starts_with(&w.hub.api_url) {
                    return under(&loc, &w.hub.api_url).to_string();
                }
                next = if loc.starts_with('/') {
                    format!("{}{loc}", w.idp.issuer)
                } else {
                    loc
                };
            }
            200 if r.body.contains("name=\"login\"") => {
                let action = between(&r.body, "action=\"", "\"").to_string();
                let r = idp
                    .post(&action, &[("login", login), ("password", &w.idp.password)])
                    .await;
                assert!(matches!(r.status, 302 | 303), "{}: {}", r.status, r.body);
                let loc = r.header("location").unwrap().to_string();
                if loc.starts_with(&w.hub.api_url) {
                    return under(&loc, &w.hub.api_url).to_string();
                }
                next = loc;
            }
            s => panic!("the provider answered {s}: {}", r.body),
        }
    }
    panic!("the provider never sent the browser back");
}

/// The answer of the hub's callback for `login`'s sign-in at acme's provider.
async fn sign_in_as(w: &World, hub: &Curl, login: &str) -> Resp {
    let (_, idp) = w.browser();
    let callback = through_provider(w, hub, &idp, "acme", login).await;
    hub.get(&callback).await
}

fn failures(events: &[portcullis_client::views::AuditEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.detail["reason"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn the_settings_are_the_super_administrators_and_the_secret_is_never_shown() {
    let w = world().await;
    let anna = w.hub.company_admin("acme").await;
    let (status, _) = anna.get_raw("/api/v1/companies/acme/oidc").await.unwrap();
    assert_eq!(status, 404);
    // The secret is needed the first time; http:// is refused.
    let put = |body: serde_json::Value| {
        let anna = anna.clone();
        async move {
            anna.raw(Method::PUT, "/api/v1/companies/acme/oidc", Some(&body))
                .await
                .unwrap()
        }
    };
    let (status, body) = put(json!({"issuer": w.idp.issuer, "client_id": CLIENT})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("client_secret"),
        "{body}"
    );
    let (status, body) = put(json!({
        "issuer": w.idp.issuer.replace("https://", "http://"),
        "client_id": CLIENT, "client_secret": SECRET,
    }))
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = put(json!({
        "issuer": w.idp.issuer, "client_id": CLIENT, "client_secret": SECRET,
        "extra_ca_pem": "not a certificate",
    }))
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = put(json!({
        "issuer": w.idp.issuer, "client_id": CLIENT, "client_secret": SECRET,
        "extra_ca_pem": w.idp.ca_pem, "user_claim": "email",
    }))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_claim"], "email");
    assert_eq!(body["client_secret_set"], true);
    assert_eq!(
        body["redirect_uri"],
        format!("{}/signin/oidc/callback", w.hub.api_url)
    );
    assert!(!body.to_string().contains(SECRET), "{body}");
    // A change without the secret keeps it.
    let (status, body) =
        put(json!({"issuer": w.idp.issuer, "client_id": CLIENT, "enabled": false})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["user_claim"].as_str(), body["enabled"].as_bool()),
        (Some("preferred_username"), Some(false))
    );
    let (_, got) = anna.get_raw("/api/v1/companies/acme/oidc").await.unwrap();
    assert!(!got.to_string().contains(SECRET), "{got}");
    assert_eq!(got["extra_ca_pem"], serde_json::Value::Null);

    // Stored sealed: the database holds no secret in the clear.
    let acme = w
        .hub
        .state()
        .store
        .find_company_by_name("acme")
        .await
        .unwrap()
        .unwrap();
    let stored = w
        .hub
        .state()
        .store
        .company_oidc(acme.id)
        .await
        .unwrap()
        .unwrap();
    let raw = stored.client_secret_sealed.expose();
    assert!(!raw
        .windows(SECRET.len())
        .any(|win| win == SECRET.as_bytes()));

    // Nobody else: a user of the company, another company's admin, the vendor admin (a
    // provider decides who signs in as the company's users: the customer's key).
    let (_, ben_token) = w
        .hub
        .user_with_token(
            portcullis_client::requests::NewUser::new("bert", Role::CompanyUser).in_company("acme"),
        )
        .await;
    for (who, client) in [
        ("a user", w.hub.client(&ben_token)),
        ("globex's admin", w.hub.company_admin("globex").await),
        ("the vendor admin", w.hub.admin.clone()),
    ] {
        let (status, body) = client.get_raw("/api/v1/companies/acme/oidc").await.unwrap();
        assert!(
            matches!(status.as_u16(), 403 | 404),
            "{who} read it: {status} {body}"
        );
        let (status, _) = client
            .raw(Method::PUT, "/api/v1/companies/acme/oidc", Some(&json!({"issuer": "https://evil.example", "client_id": "x", "client_secret": "y"})))
            .await
            .unwrap();
        assert!(
            matches!(status.as_u16(), 403 | 404),
            "{who} set it: {status}"
        );
    }
    let (status, _) = anna
        .raw(Method::DELETE, "/api/v1/companies/acme/oidc", None)
        .await
        .unwrap();
    assert_eq!(status, 204);
    let (status, _) = anna
        .raw(Method::DELETE, "/api/v1/companies/acme/oidc", None)
        .await
        .unwrap();
    assert_eq!(status, 404);

    let set = w.hub.audit("company.oidc_set").await;
    assert_eq!(set.len(), 2);
    assert_eq!(set[0].detail["secret_changed"], true);
    assert_eq!(set[1].detail["secret_changed"], false);
    assert!(set.iter().all(|e| !e.detail.to_string().contains(SECRET)));
    assert_eq!(w.hub.audit("company.oidc_removed").await.len(), 1);

    // The portal page, for the super administrator.
    let c = Curl::new(&w.hub);
    assert_eq!(c.sign_in("anna", &w.anna_pw).await.status, 303);
    let page = c.get("/company/sign-in").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains(&format!("{}/signin/oidc/callback", w.hub.api_url)));
    let r = c
        .post(
            "/company/sign-in",
            &[
                ("csrf", &page.csrf()),
                ("issuer", &w.idp.issuer),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                ("user_claim", "preferred_username"),
                ("extra_ca_pem", &w.idp.ca_pem),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/company/sign-in?done=saved"),
        "{}",
        r.body
    );
    let page = c.get("/company/sign-in").await;
    assert!(!page.body.contains(SECRET));
    assert!(page.body.contains("Leave it empty to keep the stored one"));
}

#[tokio::test]
async fn a_user_signs_in_through_the_provider_and_lands_on_the_home_page() {
    let w = world().await;
    w.configure(SECRET, Some(&w.idp.ca_pem)).await;
    let (hub, _) = w.browser();
    let r = sign_in_as(&w, &hub, "anna").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(r#"<meta http-equiv="refresh" content="0;url=/">"#),
        "{}",
        r.body
    );
    let session = r
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("__Host-portcullis="))
        .expect("the session cookie")
        .to_string();
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(r
        .all("set-cookie")
        .iter()
        .any(|c| c.starts_with("__Host-portcullis-oidc=;") && c.contains("Max-Age=0")));
    let home = hub.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("anna"), "{}", home.body);

    // Ben's password is a one-time one he must change; through the provider there is no
    // password to change.
    let (ben, _) = w.browser();
    assert_eq!(sign_in_as(&w, &ben, "ben").await.status, 200);
    let home = ben.get("/").await;
    assert_eq!(
        home.status,
        200,
        "{:?} {}",
        home.header("location"),
        home.body
    );

    let signed_in = w.hub.audit("user.signed_in").await;
    let oidc: Vec<_> = signed_in
        .iter()
        .filter(|e| e.detail["method"] == "oidc")
        .collect();
    assert_eq!(oidc.len(), 2, "{signed_in:?}");
    assert!(oidc
        .iter()
        .all(|e| e.actor.starts_with("token:portal-oidc#")));
    assert_eq!(oidc[0].target, "anna");
}

#[tokio::test]
async fn only_an_enabled_user_of_that_company_signs_in() {
    let w = world().await;
    w.configure(SECRET, Some(&w.idp.ca_pem)).await;
    // Olga exists, but in globex; Zed nowhere; Carl is disabled.
    for (login, text) in [
        ("olga", "No user of this company matches"),
        ("zed", "No user of this company matches"),
        ("carl", "is disabled"),
    ] {
        let (hub, _) = w.browser();
        let r = sign_in_as(&w, &hub, login).await;
        assert_eq!(r.status, 403, "{login}: {}", r.body);
        assert!(r.body.contains(text), "{login}: {}", r.body);
        assert!(
            !r.all("set-cookie")
                .iter()
                .any(|c| c.starts_with("__Host-portcullis=")),
            "{login} got a session"
        );
        assert_eq!(hub.get("/").await.header("location"), Some("/signin"));
    }
    let failed = w.hub.audit("user.sign_in_failed").await;
    assert_eq!(
        failures(&failed),
        ["oidc_unknown_user", "oidc_unknown_user", "oidc_disabled"]
    );
    assert!(failed.iter().all(|e| e.detail["method"] == "oidc"));
    assert!(
        failed.iter().all(|e| !e.detail.to_string().contains("eyJ")),
        "a token in the audit"
    );
}

#[tokio::test]
async fn the_state_is_used_once_by_the_browser_that_started_it() {
    let w = world().await;
    w.configure(SECRET, Some(&w.idp.ca_pem)).await;
    // Another browser brings the callback: it has no flow.
    let (hub, idp) = w.browser();
    let callback = through_provider(&w, &hub, &idp, "acme", "anna").await;
    let (thief, _) = w.browser();
    let r = thief.get(&callback).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // A forged state: refused, and the flow is gone (used once, whatever the outcome).
    let forged = callback.replace("state=", "state=x");
    let r = hub.get(&forged).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(
        r.body.contains("does not belong to this browser"),
        "{}",
        r.body
    );
    let r = hub.get(&callback).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(
        r.body.contains("unknown, expired or was already used"),
        "{}",
        r.body
    );
    assert_eq!(hub.get("/").await.header("location"), Some("/signin"));
    assert_eq!(
        failures(&w.hub.audit("user.sign_in_failed").await),
        ["oidc_state", "oidc_state", "oidc_state"]
    );
    // The fourth failure from this address waits.
    let r = hub.get("/signin/sso/acme").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
}

#[tokio::test]
async fn a_replayed_callback_and_a_wrong_client_secret_are_refused() {
    let w = world().await;
    w.configure(SECRET, Some(&w.idp.ca_pem)).await;
    let (hub, idp) = w.browser();
    let callback = through_provider(&w, &hub, &idp, "acme", "anna").await;
    assert_eq!(hub.get(&callback).await.status, 200);
    // The same answer again (a new flow cookie, the old state and code): refused.
    let r = hub.get("/signin/sso/acme").await;
    assert_eq!(r.status, 303);
    let r = hub.get(&callback).await;
    assert_eq!(r.status, 401, "{}", r.body);

    // The provider refuses the code exchange for a wrong secret.
    w.configure("not-the-secret", Some(&w.idp.ca_pem)).await;
    let (hub, _) = w.browser();
    let r = sign_in_as(&w, &hub, "anna").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("answer was refused"), "{}", r.body);
    assert_eq!(
        failures(&w.hub.audit("user.sign_in_failed").await),
        ["oidc_state", "oidc_provider_error"]
    );
}

#[tokio::test]
async fn an_unknown_company_and_an_untrusted_provider_get_no_flow() {
    let w = world().await;
    let c = Curl::new(&w.hub);
    // globex has no provider, and there is no "nope": the same answer.
    let a = c.get("/signin/sso/globex").await;
    let b = c.get("/signin/sso/nope").await;
    assert_eq!((a.status, b.status), (404, 404));
    assert!(a.body.contains("not set up for this company"), "{}", a.body);
    assert_eq!(
        between(&a.body, "role=\"alert\">", "<"),
        between(&b.body, "role=\"alert\">", "<")
    );
    // The form leads to the bookmarkable start through a page of this origin.
    let r = c.get("/signin/sso?company=acme").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(r#"content="0;url=/signin/sso/acme""#),
        "{}",
        r.body
    );

    // Without its CA, the provider's certificate is not trusted: no flow starts.
    w.configure(SECRET, None).await;
    let r = c.get("/signin/sso/acme").await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("could not be reached"), "{}", r.body);
    let failed = w.hub.audit("user.sign_in_failed").await;
    assert_eq!(
        failures(&failed),
        [
            "oidc_unknown_company",
            "oidc_unknown_company",
            "oidc_provider_unreachable"
        ]
    );
    assert!(
        failed[2].detail["cause"]
            .as_str()
            .unwrap_or("")
            .contains("certificate"),
        "{:?}",
        failed[2].detail
    );
}

#[tokio::test]
async fn the_second_factor_is_still_asked_after_the_provider() {
    let w = world().await;
    w.configure(SECRET, Some(&w.idp.ca_pem)).await;
    // anna turns on her second factor with her password session.
    let c = Curl::new(&w.hub);
    assert_eq!(c.sign_in("anna", &w.anna_pw).await.status, 303);
    let secret = super::portal_totp::enable(&c).await;
    // The provider signs her in, then the code is asked.
    let (hub, _) = w.browser();
    let r = sign_in_as(&w, &hub, "anna").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(r#"content="0;url=/signin/code""#),
        "{}",
        r.body
    );
    assert!(!r
        .all("set-cookie")
        .iter()
        .any(|c| c.starts_with("__Host-portcullis=")));
    assert_eq!(hub.get("/").await.header("location"), Some("/signin"));
    let form = hub.get("/signin/code").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = hub
        .post(
            "/signin/code",
            &[
                ("csrf", &form.csrf()),
                ("code", &totp::code_at(&secret, now)),
            ],
        )
        .await;
    assert_eq!(r.header("location"), Some("/"), "{}", r.body);
    assert_eq!(hub.get("/").await.status, 200);
    let last = w.hub.audit("user.signed_in").await.pop().unwrap();
    assert_eq!(
        (
            last.detail["method"].as_str(),
            last.detail["second_factor"].as_bool()
        ),
        (Some("oidc"), Some(true))
    );

    // A company requirement sends ben, who has none, to set one up first.
    let account = c.get("/account").await;
    let r = c
        .post(
            "/account/company-totp",
            &[("csrf", &account.csrf()), ("require", "on")],
        )
        .await;
    assert_eq!(r.header("location"), Some("/account?done=required"));
    let (ben, _) = w.browser();
    assert_eq!(sign_in_as(&w, &ben, "ben").await.status, 200);
    assert_eq!(ben.get("/").await.header("location"), Some("/account/totp"));
}
