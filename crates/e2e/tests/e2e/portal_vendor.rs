//! The portal's vendor side, driven by curl: a support engineer's home lists every service
//! connection he can reach now (a window open that admits him), with how to connect; a route
//! password is made and shown once; an HTTP service opens in the browser through a one-time
//! link; where a customer allows it, he opens a connection for himself and closes his own.
//! The customer's windows are opened and closed through the API by the customer's admin, as
//! they are in real life.

use portcullis_client::requests::{NewServiceConnection, OpenWindow, SystemData};
use portcullis_domain::authz::Role;
use portcullis_test_support::TestHub;

use super::portal::{user_with_password, Curl};

/// acme with PRD: a TCP, an NI and an HTTP service connection; returns the hub and their ids.
async fn acme_three_services() -> (TestHub, i64, i64, i64) {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let prd = hub.system("acme", "PRD").await;
    let tcp = hub
        .service(
            &prd,
            &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
        )
        .await;
    let ni = hub
        .service(
            &prd,
            &NewServiceConnection::new("r3_support", "berlin", "prd.internal", 3200),
        )
        .await;
    let web = hub
        .service(
            &prd,
            &NewServiceConnection::new("http_connect", "berlin", "web.internal", 80)
                .with_url("http://web.internal/"),
        )
        .await;
    (hub, tcp.id, ni.id, web.id)
}

/// Signs `name` in (a support engineer with a password) and returns his browser.
async fn engineer(hub: &TestHub, name: &str) -> Curl {
    let (_, pw) = user_with_password(hub, None, name, Role::SupportEngineer, &[], false).await;
    let c = Curl::new(hub);
    let r = c.sign_in(name, &pw).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/")),
        "{}",
        r.body
    );
    c
}

/// The page's text with the HTML escapes askama writes undone (`<`, `>`, `"`, `'`, `&`).
fn text(body: &str) -> String {
    body.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

fn row(body: &str, sc: i64) -> bool {
    body.contains(&format!("data-service=\"{sc}\""))
}

#[tokio::test]
async fn the_engineers_home_follows_the_windows_that_admit_him() {
    let (hub, tcp, ni, _web) = acme_three_services().await;
    let erik = engineer(&hub, "erik").await;
    let acme = hub.company_admin("acme").await;

    let home = erik.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains("Connections you can reach now"),
        "{}",
        home.body
    );
    assert!(home.body.contains("data-reach=\"none\""), "{}", home.body);

    // A window for any engineer: the row appears, with how to connect.
    let w = acme
        .open_window(tcp, &OpenWindow::now("Anna, +49 30 1234"))
        .await
        .unwrap();
    let home = erik.get("/").await;
    assert!(row(&home.body, tcp), "{}", home.body);
    assert!(home.body.contains("<td>acme</td>"), "{}", home.body);
    assert!(home.body.contains("<td>PRD</td>"), "{}", home.body);
    let connect = format!(
        "portcullis connect --hub {} --ca hub-ca.pem --token <your API token> \
         generic_tcp.prd.acme.portcullis:7 --listen 127.0.0.1:10007",
        hub.api_url
    );
    assert!(
        text(&home.body).contains(&connect),
        "{connect} not in {}",
        home.body
    );
    let end = w.end_at;
    let until = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        end.year(),
        u8::from(end.month()),
        end.day(),
        end.hour(),
        end.minute()
    );
    assert!(home.body.contains(&until), "{until} not in {}", home.body);

    // A window that names another engineer is not his.
    let mut for_olga = OpenWindow::now("Anna");
    for_olga.engineers = vec!["olga".into()];
    let olga_window = acme.open_window(ni, &for_olga).await.unwrap();
    let home = erik.get("/").await;
    assert!(!row(&home.body, ni), "{}", home.body);
    assert!(!home.body.contains("r3_support"), "{}", home.body);
    // … but olga's, and she does not see what is not hers: none but the open-for-all one.
    let olga = engineer(&hub, "olga").await;
    let home = olga.get("/").await;
    assert!(row(&home.body, ni) && row(&home.body, tcp), "{}", home.body);
    acme.close_window(olga_window.id).await.unwrap();

    // Naming him: it appears for him.
    let mut for_erik = OpenWindow::now("Anna");
    for_erik.engineers = vec!["erik".into()];
    acme.open_window(ni, &for_erik).await.unwrap();
    let home = erik.get("/").await;
    assert!(row(&home.body, ni), "{}", home.body);

    // Closing the first window: its row disappears, the other stays.
    acme.close_window(w.id).await.unwrap();
    let home = erik.get("/").await;
    assert!(!row(&home.body, tcp), "{}", home.body);
    assert!(row(&home.body, ni), "{}", home.body);

    // A customer's home has no such list.
    let (_, pw) =
        user_with_password(&hub, Some("acme"), "carl", Role::CompanyUser, &[], false).await;
    let carl = Curl::new(&hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    let home = carl.get("/").await;
    assert!(
        !home.body.contains("Connections you can reach now"),
        "{}",
        home.body
    );
}

#[tokio::test]
async fn a_route_password_is_made_for_the_engineer_and_shown_once_with_its_route_string() {
    let (hub, _tcp, ni, _web) = acme_three_services().await;
    let erik = engineer(&hub, "erik").await;
    let acme = hub.company_admin("acme").await;
    acme.open_window(ni, &OpenWindow::now("Anna"))
        .await
        .unwrap();

    let ni_entry = hub.ni();
    let route = |password: &str| {
        format!(
            "/H/{}/S/{}/W/{password}/H/r3_support.prd.acme.portcullis/S/3200",
            ni_entry.ip(),
            ni_entry.port()
        )
    };
    let home = erik.get("/").await;
    assert!(
        text(&home.body).contains(&route("<route password>")),
        "{} not in {}",
        route("<route password>"),
        home.body
    );
    assert!(home.body.contains("Get a route password"), "{}", home.body);

    let r = erik
        .post(
            "/route-password",
            &[("csrf", &home.csrf()), ("service", &ni.to_string())],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let at = r.body.find("pct_").expect("a route password on the page");
    let password: String = r.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert!(password.len() > 40, "{password}");
    assert!(r.body.contains(&route(&password)), "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let made = hub.audit("route_password.created").await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].actor.starts_with("token:portal#"), "{:?}", made[0]);
    assert_eq!(made[0].target, "erik");
    assert!(!made[0].detail.to_string().contains(&password));

    // Shown once: the home page never shows it again.
    let home = erik.get("/").await;
    assert!(!home.body.contains(&password), "{}", home.body);

    // Without the form's CSRF token nothing is made.
    let r = erik.post("/route-password", &[("csrf", "forged")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(hub.audit("route_password.created").await.len(), 1);
}

#[tokio::test]
async fn an_http_service_opens_in_the_browser_through_a_one_time_link() {
    let (hub, tcp, _ni, web) = acme_three_services().await;
    let erik = engineer(&hub, "erik").await;
    let acme = hub.company_admin("acme").await;
    acme.open_window(web, &OpenWindow::now("Anna"))
        .await
        .unwrap();
    acme.open_window(tcp, &OpenWindow::now("Anna"))
        .await
        .unwrap();

    let home = erik.get("/").await;
    let action = format!("action=\"/service-connections/{web}/web-link\"");
    assert!(home.body.contains(&action), "{}", home.body);
    // Only HTTP types get the button.
    assert!(
        !home
            .body
            .contains(&format!("action=\"/service-connections/{tcp}/web-link\"")),
        "{}",
        home.body
    );
    // The page's forms may lead to the web entry's origins, and nowhere else.
    let origins = hub.state().web_origins.clone().expect("web entry on");
    let csp = home.header("content-security-policy").unwrap();
    assert!(
        csp.contains(&format!(
            "form-action 'self' https://*.{}:{};",
            origins.domain, origins.port
        )),
        "{csp}"
    );

    let r = erik
        .post(
            &format!("/service-connections/{web}/web-link"),
            &[("csrf", &home.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.header("location").unwrap();
    assert!(
        to.starts_with(&format!("{}/", origins.origin(web))) && to.contains("#ticket="),
        "{to}"
    );
    assert_eq!(hub.audit("web.link_created").await.len(), 1);

    // Once the window closes, no link.
    let w = hub.state().store.list_windows(web).await.unwrap()[0].id;
    acme.close_window(w).await.unwrap();
    let r = erik
        .post(
            &format!("/service-connections/{web}/web-link"),
            &[("csrf", &home.csrf())],
        )
        .await;
    assert!(r.status >= 400, "{} {}", r.status, r.body);
    assert_eq!(hub.audit("web.link_created").await.len(), 1);
}

/// Sets `system`'s "support may open a connection on its own" flag as its customer would.
async fn allow_independent(hub: &TestHub, system: i64, on: bool) {
    let acme = hub.company_admin("acme").await;
    let data = SystemData {
        allow_independent_opening: on,
        ..acme.get_system(system).await.unwrap().system.data
    };
    acme.update_system(system, &data).await.unwrap();
}

fn independent_row(body: &str, sc: i64) -> bool {
    body.contains(&format!("data-independent=\"{sc}\""))
}

#[tokio::test]
async fn an_engineer_opens_for_himself_where_the_customer_allows_it_and_closes_only_his_own() {
    let (hub, tcp, ni, web) = acme_three_services().await;
    let prd = hub
        .state()
        .store
        .get_service_connection(tcp)
        .await
        .unwrap()
        .unwrap()
        .system_id;
    // QAS does not allow it (the default).
    let qas = hub.system("acme", "QAS").await;
    let qas_tcp = hub
        .service(
            &qas,
            &NewServiceConnection::new("generic_tcp", "berlin", "qas.internal", 7),
        )
        .await
        .id;
    let erik = engineer(&hub, "erik").await;

    // Nothing allows it yet: the section says so.
    let home = erik.get("/").await;
    assert!(
        home.body.contains("Open a connection yourself"),
        "{}",
        home.body
    );
    assert!(
        home.body.contains("data-independent=\"none\""),
        "{}",
        home.body
    );

    // PRD's customer allows it: PRD's three connection types are listed, QAS's is not.
    allow_independent(&hub, prd, true).await;
    let home = erik.get("/").await;
    for sc in [tcp, ni, web] {
        assert!(independent_row(&home.body, sc), "{sc}: {}", home.body);
    }
    assert!(!independent_row(&home.body, qas_tcp), "{}", home.body);
    assert!(!row(&home.body, tcp), "not reachable yet: {}", home.body);
    let open_tcp = format!("/service-connections/{tcp}/open-independently");
    assert!(
        home.body.contains(&format!("action=\"{open_tcp}\"")),
        "{}",
        home.body
    );

    // Beyond 20 days: refused with the rule, the hours kept as typed; nothing opened.
    let r = erik
        .post(&open_tcp, &[("csrf", &home.csrf()), ("hours", "481")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    assert!(r.body.contains("at most 20 days"), "{}", r.body);
    assert!(
        r.body
            .contains(&format!("id=\"ihours-{tcp}\" name=\"hours\""))
            && r.body.contains("value=\"481\""),
        "{}",
        r.body
    );
    // Without the form's CSRF token: refused.
    let r = erik
        .post(&open_tcp, &[("csrf", "forged"), ("hours", "2")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(hub.audit("window.opened").await.is_empty());

    // Two hours, for him alone: it is open, and in his "reach now" list.
    let r = erik
        .post(&open_tcp, &[("csrf", &home.csrf()), ("hours", "2")])
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/?done=opened")),
        "{}",
        r.body
    );
    let w = hub
        .state()
        .store
        .list_windows(tcp)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(w.independent, "{w:?}");
    assert_eq!(w.engineers, ["erik"]);
    assert_eq!((w.end_at - w.start_at).whole_minutes(), 120);
    let home = erik.get("/?done=opened").await;
    assert!(home.body.contains("role=\"status\""), "{}", home.body);
    assert!(row(&home.body, tcp), "now reachable: {}", home.body);
    let close = format!("/windows/{}/close-own", w.id);
    assert!(
        home.body.contains(&format!("action=\"{close}\"")),
        "{}",
        home.body
    );
    let opened = hub.audit("window.opened").await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0].detail["independent"], true);
    assert!(
        opened[0].actor.starts_with("token:portal#"),
        "{:?}",
        opened[0]
    );

    // A system that does not allow it: not listed, and a forged POST is refused; an id that
    // does not exist is not found.
    let r = erik
        .post(
            &format!("/service-connections/{qas_tcp}/open-independently"),
            &[("csrf", &home.csrf()), ("hours", "2")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("does not allow independent opening"),
        "{}",
        r.body
    );
    let r = erik
        .post(
            "/service-connections/999999/open-independently",
            &[("csrf", &home.csrf()), ("hours", "2")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(hub.audit("window.opened").await.len(), 1);

    // Olga sees it open but not hers: no close button, and a forged close is refused.
    let olga = engineer(&hub, "olga").await;
    let home_o = olga.get("/").await;
    assert!(independent_row(&home_o.body, tcp), "{}", home_o.body);
    assert!(
        !home_o.body.contains(&format!("action=\"{close}\"")),
        "{}",
        home_o.body
    );
    assert!(
        !row(&home_o.body, tcp),
        "erik's window admits erik alone: {}",
        home_o.body
    );
    let r = olga.post(&close, &[("csrf", &home_o.csrf())]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body
            .contains("closes only the windows he opened independently"),
        "{}",
        r.body
    );

    // A window the customer opened is the customer's: shown open, no close button for erik,
    // and a forged close is refused.
    let acme = hub.company_admin("acme").await;
    let customers = acme
        .open_window(web, &OpenWindow::now("Anna"))
        .await
        .unwrap();
    let home = erik.get("/").await;
    assert!(
        !home
            .body
            .contains(&format!("action=\"/windows/{}/close-own\"", customers.id)),
        "{}",
        home.body
    );
    let r = erik
        .post(
            &format!("/windows/{}/close-own", customers.id),
            &[("csrf", &home.csrf())],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // A customer's user may not use the engineer's forms.
    let (_, pw) = user_with_password(
        &hub,
        Some("acme"),
        "carl",
        Role::CompanyUser,
        &[portcullis_domain::authz::Authorization::OpenServiceConnections],
        false,
    )
    .await;
    let carl = Curl::new(&hub);
    assert_eq!(carl.sign_in("carl", &pw).await.status, 303);
    let carl_home = carl.get("/").await;
    assert!(
        !carl_home.body.contains("Open a connection yourself"),
        "{}",
        carl_home.body
    );
    let r = carl
        .post(
            &format!("/service-connections/{ni}/open-independently"),
            &[("csrf", &carl_home.csrf()), ("hours", "2")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = carl.post(&close, &[("csrf", &carl_home.csrf())]).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Erik closes his own: closed again, out of his reach list.
    let r = erik.post(&close, &[("csrf", &home.csrf())]).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/?done=closed")),
        "{}",
        r.body
    );
    let home = erik.get("/").await;
    assert!(!row(&home.body, tcp), "{}", home.body);
    assert!(
        home.body.contains(&format!("action=\"{open_tcp}\"")),
        "{}",
        home.body
    );
    let closed = hub.audit("window.closed").await;
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert!(
        closed[0].actor.starts_with("token:portal#"),
        "{:?}",
        closed[0]
    );
}
