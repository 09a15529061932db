//! The portal's systems list (issue #15), driven by curl: the filter syntax (NOT, `state:`,
//! `favourite:`) and its refusals, the API's `?q=` giving the same set, the favourite toggle,
//! the CSV download (header, rows, a formula defused), paging links that keep the query, and
//! group headings.

use portcullis_client::requests::{NewServiceConnection, OpenWindow, SystemQuery};
use portcullis_domain::authz::Role;
use portcullis_domain::system::{SystemData, SystemStatus, SystemType};
use portcullis_test_support::TestHub;
use time::{Duration, OffsetDateTime};

use super::portal::{user_with_password, Curl, Resp};

fn data(sid: &str, ty: SystemType, product: &str, status: SystemStatus, desc: &str) -> SystemData {
    SystemData {
        sid: sid.into(),
        system_number: "00".into(),
        system_type: ty,
        product: product.into(),
        product_version: "2023".into(),
        installation_number: "0020123456".into(),
        status,
        eu_data_protection: false,
        advanced_secure_support: false,
        allow_independent_opening: false,
        description: desc.into(),
    }
}

/// acme with PRD (a window open), QAS (a window reserved; a formula as description), DEV
/// (inactive, Java, no service connection); returns the hub and the ids of PRD and DEV.
async fn acme() -> (TestHub, i64, i64) {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let admin = hub.company_admin("acme").await;
    let mk = |d: SystemData| {
        let admin = admin.clone();
        async move {
            admin
                .create_system("acme", &d)
                .await
                .expect("create system")
        }
    };
    use SystemStatus::*;
    use SystemType::*;
    let prd = mk(data("PRD", Abap, "SAP S/4HANA", Active, "production")).await;
    let qas = mk(data(
        "QAS",
        Abap,
        "SAP S/4HANA",
        Active,
        "=HYPERLINK(\"x\")",
    ))
    .await;
    let dev = mk(data("DEV", Java, "SAP NetWeaver", Inactive, "dev box")).await;
    let prd_sc = hub
        .service(
            &prd,
            &NewServiceConnection::new("generic_tcp", "berlin", "prd.internal", 7),
        )
        .await;
    let qas_sc = hub
        .service(
            &qas,
            &NewServiceConnection::new("generic_tcp", "berlin", "qas.internal", 7),
        )
        .await;
    admin
        .open_window(prd_sc.id, &OpenWindow::now("Ops"))
        .await
        .expect("open");
    let tomorrow = OffsetDateTime::now_utc() + Duration::days(1);
    admin
        .open_window(qas_sc.id, &OpenWindow::reserve("Ops", tomorrow))
        .await
        .expect("reserve");
    (hub, prd.id, dev.id)
}

async fn signed_in(hub: &TestHub) -> Curl {
    let (_, pw) =
        user_with_password(hub, Some("acme"), "anna", Role::CompanyUser, &[], false).await;
    let c = Curl::new(hub);
    let r = c.sign_in("anna", &pw).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/")),
        "{}",
        r.body
    );
    c
}

/// The SIDs a list page shows, in order.
fn sids(r: &Resp) -> Vec<String> {
    r.body
        .split("<td><a href=\"/systems/")
        .skip(1)
        .map(|s| {
            let s = &s[s.find("\">").unwrap() + 2..];
            s[..s.find("</a>").unwrap()].to_string()
        })
        .collect()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn list(c: &Curl, q: &str) -> Vec<String> {
    let r = c.get(&format!("/systems?q={}", enc(q))).await;
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    sids(&r)
}

#[tokio::test]
async fn the_filter_syntax_negates_picks_by_state_and_matches_the_api() {
    let (hub, _, _) = acme().await;
    let anna = signed_in(&hub).await;
    assert_eq!(list(&anna, "").await, ["DEV", "PRD", "QAS"]);
    assert_eq!(list(&anna, "NOT status:inactive").await, ["PRD", "QAS"]);
    assert_eq!(list(&anna, "-type:abap").await, ["DEV"]);
    assert_eq!(list(&anna, "s/4hana NOT production").await, ["QAS"]);
    assert_eq!(list(&anna, "state:open").await, ["PRD"]);
    assert_eq!(list(&anna, "state:reserved").await, ["QAS"]);
    assert_eq!(list(&anna, "NOT state:closed").await, ["DEV", "PRD", "QAS"]);
    assert_eq!(list(&anna, "network:not_set_up").await, ["DEV"]);
    // The explicit fields still work, beside the syntax.
    let r = anna.get("/systems?status=active&q=NOT+state%3Aopen").await;
    assert_eq!(sids(&r), ["QAS"]);

    // A mistake is said on the page, with a 400.
    let r = anna.get("/systems?q=colour%3Ared").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unknown field"), "{}", r.body);
    assert!(
        r.body.contains("value=\"colour:red\""),
        "the query is kept: {}",
        r.body
    );
    let r = anna.get("/systems?q=state%3Aajar").await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("is not one of open, closed, reserved"),
        "{}",
        r.body
    );

    // The API's q= picks the same set, and refuses the same mistakes.
    let admin = hub.company_admin("acme").await;
    for q in [
        "NOT status:inactive",
        "state:open",
        "s/4hana NOT production",
        "-type:abap",
    ] {
        let api: Vec<String> = admin
            .list_systems_where(
                "acme",
                &SystemQuery {
                    q: Some(q.into()),
                    ..SystemQuery::default()
                },
            )
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.system.data.sid)
            .collect();
        assert_eq!(api, list(&anna, q).await, "{q}");
    }
    let (status, body) = admin
        .get_raw("/api/v1/companies/acme/systems?q=colour%3Ared")
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 400, "{body}");
    assert_eq!(body["code"], "invalid", "{body}");
}

#[tokio::test]
async fn favourites_toggle_from_the_list_and_filter_it() {
    let (hub, prd, dev) = acme().await;
    let anna = signed_in(&hub).await;
    let page = anna.get("/systems?q=NOT+state%3Areserved").await;
    let csrf = page.csrf();
    // Mark PRD: back to the list as it was.
    let r = anna
        .post(
            &format!("/systems/{prd}/favourite"),
            &[
                ("csrf", &csrf),
                ("on", "1"),
                ("back", "q=NOT+state%3Areserved&page=1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some("/systems?q=NOT+state%3Areserved")
    );
    anna.post(
        &format!("/systems/{dev}/favourite"),
        &[("csrf", &csrf), ("on", "1"), ("back", "")],
    )
    .await;
    assert_eq!(list(&anna, "favourite:yes").await, ["DEV", "PRD"]);
    assert_eq!(list(&anna, "favourite:no").await, ["QAS"]);
    let r = anna.get("/systems?q=favourite%3Ayes").await;
    assert!(
        r.body
            .contains("Unmark<span class=\"sr-only\"> PRD as favourite"),
        "{}",
        r.body
    );
    // Unmark: the same op as DELETE /api/v1/systems/{id}/favourite.
    anna.post(
        &format!("/systems/{dev}/favourite"),
        &[("csrf", &csrf), ("on", "0"), ("back", "")],
    )
    .await;
    assert_eq!(list(&anna, "favourite:yes").await, ["PRD"]);
    // A `back` that tries to leave the list stays on it.
    let r = anna
        .post(
            &format!("/systems/{prd}/favourite"),
            &[
                ("csrf", &csrf),
                ("on", "1"),
                ("back", "//evil.example/\r\nx"),
            ],
        )
        .await;
    assert_eq!(r.header("location"), Some("/systems"));
    // Without the CSRF token nothing changes.
    let r = anna
        .post(
            &format!("/systems/{prd}/favourite"),
            &[("csrf", "not-the-token"), ("on", "0"), ("back", "")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(list(&anna, "favourite:yes").await, ["PRD"]);
}

#[tokio::test]
async fn the_csv_holds_the_filtered_rows_with_formulas_defused() {
    let (hub, _, _) = acme().await;
    let anna = signed_in(&hub).await;
    let page = anna
        .get("/systems?q=NOT+status%3Ainactive&sort=product")
        .await;
    assert!(
        page.body
            .contains("href=\"/systems.csv?q=NOT+status%3Ainactive&#38;sort=product\""),
        "{}",
        page.body
    );
    let r = anna.get("/systems.csv?q=NOT+status%3Ainactive").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = r.body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\"id\",\"sid\",\"system_number\",\"system_type\",\"product\",\"product_version\",\
         \"installation_number\",\"status\",\"description\",\"service_connections\",\
         \"open_connections\",\"network\",\"favourite\",\"flags\""
    );
    assert_eq!(lines.len(), 4, "header, PRD, QAS, and the end: {lines:?}");
    assert!(lines[1].contains("\"PRD\""), "{}", lines[1]);
    assert!(
        lines[1].contains("\"production\",\"1\",\"1\""),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "the formula is defused: {}",
        lines[2]
    );
    assert_eq!(lines[3], "");
    // A mistake is an error page, not a file.
    assert_eq!(anna.get("/systems.csv?q=NOT").await.status, 400);
}

#[tokio::test]
async fn pages_of_fifty_keep_the_query_and_groups_have_headings() {
    let (hub, _, _) = acme().await;
    let admin = hub.company_admin("acme").await;
    for i in 0..60 {
        let sid = format!("X{i:02}");
        admin
            .create_system(
                "acme",
                &data(
                    &sid,
                    SystemType::Hana,
                    "SAP HANA",
                    SystemStatus::Active,
                    "bulk",
                ),
            )
            .await
            .expect("create");
    }
    let anna = signed_in(&hub).await;
    let r = anna.get("/systems?q=bulk&group=type").await;
    assert_eq!(r.status, 200);
    assert_eq!(sids(&r).len(), 50);
    assert!(r.body.contains("Systems 1–50 of 60"), "{}", r.body);
    assert!(!r.body.contains("rel=\"prev\""));
    assert!(
        r.body
            .contains("<a href=\"/systems?q=bulk&#38;group=type&#38;page=2\" rel=\"next\">"),
        "{}",
        r.body
    );
    let r = anna.get("/systems?q=bulk&group=type&page=2").await;
    assert_eq!(
        sids(&r),
        (50..60).map(|i| format!("X{i}")).collect::<Vec<_>>()
    );
    assert!(r.body.contains("Systems 51–60 of 60"), "{}", r.body);
    assert!(r
        .body
        .contains("<a href=\"/systems?q=bulk&#38;group=type&#38;page=1\" rel=\"prev\">"));
    assert!(!r.body.contains("rel=\"next\""));
    assert_eq!(anna.get("/systems?page=0").await.status, 400);

    // Grouped by type: a heading per group, groups in order, each its own table.
    let r = anna.get("/systems?group=type&q=NOT+bulk").await;
    let h = |t: &str| r.body.find(&format!("<h2 class=\"group\">Type: {t}</h2>"));
    let (abap, hana, java) = (h("abap"), h("hana"), h("java"));
    assert!(abap.is_some() && java.is_some(), "{}", r.body);
    assert!(hana.is_none(), "{}", r.body);
    assert!(abap < java);
    assert_eq!(sids(&r), ["PRD", "QAS", "DEV"]);
    let r = anna.get("/systems?group=network&q=NOT+bulk").await;
    assert!(
        r.body
            .contains("<h2 class=\"group\">Network: not connected</h2>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<h2 class=\"group\">Network: not set up</h2>"),
        "{}",
        r.body
    );
    assert_eq!(anna.get("/systems?group=colour").await.status, 400);
}
