//! Enrolment: one-time tokens, expiry, and pinning the right hub.

use std::os::unix::fs::PermissionsExt;

use portcullis_client::views::ConnectorStatus;
use portcullis_connector::enroll::{enroll, prepare, EnrollError, PENDING_FILE};
use portcullis_test_support::hub::HubOptions;
use portcullis_test_support::mount::Tmpfs;
use portcullis_test_support::TestHub;
use serde_json::Value;

#[tokio::test]
async fn a_token_works_once() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (_, token) = hub.connector("acme", "berlin").await;
    let d1 = tempfile::tempdir().unwrap();
    let id = enroll(&hub.api_url, &token, d1.path(), false)
        .await
        .unwrap();
    assert_eq!(id.enrollment.company, "acme");
    assert_eq!(id.enrollment.location, "berlin");
    let d2 = tempfile::tempdir().unwrap();
    match enroll(&hub.api_url, &token, d2.path(), false).await {
        Err(EnrollError::Refused { code, .. }) => assert_eq!(code, "token_used"),
        other => panic!("token reused: {other:?}"),
    }
    let list = hub.admin.list_connectors("acme").await.unwrap();
    assert_eq!(list[0].status, ConnectorStatus::NotConnected);
    assert!(list[0].cert_fingerprint.is_some());
}

#[tokio::test]
async fn an_expired_token_is_refused_with_its_own_code() {
    let hub = TestHub::start_with(HubOptions {
        enrollment_ttl_secs: Some(1),
        ..Default::default()
    })
    .await;
    hub.company("acme").await;
    let (id, _) = hub.connector("acme", "berlin").await;
    // Issue a token that is already expired, straight in the store.
    let s = portcullis_hub::auth::new_secret(8);
    hub.state()
        .store
        .create_enrollment_token(portcullis_store::NewEnrollmentToken {
            connector_id: id,
            public_id: s.public_id.clone(),
            secret_hash: s.hash.clone().into(),
            expires_at: time::OffsetDateTime::now_utc() - time::Duration::seconds(5),
        })
        .await
        .unwrap();
    let tok = portcullis_proto::enroll::EnrollToken {
        public_id: s.public_id,
        secret: s.secret,
        ca_fingerprint: hub.state().pki.ca.fingerprint_hex().to_string(),
    };
    let d = tempfile::tempdir().unwrap();
    match enroll(&hub.api_url, &tok.to_token_string(), d.path(), false).await {
        Err(EnrollError::Refused { status, code, .. }) => {
            assert_eq!(status, 410);
            assert_eq!(code, "token_expired");
        }
        other => panic!("expired token accepted: {other:?}"),
    }
}

#[tokio::test]
async fn a_token_from_another_hub_fails_before_anything_is_sent() {
    let hub = TestHub::start().await;
    let other = TestHub::start().await;
    other.company("acme").await;
    let (_, token) = other.connector("acme", "berlin").await;
    let d = tempfile::tempdir().unwrap();
    // The token pins the other hub's CA; this hub's certificate does not match.
    let err = enroll(&hub.api_url, &token, d.path(), false)
        .await
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("fingerprint"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_secret_does_not_burn_the_token() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (_, token) = hub.connector("acme", "berlin").await;
    let mut t = portcullis_proto::enroll::EnrollToken::parse(&token).unwrap();
    let good_secret = t.secret.clone();
    t.secret = "0".repeat(64).into();
    let d = tempfile::tempdir().unwrap();
    match enroll(&hub.api_url, &t.to_token_string(), d.path(), false).await {
        Err(EnrollError::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (401, "invalid_token"));
        }
        other => panic!("wrong secret accepted: {other:?}"),
    }
    t.secret = good_secret;
    enroll(&hub.api_url, &t.to_token_string(), d.path(), false)
        .await
        .expect("the right secret still works");
}

#[tokio::test]
async fn a_bad_csr_does_not_burn_the_token() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (_, token) = hub.connector("acme", "berlin").await;
    let anon = portcullis_client::ApiClient::new(&hub.api_url, &hub.ca_pem, None).unwrap();
    let err = anon
        .post::<_, Value>(
            "/api/v1/enroll",
            &serde_json::json!({"token": token, "csr_pem": "-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n-----END CERTIFICATE REQUEST-----\n"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad_csr"), "{err}");
    let d = tempfile::tempdir().unwrap();
    enroll(&hub.api_url, &token, d.path(), false)
        .await
        .expect("the token still works after a bad CSR");
}

/// Issue 13, class 11: a data directory the connector cannot write fails the enrolment
/// *before* the one-time token is redeemed, with the reason; the same token then works from a
/// writable directory.
///
/// Tests run as root, and `chmod 0500` does not stop root, so the unwritable directories are
/// ones that stop root too: a path that is a regular file (always), and a tmpfs mounted
/// read-only (`mount -o ro`; skipped only where mounting is not permitted).
#[tokio::test]
async fn an_enrolment_into_an_unwritable_data_directory_does_not_spend_the_token() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (_, token) = hub.connector("acme", "berlin").await;
    let d = tempfile::tempdir().unwrap();

    // The data directory's place is taken by a file.
    let file = d.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = enroll(&hub.api_url, &token, &file, false)
        .await
        .expect_err("a file is no data directory");
    assert!(
        matches!(err, EnrollError::Identity(_)) && err.to_string().contains("not-a-dir"),
        "{err}"
    );

    // A read-only file system.
    let ro = d.path().join("ro");
    match Tmpfs::mount(&ro, "ro,size=64k") {
        Ok(_mounted) => {
            let err = enroll(&hub.api_url, &token, &ro.join("data"), false)
                .await
                .expect_err("a read-only data directory");
            assert!(
                matches!(err, EnrollError::Identity(_))
                    && err.to_string().contains("Read-only file system"),
                "{err}"
            );
        }
        Err(why) => eprintln!("SKIPPED the read-only mount case (run as root): {why}"),
    }

    // The token was not spent.
    let ok = d.path().join("data");
    let id = enroll(&hub.api_url, &token, &ok, false)
        .await
        .expect("the token still works from a writable directory");
    assert_eq!(id.enrollment.location, "berlin");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let identity = ok.join("identity");
    assert_eq!(mode(&identity), 0o700);
    for f in ["client.key", "client.pem", "ca.pem", "enrollment.json"] {
        assert_eq!(mode(&identity.join(f)), 0o600, "{f}");
    }
    assert!(
        !identity.join(PENDING_FILE).exists(),
        "the pending key is gone"
    );
}

/// Issue 13, class 11: the hub redeemed the token but the connector never got the answer (a
/// dropped connection, a crash). The same enrolment again — same token, same key, kept in the
/// data directory — gets a certificate, and the connector connects with it; the token with any
/// other key stays refused.
#[tokio::test]
async fn a_lost_answer_can_be_asked_again_with_the_same_token_and_key_only() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (conn_id, token) = hub.connector("acme", "berlin").await;
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");

    // The first attempt: the request goes out, the hub redeems the token, the answer is lost.
    let prepared = prepare(&token, &data, false).expect("prepared");
    let anon = portcullis_client::ApiClient::new(&hub.api_url, &hub.ca_pem, None).unwrap();
    let lost: Value = anon
        .post("/api/v1/enroll", &prepared.request)
        .await
        .expect("the hub enrols it");
    assert!(lost["certificate_pem"].is_string());
    assert!(!data.join("identity").join("client.pem").exists());

    // Another key with the spent token: refused.
    let other = tempfile::tempdir().unwrap();
    match enroll(&hub.api_url, &token, other.path(), false).await {
        Err(EnrollError::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (410, "token_used"))
        }
        other => panic!("a spent token enrolled another key: {other:?}"),
    }

    // The same enrolment again: the kept key, the same token.
    let id = enroll(&hub.api_url, &token, &data, false)
        .await
        .expect("the repeat with the same key is answered");
    let cert = portcullis_transport::pki::pem_to_der_certs(&id.certificate_pem).unwrap();
    let list = hub.admin.list_connectors("acme").await.unwrap();
    let row = list.iter().find(|c| c.id == conn_id).expect("listed");
    assert_eq!(
        row.cert_fingerprint.as_deref(),
        Some(portcullis_transport::pki::fingerprint_hex(&cert[0]).as_str()),
        "the hub holds the certificate the connector holds"
    );
    let repeats = hub.wait_audit("connector.enrolled", 2).await;
    assert_eq!(repeats[1].detail["repeat"], true, "{repeats:?}");

    // And the connector that holds it connects.
    let config = d.path().join("connector.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[admin]\nlisten = \"\"\n",
            data.to_str().unwrap()
        ),
    )
    .unwrap();
    let cfg = portcullis_connector::ConnectorConfig::load(&config).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut c = portcullis_connector::spawn(cfg, Some(config), shutdown.clone());
    tokio::time::timeout(
        portcullis_test_support::WAIT,
        c.status
            .wait_for(|s| s.state == portcullis_connector::State::Connected),
    )
    .await
    .expect("connected in time")
    .expect("runs");
    shutdown.cancel();
    tokio::time::timeout(portcullis_test_support::WAIT, c.join)
        .await
        .expect("the connector stops when told to")
        .expect("the connector's task did not panic")
        .expect("a connector told to stop ends without an error");
}
