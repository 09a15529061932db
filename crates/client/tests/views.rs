//! Every view deserializes from a real hub's answer and serializes back to the same JSON: no
//! field of the answer is lost, renamed or retyped by the view. The answers come from a hub
//! started in this process, after data that makes every optional part appear (a connected
//! connector with its tunnel, a revoked one, a window, a grant, a route password …).

use portcullis_client::requests::{
    AuditQuery, ConnTypeDef, NewRoutePassword, NewServiceConnection, NewUser, NewUserToken,
    OpenWindow, ServiceQuery, SetPassword, SystemQuery,
};
use portcullis_client::views::*;
use portcullis_client::{ApiClient, StatusCode};
use portcullis_domain::authz::Role;
use portcullis_test_support::{echo_server, HubOptions, TestConnector, TestHub};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// `raw` read as `T`, and `T` written back as `raw`.
fn round_trip<T: DeserializeOwned + Serialize>(what: &str, raw: Value) -> T {
    let typed: T = serde_json::from_value(raw.clone())
        .unwrap_or_else(|e| panic!("{what}: the view does not read the answer: {e}\n{raw:#}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back, raw, "{what}: the view changes the answer");
    typed
}

/// GETs `path` untyped and checks `T` against the answer.
async fn get<T: DeserializeOwned + Serialize>(api: &ApiClient, path: &str) -> T {
    let (status, raw) = api.get_raw(path).await.unwrap();
    assert!(status.is_success(), "GET {path}: {status} {raw}");
    round_trip(&format!("GET {path}"), raw)
}

/// POSTs `body` to `path` untyped and checks `T` against the answer.
async fn post<T: DeserializeOwned + Serialize>(api: &ApiClient, path: &str, body: Value) -> T {
    let (status, raw) = api.post_raw(path, &body).await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {raw}");
    round_trip(&format!("POST {path}"), raw)
}

#[tokio::test]
async fn every_view_reads_and_writes_back_a_real_answer() {
    let hub = TestHub::start_with(HubOptions {
        warn_below: Some("99.0.0".into()),
        sunset_date: Some("2099-01-31".into()),
        ..HubOptions::default()
    })
    .await;
    let admin = &hub.admin;

    let _: Health = get(admin, "/api/v1/health").await;
    let version: HubVersion = get(admin, "/api/v1/version").await;
    assert_eq!(version.sunset_date.as_deref(), Some("2099-01-31"));

    let company: Company = post(
        admin,
        "/api/v1/companies",
        serde_json::json!({"name": "acme"}),
    )
    .await;
    let companies: Vec<Company> = get(admin, "/api/v1/companies").await;
    assert_eq!(companies, std::slice::from_ref(&company));

    // The company's first admin (through the typed calls: test-support keeps him for the
    // helpers that act as him).
    let acme = hub.company_admin("acme").await;
    let bot: CreatedToken = post(
        &acme,
        "/api/v1/companies/acme/tokens",
        serde_json::json!({"name": "bot", "expires_in_secs": 3600}),
    )
    .await;
    assert!(bot.expires_at.is_some());
    assert_eq!(bot.role, Role::Technical);

    // A connector that runs (its tunnel and inventory), and one that is revoked.
    let echo = echo_server().await;
    let conn = TestConnector::for_hub(&hub, "acme", "berlin")
        .await
        .expose("echo", "echo.internal:7", echo)
        .expose_with(
            "web",
            "web.internal:80",
            echo,
            "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\npolicy = \"path_and_sub_paths\"\n",
        )
        .run()
        .await;
    hub.wait_inventory(conn.company_id, "berlin", |i| i.len() == 2)
        .await;
    let hamburg: ConnectorWithToken = post(
        &acme,
        "/api/v1/companies/acme/connectors",
        serde_json::json!({"location": "hamburg"}),
    )
    .await;
    let revoked: Connector = post(
        &acme,
        &format!("/api/v1/connectors/{}/revoke", hamburg.connector.id),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(revoked.status, ConnectorStatus::Revoked);
    let _: ConnectorWithToken = post(
        &acme,
        &format!("/api/v1/connectors/{}/enrollment-token", conn.id),
        serde_json::json!({}),
    )
    .await;
    let connectors: Vec<Connector> = get(&acme, "/api/v1/companies/acme/connectors").await;
    let berlin = connectors.iter().find(|c| c.location == "berlin").unwrap();
    assert_eq!(berlin.status, ConnectorStatus::Connected);
    let tunnel = berlin.tunnel.as_ref().expect("a live tunnel");
    assert_eq!(tunnel.inventory.len(), 2);
    assert!(tunnel.warning.is_some(), "below warn_below: warned");

    // Users and their tokens.
    let alice: User = post(
        admin,
        "/api/v1/users",
        serde_json::to_value(NewUser::new("alice", Role::SupportEngineer)).unwrap(),
    )
    .await;
    let alice_token: IssuedToken = post(
        admin,
        &format!("/api/v1/users/{}/tokens", alice.id),
        serde_json::to_value(NewUserToken {
            name: "laptop".into(),
            ..NewUserToken::default()
        })
        .unwrap(),
    )
    .await;
    let _: PasswordSet = post(
        admin,
        &format!("/api/v1/users/{}/password", alice.id),
        serde_json::to_value(SetPassword::default()).unwrap(),
    )
    .await;
    let carol: User = post(
        &acme,
        "/api/v1/users",
        serde_json::to_value(NewUser::new("carol", Role::CompanyUser).in_company("acme")).unwrap(),
    )
    .await;
    let _: Vec<User> = get(admin, "/api/v1/users").await;
    let acme_users: Vec<User> = get(&acme, "/api/v1/users?company=acme").await;
    assert!(acme_users.iter().any(|u| u.id == carol.id));
    let engineer = hub.client(alice_token.token.expose());
    let route: IssuedRoutePassword = post(
        &engineer,
        "/api/v1/route-passwords",
        serde_json::to_value(NewRoutePassword {
            ttl_minutes: Some(5),
        })
        .unwrap(),
    )
    .await;
    let tokens: Vec<ApiToken> = get(&acme, "/api/v1/companies/acme/tokens").await;
    assert!(tokens
        .iter()
        .any(|t| t.id == bot.id && t.scope == TokenScope::Api));
    let revoked_token: TokenRevoked = post(
        admin,
        &format!("/api/v1/tokens/{}/revoke", route.id),
        serde_json::json!({}),
    )
    .await;
    assert!(revoked_token.revoked && revoked_token.was_active);
    let disabled: User = post(
        &acme,
        &format!("/api/v1/users/{}/disable", carol.id),
        serde_json::json!({}),
    )
    .await;
    assert!(disabled.disabled_at.is_some());

    // A system, its service connections (TCP and web), a window, a grant.
    let prd = hub.system("acme", "PRD").await;
    let system: System = get::<SystemView>(&acme, &format!("/api/v1/systems/{}", prd.id))
        .await
        .system;
    assert_eq!(system, prd);
    let _: Vec<SystemView> = get(&acme, "/api/v1/companies/acme/systems").await;
    let types: Vec<ConnectionType> = get(&acme, "/api/v1/companies/acme/connection-types").await;
    assert!(types
        .iter()
        .any(|t| t.def.key == "generic_tcp" && t.company_id.is_none()));
    let own: ConnectionType = post(
        &acme,
        "/api/v1/companies/acme/connection-types",
        serde_json::json!({
            "key": "pg", "name": "PostgreSQL", "protocol": "tcp", "default_port": 5432,
            "needs_url": false, "description": "the database",
        }),
    )
    .await;
    assert_eq!(own.company_id, Some(acme_users[0].company_id.unwrap()));
    let tcp: ServiceConnection = post(
        &acme,
        &format!("/api/v1/systems/{}/service-connections", prd.id),
        serde_json::to_value(NewServiceConnection::new(
            "generic_tcp",
            "berlin",
            "echo.internal",
            7,
        ))
        .unwrap(),
    )
    .await;
    let web = hub
        .service(
            &prd,
            &NewServiceConnection::new("http_connect", "berlin", "web.internal", 80)
                .with_url("http://web.internal/"),
        )
        .await;
    let _: Vec<ServiceConnection> = get(&acme, "/api/v1/companies/acme/service-connections").await;
    let window: Window = post(
        &acme,
        &format!("/api/v1/service-connections/{}/windows", web.id),
        serde_json::to_value(OpenWindow::now("Bob")).unwrap(),
    )
    .await;
    let closed: Window = post(
        &acme,
        &format!("/api/v1/windows/{}/close", window.id),
        serde_json::json!({}),
    )
    .await;
    assert!(closed.closed_at.is_some());
    let window: Window = post(
        &acme,
        &format!("/api/v1/service-connections/{}/windows", web.id),
        serde_json::to_value(OpenWindow::now("Bob")).unwrap(),
    )
    .await;
    let _: Vec<Window> = get(&acme, "/api/v1/companies/acme/windows").await;
    let _: Window = get(&acme, &format!("/api/v1/windows/{}", window.id)).await;
    let _: WebLink = post(
        &engineer,
        &format!("/api/v1/service-connections/{}/web-link", web.id),
        serde_json::json!({}),
    )
    .await;
    let grant: Grant = post(
        &acme,
        &format!("/api/v1/service-connections/{}/grants", tcp.id),
        serde_json::json!({"user": bot.user}),
    )
    .await;
    let revoked_grant: Grant = post(
        &acme,
        &format!("/api/v1/grants/{}/revoke", grant.id),
        serde_json::json!({}),
    )
    .await;
    assert!(revoked_grant.revoked_at.is_some());
    let _: Vec<Grant> = get(&acme, "/api/v1/companies/acme/grants").await;
    let summary: Summary = get(&acme, "/api/v1/companies/acme/summary").await;
    assert_eq!(summary.open_connections, 1);

    // The audit log and its check.
    let events: Vec<AuditEvent> = get(admin, "/api/v1/audit?limit=1000").await;
    assert!(events.len() > 20, "{} events", events.len());
    let _: Vec<AuditEvent> = get(&acme, &format!("/api/v1/systems/{}/logbook", prd.id)).await;
    let report: VerifyReport = get(admin, "/api/v1/audit/verify").await;
    assert!(report.ok && report.events.is_some());

    // A refusal's body.
    let (status, raw) = acme.get_raw("/api/v1/windows/999999").await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: ErrorBody = round_trip("a refusal", raw);
    assert_eq!(body.code, "not_found");

    // And the typed calls read the same answers.
    assert_eq!(admin.list_companies().await.unwrap(), [company]);
    let listed = acme
        .list_audit(&AuditQuery::action("grant.revoked", 10))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let found = admin.find_company("acme").await.unwrap();
    assert_eq!(found.map(|c| c.name).as_deref(), Some("acme"));
    assert_eq!(admin.find_company("globex").await.unwrap(), None);
    let ids = |users: &[User]| users.iter().map(|u| u.id).collect::<Vec<_>>();
    let typed_users = acme.list_company_users("acme").await.unwrap();
    assert_eq!(ids(&typed_users), ids(&acme_users));
    assert!(typed_users.iter().any(|u| u.id == disabled.id));
    let filtered = acme
        .list_service_connections_where(
            "acme",
            &ServiceQuery {
                connection_type: Some("http_connect".into()),
                ..ServiceQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(filtered.iter().map(|s| s.id).collect::<Vec<_>>(), [web.id]);
    let live = acme.list_company_windows("acme").await.unwrap();
    assert_eq!(live.iter().map(|w| w.id).collect::<Vec<_>>(), [window.id]);
    let favourites = SystemQuery {
        favourites: true,
        ..SystemQuery::default()
    };
    assert!(acme
        .list_systems_where("acme", &favourites)
        .await
        .unwrap()
        .is_empty());
    acme.favourite_system(prd.id).await.unwrap();
    let favs = acme.list_systems_where("acme", &favourites).await.unwrap();
    assert!(favs.len() == 1 && favs[0].favourite, "{favs:?}");
    acme.unfavourite_system(prd.id).await.unwrap();
    assert!(!acme.get_system(prd.id).await.unwrap().favourite);
    let def = ConnTypeDef {
        key: "redis".into(),
        ..own.def.clone()
    };
    let redis = acme.create_connection_type("acme", &def).await.unwrap();
    assert_eq!(redis.def, def);
    acme.delete_connection_type(redis.id).await.unwrap();
    acme.delete_connection_type(own.id).await.unwrap();
    assert!(!acme
        .list_connection_types("acme")
        .await
        .unwrap()
        .iter()
        .any(|t| t.company_id.is_some()));
    acme.delete_service_connection(tcp.id).await.unwrap();
    let err = acme.get_service_connection(tcp.id).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    let err = acme.get_window(999_999).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.code(), Some("not_found"));
}
