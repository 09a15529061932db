//! The remote-connection commands as a user runs them: the real binary against a real hub
//! (port 0), with the hub's address, CA and token in the environment: the vendor admin's for
//! the vendor's side (companies, vendor users), the customer's first admin's for the company's
//! (connectors, systems, windows, grants, its users), as BY-01 wants it.

use std::path::PathBuf;
use std::process::{Command, Output};

use portcullis_client::views::{Grant, ServiceConnection, Summary, Window};
use portcullis_domain::window::WindowState;
use portcullis_test_support::TestHub;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// A hub and what the CLI needs to reach it.
struct World {
    hub: TestHub,
    _dir: tempfile::TempDir,
    ca: PathBuf,
    admin_token: String,
    /// Acme's first admin (made by the vendor admin with `admin token create --role
    /// company_admin`), once acme exists.
    company_token: Option<String>,
}

impl World {
    async fn new() -> World {
        let hub = TestHub::start().await;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &hub.ca_pem).unwrap();
        let admin_token =
            std::fs::read_to_string(hub.data_dir().join(portcullis_hub::ADMIN_TOKEN_FILE))
                .unwrap()
                .trim()
                .to_string();
        World {
            hub,
            _dir: dir,
            ca,
            admin_token,
            company_token: None,
        }
    }

    /// Creates company acme and its first admin, as the vendor admin hands a company over.
    async fn with_company() -> World {
        let mut w = World::new().await;
        w.ok(&["admin", "company", "create", "acme"]).await;
        let o = w
            .cli_as(
                &w.admin_token,
                &[
                    "admin",
                    "token",
                    "create",
                    "--company",
                    "acme",
                    "--name",
                    "acme-admin",
                    "--role",
                    "company_admin",
                ],
            )
            .await;
        assert!(o.status.success(), "{}", explain(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        w.company_token = Some(v["token"].as_str().unwrap().to_string());
        w
    }

    /// A hub with company `acme`, connector location `site`, system PRD and its `ssh`
    /// service connection, all made through the CLI.
    async fn with_service() -> World {
        let w = World::with_company().await;
        w.ok(&[
            "admin",
            "connector",
            "create",
            "--company",
            "acme",
            "--location",
            "site",
        ])
        .await;
        w.ok(&[
            "system",
            "create",
            "--company",
            "acme",
            "--sid",
            "PRD",
            "--system-number",
            "01",
            "--product",
            "SAP S/4HANA",
            "--product-version",
            "2023",
            "--installation-number",
            "0123456789",
        ])
        .await;
        w.ok(&[
            "connection",
            "create",
            "--company",
            "acme",
            "--system",
            "PRD",
            "--type",
            "ssh",
            "--location",
            "site",
            "--host",
            "prd-app",
        ])
        .await;
        w
    }

    /// Runs `portcullis args` as who does it: the vendor admin for companies and vendor users
    /// (`user …` without `--company`), acme's admin for everything of acme's.
    async fn cli(&self, args: &[&str]) -> Output {
        let vendor_side = (args.first() == Some(&"admin") && args.get(1) == Some(&"company"))
            || (args.first() == Some(&"user") && !args.contains(&"--company"));
        match &self.company_token {
            Some(t) if !vendor_side => self.cli_as(t, args).await,
            _ => self.cli_as(&self.admin_token, args).await,
        }
    }

    async fn cli_as(&self, token: &str, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env = [
            ("PORTCULLIS_HUB", self.hub.api_url.clone()),
            ("PORTCULLIS_CA", self.ca.to_str().unwrap().to_string()),
            ("PORTCULLIS_TOKEN", token.to_string()),
        ];
        // Off the runtime's threads: the hub runs on them.
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(&args)
                .envs(env)
                .output()
                .expect("binary runs")
        })
        .await
        .unwrap()
    }

    /// Runs and expects success; returns standard output.
    async fn ok(&self, args: &[&str]) -> String {
        let o = self.cli(args).await;
        assert!(o.status.success(), "portcullis {args:?}: {}", explain(&o));
        stdout(&o)
    }

    /// Runs with `--json` appended and expects success; returns the JSON.
    async fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.ok(&a).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// [`World::json`] read as the client's view of the hub's answer: `--json` prints the
    /// hub's own fields, so what a program reads from the CLI is what it reads from the API.
    async fn typed<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        let v = self.json(args).await;
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v:#}"))
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn explain(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    )
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

const SVC: [&str; 6] = ["--company", "acme", "--system", "PRD", "--type", "ssh"];

fn with<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_company_admin_opens_lists_extends_and_closes_a_window() {
    let w = World::with_service().await;

    // The service connection as people see it.
    let list = w.ok(&["connection", "list", "--company", "acme"]).await;
    for needle in [
        "PRD",
        "ssh",
        "site",
        "prd-app:22",
        "closed",
        "NETWORK",
        "not_enrolled",
    ] {
        assert!(list.contains(needle), "{needle} in\n{list}");
    }
    // The system is not connected (its only connector never enrolled), and says so.
    let systems = w
        .ok(&[
            "system",
            "list",
            "--company",
            "acme",
            "--network",
            "not_connected",
        ])
        .await;
    assert!(
        systems.contains("PRD") && systems.contains("NETWORK"),
        "{systems}"
    );
    let none = w
        .ok(&[
            "system",
            "list",
            "--company",
            "acme",
            "--network",
            "connected",
        ])
        .await;
    assert!(!none.contains("PRD"), "{none}");

    // A support engineer and his token.
    let eve = w
        .json(&[
            "user",
            "create",
            "--name",
            "eve",
            "--display-name",
            "Eve Engineer",
            "--role",
            "support_engineer",
        ])
        .await;
    assert_eq!(eve["role"], "support_engineer");
    let users = w.ok(&["user", "list"]).await;
    assert!(
        users.contains("eve") && users.contains("Eve Engineer"),
        "{users}"
    );
    let token = w.json(&["user", "token", "eve", "--name", "laptop"]).await;
    let token = token["token"].as_str().expect("a token").to_string();
    assert!(!token.is_empty());
    // The token works: the engineer reads the company's systems.
    let o = w
        .cli_as(&token, &["system", "list", "--company", "acme"])
        .await;
    assert!(
        o.status.success() && stdout(&o).contains("PRD"),
        "{}",
        explain(&o)
    );

    // Open for the default 8 hours, admitting eve.
    let opened: Window = w
        .typed(&with(
            &["window", "open"],
            &with(&SVC, &["--contact", "Ann Admin", "--engineer", "eve"]),
        ))
        .await;
    assert_eq!(opened.state, WindowState::Open);
    let id = opened.id;

    // The table, for people.
    let table = w.ok(&["window", "list", "--company", "acme"]).await;
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with(&id.to_string()))
        .unwrap_or_else(|| panic!("window {id} in\n{table}"));
    for needle in ["PRD", "ssh", "open", "Ann Admin", "eve", "7h 59m"] {
        assert!(row.contains(needle), "{needle} in {row:?}\n{table}");
    }
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains("LEFT"), "{table}");

    // The JSON, for programs: the hub's own fields.
    let listed: Vec<Window> = w.typed(&["window", "list", "--company", "acme"]).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].state, WindowState::Open);
    assert_eq!(listed[0].contact, "Ann Admin");
    assert_eq!(listed[0].engineers, ["eve"]);
    let summary: Summary = w.typed(&["summary", "--company", "acme"]).await;
    assert_eq!(summary.open_connections, 1);

    // Extend to 10 hours from now.
    let until = rfc3339(OffsetDateTime::now_utc() + Duration::hours(10));
    let edited: Window = w
        .typed(&["window", "edit", &id.to_string(), "--until", &until])
        .await;
    assert_eq!(rfc3339(edited.end_at), until);
    let table = w.ok(&["window", "list", "--company", "acme"]).await;
    assert!(table.contains("9h 59m"), "{table}");
    assert!(table.contains(&until), "{table}");

    // Close it: gone from the live list, there with --all.
    let closed: Window = w.typed(&["window", "close", &id.to_string()]).await;
    assert_eq!(closed.state, WindowState::Closed);
    let table = w.ok(&["window", "list", "--company", "acme"]).await;
    assert!(table.contains("no windows"), "{table}");
    let all = w
        .json(&["window", "list", "--company", "acme", "--all"])
        .await;
    assert_eq!(all[0]["state"], "closed");
    let summary = w.json(&["summary", "--company", "acme"]).await;
    assert_eq!(summary["open_connections"], 0);
    // Every window of one service connection, addressed by its id.
    let conns: Vec<ServiceConnection> = w.typed(&["connection", "list", "--company", "acme"]).await;
    let sc = conns[0].id.to_string();
    let table = w.ok(&["window", "list", &sc, "--all"]).await;
    assert!(
        table.contains("closed") && table.contains("PRD") && table.contains("Ann Admin"),
        "{table}"
    );

    // The log book tells the story.
    let book = w
        .ok(&["system", "logbook", "PRD", "--company", "acme"])
        .await;
    for action in ["window.opened", "window.edited", "window.closed"] {
        assert!(book.contains(action), "{action} in\n{book}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_reserved_for_tomorrow_shows_reserved() {
    let w = World::with_service().await;
    let start = rfc3339(OffsetDateTime::now_utc() + Duration::days(1));
    let v = w
        .json(&with(
            &["window", "reserve"],
            &with(
                &SVC,
                &["--start", &start, "--hours", "4", "--contact", "Ann"],
            ),
        ))
        .await;
    assert_eq!(v["state"], "reserved");
    let table = w.ok(&["window", "list", "--company", "acme"]).await;
    assert!(table.contains("reserved"), "{table}");
    assert!(table.contains(&start), "{table}");
    assert!(table.contains("opens in 23h 59m"), "{table}");
    let conns = w
        .ok(&[
            "connection",
            "list",
            "--company",
            "acme",
            "--state",
            "reserved",
        ])
        .await;
    assert!(conns.contains("PRD"), "{conns}");

    // A start already past is not a reservation.
    let past = rfc3339(OffsetDateTime::now_utc() - Duration::hours(1));
    let o = w
        .cli(&with(
            &["window", "reserve"],
            &with(&SVC, &["--start", &past, "--contact", "Ann"]),
        ))
        .await;
    assert!(!o.status.success(), "{}", explain(&o));
    assert!(stderr(&o).contains("window open"), "{}", explain(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engineer_opens_independently_only_where_the_customer_allows_it() {
    let w = World::with_service().await;
    w.ok(&[
        "user",
        "create",
        "--name",
        "eve",
        "--role",
        "support_engineer",
    ])
    .await;
    let token = w.json(&["user", "token", "eve", "--name", "laptop"]).await;
    let eve = token["token"].as_str().unwrap().to_string();

    let o = w.cli_as(&eve, &with(&["window", "open"], &SVC)).await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    assert!(
        stderr(&o).contains("system PRD does not allow independent opening"),
        "{}",
        explain(&o)
    );

    // The customer allows it on PRD.
    w.ok(&[
        "system",
        "update",
        "PRD",
        "--company",
        "acme",
        "--allow-independent-opening",
    ])
    .await;
    let o = w
        .cli_as(
            &eve,
            &with(
                &["window", "open"],
                &with(&SVC, &["--hours", "2", "--json"]),
            ),
        )
        .await;
    assert!(o.status.success(), "{}", explain(&o));
    let v: Window = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v.independent, "{v:?}");
    assert_eq!(v.engineers, ["eve"]);
    let table = w.ok(&["window", "list", "--company", "acme"]).await;
    assert!(
        table.contains("(independent)") && table.contains("1h 59m"),
        "{table}"
    );

    // Eve closes it herself.
    let id = v.id.to_string();
    let o = w.cli_as(&eve, &["window", "close", &id, "--json"]).await;
    assert!(o.status.success(), "{}", explain(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["state"], "closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_of_20_days_and_a_minute_is_refused_with_the_hubs_message() {
    let w = World::with_service().await;
    let until = rfc3339(OffsetDateTime::now_utc() + Duration::days(20) + Duration::minutes(1));
    let o = w
        .cli(&with(
            &["window", "open"],
            &with(&SVC, &["--contact", "Ann", "--until", &until]),
        ))
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    let err = stderr(&o);
    assert!(
        err.contains("portcullis window:") && err.contains("at most 20 days"),
        "{err}"
    );
    assert!(stdout(&o).is_empty(), "{}", explain(&o));
    // Nothing was opened.
    let live = w.json(&["window", "list", "--company", "acme"]).await;
    assert_eq!(live, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn system_list_groups_by_status_under_headings() {
    let w = World::with_service().await;
    for (sid, status) in [("QAS", "active"), ("DEV", "inactive")] {
        w.ok(&[
            "system",
            "create",
            "--company",
            "acme",
            "--sid",
            sid,
            "--product",
            "SAP ERP",
            "--installation-number",
            "0123456789",
            "--status",
            status,
            "--eu-data-protection",
        ])
        .await;
    }
    let out = w
        .ok(&[
            "system",
            "list",
            "--company",
            "acme",
            "--group-by",
            "status",
        ])
        .await;
    let active = out.find("== status active (2) ==").expect(&out);
    let inactive = out.find("== status inactive (1) ==").expect(&out);
    assert!(active < inactive, "{out}");
    let dev = out.find("DEV").expect(&out);
    assert!(dev > inactive, "DEV under inactive:\n{out}");
    assert!(out[active..inactive].contains("PRD") && out[active..inactive].contains("QAS"));

    let v = w
        .json(&[
            "system",
            "list",
            "--company",
            "acme",
            "--group-by",
            "status",
        ])
        .await;
    assert_eq!(v[0]["group"], "active");
    assert_eq!(v[0]["systems"].as_array().unwrap().len(), 2);
    assert_eq!(v[1]["systems"][0]["sid"], "DEV");

    // The hub's filters and an update that keeps what is not given.
    let eu = w
        .json(&[
            "system",
            "list",
            "--company",
            "acme",
            "--flag",
            "eu_data_protection",
        ])
        .await;
    assert_eq!(eu.as_array().unwrap().len(), 2);
    let updated = w
        .json(&[
            "system",
            "update",
            "DEV",
            "--company",
            "acme",
            "--status",
            "active",
        ])
        .await;
    assert_eq!(updated["status"], "active");
    assert_eq!(updated["product"], "SAP ERP");
    assert_eq!(updated["eu_data_protection"], true);

    // Favourites.
    w.ok(&["system", "favourite", "QAS", "--company", "acme"])
        .await;
    let favs = w
        .json(&["system", "list", "--company", "acme", "--favourites"])
        .await;
    assert_eq!(favs.as_array().unwrap().len(), 1);
    assert_eq!(favs[0]["sid"], "QAS");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_technical_user_gets_a_grant_and_loses_it() {
    let w = World::with_service().await;
    w.ok(&[
        "user",
        "create",
        "--company",
        "acme",
        "--name",
        "erp-sync",
        "--role",
        "technical",
    ])
    .await;
    let g: Grant = w
        .typed(&with(
            &["grant", "create"],
            &with(&SVC, &["--user", "erp-sync"]),
        ))
        .await;
    let id = g.id;
    assert!(g.revoked_at.is_none());
    let table = w.ok(&["grant", "list", "--company", "acme"]).await;
    assert!(table.contains("erp-sync"), "{table}");

    let revoked: Grant = w.typed(&["grant", "revoke", &id.to_string()]).await;
    assert!(revoked.revoked_at.is_some(), "{revoked:?}");
    let table = w.ok(&["grant", "list", "--company", "acme"]).await;
    assert!(table.contains("no grants"), "{table}");
    let all: Vec<Grant> = w
        .typed(&["grant", "list", "--company", "acme", "--all"])
        .await;
    assert_eq!(all[0].id, id);

    // A support engineer is not a technical user: the hub's words, exit 1.
    w.ok(&[
        "user",
        "create",
        "--name",
        "eve",
        "--role",
        "support_engineer",
    ])
    .await;
    let o = w
        .cli(&with(&["grant", "create"], &with(&SVC, &["--user", "eve"])))
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engineer_gets_a_route_password_with_its_expiry_and_route_string() {
    let w = World::new().await;
    w.ok(&[
        "user",
        "create",
        "--name",
        "eve",
        "--role",
        "support_engineer",
    ])
    .await;
    let t = w.json(&["user", "token", "eve", "--name", "laptop"]).await;
    let eve = t["token"].as_str().unwrap().to_string();

    // For people: the password, its expiry, and the route string to type into SAP GUI.
    let o = w.cli_as(&eve, &["route-password"]).await;
    assert!(o.status.success(), "{}", explain(&o));
    let out = stdout(&o);
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("PASSWORD"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert!(
        password.starts_with("pct_") && password.len() == 49,
        "{out}"
    );
    assert!(
        out.contains("(in 0h 59m)") || out.contains("(in 1h 0m)"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Route string: /H/127.0.0.1/S/<the hub's NI port>/W/{password}\
             /H/<type>.<SID>.<company>.portcullis/S/<port>"
        )),
        "{out}"
    );
    assert!(stderr(&o).contains("shown only now"), "{}", explain(&o));

    // For scripts: the hub's answer, unchanged.
    let o = w
        .cli_as(&eve, &["route-password", "--ttl-minutes", "5", "--json"])
        .await;
    assert!(o.status.success(), "{}", explain(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["user"], "eve");
    let expires = OffsetDateTime::parse(v["expires_at"].as_str().unwrap(), &Rfc3339).unwrap();
    let left = expires - OffsetDateTime::now_utc();
    assert!(
        left > Duration::minutes(4) && left <= Duration::minutes(5),
        "{left}"
    );

    // Out of range: the hub's words, exit 1.
    let o = w
        .cli_as(&eve, &["route-password", "--ttl-minutes", "721"])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    let err = stderr(&o);
    assert!(
        err.contains("portcullis route-password:") && err.contains("1 to 720"),
        "{err}"
    );
    assert!(stdout(&o).is_empty(), "{}", explain(&o));

    // A route password is no API token: it cannot get another.
    let o = w.cli_as(&password, &["route-password"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    assert!(stderr(&o).contains("route password"), "{}", explain(&o));
}
