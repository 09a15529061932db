//! `portcullis quickstart` end to end, with the real curl as the client.

use std::process::Command;

use portcullis::quickstart;

use super::portal::Curl;

#[tokio::test]
async fn quickstart_serves_curl_and_restarts_on_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let qs = quickstart::start(dir.path()).await.unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("quickstart.json")).unwrap())
            .unwrap();
    for key in [
        "api_url",
        "ca_cert",
        "socks5",
        "http_proxy",
        "ni",
        "location",
        "token",
        "engineer_token",
    ] {
        assert!(json[key].is_string(), "quickstart.json lacks {key}");
    }
    assert_eq!(json["targets"].as_array().unwrap().len(), 2);

    // The portal and its demo sign-ins: each one signs in without a forced change.
    let portal = &json["portal"];
    assert_eq!(
        portal["url"].as_str(),
        Some(format!("{}/", qs.info.api_url).as_str())
    );
    let users = portal["users"].as_array().expect("portal users");
    let roles: Vec<&str> = users.iter().filter_map(|u| u["role"].as_str()).collect();
    for role in [
        "company_admin",
        "company_user",
        "support_engineer",
        "vendor_admin",
    ] {
        assert!(roles.contains(&role), "no {role} in {users:?}");
    }
    let ca_pem = std::fs::read_to_string(&qs.info.ca_cert).unwrap();
    for u in users {
        let (name, password) = (u["name"].as_str().unwrap(), u["password"].as_str().unwrap());
        assert!(password.len() >= 16, "{name}: {password}");
        let company = u["company"].as_str();
        let customer = matches!(u["role"].as_str(), Some("company_admin" | "company_user"));
        assert_eq!(company.is_some(), customer, "{u}");
        let browser = Curl::at(&qs.info.api_url, &ca_pem);
        let r = browser.sign_in(name, password).await;
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/")),
            "{name} cannot sign in: {}",
            r.body
        );
        let home = browser.get("/").await;
        assert_eq!(home.status, 200, "{}", home.body);
        if u["role"] == "support_engineer" {
            // The quickstart's windows are open: the engineer's home lists the demo system's
            // connections.
            assert!(home.body.contains("<td>DEM</td>"), "{}", home.body);
            for s in &qs.info.services {
                let host = s.entry.rsplit_once(':').unwrap().0;
                assert!(home.body.contains(host), "{host} not in {}", home.body);
            }
        }
    }
    // The connector's admin UI: a ready administrator, no forced change, page and API.
    let ca = &json["connector_admin"];
    let (url, user, pw) = (
        ca["url"].as_str().expect("connector_admin.url"),
        ca["user"].as_str().expect("connector_admin.user"),
        ca["password"].as_str().expect("connector_admin.password"),
    );
    let ui_cert = std::fs::read_to_string(ca["certificate"].as_str().unwrap()).unwrap();
    let admin_ui = Curl::at(url, &ui_cert);
    let r = admin_ui.sign_in(user, pw).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/")),
        "{}",
        r.body
    );
    let page = admin_ui.get("/").await;
    assert!(page.body.contains(quickstart::LOCATION), "{}", page.body);
    let r = super::connector_ui::api(&admin_ui, user, pw, "GET", "/api/v1/status", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"connected\""), "{}", r.body);
    assert!(quickstart::describe(&qs.info, dir.path()).contains(url));
    // The scrape URLs, with what each needs.
    let m = &json["metrics"];
    let hub_metrics = m["hub"].as_str().expect("metrics.hub");
    assert!(quickstart::describe(&qs.info, dir.path()).contains(hub_metrics));
    let scrape = admin_ui.run(&[hub_metrics]).await;
    assert_eq!(scrape.status, 200, "{}", scrape.body);
    assert!(
        scrape.body.contains("portcullis_hub_tunnels_connected 1"),
        "{}",
        scrape.body
    );
    let cert = std::fs::read_to_string(m["connector_certificate"].as_str().unwrap()).unwrap();
    let conn_metrics = Curl::at(m["connector"].as_str().expect("metrics.connector"), &cert);
    let auth = format!(
        "{}:{}",
        m["connector_user"].as_str().unwrap(),
        m["connector_password"].as_str().unwrap()
    );
    let scrape = conn_metrics
        .run(&["-u", &auth, m["connector"].as_str().unwrap()])
        .await;
    assert_eq!(scrape.status, 200, "{}", scrape.body);
    assert!(
        scrape.body.contains("portcullis_connector_tunnel_up 1"),
        "{}",
        scrape.body
    );
    let passwords: Vec<String> = users
        .iter()
        .map(|u| u["password"].as_str().unwrap().to_string())
        .collect();
    let text = quickstart::describe(&qs.info, dir.path());
    assert!(text.contains(&qs.info.portal.url), "{text}");
    for p in &passwords {
        assert!(text.contains(p.as_str()), "{text}");
    }
    assert_eq!(json["targets"][1]["virtual"], "web.demo:80");
    assert_eq!(json["targets"][1]["protocol"], "http");
    let token = qs.info.token.clone();
    let text = quickstart::describe(&qs.info, dir.path());
    assert!(text.contains("curl --proxy socks5h://demo-site:"), "{text}");

    // The niping line it prints works: through the hub's NI entry to the demo service.
    let niping_line = text
        .lines()
        .find(|l| l.contains("portcullis niping -c -H "))
        .expect("a niping example");
    let route = niping_line.rsplit(' ').next().unwrap();
    assert!(
        route.starts_with(&format!("/H/{}", qs.info.ni.replace(':', "/S/"))),
        "{route}"
    );
    let mut opts = portcullis_router::niping::ClientOptions::new(route);
    opts.loops = 3;
    let report = portcullis_router::niping::run_client(&opts).await.unwrap();
    assert_eq!(report.times.len(), 3);

    // The real curl (scripts/test installs it): without it this test cannot say anything
    // about what a curl user sees, so it fails rather than skip.
    {
        let info = qs.info.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "20", "--proxy"])
                .arg(format!(
                    "socks5h://{}:{}@{}",
                    info.location, info.token, info.socks5
                ))
                .arg("http://web.demo/hello")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            body.contains("demo back end") && body.contains("/hello"),
            "{body}"
        );

        // The demo web service is an HTTP entry: a path outside its resources is refused by
        // the connector, with the reason, before it reaches the back end.
        let info = qs.info.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}", "--proxy"])
                .arg(format!(
                    "socks5h://{}:{}@{}",
                    info.location, info.token, info.socks5
                ))
                .arg("http://web.demo/admin")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(body.trim_end().ends_with("403"), "{body}");
        assert!(!body.contains("demo back end"), "{body}");

        let info = qs.info.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "20", "-p", "--proxy"])
                .arg(format!("http://{}", info.http_proxy))
                .arg("--proxy-user")
                .arg(format!("{}:{}", info.location, info.token))
                .arg("http://web.demo/docs/through-connect")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "curl -p failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("/docs/through-connect"));

        // A support engineer names the service connection; its window is open.
        let info = qs.info.clone();
        let web = info
            .services
            .iter()
            .find(|s| s.connection_type == "http_connect")
            .expect("web service connection")
            .entry
            .clone();
        assert_eq!(web, "http_connect.dem.demo.portcullis:80");
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "20", "--proxy"])
                .arg(format!(
                    "socks5h://engineer:{}@{}",
                    info.engineer_token, info.socks5
                ))
                .arg(format!("http://{web}/hello/as-engineer"))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "curl as engineer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("/as-engineer"));

        // The printed web-link line works: the engineer's link opens the demo web back end
        // through the web entry, with a cookie jar as a browser keeps one.
        assert!(text.contains("portcullis web-link"), "{text}");
        let info = qs.info.clone();
        let eng = portcullis_client::ApiClient::new(
            &info.api_url,
            &std::fs::read_to_string(&info.ca_cert).unwrap(),
            Some(info.engineer_token.clone()),
        )
        .unwrap();
        let services: Vec<portcullis_client::views::ServiceConnection> = eng
            .get("/api/v1/companies/demo/service-connections?connection_type=http_connect")
            .await
            .unwrap();
        let link = eng.web_link(services[0].id).await.unwrap();
        // The link opens the service's own origin with the ticket in its fragment; the page
        // there POSTs it (as a browser does with the form).
        let url = link.url.clone();
        let (login, ticket) = url.split_once("#ticket=").expect("ticket in the fragment");
        assert!(!login.contains('?'), "{url}");
        let host = login
            .strip_prefix("https://")
            .and_then(|r| r.split_once(':'))
            .map(|(h, _)| h.to_owned())
            .unwrap();
        assert!(host.ends_with(".web.localhost"), "{url}");
        let jar = dir.path().join("jar.txt");
        let port = info.web.rsplit_once(':').unwrap().1.to_owned();
        let (login, ticket) = (login.to_owned(), ticket.to_owned());
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "20", "-L", "--cacert"])
                .arg(&info.ca_cert)
                .arg("--resolve")
                .arg(format!("{host}:{port}:127.0.0.1"))
                .arg("-c")
                .arg(&jar)
                .arg("-b")
                .arg(&jar)
                .arg("--data")
                .arg(format!("ticket={ticket}"))
                .arg(login)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && body.contains("demo back end"),
            "{body} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let api = qs.info.api_url.clone();
    qs.shutdown().await;

    // Second start: same token, same connector identity, same ports if free.
    let qs = quickstart::start(dir.path()).await.unwrap();
    assert_eq!(qs.info.token, token);
    assert_eq!(qs.info.services.len(), 2, "the seed is idempotent");
    assert_eq!(qs.info.api_url, api, "ports are reused when free");
    let again: Vec<String> = qs
        .info
        .portal
        .users
        .iter()
        .map(|u| u.password.clone())
        .collect();
    assert_eq!(
        again, passwords,
        "the portal passwords are kept across restarts"
    );
    let u = &qs.info.portal.users[0];
    let browser = Curl::at(&qs.info.api_url, &ca_pem);
    assert_eq!(browser.sign_in(&u.name, &u.password).await.status, 303);
    let c = qs.info.connector_admin.clone().expect("connector_admin");
    assert_eq!(c.password, pw, "the administrator's password is kept");
    let admin_ui = Curl::at(&c.url, &ui_cert);
    assert_eq!(
        admin_ui
            .sign_in(&c.user, &c.password)
            .await
            .header("location"),
        Some("/")
    );
    qs.shutdown().await;
}
