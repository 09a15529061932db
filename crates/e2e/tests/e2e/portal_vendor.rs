//! The portal's vendor side, driven by curl: a support engineer's home lists every service
//! connection he can reach now (a window open that admits him), with how to connect; a route
//! password is made and shown once; an HTTP service opens in the browser through a one-time
//! link. Windows are opened and closed through the API by the customer's admin, as they are
//! in real life.

use portcullis_client::requests::{NewServiceConnection, OpenWindow};
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
