//! The connector admin UI's LDAP user store (`[admin.ldap]`, CC-12) against a real OpenLDAP
//! `slapd` over LDAPS, verified against the directory's CA: directory users log on to the UI
//! and the REST API with their directory password, and their groups give the role (SAP's
//! group names `sccadmin`, `sccdisplay`); a user in no role group, a wrong and an empty
//! password are refused; the file store's users no longer log on (unless
//! `keep_file_users`); a directory that is down is said so (503), not taken for a wrong
//! password.

use portcullis_test_support::{echo_server, TestConnector, TestHub};

use super::connector_ui::NEW_PASSWORD;
use super::ldap::{directory_with, Directory};
use super::portal::Curl;

const PEOPLE: &str = "ou=people,dc=example,dc=com";

fn ldif() -> String {
    let person = |uid: &str, pw: &str| {
        format!(
            "dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n\
             sn: {uid}\nuserPassword: {pw}\n\n"
        )
    };
    let group = |cn: &str, member: &str| {
        format!(
            "dn: cn={cn},ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: {cn}\n\
             member: uid={member},{PEOPLE}\n\n"
        )
    };
    format!(
        "dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\no: Example\n\
         dc: example\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,dc=example,dc=com\nobjectClass: organizationalUnit\nou: groups\n\n\
         {}{}{}{}{}",
        person("anna", "Anna-Directory-2026"),
        person("dirk", "Dirk-Directory-2026"),
        person("nora", "Nora-Directory-2026"),
        group("sccadmin", "anna"),
        group("sccdisplay", "dirk"),
    )
}

struct World {
    _hub: TestHub,
    conn: TestConnector,
    _pki: tempfile::TempDir,
}

/// A connector whose admin UI logs users on against `directory` (LDAPS), with `more`
/// further `[admin.ldap]` settings.
async fn world(directory: &Directory, more: &str) -> World {
    let pki = tempfile::tempdir().unwrap();
    let ca = pki.path().join("directory-ca.pem");
    std::fs::write(&ca, &directory.ca_pem).unwrap();
    let admin = format!(
        "[admin.ldap]\nurl = \"ldaps://{}\"\nca_file = \"{}\"\n\
         user_dn = \"uid={{user}},{PEOPLE}\"\ngroup_base = \"ou=groups,dc=example,dc=com\"\n{more}",
        directory.ldaps,
        ca.display()
    );
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    let (conn, _, _) = hub
        .prd_echo_service_with(echo, |c| c.with_admin_toml(&admin))
        .await;
    World {
        _hub: hub,
        conn,
        _pki: pki,
    }
}

impl World {
    fn client(&self) -> Curl {
        let addr = self.conn.admin_addr().expect("the admin UI listens");
        let cert = std::fs::read_to_string(self.conn.data_dir().join("admin/ui-cert.pem")).unwrap();
        Curl::at(&format!("https://{addr}"), &cert)
    }

    fn initial_password(&self) -> String {
        std::fs::read_to_string(self.conn.data_dir().join("admin/initial-password"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

/// `GET path` of the API as `user`:`password` (basic auth); the status.
async fn api(c: &Curl, user: &str, password: &str, path: &str) -> u16 {
    c.run(&["-u", &format!("{user}:{password}"), &c.url(path)])
        .await
        .status
}

#[tokio::test]
async fn directory_users_log_on_with_their_group_s_role_and_nobody_else_does() {
    let directory = directory_with(&ldif()).await;
    let w = world(&directory, "").await;

    // anna is in sccadmin: an Administrator, with no password to change here.
    let anna = w.client();
    let r = anna.sign_in("anna", "Anna-Directory-2026").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/"));
    let home = anna.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains("anna<small>Administrator</small>"),
        "{}",
        home.body
    );
    assert!(
        home.body.contains("href=\"/users\""),
        "an Administrator manages users"
    );
    // Her password is the directory's; tokens are for the connector's own users.
    assert_eq!(anna.get("/password").await.status, 403);
    assert_eq!(anna.get("/tokens").await.status, 403);

    // dirk is in sccdisplay: he sees, but may not manage users.
    let dirk = w.client();
    assert_eq!(
        dirk.sign_in("dirk", "Dirk-Directory-2026").await.status,
        303
    );
    let home = dirk.get("/").await;
    assert!(
        home.body.contains("dirk<small>Display</small>"),
        "{}",
        home.body
    );
    assert_eq!(dirk.get("/users").await.status, 403);

    // The REST API takes the same credentials and the same roles.
    let c = w.client();
    assert_eq!(
        api(&c, "anna", "Anna-Directory-2026", "/api/v1/status").await,
        200
    );
    assert_eq!(
        api(&c, "dirk", "Dirk-Directory-2026", "/api/v1/windows").await,
        200
    );
    let close = c
        .run(&[
            "-u",
            "dirk:Dirk-Directory-2026",
            "-X",
            "POST",
            &c.url("/api/v1/windows/none/close"),
        ])
        .await;
    assert_eq!(close.status, 403, "{}", close.body);

    // Refused: a user in no role group, a wrong password, an empty one (to LDAP an
    // unauthenticated bind, which slapd would accept), an unknown user, and the file store's
    // Administrator (the directory decides now).
    for (i, (user, pw)) in [
        ("nora", "Nora-Directory-2026"),
        ("anna", "wrong"),
        ("anna", ""),
        ("zed", "whatever"),
        ("Administrator", &w.initial_password()),
    ]
    .into_iter()
    .enumerate()
    {
        // Each from its own address: the per-address throttle is not what is tested here.
        let r = w
            .client()
            .with_source(&format!("127.0.0.{}", 10 + i))
            .sign_in(user, pw)
            .await;
        assert_eq!(r.status, 401, "{user}/{pw}: {}", r.body);
        assert!(r.body.contains("The user name or the password is wrong."));
    }
    let c2 = w.client().with_source("127.0.0.20");
    assert_eq!(
        api(&c2, "nora", "Nora-Directory-2026", "/api/v1/status").await,
        401
    );
    let pw = w.initial_password();
    assert_eq!(api(&c2, "Administrator", &pw, "/api/v1/status").await, 401);
    // Each logon is audited, ok or denied.
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"principal\":\"anna\""), "{log}");
    assert!(log.contains("\"principal\":\"nora\""), "{log}");

    // The directory goes away: a logon says so instead of calling the password wrong.
    drop(directory);
    let r = w.client().sign_in("dirk", "Dirk-Directory-2026").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("cannot be reached"), "{}", r.body);
    assert_eq!(
        api(&c, "dirk", "Dirk-Directory-2026", "/api/v1/status").await,
        503
    );
}

#[tokio::test]
async fn with_keep_file_users_the_file_store_s_users_log_on_beside_the_directory_s() {
    let directory = directory_with(&ldif()).await;
    let w = world(&directory, "keep_file_users = true\n").await;
    let admin = w.client();
    let r = admin.sign_in("Administrator", &w.initial_password()).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some("/password"),
        "the file user's forced change"
    );
    let form = admin.get("/password").await;
    let changed = admin
        .post(
            "/password",
            &[
                ("csrf", &form.csrf()),
                ("current", &w.initial_password()),
                ("new", NEW_PASSWORD),
                ("repeat", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let anna = w.client();
    assert_eq!(
        anna.sign_in("anna", "Anna-Directory-2026").await.status,
        303
    );
}
