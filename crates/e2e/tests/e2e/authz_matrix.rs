//! The authorization matrix (issue #4): every role against every endpoint of the REST API,
//! allowed and denied; and tenant isolation: nothing of company A is visible or reachable to
//! users of company B.
//!
//! One hub, two companies (`acme` is A, `globex` is B) and a user of every role, each with a
//! token made through the API. [`MATRIX`] has one row per endpoint and method and one column
//! per caller; every call is made on A's data. The expected values are the rules of
//! `portcullis_domain::authz::authorize` (its module docs have them as a table). The vendor
//! admin's column says BY-01: he reads a customer's data but opens, edits, closes and reserves
//! no window, sets up no service connection, gives no grant, makes no customer user, token or
//! connector and changes no system — only a new company's first admin:
//!
//! * `Y` allowed: a 2xx answer (every row that changes something works on a fresh fixture A's
//!   first admin makes just before the call, so "allowed" never trips over a conflict);
//! * `-` denied: 403, or 404 where the caller may not even see the object;
//! * `N` not found: exactly 404, the answer to another company's data, which never says
//!   whether it exists.
//!
//! Not in the matrix: `POST /enroll` (no token: a one-time enrolment token is the credential)
//! and `GET /connect` (a session entry point: who may open a session is decided against windows
//! and grants, `access.rs` and `windows.rs` show it).

use std::sync::atomic::{AtomicUsize, Ordering};

use portcullis_client::requests::NewUser;
use portcullis_client::ApiClient;
use portcullis_domain::authz::{Authorization, Role};
use portcullis_test_support::clients::{socks5_connect, Socks5Outcome};
use portcullis_test_support::TestHub;
use serde_json::{json, Value};

/// The callers, in the matrix's column order.
const COLUMNS: [&str; 11] = [
    "VA vendor_admin",
    "SE support_engineer",
    "AV auditor (vendor-wide)",
    "AA auditor of A",
    "CA company_admin of A",
    "CU company_user of A (no authorization)",
    "CO company_user of A + open_service_connections",
    "CS company_user of A + maintain_system_data",
    "CM company_user of A + maintain_access_data",
    "TE technical of A",
    "CB company_admin of B",
];

/// One endpoint and method, called on company A's data by every caller.
struct Row {
    method: &'static str,
    /// `{a}`: A's name; `{sys}`, `{sc}`, `{win}`: A's standing system, service connection and
    /// open window; `{me}`: the caller's user id; `{new_…}`: a fresh fixture per call.
    path: &'static str,
    /// JSON; `{name}`, `{sid}`, `{key}`: fresh values; `{tech}`: A's technical user.
    body: Option<&'static str>,
    /// One of `Y`, `-`, `N` per column.
    expect: &'static str,
}

const fn row(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    expect: &'static str,
) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

const SYSTEM: &str = r#"{"sid":"{sid}","system_number":"00","system_type":"abap",
    "product":"SAP S/4HANA","product_version":"2023","installation_number":"0020123456",
    "status":"active","eu_data_protection":false,"advanced_secure_support":false,
    "allow_independent_opening":false,"description":"matrix"}"#;
const CONN_TYPE: &str = r#"{"key":"{key}","name":"Own tool","protocol":"tcp",
    "default_port":4711,"needs_url":false,"description":"matrix"}"#;
const SERVICE: &str = r#"{"connection_type":"generic_tcp","location":"berlin",
    "virtual_host":"erp.internal","virtual_port":3200}"#;

#[rustfmt::skip]
const MATRIX: &[Row] = &[
    //                                                                                  VA SE AV AA CA CU CO CS CM TE CB
    // meta (no token needed)
    row("GET",    "/api/v1/health", None,                                               "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    row("GET",    "/api/v1/version", None,                                              "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    row("GET",    "/api/v1/openapi.json", None,                                         "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    // companies: CreateCompany; the list shows what ReadCompany allows (content: isolation test)
    row("POST",   "/api/v1/companies", Some(r#"{"name":"{name}"}"#),                    "Y  -  -  -  -  -  -  -  -  -  -"),
    row("GET",    "/api/v1/companies", None,                                            "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  Y"),
    row("GET",    "/api/v1/companies/{a}/summary", None,                                "Y  Y  Y  Y  Y  Y  Y  Y  Y  -  N"),
    // company tokens: ManageTokens. The vendor admin makes a company's first admin only
    // (BootstrapCompanyAdmin; A has one already), nothing else of a customer's credentials
    row("POST",   "/api/v1/companies/{new_company}/tokens", Some(r#"{"name":"{name}","role":"company_admin"}"#),
                                                                                        "Y  -  -  N  N  N  N  N  N  N  N"),
    row("POST",   "/api/v1/companies/{a}/tokens", Some(r#"{"name":"{name}","role":"company_admin"}"#),
                                                                                        "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/companies/{a}/tokens", Some(r#"{"name":"{name}"}"#),         "-  -  -  -  Y  -  -  -  -  -  N"),
    row("GET",    "/api/v1/companies/{a}/tokens", None,                                 "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/tokens/{new_token}/revoke", Some("{}"),                      "-  -  -  -  Y  -  -  -  -  -  N"),
    // connectors: ManageConnectors, ReadConnectors
    row("POST",   "/api/v1/companies/{a}/connectors", Some(r#"{"location":"{name}"}"#), "-  -  -  -  Y  -  -  -  -  -  N"),
    row("GET",    "/api/v1/companies/{a}/connectors", None,                             "Y  Y  -  -  Y  Y  Y  Y  Y  -  N"),
    row("POST",   "/api/v1/connectors/{new_connector}/enrollment-token", Some("{}"),    "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/connectors/{new_connector}/revoke", Some("{}"),              "-  -  -  -  Y  -  -  -  -  -  N"),
    // a company's OpenID Connect sign-in: ManageUsers on the company, its super administrator
    // only (a provider decides who signs in as the company's users: the customer's key)
    row("PUT",    "/api/v1/companies/{a}/oidc", Some(r#"{"issuer":"https://idp.example.com","client_id":"hub","client_secret":"s"}"#),
                                                                                        "-  -  -  -  Y  -  -  -  -  -  N"),
    row("GET",    "/api/v1/companies/{a}/oidc", None,                                   "-  -  -  -  Y  -  -  -  -  -  N"),
    row("DELETE", "/api/v1/companies/{a}/oidc", None,                                   "-  -  -  -  Y  -  -  -  -  -  N"),
    // users: ManageUsers, ReadUsers, ManageTokens; vendor users are the vendor admin's
    row("POST",   "/api/v1/users", Some(r#"{"company":"acme","name":"{name}","role":"company_user"}"#),
                                                                                        "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/users", Some(r#"{"name":"{name}","role":"support_engineer"}"#),
                                                                                        "Y  -  -  -  -  -  -  -  -  -  -"),
    row("GET",    "/api/v1/users?company={a}", None,                                    "Y  -  -  -  Y  Y  Y  Y  Y  -  N"),
    row("GET",    "/api/v1/users", None,                                                "Y  -  -  -  -  -  -  -  -  -  -"),
    row("PATCH",  "/api/v1/users/{new_user}", Some(r#"{"authorizations":["maintain_access_data"]}"#),
                                                                                        "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/users/{new_user}/disable", Some("{}"),                       "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/users/{new_user}/tokens", Some(r#"{"name":"t"}"#),           "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/users/{new_engineer}/disable", Some("{}"),                   "Y  -  -  -  -  -  -  -  -  -  -"),
    // a token never mints tokens for its own user (issue 13, class 6): nobody, whatever his role
    row("POST",   "/api/v1/users/{me}/tokens", Some(r#"{"name":"mine"}"#),              "-  -  -  -  -  -  -  -  -  -  -"),
    // route passwords: CreateRoutePassword, always for oneself; every dialog user, no technical one
    row("POST",   "/api/v1/route-passwords", Some(r#"{"ttl_minutes":5}"#),              "Y  Y  Y  Y  Y  Y  Y  Y  Y  -  Y"),
    // systems: ReadSystems, MaintainSystems, KeepFavourites, ReadLogBook
    row("GET",    "/api/v1/companies/{a}/systems", None,                                "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("POST",   "/api/v1/companies/{a}/systems", Some(SYSTEM),                        "-  -  -  -  Y  -  -  Y  -  -  N"),
    row("GET",    "/api/v1/systems/{sys}", None,                                        "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("PUT",    "/api/v1/systems/{new_system}", Some(SYSTEM),                         "-  -  -  -  Y  -  -  Y  -  -  N"),
    row("DELETE", "/api/v1/systems/{new_system}", None,                                 "-  -  -  -  Y  -  -  Y  -  -  N"),
    row("PUT",    "/api/v1/systems/{sys}/favourite", Some("{}"),                        "Y  Y  -  -  Y  Y  Y  Y  Y  -  N"),
    row("DELETE", "/api/v1/systems/{sys}/favourite", None,                              "Y  Y  -  -  Y  Y  Y  Y  Y  -  N"),
    row("GET",    "/api/v1/systems/{sys}/logbook", None,                                "Y  -  Y  Y  Y  Y  Y  Y  Y  -  N"),
    // connection types: ReadSystems, MaintainSystems
    row("GET",    "/api/v1/companies/{a}/connection-types", None,                       "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("POST",   "/api/v1/companies/{a}/connection-types", Some(CONN_TYPE),            "-  -  -  -  Y  -  -  Y  -  -  N"),
    row("DELETE", "/api/v1/connection-types/{new_type}", None,                          "-  -  -  -  Y  -  -  Y  -  -  N"),
    // service connections: ReadSystems, OperateConnections
    row("GET",    "/api/v1/companies/{a}/service-connections", None,                    "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("POST",   "/api/v1/systems/{new_system}/service-connections", Some(SERVICE),    "-  -  -  -  Y  -  Y  -  -  -  N"),
    row("GET",    "/api/v1/service-connections/{sc}", None,                             "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("DELETE", "/api/v1/service-connections/{new_service}", None,                    "-  -  -  -  Y  -  Y  -  -  -  N"),
    // windows: ReadSystems, OperateConnections
    row("GET",    "/api/v1/service-connections/{sc}/windows", None,                     "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("POST",   "/api/v1/service-connections/{new_service}/windows", Some(r#"{"contact":"Bob"}"#),
                                                                                        "-  -  -  -  Y  -  Y  -  -  -  N"),
    row("GET",    "/api/v1/companies/{a}/windows", None,                                "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("GET",    "/api/v1/windows/{win}", None,                                        "Y  Y  Y  Y  Y  Y  Y  Y  Y  Y  N"),
    row("PATCH",  "/api/v1/windows/{new_window}", Some(r#"{"contact":"Carol"}"#),       "-  -  -  -  Y  -  Y  -  -  -  N"),
    row("POST",   "/api/v1/windows/{new_window}/close", Some("{}"),                     "-  -  -  -  Y  -  Y  -  -  -  N"),
    // independent opening (RC-13): a support engineer opens and closes his own, on a system
    // that allows it (OpenIndependently); the customer's side as above
    row("POST",   "/api/v1/service-connections/{new_independent_service}/windows", Some(r#"{"contact":"Bob"}"#),
                                                                                        "-  Y  -  -  Y  -  Y  -  -  -  N"),
    row("POST",   "/api/v1/windows/{new_own_window}/close", Some("{}"),                 "-  Y  -  -  Y  -  Y  -  -  -  N"),
    // web links (OpenSession, then the window): only the engineer its open window admits
    row("POST",   "/api/v1/service-connections/{new_web_service}/web-link", Some("{}"),
                                                                                        "-  Y  -  -  -  -  -  -  -  -  N"),
    // standing grants: ManageGrants
    row("POST",   "/api/v1/service-connections/{new_service}/grants", Some(r#"{"user":"{tech}"}"#),
                                                                                        "-  -  -  -  Y  -  -  -  -  -  N"),
    row("GET",    "/api/v1/companies/{a}/grants", None,                                 "-  -  -  -  Y  -  -  -  -  -  N"),
    row("POST",   "/api/v1/grants/{new_grant}/revoke", Some("{}"),                      "-  -  -  -  Y  -  -  -  -  -  N"),
    // audit: ReadAudit (without a company: everything for vendor-wide readers, else one's own)
    row("GET",    "/api/v1/audit?company={a}", None,                                    "Y  -  Y  Y  Y  -  -  -  -  -  N"),
    row("GET",    "/api/v1/audit", None,                                                "Y  -  Y  Y  Y  -  -  -  -  -  Y"),
    row("GET",    "/api/v1/audit/export?company={a}", None,                             "Y  -  Y  Y  Y  -  -  -  -  -  N"),
    row("GET",    "/api/v1/audit/export", None,                                         "Y  -  Y  Y  Y  -  -  -  -  -  Y"),
    row("GET",    "/api/v1/audit/verify", None,                                         "Y  -  Y  -  -  -  -  -  -  -  -"),
];

/// A caller: one column.
struct Caller {
    label: &'static str,
    user_id: i64,
    api: ApiClient,
}

/// The hub, both companies' standing objects and every caller.
struct World {
    hub: TestHub,
    /// A's first admin (bootstrapped by the vendor admin): makes A's fixtures.
    acme: ApiClient,
    callers: Vec<Caller>,
    /// Company ids.
    a: i64,
    b: i64,
    /// A's standing objects.
    ao: Objects,
    /// B's standing objects.
    bo: Objects,
    /// For fresh names.
    n: AtomicUsize,
}

/// One company's standing objects (ids).
#[derive(Debug, Clone, Copy)]
struct Objects {
    sys: i64,
    sc: i64,
    win: i64,
    grant: i64,
    connector: i64,
    user: i64,
    token: i64,
    conn_type: i64,
}

/// How a call ended: a 2xx answer, or the error status with the hub's `[code]`.
type Outcome = Result<(), (u16, String)>;

/// Performs one call and reduces the answer to its [`Outcome`]. Error answers must be JSON
/// `{code, message}`.
async fn call(api: &ApiClient, method: &str, path: &str, body: Option<&Value>) -> Outcome {
    let empty = json!({});
    let body = body.unwrap_or(&empty);
    let res: Result<Value, portcullis_client::ClientError> = match method {
        "GET" if path.starts_with("/api/v1/audit/export") => {
            let mut sink = Vec::new();
            api.download(path, &mut sink).await.map(|_| Value::Null)
        }
        "GET" => api.get(path).await,
        "POST" => api.post(path, body).await,
        "PUT" => api.put(path, body).await,
        "PATCH" => api.patch(path, body).await,
        "DELETE" => api.delete(path).await,
        m => panic!("unknown method {m}"),
    };
    let Err(e) = res else { return Ok(()) };
    let msg = e.to_string();
    let status = msg
        .split_once("refused (")
        .and_then(|(_, s)| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: not a JSON {{code, message}} error: {msg}"));
    Err((status, msg))
}

impl World {
    fn fresh(&self) -> usize {
        self.n.fetch_add(1, Ordering::Relaxed)
    }

    /// A SID no system of A has yet (`Q` and two letters; none is reserved).
    fn fresh_sid(&self) -> String {
        let n = self.fresh();
        let l = |i: usize| char::from(b'A' + (i % 26) as u8);
        format!("Q{}{}", l(n / 26), l(n))
    }

    /// A fixture of A, made by A's first admin.
    async fn admin_post(&self, path: &str, body: Value) -> Value {
        self.acme
            .post(path, &body)
            .await
            .unwrap_or_else(|e| panic!("fixture POST {path}: {e}"))
    }

    /// A fresh fixture of company A, made by A's first admin (a vendor engineer or a new
    /// company by the vendor admin); returns its id.
    async fn make(&self, kind: &str) -> i64 {
        let v = match kind {
            "new_system" => {
                let body = SYSTEM.replace("{sid}", &self.fresh_sid());
                let body = serde_json::from_str(&body).unwrap();
                self.admin_post("/api/v1/companies/acme/systems", body)
                    .await
            }
            "new_service" => {
                let sys = Box::pin(self.make("new_system")).await;
                let body = serde_json::from_str(SERVICE).unwrap();
                self.admin_post(&format!("/api/v1/systems/{sys}/service-connections"), body)
                    .await
            }
            "new_independent_service" => {
                let mut sys: Value =
                    serde_json::from_str(&SYSTEM.replace("{sid}", &self.fresh_sid())).unwrap();
                sys["allow_independent_opening"] = json!(true);
                let sys = self.admin_post("/api/v1/companies/acme/systems", sys).await;
                let body = serde_json::from_str(SERVICE).unwrap();
                self.admin_post(
                    &format!("/api/v1/systems/{}/service-connections", sys["id"]),
                    body,
                )
                .await
            }
            "new_web_service" => {
                // An HTTP service connection with an open window that names nobody.
                let sys = Box::pin(self.make("new_system")).await;
                let body = json!({"connection_type": "http_connect", "location": "berlin",
                                  "virtual_host": "erp.internal", "virtual_port": 80,
                                  "url": "http://erp.internal/"});
                let sc = self
                    .admin_post(&format!("/api/v1/systems/{sys}/service-connections"), body)
                    .await;
                self.admin_post(
                    &format!("/api/v1/service-connections/{}/windows", sc["id"]),
                    json!({"contact": "Alice"}),
                )
                .await;
                sc
            }
            "new_own_window" => {
                // Opened independently by the support engineer of the second column.
                let sc = Box::pin(self.make("new_independent_service")).await;
                let se = &self.callers[1];
                assert!(se.label.starts_with("SE"), "{}", se.label);
                se.api
                    .post(
                        &format!("/api/v1/service-connections/{sc}/windows"),
                        &json!({}),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("independent opening by the engineer: {e}"))
            }
            "new_window" => {
                let sc = Box::pin(self.make("new_service")).await;
                let body = json!({"contact": "Alice"});
                self.admin_post(&format!("/api/v1/service-connections/{sc}/windows"), body)
                    .await
            }
            "new_grant" => {
                let sc = Box::pin(self.make("new_service")).await;
                let body = json!({"user": "tech-a"});
                self.admin_post(&format!("/api/v1/service-connections/{sc}/grants"), body)
                    .await
            }
            "new_user" => {
                let body = json!({"company": "acme", "name": format!("u{}", self.fresh()),
                                  "role": "company_user"});
                self.admin_post("/api/v1/users", body).await
            }
            "new_engineer" => {
                let body =
                    json!({"name": format!("e{}", self.fresh()), "role": "support_engineer"});
                self.hub.admin.post("/api/v1/users", &body).await.unwrap()
            }
            "new_company" => {
                let body = json!({"name": format!("co{}", self.fresh())});
                self.hub
                    .admin
                    .post("/api/v1/companies", &body)
                    .await
                    .unwrap()
            }
            "new_type" => {
                let body = CONN_TYPE.replace("{key}", &format!("k{}", self.fresh()));
                let body = serde_json::from_str(&body).unwrap();
                self.admin_post("/api/v1/companies/acme/connection-types", body)
                    .await
            }
            "new_connector" => {
                let body = json!({"location": format!("l{}", self.fresh())});
                let v = self
                    .admin_post("/api/v1/companies/acme/connectors", body)
                    .await;
                v["connector"].clone()
            }
            "new_token" => {
                let body = json!({"name": format!("t{}", self.fresh())});
                self.admin_post("/api/v1/companies/acme/tokens", body).await
            }
            other => panic!("unknown fixture {other}"),
        };
        v["id"].as_i64().unwrap_or_else(|| panic!("{kind}: {v}"))
    }

    /// Fills in a row's path and body for `caller`, making its fresh fixture.
    async fn prepare(&self, row: &Row, caller: &Caller) -> (String, Option<Value>) {
        let mut path = row
            .path
            .replace("{a}", "acme")
            .replace("{sys}", &self.ao.sys.to_string())
            .replace("{sc}", &self.ao.sc.to_string())
            .replace("{win}", &self.ao.win.to_string())
            .replace("{me}", &caller.user_id.to_string());
        if let Some((_, rest)) = path.split_once("{new_") {
            let kind = format!("new_{}", rest.split_once('}').unwrap().0);
            let id = self.make(&kind).await;
            path = path.replace(&format!("{{{kind}}}"), &id.to_string());
        }
        let body = row.body.map(|b| {
            let b = b
                .replace("{name}", &format!("m{}", self.fresh()))
                .replace("{sid}", &self.fresh_sid())
                .replace("{key}", &format!("k{}", self.fresh()))
                .replace("{tech}", "tech-a");
            serde_json::from_str(&b).unwrap_or_else(|e| panic!("{}: {e}", row.path))
        });
        (path, body)
    }
}

/// A company's standing objects, made through the API: a connector `location`, system PRD, a
/// generic TCP service connection, an open window, a technical user `tech` with a grant, a
/// company user, a company token and an own connection type.
async fn objects(hub: &TestHub, company: &str, location: &str, tech: &str) -> Objects {
    let (connector, _) = hub.connector(company, location).await;
    let admin = hub.company_admin(company).await;
    let post = |path: String, body: Value| {
        let admin = admin.clone();
        async move {
            let v: Value = admin.post(&path, &body).await.unwrap();
            v
        }
    };
    let sys = post(
        format!("/api/v1/companies/{company}/systems"),
        serde_json::from_str(&SYSTEM.replace("{sid}", "PRD")).unwrap(),
    )
    .await;
    let sc = post(
        format!("/api/v1/systems/{}/service-connections", sys["id"]),
        serde_json::from_str(&SERVICE.replace("berlin", location)).unwrap(),
    )
    .await;
    let win = post(
        format!("/api/v1/service-connections/{}/windows", sc["id"]),
        json!({"contact": "Bob"}),
    )
    .await;
    hub.user_with_token(NewUser::new(tech, Role::Technical).in_company(company))
        .await;
    let grant = post(
        format!("/api/v1/service-connections/{}/grants", sc["id"]),
        json!({"user": tech}),
    )
    .await;
    let user = post(
        "/api/v1/users".into(),
        json!({"company": company, "name": format!("{company}-user"), "role": "company_user"}),
    )
    .await;
    let token = post(
        format!("/api/v1/companies/{company}/tokens"),
        json!({"name": "ci"}),
    )
    .await;
    let conn_type = post(
        format!("/api/v1/companies/{company}/connection-types"),
        serde_json::from_str(&CONN_TYPE.replace("{key}", &format!("{company}_tool"))).unwrap(),
    )
    .await;
    let id = |v: &Value| v["id"].as_i64().unwrap();
    Objects {
        sys: id(&sys),
        sc: id(&sc),
        win: id(&win),
        grant: id(&grant),
        connector,
        user: id(&user),
        token: id(&token),
        conn_type: id(&conn_type),
    }
}

async fn world() -> World {
    let hub = TestHub::start().await;
    let a = hub.company("acme").await.id;
    let b = hub.company("globex").await.id;
    let ao = objects(&hub, "acme", "berlin", "tech-a").await;
    let bo = objects(&hub, "globex", "paris", "tech-b").await;

    // The bootstrap admin is a user too (for "one's own token").
    let admin_token = hub.admin.token().unwrap().to_string();
    let (public, _) = portcullis_hub::auth::parse_api_token(&admin_token).unwrap();
    let admin_id = hub
        .state()
        .store
        .find_api_token(public)
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let mut callers = vec![Caller {
        label: COLUMNS[0],
        user_id: admin_id,
        api: hub.client(&admin_token),
    }];
    let authorized = |name: &str, a: Authorization| NewUser {
        authorizations: [a].into_iter().collect(),
        ..NewUser::new(name, Role::CompanyUser).in_company("acme")
    };
    let bodies = [
        NewUser::new("se", Role::SupportEngineer),
        NewUser::new("auditor", Role::Auditor),
        NewUser::new("auditor-a", Role::Auditor).in_company("acme"),
        NewUser::new("admin-a", Role::CompanyAdmin).in_company("acme"),
        NewUser::new("user-a", Role::CompanyUser).in_company("acme"),
        authorized("opener-a", Authorization::OpenServiceConnections),
        authorized("sysdata-a", Authorization::MaintainSystemData),
        authorized("access-a", Authorization::MaintainAccessData),
        NewUser::new("bot-a", Role::Technical).in_company("acme"),
        NewUser::new("admin-b", Role::CompanyAdmin).in_company("globex"),
    ];
    for (label, body) in COLUMNS[1..].iter().zip(bodies) {
        let (user_id, token) = hub.user_with_token(body).await;
        callers.push(Caller {
            label,
            user_id,
            api: hub.client(&token),
        });
    }
    World {
        acme: hub.company_admin("acme").await,
        hub,
        callers,
        a,
        b,
        ao,
        bo,
        n: AtomicUsize::new(0),
    }
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    let w = world().await;
    let mut failures = Vec::new();
    for row in MATRIX {
        let expect: Vec<&str> = row.expect.split_whitespace().collect();
        assert_eq!(expect.len(), COLUMNS.len(), "{} {}", row.method, row.path);
        for (caller, want) in w.callers.iter().zip(expect) {
            let (path, body) = w.prepare(row, caller).await;
            let got = call(&caller.api, row.method, &path, body.as_ref()).await;
            let ok = match (want, &got) {
                ("Y", Ok(())) => true,
                ("-", Err((403 | 404, _))) => true,
                ("N", Err((404, _))) => true,
                ("Y" | "-" | "N", _) => false,
                (other, _) => panic!("{}: unknown expectation {other:?}", row.path),
            };
            if !ok {
                failures.push(format!(
                    "{} {path} as {}: expected {want}, got {got:?}",
                    row.method, caller.label
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ from the rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The calls B's admin makes on A's objects (by id) and A's lists (by name and by id):
/// `{co}` is the company, `{sys}`, `{sc}`, `{win}`, `{grant}`, `{user}`, `{conn}`, `{token}`,
/// `{type}` A's objects.
const ON_A: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/api/v1/systems/{sys}", None),
    ("PUT", "/api/v1/systems/{sys}", Some(SYSTEM)),
    ("DELETE", "/api/v1/systems/{sys}", None),
    ("PUT", "/api/v1/systems/{sys}/favourite", None),
    ("DELETE", "/api/v1/systems/{sys}/favourite", None),
    ("GET", "/api/v1/systems/{sys}/logbook", None),
    (
        "POST",
        "/api/v1/systems/{sys}/service-connections",
        Some(SERVICE),
    ),
    ("GET", "/api/v1/service-connections/{sc}", None),
    ("DELETE", "/api/v1/service-connections/{sc}", None),
    ("GET", "/api/v1/service-connections/{sc}/windows", None),
    (
        "POST",
        "/api/v1/service-connections/{sc}/windows",
        Some(r#"{"contact":"Eve"}"#),
    ),
    (
        "POST",
        "/api/v1/service-connections/{sc}/grants",
        Some(r#"{"user":"tech-a"}"#),
    ),
    ("POST", "/api/v1/service-connections/{sc}/web-link", None),
    ("GET", "/api/v1/windows/{win}", None),
    (
        "PATCH",
        "/api/v1/windows/{win}",
        Some(r#"{"contact":"Eve"}"#),
    ),
    ("POST", "/api/v1/windows/{win}/close", None),
    ("POST", "/api/v1/grants/{grant}/revoke", None),
    (
        "PATCH",
        "/api/v1/users/{user}",
        Some(r#"{"authorizations":[]}"#),
    ),
    ("POST", "/api/v1/users/{user}/disable", None),
    (
        "POST",
        "/api/v1/users/{user}/tokens",
        Some(r#"{"name":"x"}"#),
    ),
    ("POST", "/api/v1/connectors/{conn}/revoke", None),
    ("POST", "/api/v1/connectors/{conn}/enrollment-token", None),
    ("POST", "/api/v1/tokens/{token}/revoke", None),
    ("DELETE", "/api/v1/connection-types/{type}", None),
    ("GET", "/api/v1/companies/{co}/systems", None),
    ("POST", "/api/v1/companies/{co}/systems", Some(SYSTEM)),
    ("GET", "/api/v1/companies/{co}/service-connections", None),
    ("GET", "/api/v1/companies/{co}/windows", None),
    ("GET", "/api/v1/companies/{co}/grants", None),
    ("GET", "/api/v1/companies/{co}/connection-types", None),
    (
        "POST",
        "/api/v1/companies/{co}/connection-types",
        Some(CONN_TYPE),
    ),
    ("GET", "/api/v1/companies/{co}/connectors", None),
    (
        "POST",
        "/api/v1/companies/{co}/connectors",
        Some(r#"{"location":"evil"}"#),
    ),
    ("GET", "/api/v1/companies/{co}/tokens", None),
    (
        "POST",
        "/api/v1/companies/{co}/tokens",
        Some(r#"{"name":"evil"}"#),
    ),
    ("GET", "/api/v1/companies/{co}/summary", None),
    ("GET", "/api/v1/users?company={co}", None),
    (
        "POST",
        "/api/v1/users",
        Some(r#"{"company":"{co}","name":"evil","role":"company_admin"}"#),
    ),
    ("GET", "/api/v1/audit?company={co}", None),
    ("GET", "/api/v1/audit/export?company={co}", None),
];

/// Fills in a template of [`ON_A`] with company `co` and the objects `o`.
fn on(template: &str, co: &str, o: &Objects) -> String {
    [
        ("{co}", co.to_string()),
        ("{sys}", o.sys.to_string()),
        ("{sc}", o.sc.to_string()),
        ("{win}", o.win.to_string()),
        ("{grant}", o.grant.to_string()),
        ("{user}", o.user.to_string()),
        ("{conn}", o.connector.to_string()),
        ("{token}", o.token.to_string()),
        ("{type}", o.conn_type.to_string()),
        ("{sid}", "EVE".to_string()),
        ("{key}", "evil".to_string()),
    ]
    .iter()
    .fold(template.to_string(), |t, (k, v)| t.replace(k, v))
}

#[tokio::test]
async fn nothing_of_company_a_is_visible_or_reachable_to_company_b() {
    let w = world().await;
    let b_admin = &w.callers[10].api;
    let b_tech_token = w.hub.token("globex", "intruder").await;
    let b_tech = w.hub.client(&b_tech_token);

    // Every object of A, by id, and every list of A, by name and by id: B's admin gets the
    // same 404 as the vendor admin for something that does not exist, and B's technical user
    // is refused too.
    let nothing = Objects {
        sys: 999_999,
        sc: 999_999,
        win: 999_999,
        grant: 999_999,
        connector: 999_999,
        user: 999_999,
        token: 999_999,
        conn_type: 999_999,
    };
    for (method, path, body) in ON_A {
        for co in ["acme".to_string(), w.a.to_string()] {
            let real = on(path, &co, &w.ao);
            let real_body: Option<Value> =
                body.map(|b| serde_json::from_str(&on(b, &co, &w.ao)).unwrap());
            let got = call(b_admin, method, &real, real_body.as_ref()).await;
            let Err((404, msg)) = &got else {
                panic!("B's admin, {method} {real}: expected 404, got {got:?}");
            };
            let ghost = on(path, "nosuchco", &nothing);
            let ghost_body: Option<Value> =
                body.map(|b| serde_json::from_str(&on(b, "nosuchco", &nothing)).unwrap());
            let missing = call(&w.hub.admin, method, &ghost, ghost_body.as_ref()).await;
            assert_eq!(
                missing,
                Err((404, msg.clone())),
                "{method} {real}: B's 404 differs from a missing object's ({ghost})"
            );
            let got = call(&b_tech, method, &real, real_body.as_ref()).await;
            assert!(
                matches!(got, Err((403 | 404, _))),
                "B's technical user, {method} {real}: {got:?}"
            );
        }
    }

    // A's objects are untouched: B's calls changed nothing.
    let win_now: Value = w
        .hub
        .admin
        .get(&format!("/api/v1/windows/{}", w.ao.win))
        .await
        .unwrap();
    assert_eq!(win_now["state"], "open");
    assert_eq!(win_now["contact"], "Bob");

    // Lists: A's never hold B's objects, B's never hold A's.
    let lists = |company: &str| {
        [
            "systems",
            "service-connections",
            "windows",
            "grants",
            "connection-types",
            "connectors",
            "tokens",
        ]
        .map(|l| format!("/api/v1/companies/{company}/{l}"))
        .into_iter()
        .chain([
            format!("/api/v1/users?company={company}"),
            format!("/api/v1/audit?company={company}&limit=1000"),
        ])
        .collect::<Vec<_>>()
    };
    let a_admin = &w.callers[4].api;
    for (who, api, own, other, paths) in [
        ("A's admin", a_admin, w.a, w.b, lists("acme")),
        (
            "the vendor admin, A",
            &w.hub.admin,
            w.a,
            w.b,
            // He reads A's data but not its grants and tokens (the customer's credentials).
            lists("acme")
                .into_iter()
                .filter(|p| !p.ends_with("/grants") && !p.ends_with("/tokens"))
                .collect(),
        ),
        ("B's admin", b_admin, w.b, w.a, lists("globex")),
    ] {
        for path in paths {
            let items: Vec<Value> = api.get(&path).await.unwrap();
            assert!(
                items.iter().any(|i| i["company_id"] == own),
                "{who}: {path} lists nothing of its own company"
            );
            for i in &items {
                assert!(
                    i["company_id"] == own
                        || (path.contains("connection-types") && i["company_id"].is_null()),
                    "{who}: {path} holds another company's object: {i}"
                );
                assert_ne!(i["company_id"], other);
            }
        }
    }
    // The company list shows what ReadCompany allows: every company to vendor-wide readers,
    // one's own to a company's people, none to a technical user.
    for (i, want) in [(1, 2), (2, 2), (3, 1), (4, 1), (5, 1), (9, 0), (10, 1)] {
        let companies: Vec<Value> = w.callers[i].api.get("/api/v1/companies").await.unwrap();
        assert_eq!(
            companies.len(),
            want,
            "{}: {companies:?}",
            w.callers[i].label
        );
    }
    // The company list, the audit log without a company, a system's log book.
    for (api, own, other) in [(a_admin, w.a, w.b), (b_admin, w.b, w.a)] {
        let companies: Vec<Value> = api.get("/api/v1/companies").await.unwrap();
        assert_eq!(companies.len(), 1, "{companies:?}");
        assert_eq!(companies[0]["id"], own);
        let events: Vec<Value> = api.get("/api/v1/audit?limit=1000").await.unwrap();
        assert!(!events.is_empty());
        assert!(events.iter().all(|e| e["company_id"] == own), "{events:?}");
        assert!(events.iter().all(|e| e["company_id"] != other));
    }
    let book: Vec<Value> = a_admin
        .get(&format!("/api/v1/systems/{}/logbook", w.ao.sys))
        .await
        .unwrap();
    assert!(!book.is_empty());
    assert!(book.iter().all(|e| e["company_id"] == w.a), "{book:?}");
    let b_book: Vec<Value> = b_admin
        .get(&format!("/api/v1/systems/{}/logbook", w.bo.sys))
        .await
        .unwrap();
    assert!(b_book.iter().all(|e| e["company_id"] == w.b), "{b_book:?}");
    // B's own objects are there for B (the 404s above are about A, not a broken admin).
    let bo = &w.bo;
    for (path, id) in [
        (format!("/api/v1/systems/{}", bo.sys), bo.sys),
        (format!("/api/v1/service-connections/{}", bo.sc), bo.sc),
        (format!("/api/v1/windows/{}", bo.win), bo.win),
    ] {
        let v: Value = b_admin.get(&path).await.unwrap();
        assert_eq!(v["id"], id);
    }
    for (list, id) in [
        ("/api/v1/companies/globex/grants", bo.grant),
        ("/api/v1/companies/globex/connectors", bo.connector),
        ("/api/v1/users?company=globex", bo.user),
        ("/api/v1/companies/globex/tokens", bo.token),
        ("/api/v1/companies/globex/connection-types", bo.conn_type),
    ] {
        let items: Vec<Value> = b_admin.get(list).await.unwrap();
        assert!(items.iter().any(|i| i["id"] == id), "{list} lacks {id}");
    }

    // Not reachable either: B's technical user is refused A's service connection by name.
    match socks5_connect(
        w.hub.socks5(),
        "any",
        &b_tech_token,
        "generic_tcp.prd.acme.portcullis",
        3200,
    )
    .await
    .unwrap()
    {
        Socks5Outcome::Refused(_) => {}
        other => panic!("B's technical user reached A's service connection: {other:?}"),
    }
}
