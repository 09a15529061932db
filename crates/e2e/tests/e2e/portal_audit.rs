//! The portal's window management and audit pages, driven by curl: editing an open window and
//! reserving one (with the rules' refusals shown and the form kept), a system's log book, the
//! audit list's filters and paging, its CSV download (quoting, formula cells defused, one
//! company's events only), the JSON Lines export and the chain check.

use portcullis_client::requests::{EditWindow, NewServiceConnection};
use portcullis_domain::authz::Role;
use portcullis_test_support::TestHub;
use time::{Duration, OffsetDateTime};

use super::portal::{user_with_password, Curl, Resp};

/// acme with systems PRD and QAS, one service connection each; returns the hub, PRD, PRD's
/// service connection, QAS's service connection.
async fn acme() -> (TestHub, i64, i64, i64) {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let prd = hub.system("acme", "PRD").await;
    let sc = hub
        .service(
            &prd,
            &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
        )
        .await;
    let qas = hub.system("acme", "QAS").await;
    let qas_sc = hub
        .service(
            &qas,
            &NewServiceConnection::new("generic_tcp", "berlin", "qas.internal", 7),
        )
        .await;
    (hub, prd.id, sc.id, qas_sc.id)
}

/// A signed-in browser of `name` (a user made with a password he need not change).
async fn signed_in(hub: &TestHub, company: Option<&str>, name: &str, role: Role) -> Curl {
    let (_, pw) = user_with_password(hub, company, name, role, &[], false).await;
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

/// `YYYY-MM-DDTHH:MM` in UTC, as a `datetime-local` field sends it.
fn field(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

async fn open(c: &Curl, system: i64, sc: i64, contact: &str) {
    let page = c.get(&format!("/systems/{system}")).await;
    let r = c
        .post(
            &format!("/service-connections/{sc}/open"),
            &[("csrf", &page.csrf()), ("contact", contact), ("hours", "8")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

fn refused(r: &Resp, status: u16, text: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    assert!(r.body.contains(text), "no {text:?} in {}", r.body);
}

#[tokio::test]
async fn edit_extends_an_open_window_and_reserving_keeps_to_the_rules() {
    let (hub, system, sc, _) = acme().await;
    let anna = signed_in(&hub, Some("acme"), "anna", Role::CompanyAdmin).await;
    let api = hub.company_admin("acme").await;
    open(&anna, system, sc, "Anna").await;
    let w = api.list_windows(sc).await.unwrap().remove(0);

    // The page offers the edit form of the open window.
    let page = anna.get(&format!("/systems/{system}")).await;
    assert!(
        page.body
            .contains(&format!("action=\"/windows/{}/edit\"", w.id)),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let edit = format!("/windows/{}/edit", w.id);

    // Extend by 4 hours, new contact and engineers: the API shows them.
    let r = anna
        .post(
            &edit,
            &[
                ("csrf", &csrf),
                ("end", ""),
                ("extend", "4"),
                ("contact", "Carl Contact"),
                ("engineers", "eve, ed"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some(format!("/systems/{system}?done=edited").as_str())),
        "{}",
        r.body
    );
    let after = api.get_window(w.id).await.unwrap();
    assert_eq!(after.end_at, w.end_at + Duration::hours(4));
    assert_eq!(after.contact, "Carl Contact");
    assert_eq!(after.engineers, ["eve", "ed"]);
    let page = anna.get(&format!("/systems/{system}?done=edited")).await;
    assert!(
        page.body.contains("The window is changed."),
        "{}",
        page.body
    );

    // Both a new end and hours: refused, the form as typed.
    let r = anna
        .post(
            &edit,
            &[
                ("csrf", &csrf),
                ("end", "2030-01-01T10:00"),
                ("extend", "3"),
                ("contact", "Kept Contact"),
                ("engineers", ""),
            ],
        )
        .await;
    refused(&r, 400, "Give a new end or hours to extend by, not both.");
    assert!(r.body.contains("value=\"Kept Contact\""), "{}", r.body);
    assert!(r.body.contains("value=\"2030-01-01T10:00\""), "{}", r.body);
    assert!(
        r.body.contains("<details class=\"edit\" open>"),
        "{}",
        r.body
    );

    // A new end beyond 20 days: the rule, nothing changed.
    let far = field(OffsetDateTime::now_utc() + Duration::days(21));
    let r = anna
        .post(
            &edit,
            &[
                ("csrf", &csrf),
                ("end", &far),
                ("contact", "Carl Contact"),
                ("engineers", ""),
            ],
        )
        .await;
    refused(&r, 422, "at most 20 days");
    assert!(r.body.contains(&format!("value=\"{far}\"")), "{}", r.body);
    assert_eq!(api.get_window(w.id).await.unwrap().end_at, after.end_at);

    // Reserving: beyond 20 days, in the past, then one that fits, then one overlapping it.
    let reserve = format!("/service-connections/{sc}/reserve");
    let start = OffsetDateTime::now_utc() + Duration::days(2);
    let r = anna
        .post(
            &reserve,
            &[
                ("csrf", &csrf),
                ("start", &field(start)),
                ("end", &field(start + Duration::days(21))),
                ("contact", "Rita"),
                ("engineers", ""),
            ],
        )
        .await;
    refused(&r, 422, "at most 20 days");
    assert!(r.body.contains("value=\"Rita\""), "{}", r.body);
    let past = field(OffsetDateTime::now_utc() - Duration::hours(2));
    let r = anna
        .post(
            &reserve,
            &[
                ("csrf", &csrf),
                ("start", &past),
                ("end", ""),
                ("contact", "Rita"),
                ("engineers", ""),
            ],
        )
        .await;
    refused(&r, 422, "must start in the future");
    assert!(r.body.contains(&format!("value=\"{past}\"")), "{}", r.body);
    assert_eq!(
        api.list_windows(sc).await.unwrap().len(),
        1,
        "nothing opened"
    );
    let r = anna
        .post(
            &reserve,
            &[
                ("csrf", &csrf),
                ("start", &field(start)),
                ("end", &field(start + Duration::hours(4))),
                ("contact", "Rita"),
                ("engineers", "eve"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let windows = api.list_windows(sc).await.unwrap();
    let reserved = windows.iter().find(|x| x.id != w.id).expect("reserved");
    assert_eq!(reserved.state.as_str(), "reserved");
    assert_eq!(reserved.contact, "Rita");
    assert_eq!(reserved.engineers, ["eve"]);
    let r = anna
        .post(
            &reserve,
            &[
                ("csrf", &csrf),
                ("start", &field(start + Duration::hours(1))),
                ("end", ""),
                ("contact", "Otto"),
                ("engineers", ""),
            ],
        )
        .await;
    refused(&r, 422, "already covers part of that time");
    assert!(r.body.contains("value=\"Otto\""), "{}", r.body);

    // The reservation is shown with its times in its own form; it moves a day later, then
    // a start in the past is refused with the rule, and it is cancelled.
    let page = anna.get(&format!("/systems/{system}")).await;
    let rsv_edit = format!("/windows/{}/edit", reserved.id);
    assert!(
        page.body.contains(&format!("action=\"{rsv_edit}\""))
            && page
                .body
                .contains(&format!("value=\"{}\"", field(reserved.start_at))),
        "{}",
        page.body
    );
    let later = start + Duration::days(1);
    let r = anna
        .post(
            &rsv_edit,
            &[
                ("csrf", &csrf),
                ("start", &field(later)),
                ("end", &field(later + Duration::hours(6))),
                ("contact", "Rita Later"),
                ("engineers", "eve"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let moved = api.get_window(reserved.id).await.unwrap();
    assert_eq!(
        (
            field(moved.start_at),
            field(moved.end_at),
            moved.contact.as_str()
        ),
        (
            field(later),
            field(later + Duration::hours(6)),
            "Rita Later"
        )
    );
    let r = anna
        .post(
            &rsv_edit,
            &[
                ("csrf", &csrf),
                ("start", &past),
                ("end", &field(later + Duration::hours(6))),
                ("contact", "Rita Later"),
                ("engineers", "eve"),
            ],
        )
        .await;
    refused(&r, 422, "future");
    assert_eq!(
        api.get_window(reserved.id).await.unwrap().start_at,
        moved.start_at
    );
    let r = anna
        .post(
            &format!("/windows/{}/close", reserved.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.header("location").unwrap_or("");
    assert!(to.ends_with("done=cancelled"), "{to:?}");
    let cancelled = api.get_window(reserved.id).await.unwrap();
    assert_eq!(cancelled.state.as_str(), "closed");
    let page = anna.get(&format!("/systems/{system}?done=cancelled")).await;
    assert!(
        page.body.contains("The reservation is cancelled."),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&format!("action=\"{rsv_edit}\"")));

    // Without the CSRF token nothing is edited.
    let r = anna
        .post(
            &edit,
            &[("extend", "1"), ("contact", "X"), ("engineers", "")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(api.get_window(w.id).await.unwrap().contact, "Carl Contact");
}

#[tokio::test]
async fn the_log_book_lists_the_systems_window_events_only_and_not_for_engineers() {
    let (hub, system, sc, qas_sc) = acme().await;
    let anna = signed_in(&hub, Some("acme"), "anna", Role::CompanyAdmin).await;
    open(&anna, system, sc, "Anna").await;
    // A window on QAS too, then close PRD's.
    let page = anna.get(&format!("/systems/{system}")).await;
    let r = anna
        .post(
            &format!("/service-connections/{qas_sc}/open"),
            &[("csrf", &page.csrf()), ("contact", "Quinn"), ("hours", "8")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let prd_window = hub
        .company_admin("acme")
        .await
        .list_windows(sc)
        .await
        .unwrap()
        .remove(0);
    let r = anna
        .post(
            &format!("/windows/{}/close", prd_window.id),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    let page = anna.get(&format!("/systems/{system}")).await;
    assert!(
        page.body
            .contains(&format!("href=\"/systems/{system}/logbook\"")),
        "{}",
        page.body
    );
    let book = anna.get(&format!("/systems/{system}/logbook")).await;
    assert_eq!(book.status, 200, "{}", book.body);
    let opened = book
        .body
        .find("<td>window.opened</td>")
        .expect("opened row");
    let closed = book
        .body
        .find("<td>window.closed</td>")
        .expect("closed row");
    assert!(closed < opened, "newest first: {}", book.body);
    assert_eq!(book.body.matches("<td>window.opened</td>").count(), 1);
    assert!(book.body.contains("acme/PRD/"), "{}", book.body);
    assert!(
        !book.body.contains("acme/QAS/"),
        "QAS in PRD's log book: {}",
        book.body
    );
    assert!(!book.body.contains("Quinn"), "{}", book.body);

    // A support engineer sees systems, not their log books.
    let sam = signed_in(&hub, None, "sam", Role::SupportEngineer).await;
    let r = sam.get(&format!("/systems/{system}/logbook")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.body.contains("window.opened"), "{}", r.body);
}

#[tokio::test]
async fn the_audit_list_filters_by_action_and_actor_and_pages_back() {
    let (hub, system, sc, _) = acme().await;
    let anna = signed_in(&hub, Some("acme"), "anna", Role::CompanyAdmin).await;
    let home = anna.get("/").await;
    assert!(home.body.contains("href=\"/audit\""), "{}", home.body);
    open(&anna, system, sc, "Anna").await;
    // 30 edits through the API: more than a page of 25.
    let api = hub.company_admin("acme").await;
    let w = api.list_windows(sc).await.unwrap().remove(0);
    for i in 0..30 {
        api.edit_window(
            w.id,
            &EditWindow {
                contact: Some(format!("Contact {i}")),
                ..EditWindow::default()
            },
        )
        .await
        .unwrap();
    }

    let all = anna.get("/audit").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.contains("<td>window.opened</td>"), "{}", all.body);
    assert!(all.body.contains("<td>user.signed_in</td>"), "{}", all.body);

    let windows = anna.get("/audit?action=window.").await;
    assert!(windows.body.contains("<td>window.opened</td>"));
    assert!(
        !windows.body.contains("<td>user.signed_in</td>"),
        "{}",
        windows.body
    );

    // The actor as the list shows it (a portal session's token).
    let actor = hub.audit("window.opened").await.remove(0).actor;
    assert!(
        all.body.contains(&format!("<td>{actor}</td>")),
        "{}",
        all.body
    );
    let by_anna = anna
        .get(&format!("/audit?actor={}", actor.replace('#', "%23")))
        .await;
    assert_eq!(by_anna.body.matches("<td>window.opened</td>").count(), 1);
    assert!(
        !by_anna.body.contains("<td>user.created</td>"),
        "{}",
        by_anna.body
    );
    let nobody = anna.get("/audit?actor=user%3Anobody").await;
    assert!(nobody.body.contains("No event matches."), "{}", nobody.body);

    // Paging: 25 newest edits, then the older ones; the newest page has no "newest" link.
    let first = anna.get("/audit?action=window.edited&limit=25").await;
    assert_eq!(first.body.matches("<td>window.edited</td>").count(), 25);
    assert!(!first.body.contains("Newest events"));
    let at = first.body.find("rel=\"next\"").expect("older link");
    let href_at = first.body[..at].rfind("href=\"").unwrap() + 6;
    let href = &first.body[href_at..];
    let href = href[..href.find('"').unwrap()].replace("&#38;", "&");
    assert!(href.contains("before="), "{href}");
    let older = anna.get(&href).await;
    assert_eq!(
        older.body.matches("<td>window.edited</td>").count(),
        5,
        "{}",
        older.body
    );
    assert!(older.body.contains("Newest events"));
    assert!(!older.body.contains("rel=\"next\""));

    // A time window in the future holds nothing; a malformed one is refused with the format.
    let future = field(OffsetDateTime::now_utc() + Duration::days(1));
    let later = anna.get(&format!("/audit?from={future}")).await;
    assert!(later.body.contains("No event matches."), "{}", later.body);
    let bad = anna.get("/audit?from=yesterday").await;
    refused(&bad, 400, "a date and time in UTC");
    assert!(bad.body.contains("value=\"yesterday\""), "{}", bad.body);

    // A company user may not read the audit log: no entry, a refusal.
    let ulf = signed_in(&hub, Some("acme"), "ulf", Role::CompanyUser).await;
    let home = ulf.get("/").await;
    assert!(!home.body.contains("href=\"/audit\""), "{}", home.body);
    assert_eq!(ulf.get("/audit").await.status, 403);
    assert_eq!(ulf.get("/audit.csv").await.status, 403);
}

#[tokio::test]
async fn the_csv_is_quoted_defuses_formulas_and_holds_one_companys_events() {
    let (hub, system, sc, _) = acme().await;
    hub.company("globex").await;
    hub.connector("globex", "paris").await;
    let gx = hub.system("globex", "GXP").await;
    let gx_sc = hub
        .service(
            &gx,
            &NewServiceConnection::new("generic_tcp", "paris", "gx.internal", 7),
        )
        .await;
    let gina = signed_in(&hub, Some("globex"), "gina", Role::CompanyAdmin).await;
    open(&gina, gx.id, gx_sc.id, "Gina of Globex").await;
    let anna = signed_in(&hub, Some("acme"), "anna", Role::CompanyAdmin).await;
    open(&anna, system, sc, "Anna").await;
    // Someone types a formula as a user name: recorded as the failed sign-in's target.
    let evil = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let r = Curl::new(&hub).sign_in(evil, "whatever-password").await;
    assert_eq!(r.status, 401);

    let csv = anna.get("/audit.csv").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/csv")));
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"portcullis-audit-acme.csv\"")
    );
    let mut lines = csv.body.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("\"seq\",\"time\",\"company_id\",\"actor\",\"action\",\"target\",\"outcome\",\"detail\"")
    );
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let opened: Vec<&&str> = rows
        .iter()
        .filter(|l| l.contains(",\"window.opened\","))
        .collect();
    assert_eq!(opened.len(), 1, "{}", csv.body);
    assert!(opened[0].contains(",\"token:portal#"), "{}", opened[0]);
    assert!(
        opened[0].contains("\"acme/PRD/generic_tcp\""),
        "{}",
        opened[0]
    );
    // JSON detail: quotes doubled inside one quoted cell.
    assert!(
        opened[0].contains("\"\"contact\"\":\"\"Anna\"\""),
        "{}",
        opened[0]
    );
    // Another company's events and the hub's own are not acme's.
    for forbidden in ["globex", "Gina", "gina", "HYPERLINK"] {
        assert!(
            !csv.body.contains(forbidden),
            "{forbidden} in acme's CSV: {}",
            csv.body
        );
    }
    let list = anna.get("/audit").await;
    for forbidden in ["globex", "Gina", "gina", "HYPERLINK"] {
        assert!(
            !list.body.contains(forbidden),
            "{forbidden} in acme's list: {}",
            list.body
        );
    }
    // The same filters as the list.
    let only = anna.get("/audit.csv?action=window.").await;
    assert!(
        only.body
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .all(|l| l.contains(",\"window.")),
        "{}",
        only.body
    );

    // The vendor's reader sees every company's events, the formula defused.
    let vera = signed_in(&hub, None, "vera", Role::VendorAdmin).await;
    let all = vera.get("/audit.csv").await;
    assert_eq!(all.status, 200);
    assert!(all.body.contains("Gina of Globex"), "{}", all.body);
    assert!(
        all.body
            .contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        "{}",
        all.body
    );
    assert!(!all.body.contains(",\"=HYPERLINK"), "{}", all.body);
}

#[tokio::test]
async fn the_jsonl_export_starts_with_its_header_and_the_chain_check_is_the_vendors() {
    let (hub, system, sc, _) = acme().await;
    let anna = signed_in(&hub, Some("acme"), "anna", Role::CompanyAdmin).await;
    open(&anna, system, sc, "Anna").await;

    let r = anna.get("/audit/export.jsonl?action=window.").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"portcullis-audit-acme.jsonl\"")
    );
    let lines: Vec<serde_json::Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines[0]["portcullis_audit_export"], 1, "{}", r.body);
    assert_eq!(lines[0]["filter"]["company"], "acme");
    assert_eq!(lines[0]["filter"]["action"], "window.");
    assert!(lines[0]["exported_by"]
        .as_str()
        .is_some_and(|b| b.starts_with("token:portal#")));
    assert_eq!(lines[1]["action"], "window.opened");
    assert_eq!(lines.last().unwrap()["portcullis_audit_export_end"], 1);
    assert_eq!(hub.audit("audit.exported").await.len(), 1);

    // The chain check: a company admin is told why not; the vendor's admin gets the report.
    let page = anna.get("/audit").await;
    assert!(page.body.contains("Check the chain"), "{}", page.body);
    let r = anna.post("/audit/verify", &[("csrf", &page.csrf())]).await;
    refused(&r, 403, "administrators and auditors can check the chain");
    assert!(hub.audit("audit.verified").await.is_empty());
    let vera = signed_in(&hub, None, "vera", Role::VendorAdmin).await;
    let page = vera.get("/audit").await;
    let r = vera.post("/audit/verify", &[]).await;
    assert_eq!(r.status, 403, "no CSRF token: {}", r.body);
    let r = vera.post("/audit/verify", &[("csrf", &page.csrf())]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The chain is intact: all "), "{}", r.body);
    assert_eq!(hub.audit("audit.verified").await.len(), 1);
}
