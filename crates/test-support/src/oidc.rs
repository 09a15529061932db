//! [`TestIdp`]: a real OpenID Connect provider (`oidc-provider` from npm, pinned in
//! `tests/oidc/package-lock.json`, run by `tests/oidc/idp.mjs`) on 127.0.0.1 port 0 over
//! HTTPS, with a server certificate from a CA made here (rcgen) — the CA a company's
//! "extra trusted CA" setting names.
//!
//! The issuer is `https://localhost:<port>`: another site than the hub's `127.0.0.1` for a
//! browser, as a real provider is, so `SameSite` cookies behave as they will in production.
//! Readiness is the issuer URL the script prints once it listens. Its login form takes any
//! login name with [`TestIdp::password`]; the account's `preferred_username` is that name and
//! its `email` `<name>@acme.example` unless the builder says otherwise.
//!
//! Nothing here skips: without Node.js or the npm package the start panics and says to run
//! `scripts/browser-deps` (which `scripts/test` and `.ci/run` call).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `tests/oidc`: the provider's script and its npm packages.
pub fn dir() -> PathBuf {
    crate::browser::workspace_root().join("tests/oidc")
}

/// A client registered at the provider.
#[derive(Debug, Clone)]
pub struct IdpClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
    /// The one redirect URI it may use.
    pub redirect_uri: String,
}

/// A running provider; killed when dropped.
#[derive(Debug)]
pub struct TestIdp {
    /// The issuer URL, `https://localhost:<port>`.
    pub issuer: String,
    /// The CA certificate (PEM) that signed the provider's server certificate.
    pub ca_pem: String,
    /// The password its login form takes for any login name.
    pub password: String,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl TestIdp {
    /// Starts a provider with `clients` registered; `emails` maps login names to the e-mail
    /// address their tokens carry.
    pub async fn start(clients: &[IdpClient], emails: &[(&str, &str)]) -> TestIdp {
        let dir = dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "{} has no oidc-provider: run scripts/browser-deps first (scripts/test does)",
            dir.join("node_modules").display()
        );
        let tmp = tempfile::tempdir().expect("temp dir");
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Portcullis test IdP CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let ca_pem = ca.pem();
        let key = rcgen::KeyPair::generate().expect("server key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("server");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let issuer_ca = rcgen::Issuer::new(ca_params, ca_key);
        let cert = params
            .signed_by(&key, &issuer_ca)
            .expect("server certificate");
        let cert_file = tmp.path().join("cert.pem");
        let key_file = tmp.path().join("key.pem");
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        let password = format!("idp-{}", uuid_like());
        let config = json!({
            "cert": cert_file,
            "key": key_file,
            "host": "localhost",
            "password": password,
            "clients": clients.iter().map(|c| json!({
                "client_id": c.id,
                "client_secret": c.secret,
                "redirect_uris": [c.redirect_uri],
            })).collect::<Vec<Value>>(),
            "emails": emails.iter().map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<serde_json::Map<String, Value>>(),
        });
        let config_file = tmp.path().join("config.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(dir.join("idp.mjs"))
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node ({e}): run scripts/browser-deps"));
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let issuer = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider printed its URL within 30 s")
            .expect("reading the provider's stdout")
            .expect("the provider printed its URL before it ended");
        assert!(issuer.starts_with("https://localhost:"), "{issuer}");
        // Whatever else it prints is read and dropped: a closed pipe would end it (EPIPE).
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        TestIdp {
            issuer,
            ca_pem,
            password,
            _child: child,
            _dir: tmp,
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", n, std::process::id())
}
