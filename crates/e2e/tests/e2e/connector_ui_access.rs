//! The connector admin UI's access control pages and API (CC-18..21, CC-23, CC-24, CC-57),
//! driven by curl against a real connector and hub: the wizard adds an HTTP entry with a
//! resource and a request through the hub is honoured at once (listed path 200, unlisted
//! 403); an edit moves the internal port and the connector dials the new one; a removal
//! refuses further streams; a Display user sees no edit controls and a forged POST is
//! refused; a stale version is 409 on the page and in the API; bad input is refused with
//! its reason and the file unchanged; export and import round trip; every API endpoint for
//! Administrator, Display and Monitoring.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use portcullis_test_support::world::Granted;
use portcullis_test_support::{echo_server, HubOptions, TestConnector};
use tokio::net::TcpListener;

use super::connector_ui::{api, first_logon, NEW_PASSWORD};
use super::portal::{between, Curl, Resp};

/// An HTTP back end that answers `backend=<tag> path=<path>`.
async fn tagged_backend(tag: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let svc = hyper::service::service_fn(move |req: hyper::Request<_>| async move {
                let body = format!("backend={tag} path={}\n", req.uri());
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
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

/// Connector `berlin` with the admin UI on, one TCP entry `echo` (`echo.internal:7`), and
/// technical user `app` of `acme` granted it.
struct World {
    g: Granted,
}

impl World {
    async fn start() -> World {
        let echo = echo_server().await;
        let g = Granted::start(
            HubOptions::default(),
            "app",
            |c: TestConnector| c.expose("echo", "echo.internal:7", echo).with_admin_ui(),
            &["echo.internal:7"],
        )
        .await;
        World { g }
    }

    fn client(&self) -> Curl {
        let addr = self.g.conn.admin_addr().expect("the admin UI listens");
        let pem =
            std::fs::read_to_string(self.g.conn.data_dir().join("admin/ui-cert.pem")).unwrap();
        Curl::at(&format!("https://{addr}"), &pem)
    }

    /// The Administrator, signed in with [`NEW_PASSWORD`].
    async fn admin(&self) -> Curl {
        let once =
            std::fs::read_to_string(self.g.conn.data_dir().join("admin/initial-password")).unwrap();
        let c = self.client();
        first_logon(&c, "Administrator", once.trim()).await;
        c
    }

    /// A new user of `role`, made by `admin`, signed in with [`NEW_PASSWORD`].
    async fn user(&self, admin: &Curl, name: &str, role: &str) -> Curl {
        let page = admin.get("/users").await;
        let r = admin
            .post(
                "/users",
                &[("csrf", &page.csrf()), ("name", name), ("role", role)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let once = between(&r.body, "data-copy=\"the one-time password\">", "</code>").to_string();
        let c = self.client();
        first_logon(&c, name, &once).await;
        c
    }

    fn file(&self) -> String {
        std::fs::read_to_string(self.g.conn.config_path()).unwrap()
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.g.conn.audit_log()).unwrap_or_default()
    }

    /// `GET http://{host}{path}` through the hub's SOCKS5 entry as `app`: `Some(response)`,
    /// or `None` when the stream is refused.
    async fn through_hub(&self, url: &str) -> Option<String> {
        let proxy = format!("socks5h://berlin:{}@{}", self.g.token, self.g.hub.socks5());
        let url = url.to_owned();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(["-sS", "-i", "--max-time", "20", "--proxy", &proxy, &url])
                .output()
        })
        .await
        .unwrap()
        .expect("curl runs");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// One wizard step: posts `answers` (the form carries the earlier ones as hidden fields;
/// curl sends what the page would) from step `step`.
async fn wizard(c: &Curl, csrf: &str, step: &str, go: &str, answers: &[(&str, &str)]) -> Resp {
    let mut form = vec![("csrf", csrf), ("step", step), ("go", go)];
    form.extend_from_slice(answers);
    c.post("/access/new", &form).await
}

fn version_in(body: &str) -> String {
    between(body, "name=\"version\" value=\"", "\"").to_string()
}

fn json(r: &Resp) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {} {}", r.status, r.body))
}

#[tokio::test]
async fn the_wizard_adds_an_http_entry_the_hub_honours_at_once_then_edit_and_remove() {
    let w = World::start().await;
    let (one, two) = (tagged_backend("one").await, tagged_backend("two").await);
    let admin = w.admin().await;
    let start = admin.get("/access/new").await;
    assert_eq!(start.status, 200, "{}", start.body);
    assert!(
        start.body.contains("Step 1: Name and back-end type"),
        "{}",
        start.body
    );
    let csrf = start.csrf();
    let one_s = one.to_string();

    // Step 1 → 2: the protocols offered are the back-end type's only.
    let base = [("name", "web"), ("backend_type", "PI")];
    let r = wizard(&admin, &csrf, "1", "next", &base).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Step 2: Protocol"), "{}", r.body);
    assert!(
        r.body.contains("value=\"https\"") && !r.body.contains("value=\"tcp\""),
        "{}",
        r.body
    );
    // A protocol the type does not offer (a forged radio) is refused on the protocol step.
    let mut a = base.to_vec();
    a.push(("protocol", "ldap"));
    let r = wizard(&admin, &csrf, "2", "next", &a).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Step 2: Protocol")
            && r.body.contains("ldap is not offered for back-end type PI"),
        "{}",
        r.body
    );
    // A forged earlier answer is checked again on a later step.
    let forged = [
        ("name", "web"),
        ("backend_type", "PI"),
        ("protocol", "ni"),
        ("internal", &one_s),
    ];
    let r = wizard(&admin, &csrf, "3", "next", &forged).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("Step 2: Protocol"), "{}", r.body);
    // A bad internal host:port is refused on its step.
    let mut a = base.to_vec();
    a.extend([("protocol", "http"), ("internal", "no port here")]);
    let r = wizard(&admin, &csrf, "3", "next", &a).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Step 3: Internal host") && r.body.contains("The internal host:"),
        "{}",
        r.body
    );
    // A virtual host and port another entry has is refused on its step, with the reason.
    let mut a = base.to_vec();
    a.extend([
        ("protocol", "http"),
        ("internal", one_s.as_str()),
        ("virtual", "echo.internal:7"),
    ]);
    let r = wizard(&admin, &csrf, "4", "next", &a).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Step 4: Virtual host") && r.body.contains("overlap"),
        "{}",
        r.body
    );
    let before = w.file();
    assert!(!before.contains("name = \"web\""));

    // The good walk: virtual host → host header (http) → description (no certificate step
    // for http) → summary → add with the reachability check.
    let mut a = base.to_vec();
    a.extend([
        ("protocol", "http"),
        ("internal", one_s.as_str()),
        ("virtual", "web.internal:80"),
    ]);
    let r = wizard(&admin, &csrf, "4", "next", &a).await;
    assert!(
        r.body.contains("Step 5: Host in request header"),
        "{}",
        r.body
    );
    a.push(("host_in_header", "virtual"));
    let r = wizard(&admin, &csrf, "5", "next", &a).await;
    assert!(
        r.body.contains("Step 7: System ID and description"),
        "{}",
        r.body
    );
    a.extend([("system_id", "WEB"), ("description", "the web shop")]);
    let r = wizard(&admin, &csrf, "7", "next", &a).await;
    assert!(
        r.body.contains("Step 8: Summary") && r.body.contains("web.internal:80"),
        "{}",
        r.body
    );
    a.push(("check", "on"));
    let r = wizard(&admin, &csrf, "8", "add", &a).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/access/web?added=1&checked=1"));
    let page = admin.get("/access/web?added=1&checked=1").await;
    assert!(
        page.body.contains("reachable (HTTP"),
        "the check is shown: {}",
        page.body
    );
    let file = w.file();
    assert!(
        file.contains("name = \"web\"") && file.contains("backend_type = \"PI\""),
        "{file}"
    );

    // A resource, on the resources page.
    let res = admin.get("/access/web/resources").await;
    let r = admin
        .post(
            "/access/web/resources",
            &[
                ("csrf", &csrf),
                ("version", &version_in(&res.body)),
                ("path", "/hello"),
                ("policy", "path_only"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // The hub grants it; the request through the hub is honoured: listed path 200, other 403.
    w.g.hub
        .wait_inventory(w.g.conn.company_id, "berlin", |i| i.len() == 2)
        .await;
    w.g.hub
        .grant("acme", &w.g.token, "berlin", "web.internal:80")
        .await;
    let ok = w
        .through_hub("http://web.internal/hello")
        .await
        .expect("a response");
    assert!(
        ok.contains("200") && ok.contains("backend=one path=/hello"),
        "{ok}"
    );
    let no = w
        .through_hub("http://web.internal/other")
        .await
        .expect("a response");
    assert_eq!(
        portcullis_test_support::clients::last_status(&no),
        403,
        "{no}"
    );

    // Edit: the internal port moves to back end two; the connector dials it at once.
    let page = admin.get("/access/web").await;
    let v = version_in(&page.body);
    let two_s = two.to_string();
    let r = admin
        .post(
            "/access/web",
            &[
                ("csrf", &csrf),
                ("version", &v),
                ("name", "web"),
                ("backend_type", "PI"),
                ("protocol", "http"),
                ("internal", &two_s),
                ("virtual", "web.internal:80"),
                ("host_in_header", "virtual"),
                ("system_id", "WEB"),
                ("description", "moved"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let ok = w
        .through_hub("http://web.internal/hello")
        .await
        .expect("a response");
    assert!(ok.contains("backend=two path=/hello"), "{ok}");

    // The resource edited on its page (sub-paths too), then removed: each in force at once.
    let res = admin.get("/access/web/resources").await;
    let r = admin
        .post(
            "/access/web/resources/0",
            &[
                ("csrf", &csrf),
                ("version", &version_in(&res.body)),
                ("path", "/hello"),
                ("policy", "path_and_sub_paths"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let deep = w
        .through_hub("http://web.internal/hello/deep")
        .await
        .expect("a response");
    assert!(deep.contains("backend=two path=/hello/deep"), "{deep}");
    let res = admin.get("/access/web/resources").await;
    let r = admin
        .post(
            "/access/web/resources/0/remove",
            &[("csrf", &csrf), ("version", &version_in(&res.body))],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let no = w
        .through_hub("http://web.internal/hello")
        .await
        .expect("a response");
    assert_eq!(
        portcullis_test_support::clients::last_status(&no),
        403,
        "{no}"
    );

    // The same (now stale) form again: 409 with the conflict message, the file unchanged.
    let file = w.file();
    let r = admin
        .post(
            "/access/web",
            &[
                ("csrf", &csrf),
                ("version", &v),
                ("name", "web"),
                ("backend_type", "PI"),
                ("protocol", "http"),
                ("internal", &one_s),
                ("virtual", "web.internal:80"),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body
            .contains("was changed by someone else since you opened it"),
        "{}",
        r.body
    );
    assert_eq!(w.file(), file);

    // Remove, with its confirmation: further streams are refused.
    let confirm = admin.get("/access/web/delete").await;
    assert!(
        confirm.body.contains("Remove the entry web?"),
        "{}",
        confirm.body
    );
    let r = admin
        .post(
            "/access/web/delete",
            &[("csrf", &csrf), ("version", &version_in(&confirm.body))],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        w.through_hub("http://web.internal/hello").await.is_none(),
        "refused after removal"
    );
    assert!(!w.file().contains("name = \"web\""));

    // Every change is audited with its user.
    let audit = w.audit();
    for op in [
        "\"add\"",
        "\"resource_add\"",
        "\"update\"",
        "\"resource_update\"",
        "\"resource_remove\"",
        "\"remove\"",
    ] {
        assert!(
            audit.lines().any(|l| l.contains("access.edited")
                && l.contains(op)
                && l.contains("\"by\":\"Administrator\"")),
            "no access.edited {op}: {audit}"
        );
    }
}

#[tokio::test]
async fn display_sees_no_edit_controls_forged_posts_change_nothing_import_export_round_trip() {
    let w = World::start().await;
    let admin = w.admin().await;
    let dora = w.user(&admin, "dora", "Display").await;
    let r = dora.get("/access").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("echo.internal:7") && r.body.contains(">Access control</a>"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("href=\"/access/new\"") && !r.body.contains("href=\"/access/import\""),
        "{}",
        r.body
    );
    let page = dora.get("/access/echo").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains(">Save</button>") && !page.body.contains("/delete"),
        "{}",
        page.body
    );
    // The admin's page has them.
    let mine = admin.get("/access/echo").await;
    assert!(
        mine.body.contains(">Save</button>") && mine.body.contains("/access/echo/delete"),
        "{}",
        mine.body
    );
    let v = version_in(&mine.body);

    let file = w.file();
    let csrf = page.csrf();
    let forged = [
        (
            "/access/echo",
            vec![
                ("csrf", csrf.as_str()),
                ("version", v.as_str()),
                ("name", "echo"),
                ("protocol", "tcp"),
                ("internal", "127.0.0.1:9"),
                ("virtual", "echo.internal:7"),
            ],
        ),
        (
            "/access/echo/delete",
            vec![("csrf", csrf.as_str()), ("version", v.as_str())],
        ),
        (
            "/access/new",
            vec![
                ("csrf", csrf.as_str()),
                ("step", "8"),
                ("go", "add"),
                ("name", "x"),
                ("backend_type", "nonSAPsys"),
                ("protocol", "tcp"),
                ("internal", "127.0.0.1:9"),
                ("virtual", "x.internal:9"),
            ],
        ),
        (
            "/access/echo/resources",
            vec![
                ("csrf", csrf.as_str()),
                ("version", v.as_str()),
                ("path", "/x"),
            ],
        ),
    ];
    for (path, form) in &forged {
        let r = dora.post(path, form).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let forged_import =
        "[[access]]\nname = \"x\"\nvirtual = \"x.internal:9\"\ninternal = \"127.0.0.1:9\"\n";
    let r = import(&dora, &csrf, forged_import, false).await;
    assert_eq!(r.status, 403, "/access/import: {}", r.body);
    assert_eq!(w.file(), file, "nothing changed");
    // The administrator's export and import pages round trip: the exported entry comes back
    // as skipped (it exists), and with overwrite as replaced; the file keeps the entry.
    let exported = admin.get("/access/export").await;
    assert_eq!(exported.status, 200, "{}", exported.body);
    assert!(
        exported.body.contains("name = \"echo\"") && !exported.body.contains("data_dir"),
        "{}",
        exported.body
    );
    let form = admin.get("/access/import").await;
    let r = import(&admin, &form.csrf(), &exported.body, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        between(&r.body, "Skipped (the name exists)</dt><dd>", "</dd>") == "echo",
        "{}",
        r.body
    );
    // The same, chosen as a file (the file input; multipart).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.toml");
    std::fs::write(&path, &exported.body).unwrap();
    let url = admin.url("/access/import");
    let csrf_field = format!("csrf={}", form.csrf());
    let file_field = format!("file=@{}", path.display());
    let r = admin
        .run(&[
            "-F",
            &csrf_field,
            "-F",
            &file_field,
            "-F",
            "overwrite=on",
            &url,
        ])
        .await;
    assert_eq!(
        between(&r.body, "Replaced</dt><dd>", "</dd>"),
        "echo",
        "{}",
        r.body
    );
    let r = import(&admin, &form.csrf(), "[[access]]\nname = \"x\"\n", false).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    assert!(w.file().contains("name = \"echo\"") && !w.file().contains("name = \"x\""));

    // Display may still check reachability (it changes nothing).
    let r = dora.post("/access/check", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("echo.internal") || r.body.contains(">echo<"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn every_access_api_endpoint_by_role_with_versions_conflicts_and_refusals() {
    let w = World::start().await;
    let admin = w.admin().await;
    let _dora = w.user(&admin, "dora", "Display").await;
    let _mona = w.user(&admin, "mona", "Monitoring").await;
    let web = tagged_backend("web").await.to_string();
    let call = |user: &'static str, method: &'static str, path: String, body: Option<String>| {
        let c = &admin;
        async move { api(c, user, NEW_PASSWORD, method, &path, body.as_deref()).await }
    };
    let entry = format!(
        r#"{{"name":"web","backend_type":"nonSAPsys","protocol":"http","internal":"{web}","virtual":"web.internal:80","description":"shop"}}"#
    );

    // Refused input changes nothing: a bad host:port, a protocol the type does not offer,
    // a virtual host and port another entry has, a name that is taken.
    let file = w.file();
    for (body, says) in [
        (r#"{"name":"b","protocol":"http","internal":"nohost","virtual":"b.internal:80"}"#.to_string(), "nohost"),
        (r#"{"name":"b","backend_type":"PI","protocol":"ldap","internal":"127.0.0.1:9","virtual":"b.internal:389"}"#.into(), "not offered for back-end type PI"),
        (r#"{"name":"b","protocol":"tcp","internal":"127.0.0.1:9","virtual":"echo.internal:7"}"#.into(), "overlap"),
        (r#"{"name":"echo","protocol":"tcp","internal":"127.0.0.1:9","virtual":"c.internal:7"}"#.into(), "named \\\"echo\\\" already"),
    ] {
        let r = call("Administrator", "POST", "/api/v1/access".into(), Some(body.clone())).await;
        assert!(r.status == 422 || r.status == 409, "{body}: {} {}", r.status, r.body);
        assert!(r.body.contains(says), "{body}: {}", r.body);
        assert_eq!(w.file(), file, "{body} changed the file");
    }

    // Writes: Display and Monitoring 403, nothing changes.
    for user in ["dora", "mona"] {
        for (method, path, body) in [
            ("POST", "/api/v1/access", Some(entry.clone())),
            ("PUT", "/api/v1/access/echo", Some(entry.clone())),
            ("DELETE", "/api/v1/access/echo?version=x", None),
            (
                "POST",
                "/api/v1/access/echo/resources",
                Some(r#"{"path":"/x","version":"x"}"#.into()),
            ),
            (
                "PUT",
                "/api/v1/access/echo/resources/0",
                Some(r#"{"path":"/x","version":"x"}"#.into()),
            ),
            ("DELETE", "/api/v1/access/echo/resources/0?version=x", None),
            (
                "POST",
                "/api/v1/access/import",
                Some(r#"{"toml":""}"#.into()),
            ),
        ] {
            let r = call(user, method, path.into(), body).await;
            assert_eq!(r.status, 403, "{user} {method} {path}: {}", r.body);
            assert_eq!(json(&r)["code"], "forbidden");
        }
    }
    assert_eq!(w.file(), file);
    // Reads: Display 200, Monitoring 403.
    for path in [
        "/api/v1/access",
        "/api/v1/access/echo",
        "/api/v1/access/echo/resources",
        "/api/v1/access/export",
    ] {
        assert_eq!(
            call("dora", "GET", path.into(), None).await.status,
            200,
            "{path}"
        );
        assert_eq!(
            call("mona", "GET", path.into(), None).await.status,
            403,
            "{path}"
        );
    }
    assert_eq!(
        call("dora", "POST", "/api/v1/access/check".into(), None)
            .await
            .status,
        200
    );
    assert_eq!(
        call("mona", "POST", "/api/v1/access/check".into(), None)
            .await
            .status,
        403
    );

    // The Administrator: add, read with its version, change, resources, conflicts.
    let r = call(
        "Administrator",
        "POST",
        "/api/v1/access".into(),
        Some(entry.clone()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["applied"], true, "in force when answered");
    let r = call("Administrator", "GET", "/api/v1/access".into(), None).await;
    let list = json(&r);
    let names: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "web"]);
    let r = call("Administrator", "GET", "/api/v1/access/web".into(), None).await;
    let v1 = json(&r)["version"].as_str().unwrap().to_owned();
    assert_eq!(r.header("etag"), Some(format!("\"{v1}\"").as_str()));
    let put = |v: &str, desc: &str| {
        format!(
            r#"{{"name":"web","protocol":"http","internal":"{web}","virtual":"web.internal:80","description":"{desc}","version":"{v}"}}"#
        )
    };
    let r = call(
        "Administrator",
        "PUT",
        "/api/v1/access/web".into(),
        Some(put("", "x").replace(r#","version":"""#, "")),
    )
    .await;
    assert_eq!(r.status, 428, "{}", r.body);
    assert_eq!(json(&r)["code"], "version_required");
    let r = call(
        "Administrator",
        "PUT",
        "/api/v1/access/web".into(),
        Some(put(&v1, "second")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v2 = json(&r)["version"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let file = w.file();
    let r = call(
        "Administrator",
        "PUT",
        "/api/v1/access/web".into(),
        Some(put(&v1, "stale")),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(json(&r)["code"], "conflict");
    let r = call(
        "Administrator",
        "DELETE",
        format!("/api/v1/access/web?version={v1}"),
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(w.file(), file, "a stale version changes nothing");

    let r = call(
        "Administrator",
        "POST",
        "/api/v1/access/web/resources".into(),
        Some(format!(
            r#"{{"path":"/shop","policy":"path_and_sub_paths","version":"{v2}"}}"#
        )),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v3 = json(&r)["version"].as_str().unwrap().to_owned();
    let r = call(
        "Administrator",
        "PUT",
        "/api/v1/access/web/resources/0".into(),
        Some(format!(r#"{{"path":"/shop2","version":"{v3}"}}"#)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v4 = json(&r)["version"].as_str().unwrap().to_owned();
    let r = call(
        "Administrator",
        "GET",
        "/api/v1/access/web/resources".into(),
        None,
    )
    .await;
    assert_eq!(json(&r)["resources"][0]["path"], "/shop2", "{}", r.body);
    let r = call(
        "Administrator",
        "DELETE",
        format!("/api/v1/access/web/resources/5?version={v4}"),
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = call(
        "Administrator",
        "DELETE",
        format!("/api/v1/access/web/resources/0?version={v4}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v5 = json(&r)["version"].as_str().unwrap().to_owned();

    // The page's conflict: the form was opened at v5, the API changed the entry meanwhile.
    let page = admin.get("/access/web").await;
    assert_eq!(version_in(&page.body), v5);
    let r = call(
        "Administrator",
        "PUT",
        "/api/v1/access/web".into(),
        Some(put(&v5, "by the API")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin
        .post(
            "/access/web",
            &[
                ("csrf", &page.csrf()),
                ("version", &v5),
                ("name", "web"),
                ("protocol", "http"),
                ("internal", &web),
                ("virtual", "web.internal:80"),
                ("description", "by the page"),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("was changed by someone else") && r.body.contains("by the API"),
        "{}",
        r.body
    );

    // Export, remove, import: the same entry comes back; a second import skips it.
    let r = call("Administrator", "GET", "/api/v1/access/export".into(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let exported = r.body.clone();
    assert!(
        exported.contains("name = \"web\"") && exported.contains("by the API"),
        "{exported}"
    );
    let v6 = json(&call("Administrator", "GET", "/api/v1/access/web".into(), None).await)
        ["version"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call("Administrator", "DELETE", "/api/v1/access/web".into(), None).await;
    assert_eq!(r.status, 428, "{}", r.body);
    let r = call(
        "Administrator",
        "DELETE",
        format!("/api/v1/access/web?version={v6}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        call("Administrator", "GET", "/api/v1/access/web".into(), None)
            .await
            .status,
        404
    );
    let import = serde_json::json!({ "toml": exported, "overwrite": false }).to_string();
    let r = call(
        "Administrator",
        "POST",
        "/api/v1/access/import".into(),
        Some(import.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = json(&r);
    assert_eq!(s["summary"]["added"], serde_json::json!(["web"]), "{s}");
    assert_eq!(s["summary"]["skipped"], serde_json::json!(["echo"]), "{s}");
    let r = call("Administrator", "GET", "/api/v1/access/web".into(), None).await;
    assert!(
        w.audit().lines().any(|l| l.contains("access.edited")
            && l.contains("\"op\":\"import\"")
            && l.contains("\"by\":\"Administrator\"")
            && l.contains("\"via\":\"api\"")),
        "the import is audited with its user"
    );
    let back = json(&r);
    assert_eq!(back["description"], "by the API", "{back}");
    assert_eq!(back["internal"], web.as_str(), "{back}");
    let r = call(
        "Administrator",
        "POST",
        "/api/v1/access/check".into(),
        Some(r#"{"entry":"web"}"#.into()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["results"][0]["reachable"], true, "{}", r.body);
}

#[tokio::test]
async fn the_admin_socket_adds_an_entry_by_fields_as_the_ui_does() {
    use portcullis_connector::local::protocol::EntryFields;
    use portcullis_connector::local::{Request, Response};
    let w = World::start().await;
    let data_dir = w.g.conn.data_dir();
    let web = tagged_backend("web").await.to_string();
    let entry = |backend_type: &str| EntryFields {
        name: "web".into(),
        backend_type: backend_type.into(),
        protocol: "http".into(),
        internal: web.clone(),
        virtual_target: "web.internal:80".into(),
        ..Default::default()
    };
    // A protocol the back-end type does not offer: refused with the reason, file unchanged.
    let file = w.file();
    let refused = portcullis::connector_admin::request(
        &data_dir,
        &Request::AccessAdd {
            entry: EntryFields {
                protocol: "ni".into(),
                ..entry("PI")
            },
            by: "carol".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("not offered for back-end type PI"),
        "{refused}"
    );
    assert_eq!(w.file(), file);
    let done = portcullis::connector_admin::request(
        &data_dir,
        &Request::AccessAdd {
            entry: entry("PI"),
            by: "carol".into(),
        },
    )
    .await
    .unwrap();
    let Response::AccessEntryEdited {
        name,
        version,
        applied,
    } = done
    else {
        panic!("an entry edit: {done:?}")
    };
    assert_eq!(name, "web");
    assert!(applied, "in force when answered");
    // The same entry and version the UI and the API see.
    let admin = w.admin().await;
    let r = api(
        &admin,
        "Administrator",
        NEW_PASSWORD,
        "GET",
        "/api/v1/access/web",
        None,
    )
    .await;
    assert_eq!(json(&r)["version"], version.unwrap().as_str(), "{}", r.body);
    assert!(w.audit().lines().any(|l| l.contains("access.edited")
        && l.contains("\"by\":\"carol\"")
        && l.contains("\"via\":\"socket\"")));
}

/// The import form posted as the browser does (multipart) with the pasted text `toml`.
async fn import(c: &Curl, csrf: &str, toml: &str, overwrite: bool) -> Resp {
    let url = c.url("/access/import");
    let (csrf, toml) = (format!("csrf={csrf}"), format!("toml={toml}"));
    let mut args = vec!["--form-string", &csrf, "--form-string", &toml];
    if overwrite {
        args.extend(["--form-string", "overwrite=on"]);
    }
    args.push(&url);
    c.run(&args).await
}
