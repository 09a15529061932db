//! Logon to the connector's admin UI with a client certificate (`[admin] client_ca_file`):
//! curl presents certificates from a CA the test makes; the certificate's common name is the
//! file user it signs in. A user with a one-time password still to change, an unknown name and
//! a connection without a certificate are refused; a certificate from another CA does not get
//! through the TLS handshake; a password logon still works beside it.

use portcullis_test_support::{echo_server, TestConnector, TestHub};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::connector_ui::NEW_PASSWORD;
use super::portal::Curl;

/// A CA that signs client certificates.
struct Ca(Issuer<'static, KeyPair>, String);

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let pem = p.self_signed(&key).unwrap().pem();
        Ca(Issuer::new(p, key), pem)
    }

    /// A client certificate for `cn`, written to `dir`: (cert path, key path).
    fn client(&self, cn: &str, dir: &std::path::Path) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = p.signed_by(&key, &self.0).unwrap();
        let (c, k) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c.display().to_string(), k.display().to_string())
    }
}

struct World {
    _hub: TestHub,
    conn: TestConnector,
    ca: Ca,
    dir: tempfile::TempDir,
}

impl World {
    fn curl(&self) -> Curl {
        let addr = self.conn.admin_addr().expect("the admin UI listens");
        let cert = std::fs::read_to_string(self.conn.data_dir().join("admin/ui-cert.pem")).unwrap();
        Curl::at(&format!("https://{addr}"), &cert)
    }

    /// The logon page and the certificate logon as `cn`'s certificate.
    async fn certificate_logon(&self, c: &Curl, cn: &str) -> (String, u16) {
        let (cert, key) = self.ca.client(cn, self.dir.path());
        let tls = ["--cert", cert.as_str(), "--key", key.as_str()];
        let page = c
            .run(&[&tls[..], &[c.url("/signin").as_str()]].concat())
            .await;
        assert_eq!(page.status, 200);
        let csrf = page.csrf();
        let r = c
            .run(
                &[
                    &tls[..],
                    &[
                        "-d",
                        &format!("csrf={csrf}"),
                        c.url("/signin/certificate").as_str(),
                    ],
                ]
                .concat(),
            )
            .await;
        (page.body, r.status)
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Admin users CA");
    let ca_file = dir.path().join("admin-ca.pem");
    std::fs::write(&ca_file, &ca.1).unwrap();
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    let admin = format!("client_ca_file = \"{}\"\n", ca_file.display());
    let (conn, _, _) = hub
        .prd_echo_service_with(echo, |c| c.with_admin_toml(&admin))
        .await;
    World {
        _hub: hub,
        conn,
        ca,
        dir,
    }
}

#[tokio::test]
async fn a_client_certificate_signs_in_the_user_its_common_name_names() {
    let w = world().await;
    // Administrator still has his one-time password: the certificate does not skip its change.
    let early = w.curl();
    let (page, status) = w.certificate_logon(&early, "Administrator").await;
    assert!(
        page.contains("Log on as Administrator with your certificate"),
        "{page}"
    );
    assert_eq!(status, 401);

    // He changes it with a password logon (which still works beside certificates).
    let initial = std::fs::read_to_string(w.conn.data_dir().join("admin/initial-password"))
        .unwrap()
        .trim()
        .to_owned();
    let pw = w.curl();
    assert_eq!(pw.sign_in("Administrator", &initial).await.status, 303);
    let form = pw.get("/password").await;
    let changed = pw
        .post(
            "/password",
            &[
                ("csrf", &form.csrf()),
                ("current", &initial),
                ("new", NEW_PASSWORD),
                ("repeat", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);

    // Now his certificate signs him in.
    let c = w.curl();
    assert_eq!(w.certificate_logon(&c, "Administrator").await.1, 303);
    let home = c.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home
        .body
        .contains("Administrator<small>Administrator</small>"));

    // No user has this name.
    assert_eq!(w.certificate_logon(&w.curl(), "ghost").await.1, 401);

    // Without a certificate the page offers none, and a forged post is refused.
    let none = w.curl();
    let page = none.get("/signin").await;
    assert!(!page.body.contains("with your certificate"));
    let r = none
        .post("/signin/certificate", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 401);

    // A certificate from another CA does not get through the handshake.
    let other = Ca::new("Someone else's CA");
    let (cert, key) = other.client("Administrator", w.dir.path());
    let addr = w.conn.admin_addr().unwrap();
    let ui_cert = w.conn.data_dir().join("admin/ui-cert.pem");
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&ui_cert)
        .args(["--cert", &cert, "--key", &key])
        .arg(format!("https://{addr}/signin"))
        .output()
        .await
        .unwrap();
    assert!(
        !out.status.success(),
        "a foreign client certificate was accepted"
    );

    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"via\":\"certificate\""), "{log}");
}
