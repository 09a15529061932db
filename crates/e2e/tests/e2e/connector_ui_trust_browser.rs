//! The connector admin UI's trust store, security status and UI certificate in real headless
//! Chromium (tests/browser/scenarios/connector_ui_trust.mjs): a CA uploaded through the file
//! input, trust all with its confirmation, the security status, the UI certificate replaced by
//! a PEM upload, a backup downloaded. axe-core on every page; screenshots into `docs/connector-ui/` with
//! `PORTCULLIS_SCREENSHOTS=$PWD/docs/connector-ui`.

use rcgen::ExtendedKeyUsagePurpose;
use serde_json::json;

use super::backend_tls::{ca, leaf};
use super::connector_ui::{world, NEW_PASSWORD};

#[tokio::test]
async fn the_connector_trust_store_security_and_ui_certificate_in_chromium() {
    let w = world().await;
    let addr = w.conn.admin_addr().expect("the admin UI listens");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let backend_ca = ca("Back-end server CA");
    let ui_ca = ca("Customer UI CA");
    let (cert, key, _, _) = leaf(&ui_ca, "127.0.0.1", ExtendedKeyUsagePurpose::ServerAuth);
    portcullis_test_support::browser::run(
        "connector_ui_trust",
        &json!({
            "url": format!("https://{addr}"),
            "initial_password": w.initial_password(),
            "new_password": NEW_PASSWORD,
            "ca_file": write("erp-ca.pem", &backend_ca.pem),
            "chain_file": write("chain.pem", &format!("{cert}{}", ui_ca.pem)),
            "key_file": write("key.pem", &key),
            "backup_password": "the browser's backup password",
            "backup_file": dir.path().join("backup.age").display().to_string(),
        }),
    )
    .await;
    // The downloaded backup opens with its password (and only with it).
    let sealed = std::fs::read(dir.path().join("backup.age")).expect("the download");
    let password = |p: &str| portcullis_connector::backup::Password::new(p).unwrap();
    assert!(portcullis_connector::backup::decrypt_all(&sealed, &password("wrong")).is_err());
    let plain = portcullis_connector::backup::decrypt_all(
        &sealed,
        &password("the browser's backup password"),
    )
    .expect("the backup opens");
    assert!(!plain.is_empty());
    // What the browser did is what the connector did: the CA is in the configuration, and a
    // new TLS connection trusting only the customer's CA is served.
    let config = std::fs::read_to_string(w.conn.config_path()).unwrap();
    assert!(config.contains("erp-ca.pem"), "{config}");
    let c = super::portal::Curl::at(&format!("https://{addr}"), &ui_ca.pem);
    assert_eq!(c.get("/signin").await.status, 200);
}
