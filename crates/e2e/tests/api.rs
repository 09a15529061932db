//! The REST API's contract: every documented path is routed, errors are JSON `{code, message}`,
//! and authentication is required where the document says so.

use portcullis_test_support::TestHub;
use serde_json::Value;

#[tokio::test]
async fn every_documented_path_is_routed_and_errors_are_json() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let doc: Value = hub.admin.get("/api/v1/openapi.json").await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "document lists the API");
    let anon = portcullis::client::ApiClient::new(&hub.api_url, &hub.ca_pem, None).unwrap();
    for (path, ops) in paths {
        let concrete = path.replace("{company}", "acme").replace("{id}", "1");
        for method in ops.as_object().unwrap().keys() {
            let secured = ops[method]
                .get("security")
                .map(|s| s != &serde_json::json!([]))
                .unwrap_or(true);
            let res: Result<Value, _> = match method.as_str() {
                "get" => anon.get(&concrete).await,
                "post" => anon.post(&concrete, &serde_json::json!({})).await,
                m => panic!("unexpected method {m}"),
            };
            if let Err(e) = &res {
                let msg = e.to_string();
                assert!(
                    !msg.contains("route not found"),
                    "{method} {path} is documented but not routed: {msg}"
                );
                assert!(
                    msg.contains('['),
                    "{method} {path}: error is not {{code, message}} JSON: {msg}"
                );
                if secured {
                    assert!(
                        msg.contains("auth_required"),
                        "{method} {path} without a token: {msg}"
                    );
                }
            } else {
                assert!(!secured, "{method} {path} answered without a token");
            }
        }
    }
    // An undocumented path is a JSON 404.
    let err = anon
        .get::<Value>("/api/v1/nope")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not_found"), "{err}");
}

#[tokio::test]
async fn admin_inputs_are_validated_with_clear_codes() {
    let hub = TestHub::start().await;
    let bad = hub
        .admin
        .post::<_, Value>(
            "/api/v1/companies",
            &serde_json::json!({"name": "has space"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(bad.contains("invalid_name"), "{bad}");
    hub.company("acme").await;
    let dup = hub
        .admin
        .post::<_, Value>("/api/v1/companies", &serde_json::json!({"name": "acme"}))
        .await
        .unwrap_err()
        .to_string();
    assert!(dup.contains("conflict"), "{dup}");
    let unknown = hub
        .admin
        .post::<_, Value>(
            "/api/v1/companies",
            &serde_json::json!({"name": "x", "extra": 1}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("422") || unknown.contains("400"),
        "{unknown}"
    );
    let missing = hub
        .admin
        .get::<Value>("/api/v1/companies/globex/connectors")
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("not_found"), "{missing}");
}
