//! The connector admin UI's trust store, security status and UI certificate, driven by curl
//! against a real connector (admin UI on port 0) behind a real hub, with a real TLS back end
//! that requires the connector's system certificate:
//!
//! - a CA uploaded on `/trust` (a file input, multipart) lets the https back end through the
//!   hub without a restart; removed, it is refused again; both audited with the user;
//! - trust all needs its confirmation, lets any back end through, and shows on `/security`
//!   and `GET /api/v1/security`;
//! - the security status names users with a one-time password until they change it;
//! - a UI certificate uploaded as PEM (page) or PKCS#12 (API; a wrong password refused by name)
//!   is what the next TLS connection gets, without a restart;
//! - the system certificate generated, imported from PKCS#12 and signed from a CSR, each in
//!   force for the next session (the back end requires a client certificate of its CA);
//! - domain mappings added and removed, in force for the next request without a restart;
//! - Display sees no edit controls and a forged POST gets 403; every API route answers
//!   Administrator, Display and Monitoring as their roles allow.

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
struct World {
    hub: TestHub,
    conn: TestConnector,
    token: String,
    server_ca: Ca,
    client_ca: Ca,
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

async fn world() -> World {
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
    fn base(&self) -> String {
        format!(
            "https://{}",
            self.conn.admin_addr().expect("the admin UI listens")
        )
    }

    fn ui_cert(&self) -> String {
        std::fs::read_to_string(self.conn.data_dir().join("admin/ui-cert.pem")).unwrap()
    }

    fn client(&self) -> Curl {
        Curl::at(&self.base(), &self.ui_cert())
    }

    /// An Administrator client past the first logon.
    async fn admin(&self) -> Curl {
        let one_time = std::fs::read_to_string(self.conn.data_dir().join("admin/initial-password"))
            .unwrap()
            .trim()
            .to_owned();
        let c = self.client();
        first_logon(&c, "Administrator", &one_time).await;
        c
    }

    /// A user `name` with `role`, made by `admin`, past his first logon.
    async fn user(&self, admin: &Curl, name: &str, role: &str) -> Curl {
        let one_time = self.one_time(admin, name, role).await;
        let c = self.client();
        first_logon(&c, name, &one_time).await;
        c
    }

    /// Makes `name` with `role`; his one-time password.
    async fn one_time(&self, admin: &Curl, name: &str, role: &str) -> String {
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
    async fn through(&self, path: &str) -> (bool, String) {
        let url = format!("http://erp.internal{path}");
        curl_at(&self.hub, "berlin", &self.token, &url).await
    }

    /// The `Set-Cookie` the web entry's answer carries through the hub.
    async fn cookie(&self) -> String {
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

    fn config(&self) -> String {
        std::fs::read_to_string(self.conn.config_path()).unwrap()
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.conn.audit_log()).unwrap()
    }
}

/// A multipart POST of `fields` (`name=value`, or `name=@file` for a file).
async fn upload(c: &Curl, path: &str, fields: &[String]) -> Resp {
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
async fn tls_trusted(base: &str, ca_pem: &str) -> bool {
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
fn check_row<'a>(page: &'a str, id: &str) -> &'a str {
    between(page, &format!("<tr id=\"check-{id}\">"), "</tr>")
}

const GENERATE: &str = "{\"subject\":\"CN=matrix\",\"days\":30}";
const CSR: &str = "{\"subject\":\"CN=matrix-csr\"}";
const CHAIN: &str = "{\"chain_pem\":\"not a chain\"}";
const MAPPING: &str = "{\"virtual\":\"p.example\",\"internal\":\"c.example\"}";
const UI_CSR: &str = "{\"cn\":\"matrix.example\"}";

/// (method, path, body, status for Administrator, for Display, for Monitoring).
type ApiCase<'a> = (&'a str, &'a str, Option<&'a str>, u16, u16, u16);

fn json(r: &Resp) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
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

#[tokio::test]
async fn a_replaced_ui_certificate_is_served_to_the_next_connection_without_a_restart() {
    let w = world().await;
    let admin = w.admin().await;
    let base = w.base();
    let old = w.ui_cert();
    assert!(tls_trusted(&base, &old).await);

    // A chain and a key that do not belong together: refused, nothing changed.
    let ui_ca = ca("Customer UI CA");
    let (cert, key, _, _) = leaf(&ui_ca, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    let (_, other_key, _, _) = leaf(&ui_ca, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    let dir = tempfile::tempdir().unwrap();
    let chain_file = write(dir.path(), "chain.pem", &format!("{cert}{}", ui_ca.pem));
    let key_file = write(dir.path(), "key.pem", &key);
    let other_file = write(dir.path(), "other.pem", &other_key);
    let page = admin.get("/settings/ui-certificate").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Self-signed</dt><dd>yes"),
        "{}",
        page.body
    );
    let r = upload(
        &admin,
        "/settings/ui-certificate/pem",
        &[
            format!("csrf={}", page.csrf()),
            format!("chain=@{chain_file}"),
            format!("key=@{other_file}"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("does not belong to the first certificate"),
        "{}",
        r.body
    );
    assert!(tls_trusted(&base, &old).await);

    // The right pair: the next connection gets it, the old certificate no longer works.
    let r = upload(
        &admin,
        "/settings/ui-certificate/pem",
        &[
            format!("csrf={}", page.csrf()),
            format!("chain=@{chain_file}"),
            format!("key=@{key_file}"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        tls_trusted(&base, &ui_ca.pem).await,
        "the new CA is trusted now"
    );
    assert!(
        !tls_trusted(&base, &old).await,
        "the old certificate is gone"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key_path = w.conn.data_dir().join("admin/ui-key.pem");
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(key_path).unwrap(), key);
    }
    let c = Curl::at(&base, &ui_ca.pem);
    let r = c.sign_in("Administrator", NEW_PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get("/settings/ui-certificate").await;
    assert!(
        page.body.contains("Self-signed</dt><dd>no"),
        "{}",
        page.body
    );
    assert!(page.body.contains("CN=Customer UI CA"), "{}", page.body);
    let sec = c.get("/security").await;
    assert!(
        check_row(&sec.body, "ui_certificate_self_signed").contains(">ok<"),
        "{}",
        sec.body
    );

    // PKCS#12 through the API (made by openssl): a wrong password is refused by name.
    let p12_ca = ca("Second UI CA");
    let (cert2, key2, _, _) = leaf(&p12_ca, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    let c2 = write(dir.path(), "c2.pem", &cert2);
    let k2 = write(dir.path(), "k2.pem", &key2);
    let p12 = dir.path().join("ui.p12");
    let made = tokio::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-export",
            "-in",
            &c2,
            "-inkey",
            &k2,
            "-passout",
            "pass:s3cret",
            "-out",
        ])
        .arg(&p12)
        .status()
        .await
        .expect("openssl runs");
    assert!(made.success());
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&p12).unwrap());
    let body = |pw: &str| format!("{{\"p12_base64\":\"{b64}\",\"password\":\"{pw}\"}}");
    let r = api(
        &c,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/ui-certificate",
        Some(&body("nope")),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        json(&r)["message"]
            .as_str()
            .unwrap()
            .contains("wrong password"),
        "{}",
        r.body
    );
    assert!(tls_trusted(&base, &ui_ca.pem).await);
    let r = api(
        &c,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/ui-certificate",
        Some(&body("s3cret")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["certificate"]["issuer"], "CN=Second UI CA");
    assert!(tls_trusted(&base, &p12_ca.pem).await);
    assert!(!tls_trusted(&base, &ui_ca.pem).await);
    let audit = w.audit();
    assert_eq!(
        audit.matches("\"outcome\":\"ui_certificate\"").count(),
        2,
        "{audit}"
    );
    assert!(!audit.contains("s3cret"), "the password is never written");
    drop(admin);
}

#[tokio::test]
async fn display_sees_no_edit_controls_forged_posts_get_403_and_the_api_follows_the_roles() {
    let w = world().await;
    let admin = w.admin().await;
    let dora = w.user(&admin, "dora", "Display").await;
    let _moni = w.one_time(&admin, "moni", "Monitoring").await;
    // Moni must change his password before the API answers: do it through a client.
    let moni_once = _moni;
    let moni = w.client();
    first_logon(&moni, "moni", &moni_once).await;

    let r = dora.get("/trust").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("action=\"/trust/add\""), "{}", r.body);
    assert!(
        !r.body.contains("action=\"/trust/trust-all\""),
        "{}",
        r.body
    );
    assert!(!r.body.contains(">Remove</button>"), "{}", r.body);
    let r = dora.get("/settings/ui-certificate").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("action=\"/settings/ui-certificate/pem\""),
        "{}",
        r.body
    );
    let csrf = r.csrf();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &w.server_ca.pem);
    let r = upload(
        &dora,
        "/trust/add",
        &[
            format!("csrf={csrf}"),
            "name=x".into(),
            format!("file=@{ca_file}"),
        ],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = dora
        .post(
            "/trust/trust-all",
            &[("csrf", &csrf), ("on", "yes"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = upload(
        &dora,
        "/settings/ui-certificate/pem",
        &[
            format!("csrf={csrf}"),
            format!("chain=@{ca_file}"),
            format!("key=@{ca_file}"),
        ],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Without the CSRF token even the Administrator is refused.
    let r = upload(
        &admin,
        "/trust/add",
        &["name=x".into(), format!("file=@{ca_file}")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        !w.config().contains("trust"),
        "nothing changed: {}",
        w.config()
    );

    // The API: (method, path, body, Administrator, Display, Monitoring).
    let add = serde_json::json!({ "name": "erp-ca", "pem": w.server_ca.pem }).to_string();
    let cases: [ApiCase; 15] = [
        ("GET", "/api/v1/trust", None, 200, 200, 403),
        ("GET", "/api/v1/security", None, 200, 200, 200),
        ("GET", "/api/v1/ui-certificate", None, 200, 200, 403),
        ("POST", "/api/v1/trust", Some(&add), 201, 403, 403),
        (
            "PUT",
            "/api/v1/trust/trust-all",
            Some("{\"trust_all\":false}"),
            200,
            403,
            403,
        ),
        (
            "PUT",
            "/api/v1/ui-certificate",
            Some("{\"chain_pem\":\"x\",\"key_pem\":\"y\"}"),
            422,
            403,
            403,
        ),
        ("DELETE", "/api/v1/trust/erp-ca", None, 200, 403, 403),
        ("GET", "/api/v1/system-certificate", None, 200, 200, 403),
        (
            "POST",
            "/api/v1/system-certificate/generate",
            Some(GENERATE),
            201,
            403,
            403,
        ),
        (
            "POST",
            "/api/v1/system-certificate/csr",
            Some(CSR),
            201,
            403,
            403,
        ),
        (
            "PUT",
            "/api/v1/system-certificate",
            Some(CHAIN),
            422,
            403,
            403,
        ),
        ("GET", "/api/v1/domain-mappings", None, 200, 200, 403),
        (
            "POST",
            "/api/v1/domain-mappings",
            Some(MAPPING),
            201,
            403,
            403,
        ),
        (
            "DELETE",
            "/api/v1/domain-mappings/c.example",
            None,
            200,
            403,
            403,
        ),
        (
            "POST",
            "/api/v1/ui-certificate/csr",
            Some(UI_CSR),
            201,
            403,
            403,
        ),
    ];
    for (method, path, body, a, d, m) in cases {
        // Display and Monitoring first: their refusal must leave the Administrator's call its
        // effect.
        for (user, client, want) in [
            ("dora", &dora, d),
            ("moni", &moni, m),
            ("Administrator", &admin, a),
        ] {
            let r = api(client, user, NEW_PASSWORD, method, path, body).await;
            assert_eq!(r.status, want, "{user} {method} {path}: {}", r.body);
            let v = json(&r);
            if want >= 400 {
                assert!(v["code"].is_string() && v["message"].is_string(), "{v}");
            }
        }
    }
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "DELETE",
        "/api/v1/trust/erp-ca",
        None,
    )
    .await;
    assert_eq!(
        (r.status, json(&r)["code"].as_str()),
        (404, Some("unknown_certificate"))
    );
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/trust",
        Some("{\"name\":\"../x\",\"pem\":\"y\"}"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/trust/trust-all",
        Some("{\"on\":1}"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn the_system_certificate_is_generated_imported_and_signed_from_a_csr() {
    let mut w = world().await;
    let admin = w.admin().await;
    let dir = tempfile::tempdir().unwrap();
    // The back end's CA in the store: the configured system certificate gets through.
    let add = serde_json::json!({ "name": "erp-ca", "pem": w.server_ca.pem }).to_string();
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/trust",
        Some(&add),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut reloads = w
        .conn
        .wait_status("the CA in force", |s| s.backend_tls_reloads >= 1)
        .await
        .backend_tls_reloads;
    let (ok, text) = w.through("/one").await;
    assert!(ok && text.contains("secure back end got /one"), "{text}");
    let page = admin.get("/system-certificate").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<dd id=\"system-subject\">CN=connector</dd>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("CN=Connector client CA"),
        "{}",
        page.body
    );

    // Generated (self-signed): in force for the next session, which the back end refuses.
    let r = admin
        .post(
            "/system-certificate/generate",
            &[
                ("csrf", &page.csrf()),
                ("subject", "CN=generated, O=ACME"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("CN=generated, O=ACME"), "{}", r.body);
    reloads = w
        .conn
        .wait_status("the generated one in force", |s| {
            s.backend_tls_reloads > reloads
        })
        .await
        .backend_tls_reloads;
    let (_, text) = w.through("/two").await;
    assert!(!text.contains("secure back end got"), "{text}");
    let config = w.config();
    let key_line = config
        .lines()
        .find(|l| l.starts_with("system_certificate_key"))
        .unwrap()
        .to_owned();
    let key_path = between(&key_line, "\"", "\"").to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key_path}");
    }
    assert!(key_path.contains("/system/"), "{key_path}");

    // A CSR, signed by the back end's client CA: accepted for the pending key, in force.
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/system-certificate/csr",
        Some("{\"subject\":\"CN=connector-csr, O=ACME\"}"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let csr = json(&r)["csr"].as_str().unwrap().to_owned();
    let download = admin.get("/system-certificate/csr.pem").await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body.trim(), csr.trim());
    let req = rcgen::CertificateSigningRequestParams::from_pem(&csr).unwrap();
    let signed = req.signed_by(&w.client_ca.issuer).unwrap();
    // A chain for another key is refused, nothing changes.
    let (other, _, _, _) = leaf(&w.client_ca, "x", ExtendedKeyUsagePurpose::ClientAuth);
    let body = |pem: &str| serde_json::json!({ "chain_pem": pem }).to_string();
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/system-certificate",
        Some(&body(&other)),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        json(&r)["message"]
            .as_str()
            .unwrap()
            .contains("do not go together"),
        "{}",
        r.body
    );
    let chain = format!("{}{}", signed.pem(), w.client_ca.pem);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "PUT",
        "/api/v1/system-certificate",
        Some(&body(&chain)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json(&r)["certificate"]["subject"],
        "CN=connector-csr, O=ACME"
    );
    reloads = w
        .conn
        .wait_status("the signed one in force", |s| {
            s.backend_tls_reloads > reloads
        })
        .await
        .backend_tls_reloads;
    let (ok, text) = w.through("/three").await;
    assert!(ok && text.contains("secure back end got /three"), "{text}");
    assert!(!w
        .conn
        .data_dir()
        .join("system/pending-csr-key.pem")
        .exists());

    // PKCS#12 on the page (made by openssl): a wrong password refused by name.
    let (cert, key, _, _) = leaf(
        &w.client_ca,
        "connector-p12",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let c = write(dir.path(), "c.pem", &cert);
    let k = write(dir.path(), "k.pem", &key);
    let p12 = dir.path().join("sys.p12");
    let made = tokio::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-export",
            "-in",
            &c,
            "-inkey",
            &k,
            "-passout",
            "pass:p12-secret",
            "-out",
        ])
        .arg(&p12)
        .status()
        .await
        .expect("openssl runs");
    assert!(made.success());
    let page = admin.get("/system-certificate").await;
    let form = |pw: &str| {
        vec![
            format!("csrf={}", page.csrf()),
            format!("p12=@{}", p12.display()),
            format!("password={pw}"),
        ]
    };
    let r = upload(&admin, "/system-certificate/import", &form("wrong")).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("wrong password"), "{}", r.body);
    let r = upload(&admin, "/system-certificate/import", &form("p12-secret")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<dd id=\"system-subject\">CN=connector-p12</dd>"),
        "{}",
        r.body
    );
    w.conn
        .wait_status("the imported one in force", |s| {
            s.backend_tls_reloads > reloads
        })
        .await;
    let (ok, text) = w.through("/four").await;
    assert!(ok && text.contains("secure back end got /four"), "{text}");
    let audit = w.audit();
    for how in ["generated", "csr", "signed_csr", "pkcs12"] {
        assert!(
            audit.contains(&format!("\"how\":\"{how}\"")),
            "{how}: {audit}"
        );
    }
    assert!(
        !audit.contains("p12-secret"),
        "the password is never written"
    );
    // Only the files in force are left.
    let files = std::fs::read_dir(w.conn.data_dir().join("system"))
        .unwrap()
        .count();
    assert_eq!(files, 2);
}

#[tokio::test]
async fn domain_mappings_are_added_and_removed_and_apply_without_a_restart() {
    let w = world().await;
    let admin = w.admin().await;
    assert!(
        w.cookie().await.contains("Domain=.corp.example"),
        "unmapped at first"
    );
    let page = admin.get("/domain-mappings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No domain mappings."), "{}", page.body);
    // What the loader refuses is refused, nothing changes.
    let r = admin
        .post(
            "/domain-mappings/add",
            &[
                ("csrf", &page.csrf()),
                ("internal", "corp example"),
                ("virtual", "portal.example"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("domains of letters, digits"), "{}", r.body);
    assert!(!w.config().contains("domain_mapping"), "{}", w.config());

    let r = admin
        .post(
            "/domain-mappings/add",
            &[
                ("csrf", &page.csrf()),
                ("internal", "corp.example"),
                ("virtual", "portal.example"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<td>corp.example</td>"), "{}", r.body);
    // In force for the next request, no restart: poll until the reload watcher has it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let c = w.cookie().await;
        if c.contains("Domain=portal.example") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never mapped: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/domain-mappings",
        None,
    )
    .await;
    assert_eq!(
        json(&r)["domain_mappings"][0]["virtual"],
        "portal.example",
        "{}",
        r.body
    );
    // Twice the same internal domain: refused.
    let twice = "{\"virtual\":\"other.example\",\"internal\":\"corp.example\"}";
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/domain-mappings",
        Some(twice),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "DELETE",
        "/api/v1/domain-mappings/corp.example",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let c = w.cookie().await;
        if c.contains("Domain=.corp.example") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never unmapped: {c}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "DELETE",
        "/api/v1/domain-mappings/corp.example",
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(w.audit().matches("\"op\":\"domain_mapping_").count(), 2);
}

#[tokio::test]
async fn a_ui_certificate_from_a_csr_is_served_once_its_signed_chain_is_uploaded() {
    let w = world().await;
    let admin = w.admin().await;
    let base = w.base();
    let old = w.ui_cert();
    let page = admin.get("/settings/ui-certificate").await;
    // Nothing pending: a chain is refused by name.
    let dir = tempfile::tempdir().unwrap();
    let ui_ca = ca("Customer UI CA");
    let (stray, _, _, _) = leaf(&ui_ca, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    let stray_file = write(dir.path(), "stray.pem", &stray);
    let signed_form = |file: &str| vec![format!("csrf={}", page.csrf()), format!("chain=@{file}")];
    let r = upload(
        &admin,
        "/settings/ui-certificate/signed",
        &signed_form(&stray_file),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("No certificate signing request is pending"),
        "{}",
        r.body
    );

    let r = admin
        .post(
            "/settings/ui-certificate/csr",
            &[
                ("csrf", &page.csrf()),
                ("cn", "connector.example.internal"),
                ("names", "ui.example.internal, 10.1.2.3"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let csr = admin.get("/settings/ui-certificate/csr.pem").await;
    assert_eq!(csr.status, 200, "{}", csr.body);
    assert_eq!(csr.header("content-type"), Some("application/pkcs10"));
    let req = rcgen::CertificateSigningRequestParams::from_pem(&csr.body).unwrap();
    let names: Vec<String> = req
        .params
        .subject_alt_names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect();
    let names = names.join(" ");
    for n in ["localhost", "ui.example.internal", "127.0.0.1", "10.1.2.3"] {
        assert!(names.contains(n), "{n} missing from {names}");
    }
    // A certificate for another key is refused, nothing changes.
    let r = upload(
        &admin,
        "/settings/ui-certificate/signed",
        &signed_form(&stray_file),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("does not belong"), "{}", r.body);
    assert!(tls_trusted(&base, &old).await);

    let signed = req.signed_by(&ui_ca.issuer).unwrap();
    let chain = write(
        dir.path(),
        "chain.pem",
        &format!("{}{}", signed.pem(), ui_ca.pem),
    );
    let r = upload(
        &admin,
        "/settings/ui-certificate/signed",
        &signed_form(&chain),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        tls_trusted(&base, &ui_ca.pem).await,
        "the signed certificate is served"
    );
    assert!(!tls_trusted(&base, &old).await);
    let admin_dir = w.conn.data_dir().join("admin");
    assert!(!admin_dir.join("ui-pending-key.pem").exists());
    let key = std::fs::read_to_string(admin_dir.join("ui-key.pem")).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    let audit = w.audit();
    assert!(
        audit.contains("\"outcome\":\"ui_certificate_csr\""),
        "{audit}"
    );
    assert!(audit.contains("\"outcome\":\"ui_certificate\""), "{audit}");
}
