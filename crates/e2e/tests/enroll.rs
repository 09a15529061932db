//! Enrolment: one-time tokens, expiry, and pinning the right hub.

use portcullis_connector::enroll::{enroll, EnrollError};
use portcullis_test_support::hub::HubOptions;
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
    let list: Vec<Value> = hub
        .admin
        .get("/api/v1/companies/acme/connectors")
        .await
        .unwrap();
    assert_eq!(list[0]["status"], "not_connected");
    assert!(list[0]["cert_fingerprint"].is_string());
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
            secret_hash: s.hash.clone(),
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
    t.secret = "0".repeat(64);
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
    let anon = portcullis::client::ApiClient::new(&hub.api_url, &hub.ca_pem, None).unwrap();
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
