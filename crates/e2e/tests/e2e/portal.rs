//! The portal without JavaScript, driven by curl (a real HTTP client with a cookie jar):
//! sign-in with the forced password change, the customer's home, systems and the open →
//! close cycle, CSRF, authorization on every page, sign-out. The browser tests
//! (`portal_browser`) drive the same pages in Chromium.

use std::path::PathBuf;

use portcullis_client::requests::{NewServiceConnection, NewUser, SetPassword};
use portcullis_domain::authz::{Authorization, Role};
use portcullis_test_support::TestHub;

/// One browser-like client: curl with its own cookie jar.
pub struct Curl {
    base: String,
    ca: PathBuf,
    jar: PathBuf,
    /// The local address requests come from (`--interface`), when not the default.
    from: Option<String>,
    _dir: tempfile::TempDir,
}

/// A response: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of hidden field `csrf` in the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Curl {
    pub fn new(hub: &TestHub) -> Curl {
        Curl::at(&hub.api_url, &hub.ca_pem)
    }

    /// A client of the portal at `base` (`https://host:port`, no trailing slash) that trusts
    /// `ca_pem`.
    pub fn at(base: &str, ca_pem: &str) -> Curl {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        Curl {
            base: base.trim_end_matches('/').to_string(),
            jar: dir.path().join("jar"),
            ca,
            from: None,
            _dir: dir,
        }
    }

    /// The same client, its requests coming from `ip` (any of 127/8 reaches the loopback):
    /// another source for the per-address sign-in throttle.
    pub fn with_source(mut self, ip: &str) -> Curl {
        self.from = Some(ip.to_owned());
        self
    }

    /// Runs curl with `args` (after its TLS and cookie-jar options).
    pub async fn run(&self, args: &[&str]) -> Resp {
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "-i", "--max-time", "20", "--cacert"])
            .arg(&self.ca)
            .arg("-b")
            .arg(&self.jar)
            .arg("-c")
            .arg(&self.jar)
            .args(self.from.iter().flat_map(|ip| ["--interface", ip.as_str()]))
            .args(args)
            .output()
            .await
            .expect("curl runs");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Resp {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.run(&[&format!("{}{path}", self.base)]).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        let mut args: Vec<String> = Vec::new();
        for (k, v) in form {
            args.push("--data-urlencode".into());
            args.push(format!("{k}={v}"));
        }
        if form.is_empty() {
            args.push("--data".into());
            args.push(String::new());
        }
        args.push(format!("{}{path}", self.base));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs).await
    }

    /// Signs in; returns the answer to the sign-in POST.
    pub async fn sign_in(&self, name: &str, password: &str) -> Resp {
        let form = self.get("/signin").await;
        assert_eq!(form.status, 200, "{}", form.body);
        self.post(
            "/signin",
            &[
                ("csrf", &form.csrf()),
                ("name", name),
                ("password", password),
            ],
        )
        .await
    }
}

/// The text between `start` and the next `end` in `body`.
pub fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {body}"))
        + start.len();
    &body[at..at + body[at..].find(end).unwrap()]
}

/// Creates a user of `company` (or a vendor user) and sets a password for him through the API,
/// as the one who may; returns (user id, password).
pub async fn user_with_password(
    hub: &TestHub,
    company: Option<&str>,
    name: &str,
    role: Role,
    authorizations: &[Authorization],
    must_change: bool,
) -> (i64, String) {
    let maker = match company {
        Some(c) => hub.company_admin(c).await,
        None => hub.admin.clone(),
    };
    let mut new = NewUser::new(name, role);
    if let Some(c) = company {
        new = new.in_company(c);
    }
    new.authorizations = authorizations.iter().copied().collect();
    let user = maker.create_user(&new).await.expect("create user");
    let body = if must_change {
        SetPassword::default()
    } else {
        SetPassword {
            password: Some("Orchid-Lantern-2026!".into()),
            must_change: Some(false),
        }
    };
    let set = maker
        .set_user_password(user.id, &body)
        .await
        .expect("set the password");
    assert_eq!(set.must_change, must_change);
    (user.id, set.password.into_inner())
}

/// acme with system PRD and one service connection; returns the hub and the system id.
pub async fn acme_with_prd() -> (TestHub, i64, i64) {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let system = hub.system("acme", "PRD").await;
    let sc = hub
        .service(
            &system,
            &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
        )
        .await;
    (hub, system.id, sc.id)
}

#[tokio::test]
async fn sign_in_forces_a_password_change_then_opens_and_closes_a_connection() {
    let (hub, system, sc) = acme_with_prd().await;
    let (_, one_time) = user_with_password(
        &hub,
        Some("acme"),
        "anna",
        Role::CompanyUser,
        &[Authorization::OpenServiceConnections],
        true,
    )
    .await;
    let anna = Curl::new(&hub);

    // Nothing without signing in.
    let r = anna.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/signin")));

    // A wrong password: refused with one answer, and the form again.
    let r = anna.sign_in("anna", "not-her-password").await;
    assert_eq!(r.status, 401);
    assert!(
        r.body.contains("The user name or password is wrong"),
        "{}",
        r.body
    );

    // The one-time password signs in, and everything leads to the password page first.
    let r = anna.sign_in("anna", &one_time).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/password")));
    let cookie = r
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("__Host-portcullis="))
        .expect("session cookie")
        .to_string();
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let r = anna.get("/systems").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/password")));

    // The change: a weak password and a wrong current one are refused, with the reason.
    let page = anna.get("/password").await;
    assert!(
        page.body.contains("set by an administrator"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let r = anna
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("current", &one_time),
                ("new", "short"),
                ("repeat", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("A password needs at least 12 characters."),
        "{}",
        r.body
    );
    let new = "tulip-river-9-stone";
    let r = anna
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("current", "wrong-current-pw"),
                ("new", new),
                ("repeat", new),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("The current password is wrong."),
        "{}",
        r.body
    );
    let r = anna
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("current", &one_time),
                ("new", new),
                ("repeat", new),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/")),
        "{}",
        r.body
    );

    // Home: the open-connection KPI, 0 so far.
    let home = anna.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains(r#"data-kpi="open-connections">0<"#),
        "{}",
        home.body
    );
    assert!(home
        .header("content-security-policy")
        .is_some_and(|c| c.contains("script-src 'self'") && !c.contains("unsafe")));

    // The systems list and the system page.
    let list = anna.get("/systems").await;
    assert!(
        list.body
            .contains(&format!("href=\"/systems/{system}\">PRD<")),
        "{}",
        list.body
    );
    let page = anna.get(&format!("/systems/{system}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Open connection"), "{}", page.body);

    // Beyond 20 days: refused with the rule shown, nothing opened.
    let csrf = page.csrf();
    let r = anna
        .post(
            &format!("/service-connections/{sc}/open"),
            &[("csrf", &csrf), ("contact", "Anna"), ("hours", "481")],
        )
        .await;
    assert!(r.status >= 400, "{}", r.status);
    assert!(r.body.contains("20 days"), "{}", r.body);

    // Open for 8 hours.
    let r = anna
        .post(
            &format!("/service-connections/{sc}/open"),
            &[("csrf", &csrf), ("contact", "Anna Admin"), ("hours", "")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = anna.get(&format!("/systems/{system}?done=opened")).await;
    assert!(page.body.contains("Open until"), "{}", page.body);
    assert!(page.body.contains("contact Anna Admin"), "{}", page.body);
    let home = anna.get("/").await;
    assert!(home.body.contains(r#"data-kpi="open-connections">1<"#));
    let windows = hub.audit("window.opened").await;
    assert_eq!(windows.len(), 1);
    assert!(
        windows[0].actor.starts_with("token:portal#"),
        "{:?}",
        windows[0]
    );

    // Close it.
    let w = hub.state().store.list_windows(sc).await.unwrap()[0].id;
    let r = anna
        .post(&format!("/windows/{w}/close"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let home = anna.get("/").await;
    assert!(home.body.contains(r#"data-kpi="open-connections">0<"#));

    // Sign out: the credential is revoked, the cookie cleared.
    let r = anna.post("/signout", &[("csrf", &home.csrf())]).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/signin")));
    let r = anna.get("/").await;
    assert_eq!(r.status, 303);
    let kinds: Vec<String> = hub
        .state()
        .store
        .list_audit(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "user.password_set",
        "user.sign_in_failed",
        "user.signed_in",
        "user.password_changed",
        "window.closed",
        "user.signed_out",
    ] {
        assert!(kinds.iter().any(|k| k == a), "{a} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let (hub, _system, sc) = acme_with_prd().await;
    let (_, pw) = user_with_password(
        &hub,
        Some("acme"),
        "ben",
        Role::CompanyUser,
        &[Authorization::OpenServiceConnections],
        false,
    )
    .await;
    let ben = Curl::new(&hub);
    assert_eq!(ben.sign_in("ben", &pw).await.status, 303);
    for csrf in ["", "0000", &"a".repeat(64)] {
        let r = ben
            .post(
                &format!("/service-connections/{sc}/open"),
                &[("csrf", csrf), ("contact", "Ben")],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    assert!(hub.state().store.list_windows(sc).await.unwrap().is_empty());
    // The sign-in form is bound to its pre-session cookie too.
    let other = Curl::new(&hub);
    let r = other
        .post(
            "/signin",
            &[("csrf", "x"), ("name", "ben"), ("password", &pw)],
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn a_user_without_authorization_sees_no_open_button_and_a_forged_post_is_refused() {
    let (hub, system, sc) = acme_with_prd().await;
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let carl = Curl::new(&hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    let page = carl.get(&format!("/systems/{system}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("Open connection"), "{}", page.body);
    let r = carl
        .post(
            &format!("/service-connections/{sc}/open"),
            &[("csrf", &page.csrf()), ("contact", "Carl")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(hub.state().store.list_windows(sc).await.unwrap().is_empty());
}

#[tokio::test]
async fn one_company_never_sees_another_companys_systems() {
    let (hub, system, sc) = acme_with_prd().await;
    hub.company("globex").await;
    let (_, pw) =
        user_with_password(&hub, Some("globex"), "gina", Role::CompanyAdmin, &[], false).await;
    let gina = Curl::new(&hub);
    assert_eq!(gina.sign_in("gina", &pw).await.status, 303);
    let list = gina.get("/systems").await;
    assert!(!list.body.contains("PRD"), "{}", list.body);
    let r = gina.get(&format!("/systems/{system}")).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let home = gina.get("/").await;
    let r = gina
        .post(
            &format!("/service-connections/{sc}/open"),
            &[("csrf", &home.csrf()), ("contact", "Gina")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn the_portal_credential_is_refused_by_the_api_and_failed_sign_ins_slow_down() {
    let (hub, _system, _sc) = acme_with_prd().await;
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "dora", Role::CompanyAdmin, &[], false).await;
    let dora = Curl::new(&hub);
    assert_eq!(dora.sign_in("dora", &pw).await.status, 303);
    let jar = std::fs::read_to_string(&dora.jar).unwrap();
    let credential = jar
        .lines()
        .find(|l| l.contains("__Host-portcullis\t"))
        .and_then(|l| l.split('\t').next_back())
        .expect("cookie in the jar")
        .to_string();
    let (status, _) = hub
        .client(&credential)
        .get_raw("/api/v1/companies")
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 401);

    // Three free failures, then the next attempt is not even checked.
    let eve = Curl::new(&hub);
    for _ in 0..3 {
        assert_eq!(eve.sign_in("dora", "wrong-password-x").await.status, 401);
    }
    let r = eve.sign_in("dora", &pw).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
}

#[tokio::test]
async fn unknown_paths_get_a_page_and_api_paths_keep_json() {
    let hub = TestHub::start().await;
    let c = Curl::new(&hub);
    let r = c.get("/no-such-page").await;
    assert_eq!(r.status, 404);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    assert!(r.header("content-security-policy").is_some());
    let r = c.get("/api/v1/no-such-route").await;
    assert_eq!(r.status, 404);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    let r = c.get("/assets/base.css").await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/css")));
}
