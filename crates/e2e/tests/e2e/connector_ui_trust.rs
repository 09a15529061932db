//! The connector admin UI's trust store and security status, driven by curl against a real
//! connector (admin UI on port 0) behind a real hub, with a real TLS back end that requires
//! the connector's system certificate and an HTTP back end that sets a cookie:
//!
//! - a CA uploaded on `/trust` (a file input, multipart) lets the https back end through the
//!   hub without a restart; removed, it is refused again; both audited with the user;
//! - trust all needs its confirmation, lets any back end through, and shows on `/security`
//!   and `GET /api/v1/security`;
//! - the security status names users with a one-time password until they change it.
//!
//! The world and helpers here serve `connector_ui_certs` (UI and system certificates) and
//! `connector_ui_trust_roles` (roles, the API matrix, domain mappings) too.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

use portcullis_test_support::{TestConnector, TestHub};
use rcgen::ExtendedKeyUsagePurpose;

use super::backend_tls::{ca, curl_at, https_backend, leaf, Ca};
use super::connector_ui::{api, first_logon, NEW_PASSWORD};
use super::portal::{between, Curl, Resp};

/// A connector `berlin` with the admin UI, its system certificate, and an https back end
/// `erp.internal:80` whose CA the connector does not trust yet.
pub(crate) struct World {
    pub(crate) hub: TestHub,
    pub(crate) conn: TestConnector,
    pub(crate) token: String,
    pub(crate) server_ca: Ca,
    pub(crate) client_ca: Ca,
    _pki: tempfile::TempDir,
}

/// An HTTP back end whose every answer sets a cookie for `.corp.example`.
async fn cookie_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let svc =
                hyper::service::service_fn(|_req: hyper::Request<hyper::body::Incoming>| async {
                    let mut resp = hyper::Response::new(Full::new(Bytes::from("cookie\n")));
                    resp.headers_mut().insert(
                        "set-cookie",
                        "sso=7; Domain=.corp.example; Path=/".parse().unwrap(),
                    );
                    Ok::<_, Infallible>(resp)
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

pub(crate) async fn world() -> World {
    let server_ca = ca("Back-end server CA");
    let client_ca = ca("Connector client CA");
    let backend = https_backend(&server_ca, &client_ca).await;
    let web = cookie_backend().await;
    let pki = tempfile::tempdir().unwrap();
    let (sys_cert, sys_key, _, _) =
        leaf(&client_ca, "connector", ExtendedKeyUsagePurpose::ClientAuth);
    let (cert, key) = (pki.path().join("system.pem"), pki.path().join("system.key"));
    std::fs::write(&cert, sys_cert).unwrap();
    std::fs::write(&key, sys_key).unwrap();
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .with_admin_ui()
        .with_toml(&format!(
            "[backend_tls]\nsystem_certificate = \"{}\"\nsystem_certificate_key = \"{}\"\n",
            cert.display(),
            key.display()
        ))
        .expose_with(
            "erp",
            "erp.internal:80",
            backend,
            "protocol = \"https\"\nsystem_certificate = true\n\
             [[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
        )
        .expose_with(
            "web",
            "web.internal:80",
            web,
            "protocol = \"http\"\n\
             [[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
        )
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 2)
        .await;
    let token = hub.token("acme", "app").await;
    hub.grant("acme", &token, "berlin", "erp.internal:80").await;
    hub.grant("acme", &token, "berlin", "web.internal:80").await;
    World {
        hub,
        conn,
        token,
        server_ca,
        client_ca,
        _pki: pki,
    }
}

impl World {
    pub(crate) fn base(&self) -> String {
        format!(
            "https://{}",
            self.conn.admin_addr().expect("the admin UI listens")
        )
    }

    pub(crate) fn ui_cert(&self) -> String {
        std::fs::read_to_string(self.conn.data_dir().join("admin/ui-cert.pem")).unwrap()
    }

    pub(crate) fn client(&self) -> Curl {
        Curl::at(&self.base(), &self.ui_cert())
    }

    /// An Administrator client past the first logon.
    pub(crate) async fn admin(&self) -> Curl {
        let one_time = std::fs::read_to_string(self.conn.data_dir().join("admin/initial-password"))
            .unwrap()
            .trim()
            .to_owned();
        let c = self.client();
        first_logon(&c, "Administrator", &one_time).await;
        c
    }

    /// A user `name` with `role`, made by `admin`, past his first logon.
    pub(crate) async fn user(&self, admin: &Curl, name: &str, role: &str) -> Curl {
        let one_time = self.one_time(admin, name, role).await;
        let c = self.client();
        first_logon(&c, name, &one_time).await;
        c
    }

    /// Makes `name` with `role`; his one-time password.
    pub(crate) async fn one_time(&self, admin: &Curl, name: &str, role: &str) -> String {
        let page = admin.get("/users").await;
        let r = admin
            .post(
                "/users",
                &[("csrf", &page.csrf()), ("name", name), ("role", role)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string()
    }

    /// Through the hub to the https back end: (passed, text).
    pub(crate) async fn through(&self, path: &str) -> (bool, String) {
        let url = format!("http://erp.internal{path}");
        curl_at(&self.hub, "berlin", &self.token, &url).await
    }

    /// The `Set-Cookie` the web entry's answer carries through the hub.
    pub(crate) async fn cookie(&self) -> String {
        let args = vec![
            "-sS".to_owned(),
            "-i".into(),
            "--max-time".into(),
            "20".into(),
            "--proxy".into(),
            format!("http://{}", self.hub.http_proxy()),
            "--proxy-user".into(),
            format!("berlin:{}", self.token),
            "http://web.internal/x".into(),
        ];
        let out = tokio::task::spawn_blocking(move || Command::new("curl").args(&args).output())
            .await
            .unwrap()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .unwrap_or_else(|| panic!("no cookie: {text}"))
            .to_owned()
    }

    pub(crate) fn config(&self) -> String {
        std::fs::read_to_string(self.conn.config_path()).unwrap()
    }

    pub(crate) fn audit(&self) -> String {
        std::fs::read_to_string(self.conn.audit_log()).unwrap()
    }
}

/// A multipart POST of `fields` (`name=value`, or `name=@file` for a file).
pub(crate) async fn upload(c: &Curl, path: &str, fields: &[String]) -> Resp {
    let url = c.url(path);
    let mut args: Vec<&str> = Vec::new();
    for f in fields {
        args.extend(["-F", f.as_str()]);
    }
    args.push(&url);
    c.run(&args).await
}

/// Whether a new TLS connection to `base` trusting only `ca_pem` gets an answer to
/// `/signin` (curl as a separate process: the connector runs on this test's runtime).
pub(crate) async fn tls_trusted(base: &str, ca_pem: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    tokio::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--max-time", "10", "--cacert"])
        .arg(&ca)
        .arg(format!("{base}/signin"))
        .status()
        .await
        .expect("curl runs")
        .success()
}

/// The row of check `id` on the security page.
pub(crate) fn check_row<'a>(page: &'a str, id: &str) -> &'a str {
    between(page, &format!("<tr id=\"check-{id}\">"), "</tr>")
}

pub(crate) const GENERATE: &str = "{\"subject\":\"CN=matrix\",\"days\":30}";
pub(crate) const CSR: &str = "{\"subject\":\"CN=matrix-csr\"}";
pub(crate) const CHAIN: &str = "{\"chain_pem\":\"not a chain\"}";
pub(crate) const MAPPING: &str = "{\"virtual\":\"p.example\",\"internal\":\"c.example\"}";
pub(crate) const UI_CSR: &str = "{\"cn\":\"matrix.example\"}";

/// (method, path, body, status for Administrator, for Display, for Monitoring).
pub(crate) type ApiCase<'a> = (&'a str, &'a str, Option<&'a str>, u16, u16, u16);

pub(crate) fn json(r: &Resp) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[tokio::test]
async fn a_ca_uploaded_on_the_trust_page_lets_the_back_end_through_and_its_removal_refuses_it() {
    let mut w = world().await;
    let admin = w.admin().await;
    let (_, text) = w.through("/a").await;
    assert!(text.contains("the back-end trust store is empty"), "{text}");

    let page = admin.get("/trust").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("The trust store is empty."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("aria-current=\"page\">Trust store"),
        "{}",
        page.body
    );
    // Not a certificate: refused by name, nothing written.
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.pem", "hello");
    let r = upload(
        &admin,
        "/trust/add",
        &[
            format!("csrf={}", page.csrf()),
            "name=junk".into(),
            format!("file=@{junk}"),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("The certificate: no CERTIFICATE in it"),
        "{}",
        r.body
    );
    assert!(!w.config().contains("trust_store"), "{}", w.config());

    // The back end's CA through the file input: listed, in force without a restart.
    let ca_file = write(dir.path(), "erp-ca.pem", &w.server_ca.pem);
    let r = upload(
        &admin,
        "/trust/add",
        &[
            format!("csrf={}", page.csrf()),
            "name=erp-ca".into(),
            format!("file=@{ca_file}"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<td>CN=Back-end server CA</td>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("trust/erp-ca.pem"), "{}", r.body);
    w.conn
        .wait_status("the new trust store in force", |s| {
            s.backend_tls_reloads >= 1
        })
        .await;
    let (ok, text) = w.through("/orders").await;
    assert!(ok && text.contains("secure back end got /orders"), "{text}");

    // Removed: refused again, the file gone.
    let file = between(&r.body, "name=\"name\" value=\"", "\"").to_string();
    let r = admin
        .post("/trust/remove", &[("csrf", &page.csrf()), ("name", &file)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The trust store is empty."), "{}", r.body);
    w.conn
        .wait_status("the trust store without it", |s| s.backend_tls_reloads >= 2)
        .await;
    let (_, text) = w.through("/b").await;
    assert!(text.contains("the back-end trust store is empty"), "{text}");
    assert!(!w.conn.data_dir().join("trust/erp-ca.pem").exists());
    let audit = w.audit();
    let edits: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("\"action\":\"trust_store.edited\""))
        .collect();
    assert_eq!(edits.len(), 2, "{audit}");
    for l in edits {
        assert!(
            l.contains("\"by\":\"Administrator\"") && l.contains("\"via\":\"ui\""),
            "{l}"
        );
    }
}

#[tokio::test]
async fn trust_all_needs_its_confirmation_lets_any_back_end_through_and_shows_as_a_warning() {
    let mut w = world().await;
    let admin = w.admin().await;
    let sec = admin.get("/security").await;
    assert_eq!(sec.status, 200, "{}", sec.body);
    assert!(
        check_row(&sec.body, "trust_all").contains(">ok<"),
        "{}",
        sec.body
    );

    // Without the confirmation: refused, nothing changed.
    let page = admin.get("/trust").await;
    let r = admin
        .post("/trust/trust-all", &[("csrf", &page.csrf()), ("on", "yes")])
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("Trust all was not turned on"), "{}", r.body);
    assert!(!w.config().contains("trust_all"), "{}", w.config());

    let r = admin
        .post(
            "/trust/trust-all",
            &[("csrf", &page.csrf()), ("on", "yes"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("id=\"trust-all-warning\""), "{}", r.body);
    assert!(w.config().contains("trust_all = true"), "{}", w.config());
    w.conn
        .wait_status("trust all in force", |s| s.backend_tls_reloads >= 1)
        .await;
    // An empty store, yet the untrusted back end is reached.
    let (ok, text) = w.through("/any").await;
    assert!(ok && text.contains("secure back end got /any"), "{text}");
    let sec = admin.get("/security").await;
    let row = check_row(&sec.body, "trust_all");
    assert!(
        row.contains(">warning<") && row.contains("href=\"/trust\""),
        "{row}"
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/security",
        None,
    )
    .await;
    let v = json(&r);
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "trust_all")
        .unwrap()
        .clone();
    assert_eq!(check["state"], "warning", "{v}");

    // Off through the API: the warning goes.
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/trust/trust-all",
        Some("{\"trust_all\":false}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["changed"], true);
    let sec = admin.get("/security").await;
    assert!(
        check_row(&sec.body, "trust_all").contains(">ok<"),
        "{}",
        sec.body
    );
    let audit = w.audit();
    assert!(
        audit.contains("\"action\":\"backend_tls.trust_all\""),
        "{audit}"
    );
    assert_eq!(audit.matches("\"op\":\"trust_all\"").count(), 2, "{audit}");
}

#[tokio::test]
async fn the_security_status_names_one_time_passwords_until_they_are_changed() {
    let w = world().await;
    let admin = w.admin().await;
    let sec = admin.get("/security").await;
    for id in [
        "initial_password",
        "one_time_passwords",
        "audit_log",
        "admin_listener_exposed",
    ] {
        assert!(
            check_row(&sec.body, id).contains(">ok<"),
            "{id}: {}",
            sec.body
        );
    }
    // The UI certificate is the self-signed one made at the first start.
    let row = check_row(&sec.body, "ui_certificate_self_signed");
    assert!(row.contains(">warning<"), "{row}");
    assert!(row.contains("href=\"/settings/ui-certificate\""), "{row}");

    let once = w.one_time(&admin, "moni", "Monitoring").await;
    let sec = admin.get("/security").await;
    let row = check_row(&sec.body, "one_time_passwords");
    assert!(row.contains(">warning<") && row.contains("moni"), "{row}");
    // Monitoring sees the status too (and nothing of the certificates).
    let moni = w.client();
    first_logon(&moni, "moni", &once).await;
    let r = moni.get("/security").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        check_row(&r.body, "one_time_passwords").contains(">ok<"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("href=\"/trust\""), "{}", r.body);
    assert_eq!(moni.get("/trust").await.status, 403);
}
