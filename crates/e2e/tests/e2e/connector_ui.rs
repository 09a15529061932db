//! The connector's admin UI and REST API without JavaScript, driven by curl (a real HTTP
//! client with a cookie jar) against a real connector on port 0 with its self-signed UI
//! certificate: the one-time initial password in a 0600 file and the forced change, the API's
//! 403 until then, failed logons slowing down, CSRF, a Display user who cannot close a window
//! (page, forged form and API), an Administrator who can (page and API, audited), and the UI
//! certificate kept across a restart. The Chromium test (`connector_ui_browser`) drives the
//! same pages.

use portcullis_client::requests::OpenWindow;
use portcullis_test_support::{echo_server, TestConnector, TestHub};

use super::portal::{between, Curl, Resp};

/// A new password that passes the rules.
pub const NEW_PASSWORD: &str = "Granite-Harbour-2026";

/// `acme`'s connector `berlin` with the admin UI on, exposing an echo service (system PRD).
pub struct World {
    pub hub: TestHub,
    pub conn: TestConnector,
    pub sc: i64,
}

pub async fn world() -> World {
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    let (conn, _system, sc) = hub
        .prd_echo_service_with(echo, TestConnector::with_admin_ui)
        .await;
    World {
        hub,
        conn,
        sc: sc.id,
    }
}

impl World {
    /// A curl client of the admin UI, trusting its self-signed certificate.
    pub fn client(&self) -> Curl {
        let addr = self.conn.admin_addr().expect("the admin UI listens");
        Curl::at(&format!("https://{addr}"), &self.ui_cert())
    }

    /// The UI certificate's PEM.
    pub fn ui_cert(&self) -> String {
        std::fs::read_to_string(self.conn.data_dir().join("admin/ui-cert.pem")).unwrap()
    }

    /// The initial password from its file.
    pub fn initial_password(&self) -> String {
        std::fs::read_to_string(self.conn.data_dir().join("admin/initial-password"))
            .expect("the initial password file")
            .trim()
            .to_string()
    }

    /// Opens a window on the echo service as `acme`'s admin and waits until the connector
    /// has it; returns its id.
    pub async fn open_window(&mut self) -> String {
        self.window(&OpenWindow::now("Bob")).await
    }

    /// A reservation starting in ten hours (after an open window's default eight), pushed to
    /// the connector; its id.
    pub async fn reserve_window(&mut self) -> String {
        let start = time::OffsetDateTime::now_utc() + time::Duration::hours(10);
        self.window(&OpenWindow::reserve("Bob", start)).await
    }

    async fn window(&mut self, body: &OpenWindow) -> String {
        let applied = self.conn.status().windows_applied;
        let win = self
            .hub
            .company_admin("acme")
            .await
            .open_window(self.sc, body)
            .await
            .expect("open a window");
        self.conn
            .wait_status("the window reaches the connector", |s| {
                s.windows_applied > applied
            })
            .await;
        win.id.to_string()
    }
}

/// Calls the REST API with basic auth (`method`, `path`, optional JSON body).
pub async fn api(
    c: &Curl,
    user: &str,
    pw: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Resp {
    let auth = format!("{user}:{pw}");
    let url = c.url(path);
    let mut args = vec!["-u", &auth, "-X", method];
    if let Some(b) = body {
        args.extend(["-H", "content-type: application/json", "--data", b]);
    }
    args.push(&url);
    c.run(&args).await
}

/// Creates `name` with `role` through the API as the Administrator (after his own first
/// logon) and makes the new user's first logon: he then signs in with [`NEW_PASSWORD`].
pub async fn ready_user(w: &World, name: &str, role: &str) {
    let body = format!(r#"{{"name":"{name}","role":"{role}"}}"#);
    let c = w.client();
    let r = api(
        &c,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/users",
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    first_logon(&w.client(), name, v["one_time_password"].as_str().unwrap()).await;
}

/// Logs `user` on with `one_time` and changes it to [`NEW_PASSWORD`] as the UI forces.
pub async fn first_logon(c: &Curl, user: &str, one_time: &str) {
    let r = c.sign_in(user, one_time).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/password"));
    let form = c.get("/password").await;
    assert!(
        form.body.contains("Your password is an initial one"),
        "{}",
        form.body
    );
    let r = c
        .post(
            "/password",
            &[
                ("csrf", &form.csrf()),
                ("current", one_time),
                ("new", NEW_PASSWORD),
                ("repeat", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/"));
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_initial_password_is_private_and_must_be_changed_before_the_api_answers() {
    let w = world().await;
    let data = w.conn.data_dir();
    #[cfg(unix)]
    {
        assert_eq!(mode(&data.join("admin/initial-password")), 0o600);
        assert_eq!(mode(&data.join("admin/users.json")), 0o600);
        assert_eq!(mode(&data.join("admin/ui-key.pem")), 0o600);
    }
    let one_time = w.initial_password();
    let c = w.client();
    // The API refuses until the password is changed, with a clear message.
    let r = api(
        &c,
        "Administrator",
        &one_time,
        "GET",
        "/api/v1/status",
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["code"], "password_change_required", "{v}");
    // So do the pages: every one leads to the change.
    let r = c.sign_in("Administrator", &one_time).await;
    assert_eq!(r.header("location"), Some("/password"));
    let r = c.get("/").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/password"));
    let c = w.client();
    first_logon(&c, "Administrator", &one_time).await;
    assert!(
        !data.join("admin/initial-password").exists(),
        "the one-time file goes with the one-time password"
    );
    // The hub connection page, with the strict headers of the shared web rules.
    let r = c.get("/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    for fact in [
        "Hub connection",
        "connected",
        "berlin",
        env!("CARGO_PKG_VERSION"),
    ] {
        assert!(r.body.contains(fact), "{fact} missing: {}", r.body);
    }
    let csp = r.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let cookie = r.all("set-cookie");
    assert!(cookie.is_empty(), "no new cookie on a page: {cookie:?}");
    // The API answers now: the same status operation.
    let r = api(
        &c,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/status",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["tunnel"], "connected");
    assert_eq!(v["location"], "berlin");
    assert!(v["certificate_not_after"].is_string(), "{v}");
    assert!(v["connected_since"].is_string(), "{v}");
    let r = api(
        &c,
        "Administrator",
        "wrong-password-1",
        "GET",
        "/api/v1/status",
        None,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.header("www-authenticate").is_some());
    // The OpenAPI document is served.
    let r = c.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("/api/v1/windows/{id}/close"));
    // The log-on and the change are audited in the connector's log.
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"action\":\"admin.signin\""), "{log}");
    assert!(log.contains("password_changed"), "{log}");
}

#[tokio::test]
async fn wrong_passwords_slow_down_and_a_form_without_its_token_is_refused() {
    let w = world().await;
    let one_time = w.initial_password();
    let c = w.client();
    first_logon(&c, "Administrator", &one_time).await;
    // CSRF: the close form without its token, and with another session's, is refused.
    let r = c.post("/windows/1/close", &[("reason", "x")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("did not come from this admin UI"),
        "{}",
        r.body
    );
    let other = w.client();
    other.sign_in("Administrator", NEW_PASSWORD).await;
    let theirs = other.get("/windows").await.csrf();
    let r = c.post("/windows/1/close", &[("csrf", &theirs)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A sign-in form without its pre-session token.
    let fresh = w.client();
    let r = fresh
        .post(
            "/signin",
            &[("name", "Administrator"), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Wrong passwords: free at first, then even the right one waits (UI and API alike).
    let eve = w.client();
    for _ in 0..3 {
        assert_eq!(
            eve.sign_in("Administrator", "wrong-password-x")
                .await
                .status,
            401
        );
    }
    let r = eve.sign_in("Administrator", NEW_PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many failed logons"), "{}", r.body);
    let r = api(
        &eve,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/status",
        None,
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"outcome\":\"denied\""), "{log}");
}

#[tokio::test]
async fn a_display_user_cannot_close_a_window_and_an_administrator_can() {
    let mut w = world().await;
    let one_time = w.initial_password();
    let admin = w.client();
    first_logon(&admin, "Administrator", &one_time).await;
    // The administrator makes a Display user with a one-time password.
    let page = admin.get("/users").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = admin
        .post(
            "/users",
            &[
                ("csrf", &page.csrf()),
                ("name", "dora"),
                ("role", "Display"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let dora_once = between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string();
    let dora = w.client();
    first_logon(&dora, "dora", &dora_once).await;
    let first = w.open_window().await;

    // Dora sees the windows, no close button and no Users page; forged closes are refused.
    let r = dora.get("/windows").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&format!("<td>{first}</td>")), "{}", r.body);
    assert!(!r.body.contains(">Close</button>"), "{}", r.body);
    assert!(!r.body.contains("href=\"/users\""), "{}", r.body);
    let r = dora
        .post(
            &format!("/windows/{first}/close"),
            &[("csrf", &r.csrf()), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = api(
        &dora,
        "dora",
        NEW_PASSWORD,
        "POST",
        &format!("/api/v1/windows/{first}/close"),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("\"forbidden\""), "{}", r.body);
    assert_eq!(dora.get("/users").await.status, 403);
    let r = api(&dora, "dora", NEW_PASSWORD, "GET", "/api/v1/windows", None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The administrator closes it on the page, and the next one through the API.
    let page = admin.get("/windows").await;
    assert!(page.body.contains(">Close</button>"), "{}", page.body);
    let r = admin
        .post(
            &format!("/windows/{first}/close"),
            &[("csrf", &page.csrf()), ("reason", "change freeze")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = admin.get(r.header("location").unwrap()).await;
    assert!(
        r.body.contains(&format!("Window {first} is closed.")),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("closed at the connector by Administrator"),
        "{}",
        r.body
    );
    w.hub.wait_audit("window.closed", 1).await;
    let second = w.open_window().await;
    let path = format!("/api/v1/windows/{second}/close");
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        &path,
        Some(r#"{"reason":"done"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["window"]["state"], "closed", "{v}");
    let r = api(&admin, "Administrator", NEW_PASSWORD, "POST", &path, None).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("\"already_closed\""), "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/windows/nope/close",
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    // Audited as the socket's close is, with the door; the hub hears of both.
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(
        log.contains("\"via\":\"ui\"") && log.contains("\"via\":\"api\""),
        "{log}"
    );
    let closed = w.hub.wait_audit("window.closed", 2).await;
    assert!(
        closed
            .iter()
            .any(|e| e.actor == "connector:berlin:Administrator"),
        "{closed:?}"
    );
}

#[tokio::test]
async fn the_ui_certificate_and_the_users_are_kept_across_a_restart() {
    let mut w = world().await;
    let cert = w.ui_cert();
    let one_time = w.initial_password();
    w.conn.stop().await;
    w.conn.start();
    w.conn.wait_connects(1).await;
    assert_eq!(w.ui_cert(), cert, "the same certificate file");
    assert_eq!(w.initial_password(), one_time, "no new initial password");
    // The served certificate is the old one: curl trusting only the old PEM gets through.
    let c = Curl::at(&format!("https://{}", w.conn.admin_addr().unwrap()), &cert);
    let r = c.get("/signin").await;
    assert_eq!(r.status, 200, "{}", r.body);
    first_logon(&c, "Administrator", &one_time).await;
}

/// The status code of sam's `GET /api/v1/status` with `pw`.
async fn status(c: &Curl, pw: &str) -> u16 {
    api(c, "sam", pw, "GET", "/api/v1/status", None)
        .await
        .status
}

#[tokio::test]
async fn an_administrator_resets_and_disables_a_user_but_not_himself() {
    let w = world().await;
    let one_time = w.initial_password();
    let admin = w.client();
    first_logon(&admin, "Administrator", &one_time).await;
    let page = admin.get("/users").await;
    let r = admin
        .post(
            "/users",
            &[
                ("csrf", &page.csrf()),
                ("name", "sam"),
                ("role", "Monitoring"),
            ],
        )
        .await;
    let once = between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string();
    let sam = w.client();
    first_logon(&sam, "sam", &once).await;
    // Monitoring: the hub connection, no windows.
    assert_eq!(sam.get("/").await.status, 200);
    assert_eq!(sam.get("/windows").await.status, 403);
    assert_eq!(status(&sam, NEW_PASSWORD).await, 200);
    assert_eq!(
        api(&sam, "sam", NEW_PASSWORD, "GET", "/api/v1/windows", None)
            .await
            .status,
        403
    );

    // A reset: a new one-time password, the old one is gone, the new one must be changed.
    let csrf = admin.get("/users").await.csrf();
    let r = admin
        .post("/users/reset", &[("csrf", &csrf), ("name", "sam")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let again = between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string();
    assert_ne!(again, once);
    assert_eq!(status(&admin, NEW_PASSWORD).await, 401);
    assert_eq!(
        status(&admin, &again).await,
        403,
        "the reset password must be changed first"
    );

    // Disabled: his session ends, his credentials are refused; enabled again, they work.
    let r = admin
        .post("/users/disable", &[("csrf", &csrf), ("name", "sam")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("aria-label=\"Enable sam\""), "{}", r.body);
    let r = sam.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/signin")));
    assert_eq!(status(&admin, &again).await, 401);
    let r = admin
        .post("/users/enable", &[("csrf", &csrf), ("name", "sam")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(status(&admin, &again).await, 403);

    // Nobody disables himself (the last administrator would lock everybody out).
    let r = admin
        .post(
            "/users/disable",
            &[("csrf", &csrf), ("name", "Administrator")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("You cannot disable yourself"), "{}", r.body);
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    for what in [
        "\"created\"",
        "\"password_reset\"",
        "\"disabled\"",
        "\"enabled\"",
    ] {
        assert!(log.contains(what), "{what} not audited: {log}");
    }
}

#[tokio::test]
async fn the_logon_text_keeps_its_small_subset_and_shows_the_rest_as_typed() {
    let w = world().await;
    let one_time = w.initial_password();
    let admin = w.client();
    first_logon(&admin, "Administrator", &one_time).await;
    let form = admin.get("/settings/logon-text").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let text =
        "<p>Call <strong>IT</strong> at <a href=\"https://it.example/desk\">the desk</a></p>\
                <script>alert(1)</script><img src=x onerror=alert(1)>\
                <a href=\"javascript:alert(2)\">x</a>";
    let r = admin
        .post(
            "/settings/logon-text",
            &[("csrf", &form.csrf()), ("text", text)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let logon = w.client().get("/signin").await;
    for kept in [
        "<p>Call <strong>IT</strong> at <a href=\"https://it.example/desk\" rel=\"noreferrer\">the desk</a></p>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;a href=&quot;javascript:alert(2)&quot;&gt;",
    ] {
        assert!(logon.body.contains(kept), "{kept} missing: {}", logon.body);
    }
    assert!(!logon.body.contains("<script>alert") && !logon.body.contains("<img src=x"));
    // Only an Administrator may set it.
    let page = admin.get("/users").await;
    let r = admin
        .post(
            "/users",
            &[
                ("csrf", &page.csrf()),
                ("name", "dora"),
                ("role", "Display"),
            ],
        )
        .await;
    let once = between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string();
    let dora = w.client();
    first_logon(&dora, "dora", &once).await;
    assert_eq!(dora.get("/settings/logon-text").await.status, 403);
    let csrf = dora.get("/").await.csrf();
    let r = dora
        .post("/settings/logon-text", &[("csrf", &csrf), ("text", "mine")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!w.client().get("/signin").await.body.contains("mine"));
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"action\":\"admin.settings\""), "{log}");
}

#[tokio::test]
async fn an_api_token_acts_as_its_user_until_it_is_revoked() {
    let w = world().await;
    let one_time = w.initial_password();
    let admin = w.client();
    first_logon(&admin, "Administrator", &one_time).await;
    let page = admin.get("/users").await;
    let r = admin
        .post(
            "/users",
            &[
                ("csrf", &page.csrf()),
                ("name", "nagios"),
                ("role", "Monitoring"),
            ],
        )
        .await;
    let once = between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string();
    let mon = w.client();
    first_logon(&mon, "nagios", &once).await;
    let page = mon.get("/tokens").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let r = mon
        .post(
            "/tokens",
            &[("csrf", &page.csrf()), ("name", "monitoring system")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = between(&r.body, "data-copy=\"the token\">", "</code>").to_string();
    assert!(token.starts_with("pcc_"), "{token}");
    let id = between(&r.body, "name=\"id\" value=\"", "\"").to_string();
    let users = std::fs::read_to_string(w.conn.data_dir().join("admin/users.json")).unwrap();
    assert!(
        !users.contains(token.rsplit('_').next().unwrap()),
        "only a hash is kept"
    );

    // A fresh client: no session cookie, the token alone.
    let script = w.client();
    let call = |path: &'static str, token: String| {
        let script = &script;
        async move {
            let auth = format!("authorization: Bearer {token}");
            script.run(&["-H", &auth, &script.url(path)]).await.status
        }
    };
    // The token acts as nagios, with his role: the status yes, the windows no.
    assert_eq!(call("/api/v1/status", token.clone()).await, 200);
    assert_eq!(call("/api/v1/windows", token.clone()).await, 403);
    let wrong = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(call("/api/v1/status", wrong).await, 401);
    // Revoked: refused.
    let csrf = mon.get("/tokens").await.csrf();
    let r = mon
        .post("/tokens/revoke", &[("csrf", &csrf), ("id", &id)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The token is revoked."), "{}", r.body);
    assert_eq!(call("/api/v1/status", token).await, 401);
}
