//! The connector admin UI's certificates, driven by curl against a real connector behind a
//! real hub (the world of `connector_ui_trust`): the UI certificate replaced by PEM, PKCS#12
//! and a CSR, served to the next TLS connection without a restart; the system certificate
//! generated, imported and signed from a CSR, each in force for the next session towards a
//! back end that requires a client certificate of its CA.

use rcgen::ExtendedKeyUsagePurpose;

use super::backend_tls::{ca, leaf};
use super::connector_ui::{api, NEW_PASSWORD};
use super::connector_ui_trust::{check_row, json, tls_trusted, upload, world, write};
use super::portal::{between, Curl};

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
