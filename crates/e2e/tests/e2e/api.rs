//! The REST API's contract: every documented path is routed, errors are JSON `{code, message}`,
//! and authentication is required where the document says so.

use std::collections::BTreeSet;

use portcullis_client::requests::NewServiceConnection;
use portcullis_test_support::TestHub;
use serde_json::{json, Value};

#[tokio::test]
async fn every_documented_path_is_routed_and_errors_are_json() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let doc: Value = hub.admin.get("/api/v1/openapi.json").await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10, "document lists the API");
    let anon = portcullis_client::ApiClient::new(&hub.api_url, &hub.ca_pem, None).unwrap();
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
                "put" => anon.put(&concrete, &serde_json::json!({})).await,
                "patch" => anon.patch(&concrete, &serde_json::json!({})).await,
                "delete" => anon.delete(&concrete).await,
                m => panic!("{path}: unexpected method {m}"),
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
    // Every reference in the document resolves.
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"").skip(1) {
        let target = r.split('"').next().unwrap();
        let pointer = target.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
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

/// The property names a schema documents (through `$ref` and `allOf`), and the required ones.
fn documented(doc: &Value, schema: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        return documented(doc, doc.pointer(&r[1..]).expect("resolves"));
    }
    if schema["type"] == "array" {
        return documented(doc, &schema["items"]);
    }
    let mut props = BTreeSet::new();
    let mut required = BTreeSet::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (p, r) = documented(doc, part);
        props.extend(p);
        required.extend(r);
    }
    props.extend(
        schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone()),
    );
    required.extend(
        schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| k.as_str().unwrap().to_string()),
    );
    (props, required)
}

/// The answers of the remote-connection calls have exactly the fields the document names,
/// and the enums it lists hold the values the hub sends.
#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let doc: Value = hub.admin.get("/api/v1/openapi.json").await.unwrap();
    let system: Value = hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/companies/acme/systems",
            &json!({
                "sid": "PRD", "system_number": "00", "system_type": "dual_stack",
                "product": "SAP S/4HANA", "product_version": "2023",
                "installation_number": "0020123456", "status": "active",
                "eu_data_protection": true, "advanced_secure_support": false,
                "allow_independent_opening": false, "description": "production",
            }),
        )
        .await
        .unwrap();
    let sc: Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/systems/{}/service-connections", system["id"]),
            &json!({"connection_type": "generic_tcp", "location": "berlin",
                    "virtual_host": "erp.internal", "virtual_port": 3200}),
        )
        .await
        .unwrap();
    let win: Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/service-connections/{}/windows", sc["id"]),
            &json!({"contact": "Bob"}),
        )
        .await
        .unwrap();
    let _: Value = hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/users",
            &json!({"company": "acme", "name": "bot", "role": "technical"}),
        )
        .await
        .unwrap();
    let _: Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/service-connections/{}/grants", sc["id"]),
            &json!({"user": "bot"}),
        )
        .await
        .unwrap();
    let _: Value = hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/users",
            &json!({"company": "acme", "name": "opener", "role": "company_user",
                    "authorizations": ["open_service_connections"]}),
        )
        .await
        .unwrap();
    // A token of each scope for the token list: a technical user's API token, and a company
    // admin's route password.
    hub.token("acme", "ci").await;
    let _: Value = hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/users",
            &json!({"company": "acme", "name": "carol", "role": "company_admin"}),
        )
        .await
        .unwrap();
    let carol_id = hub
        .admin
        .get::<Vec<Value>>("/api/v1/users?company=acme")
        .await
        .unwrap()
        .into_iter()
        .find(|u| u["name"] == "carol")
        .unwrap()["id"]
        .clone();
    let carol: Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/users/{carol_id}/tokens"),
            &json!({"name": "laptop"}),
        )
        .await
        .unwrap();
    let route: Value = hub
        .client(carol["token"].as_str().unwrap())
        .post("/api/v1/route-passwords", &json!({"ttl_minutes": 10}))
        .await
        .unwrap();
    let issued = &doc["components"]["schemas"]["IssuedRoutePassword"];
    let (props, required) = documented(&doc, issued);
    let keys: BTreeSet<String> = route.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys, props,
        "POST /api/v1/route-passwords: fields differ from the document"
    );
    assert!(required.is_subset(&keys));
    let calls = [
        ("/api/v1/companies", "/api/v1/companies".to_string()),
        (
            "/api/v1/companies/{company}/tokens",
            "/api/v1/companies/acme/tokens".into(),
        ),
        ("/api/v1/users", "/api/v1/users?company=acme".to_string()),
        (
            "/api/v1/companies/{company}/systems",
            "/api/v1/companies/acme/systems".into(),
        ),
        (
            "/api/v1/systems/{id}",
            format!("/api/v1/systems/{}", system["id"]),
        ),
        (
            "/api/v1/systems/{id}/logbook",
            format!("/api/v1/systems/{}/logbook", system["id"]),
        ),
        (
            "/api/v1/companies/{company}/connection-types",
            "/api/v1/companies/acme/connection-types".into(),
        ),
        (
            "/api/v1/companies/{company}/service-connections",
            "/api/v1/companies/acme/service-connections".into(),
        ),
        (
            "/api/v1/service-connections/{id}",
            format!("/api/v1/service-connections/{}", sc["id"]),
        ),
        (
            "/api/v1/service-connections/{id}/windows",
            format!("/api/v1/service-connections/{}/windows", sc["id"]),
        ),
        (
            "/api/v1/companies/{company}/windows",
            "/api/v1/companies/acme/windows".into(),
        ),
        (
            "/api/v1/windows/{id}",
            format!("/api/v1/windows/{}", win["id"]),
        ),
        (
            "/api/v1/companies/{company}/grants",
            "/api/v1/companies/acme/grants".into(),
        ),
        (
            "/api/v1/companies/{company}/summary",
            "/api/v1/companies/acme/summary".into(),
        ),
        ("/api/v1/audit", "/api/v1/audit?company=acme".into()),
    ];
    // The company's admin reads all of it (the vendor admin not its grants and tokens).
    let acme_admin = hub.company_admin("acme").await;
    for (documented_path, path) in calls {
        let schema = &doc["paths"][documented_path]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "GET {documented_path}: no answer schema"
        );
        let (props, required) = documented(&doc, schema);
        let answer: Value = acme_admin.get(&path).await.unwrap();
        let items = match answer {
            Value::Array(a) => a,
            one => vec![one],
        };
        assert!(!items.is_empty(), "GET {path} answered nothing to check");
        for item in items {
            let keys: BTreeSet<String> = item.as_object().unwrap().keys().cloned().collect();
            assert_eq!(keys, props, "GET {path}: fields differ from the document");
            assert!(required.is_subset(&keys), "GET {path}: {required:?}");
        }
    }
    // Enums: what the hub sends is among what the document lists.
    let enum_of = |name: &str| doc["components"]["schemas"][name]["enum"].clone();
    let has = |name: &str, v: &Value| {
        assert!(
            enum_of(name).as_array().unwrap().contains(v),
            "{name} lacks {v}"
        )
    };
    has("SystemType", &system["system_type"]);
    has("SystemStatus", &system["status"]);
    has("WindowState", &win["state"]);
    has("WindowState", &sc["state"]);
    let tokens: Vec<Value> = hub
        .company_admin("acme")
        .await
        .get("/api/v1/companies/acme/tokens")
        .await
        .unwrap();
    let scopes: BTreeSet<&str> = tokens
        .iter()
        .map(|t| t["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, BTreeSet::from(["api", "route"]));
    for t in &tokens {
        has("TokenScope", &t["scope"]);
    }
    assert_eq!(
        enum_of("TokenScope").as_array().unwrap().len(),
        portcullis_store::TokenScope::ALL.len()
    );
    let users: Vec<Value> = hub.admin.get("/api/v1/users?company=acme").await.unwrap();
    for u in &users {
        has("Role", &u["role"]);
        for a in u["authorizations"].as_array().unwrap() {
            has("Authorization", a);
        }
    }
    let types: Vec<Value> = hub
        .admin
        .get("/api/v1/companies/acme/connection-types")
        .await
        .unwrap();
    for t in &types {
        has("ConnProtocol", &t["protocol"]);
    }
    assert_eq!(
        enum_of("Role").as_array().unwrap().len(),
        portcullis_domain::authz::Role::ALL.len()
    );
    assert_eq!(
        enum_of("Authorization").as_array().unwrap().len(),
        portcullis_domain::authz::Authorization::ALL.len()
    );
    assert_eq!(
        enum_of("SystemType").as_array().unwrap().len(),
        portcullis_domain::system::SystemType::ALL.len()
    );
}

/// A service-connection filter value that no connection can have (an unknown window state or
/// network status) answers 400 `invalid`, as the document's enums promise, not an empty list.
#[tokio::test]
async fn service_connection_filters_outside_the_documented_values_are_refused() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    for q in ["state=opened", "network=online", "network=not_set_up"] {
        let err = hub
            .admin
            .get::<Value>(&format!("/api/v1/companies/acme/service-connections?{q}"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("[invalid]"), "{q}: {err}");
    }
    for q in ["state=open", "network=revoked", "network=not_enrolled"] {
        let ok: Vec<Value> = hub
            .admin
            .get(&format!("/api/v1/companies/acme/service-connections?{q}"))
            .await
            .unwrap();
        assert!(ok.is_empty(), "{q}");
    }
}

/// Window times at the edge of the calendar and lengths no window can have answer a 4xx; they
/// used to overflow the window arithmetic and panic the handler (the connection dropped
/// without an answer).
#[tokio::test]
async fn window_times_at_the_calendar_edge_are_refused_not_a_crash() {
    use time::format_description::well_known::Rfc3339;
    let hub = TestHub::start().await;
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let system = hub.system("acme", "PRD").await;
    let sc = hub
        .service(
            &system,
            &NewServiceConnection::new("generic_tcp", "berlin", "erp.internal", 3200),
        )
        .await;
    let windows = format!("/api/v1/service-connections/{}/windows", sc.id);
    // Windows are the customer's to open (BY-01).
    let acme = hub.company_admin("acme").await;
    for (body, code) in [
        (
            json!({"contact": "Bob", "start": "9999-12-31T23:59:59Z"}),
            "[invalid]",
        ),
        (
            json!({"contact": "Bob", "start": "9999-12-31T20:00:00Z", "hours": 4}),
            "[invalid]",
        ),
        (
            json!({"contact": "Bob", "hours": u32::MAX}),
            "[window_rule]",
        ),
    ] {
        let err = acme
            .post::<_, Value>(&windows, &body)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(code), "{body}: {err}");
    }
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&Rfc3339)
        .unwrap();
    let reserved: Value = acme
        .post(&windows, &json!({"contact": "Bob", "start": tomorrow}))
        .await
        .unwrap();
    let err = acme
        .patch::<_, Value>(
            &format!("/api/v1/windows/{}", reserved["id"]),
            &json!({"start": "9999-12-31T23:00:00Z"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("[invalid]"), "moving a reservation: {err}");
    // Nothing was created by the refused calls.
    let list: Vec<Value> = hub.admin.get(&windows).await.unwrap();
    assert_eq!(list.len(), 1);
}
