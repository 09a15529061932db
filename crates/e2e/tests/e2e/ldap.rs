//! LDAP and LDAPS back ends with a real directory (OpenLDAP's `slapd`) and the real
//! `ldapsearch` client, through `portcullis connect`, the hub and the connector. For LDAPS
//! the client speaks plain LDAP to the virtual host and the connector speaks TLS to the
//! directory, verifying it against its trust store (sap-reference §3.5.1, §3.6).
//!
//! `scripts/test` and `.ci/run` install `slapd` and `ldap-utils`.

use std::net::SocketAddr;
use std::process::Stdio;

use portcullis::connect::{self, Forward};
use portcullis_client::ApiClient;
use portcullis_test_support::{TestConnector, TestHub};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

const DATA: &str = "dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: cn=alice,dc=example,dc=com
objectClass: inetOrgPerson
cn: alice
sn: Liddell
mail: alice@example.com
";

/// `/usr/sbin/<name>` when it is there (a user's PATH may lack sbin), else `name`.
fn sbin(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new("/usr/sbin").join(name);
    if path.exists() {
        path
    } else {
        name.into()
    }
}

/// A free loopback port (slapd takes a port number, not port 0).
async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

pub struct Directory {
    _child: Child,
    pub ldap: SocketAddr,
    pub ldaps: SocketAddr,
    pub ca_pem: String,
    _dir: tempfile::TempDir,
}

/// Starts slapd with one entry, plain and TLS listeners, a certificate from a fresh CA;
/// returns once slapd says it is starting to serve.
async fn directory() -> Directory {
    directory_with(DATA).await
}

/// [`directory`] with the entries of `ldif` (under `dc=example,dc=com`, which it must create);
/// the root DN is `cn=admin,dc=example,dc=com` with the password `secret`.
pub async fn directory_with(ldif: &str) -> Directory {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Directory CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    std::fs::write(d.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("server.key"), key.serialize_pem()).unwrap();
    std::fs::create_dir(d.join("db")).unwrap();
    let conf = format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         pidfile {d}/slapd.pid\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         TLSCertificateFile {d}/server.pem\n\
         TLSCertificateKeyFile {d}/server.key\n\
         database mdb\n\
         maxsize 10485760\n\
         suffix \"dc=example,dc=com\"\n\
         rootdn \"cn=admin,dc=example,dc=com\"\n\
         rootpw secret\n\
         directory {d}/db\n",
        d = d.display()
    );
    std::fs::write(d.join("slapd.conf"), conf).unwrap();
    std::fs::write(d.join("data.ldif"), ldif).unwrap();
    let added = Command::new(sbin("slapadd"))
        .arg("-f")
        .arg(d.join("slapd.conf"))
        .arg("-l")
        .arg(d.join("data.ldif"))
        .output()
        .await
        .expect("slapadd runs (scripts/test installs slapd)");
    assert!(
        added.status.success(),
        "slapadd: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let (p1, p2) = (free_port().await, free_port().await);
    let mut child = Command::new(sbin("slapd"))
        .arg("-f")
        .arg(d.join("slapd.conf"))
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{p1}/ ldaps://127.0.0.1:{p2}/"))
        .args(["-d", "256"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("slapd starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("slapd starting") {
                return;
            }
        }
        panic!("slapd ended before serving");
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), ready)
        .await
        .expect("slapd ready in time");
    // Keep draining its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Directory {
        _child: child,
        ldap: format!("127.0.0.1:{p1}").parse().unwrap(),
        ldaps: format!("127.0.0.1:{p2}").parse().unwrap(),
        ca_pem: ca_cert.pem(),
        _dir: dir,
    }
}

/// `ldapsearch` for alice's mail through `portcullis connect` to `target`.
async fn search(hub: &TestHub, token: &str, target: &str) -> String {
    let client = ApiClient::new(&hub.api_url, &hub.ca_pem, Some(token.to_owned())).unwrap();
    let (listener, addr) = connect::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let stop = CancellationToken::new();
    let fwd = Forward {
        location: "berlin".into(),
        target: target.into(),
    };
    tokio::spawn(connect::serve(client, fwd, listener, stop.clone()));
    let out = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-o", "nettimeout=20", "-H"])
        .arg(format!("ldap://{addr}"))
        .args(["-b", "dc=example,dc=com", "(cn=alice)", "mail"])
        .output()
        .await
        .expect("ldapsearch runs (scripts/test installs ldap-utils)");
    stop.cancel();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn ldapsearch_through_the_hub_plain_and_ldaps() {
    let directory = directory().await;
    let pki = tempfile::tempdir().unwrap();
    let ca = pki.path().join("directory-ca.pem");
    std::fs::write(&ca, &directory.ca_pem).unwrap();

    let hub = TestHub::start().await;
    hub.company("acme").await;
    let token = hub.token("acme", "directory-app").await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .with_toml(&format!(
            "[backend_tls]\ntrust_store = [\"{}\"]\n",
            ca.display()
        ))
        .expose_with(
            "ldap",
            "ldap.internal:389",
            directory.ldap,
            "protocol = \"ldap\"\n",
        )
        .expose_with(
            "ldaps",
            "ldaps.internal:389",
            directory.ldaps,
            "protocol = \"ldaps\"\n",
        )
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 2)
        .await;
    hub.grant("acme", &token, "berlin", "ldap.internal:389")
        .await;
    hub.grant("acme", &token, "berlin", "ldaps.internal:389")
        .await;

    let plain = search(&hub, &token, "ldap.internal:389").await;
    assert!(plain.contains("mail: alice@example.com"), "{plain}");
    let tls = search(&hub, &token, "ldaps.internal:389").await;
    assert!(tls.contains("mail: alice@example.com"), "{tls}");
}
