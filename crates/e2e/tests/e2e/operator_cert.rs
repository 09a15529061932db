//! The operator's certificate on the API/portal listener: browsers (here curl with only the
//! operator's CA) trust it, the hub's private CA is no longer what they meet, the tunnel still
//! uses the hub CA, and Portcullis's own clients, which pin the hub CA, still get its
//! certificate (a connector enrols and connects; the CLI's client works), a renewed certificate is served without
//! a restart, and a broken renewal leaves the working one in place.

use std::path::Path;
use std::time::Duration;

use portcullis_hub::operator_tls::RawTls;
use portcullis_test_support::{HubOptions, TestHub};
use portcullis_transport::pki::{generate_ca, Ca};

/// A CA of the operator's and a certificate for 127.0.0.1 from it, written to `dir`:
/// `(ca.pem path, chain.pem, key.pem)`.
fn issue(dir: &Path, tag: &str) -> (std::path::PathBuf, String, String) {
    let ca = generate_ca(&format!("operator CA {tag}")).unwrap();
    let issuer = Ca::from_pem(&ca.cert_pem, ca.key_pem.expose()).unwrap();
    let leaf = issuer
        .issue_server_cert(
            &["127.0.0.1".to_string(), "localhost".to_string()],
            Duration::from_secs(86_400),
        )
        .unwrap();
    let ca_path = dir.join(format!("ca-{tag}.pem"));
    std::fs::write(&ca_path, &ca.cert_pem).unwrap();
    (ca_path, leaf.cert_pem, leaf.key_pem.expose().clone())
}

/// Whether curl, trusting only `ca`, completes a request to the hub's API.
async fn trusted_by(hub: &TestHub, ca: &Path) -> bool {
    let out = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            "--cacert",
        ])
        .arg(ca)
        .arg(format!("{}/api/v1/health", hub.api_url))
        .output()
        .await
        .unwrap();
    out.status.success() && String::from_utf8_lossy(&out.stdout) == "200"
}

/// Waits until `cond` holds for `watched`, woken by each load or failed load (bounded).
async fn until(
    what: &str,
    watched: &portcullis_hub::operator_tls::ReloadingCert,
    cond: impl Fn(&portcullis_hub::operator_tls::ReloadingCert) -> bool,
) {
    let mut changes = watched.changes();
    tokio::time::timeout(Duration::from_secs(15), async {
        while !cond(watched) {
            changes.changed().await.expect("the watcher is alive");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test]
async fn the_portal_serves_the_operators_certificate_and_reloads_it() {
    let files = tempfile::tempdir().unwrap();
    let chain = files.path().join("chain.pem");
    let key = files.path().join("key.pem");
    let (ca_a, cert_a, key_a) = issue(files.path(), "a");
    std::fs::write(&chain, &cert_a).unwrap();
    std::fs::write(&key, &key_a).unwrap();
    let hub = TestHub::start_with(HubOptions {
        tls: RawTls {
            api_certificate: Some(chain.clone()),
            api_private_key: Some(key.clone()),
            reload_check_secs: Some(1),
            ..RawTls::default()
        },
        ..HubOptions::default()
    })
    .await;
    let hub_ca = files.path().join("hub-ca.pem");
    std::fs::write(&hub_ca, &hub.ca_pem).unwrap();
    assert!(
        trusted_by(&hub, &ca_a).await,
        "the operator's CA is not trusted"
    );
    assert!(
        !trusted_by(&hub, &hub_ca).await,
        "the API still serves the hub CA's certificate"
    );

    // Portcullis's own clients pin the hub CA and still get its certificate (the CLI's API
    // client here; a connector's enrolment below).
    hub.admin
        .health()
        .await
        .expect("a client pinning the hub CA still connects");

    // The tunnel keeps the hub CA: a connector enrols and its tunnel comes up.
    hub.company("acme").await;
    let conn = portcullis_test_support::TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |_| true)
        .await;

    // A renewal from another CA: served once the check has seen it, without a restart.
    let watched = hub.state().operator_certs.api.clone().expect("watched");
    let (ca_b, cert_b, key_b) = issue(files.path(), "b");
    std::fs::write(&key, &key_b).unwrap();
    std::fs::write(&chain, &cert_b).unwrap();
    until("the renewal to load", &watched, |w| w.loaded() >= 2).await;
    // (An in-between state, new key with the old chain, may have failed to load: allowed.)
    assert!(
        trusted_by(&hub, &ca_b).await,
        "the renewed certificate is not served"
    );
    assert!(!trusted_by(&hub, &ca_a).await);

    // A broken renewal: the working certificate stays.
    let failed = watched.failed();
    std::fs::write(&chain, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    until("the broken file to be seen", &watched, |w| {
        w.failed() > failed
    })
    .await;
    assert!(
        trusted_by(&hub, &ca_b).await,
        "a broken renewal took the certificate down"
    );
}

#[test]
fn a_half_configured_or_unreadable_certificate_stops_the_configuration() {
    use portcullis_hub::config::{HubConfig, RawHubConfig};
    let raw =
        RawHubConfig::from_toml("[tls]\napi_certificate = \"/nonexistent/chain.pem\"\n").unwrap();
    let e = HubConfig::try_from(raw).unwrap_err().to_string();
    assert!(e.contains("api_private_key"), "{e}");
}
