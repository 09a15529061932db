//! The REST API of the connector's monitoring, live sessions and audit log against every role:
//! each route answers what the role's permits say (403 where they do not, never 403 where they
//! do), and 401 without credentials.

use super::connector_ui::{api, NEW_PASSWORD};
use super::connector_ui_monitoring::{admin, user, world};

#[tokio::test]
async fn connector_ui_monitoring_api_answers_each_role_as_its_permits_say() {
    let w = world().await;
    let admin = admin(&w).await;
    for (name, role) in [
        ("dora", "Display"),
        ("mona", "Monitoring"),
        ("sam", "Support"),
    ] {
        user(&w, &admin, name, role).await;
    }
    let settings = r#"{"level":"security","categories":["access","trust","monitoring","users","settings"],"retention_days":0}"#;
    // (method, path, body, Administrator, Display, Monitoring, Support); a change an
    // Administrator may make answers what the operation says (404: no such session, 400: no
    // retention to clean up by), never 403.
    let rows: &[(&str, &str, Option<&str>, [u16; 4])] = &[
        (
            "GET",
            "/api/v1/monitoring/hardware",
            None,
            [200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/monitoring/performance",
            None,
            [200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/monitoring/recent",
            None,
            [200, 200, 200, 200],
        ),
        ("GET", "/api/v1/monitoring/top", None, [200, 200, 200, 200]),
        (
            "GET",
            "/api/v1/monitoring/usage",
            None,
            [200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/monitoring/alerts",
            None,
            [200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/monitoring/connections",
            None,
            [200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/monitoring/reset/top_time_consumers",
            None,
            [200, 403, 403, 403],
        ),
        ("GET", "/api/v1/sessions", None, [200, 200, 200, 200]),
        (
            "POST",
            "/api/v1/sessions/999/cut",
            None,
            [404, 403, 403, 403],
        ),
        ("GET", "/api/v1/audit", None, [200, 200, 403, 200]),
        ("POST", "/api/v1/audit/verify", None, [200, 200, 403, 200]),
        ("GET", "/api/v1/audit/export", None, [200, 200, 403, 200]),
        ("GET", "/api/v1/audit/settings", None, [200, 200, 403, 200]),
        (
            "PUT",
            "/api/v1/audit/settings",
            Some(settings),
            [200, 403, 403, 403],
        ),
        ("POST", "/api/v1/audit/cleanup", None, [400, 403, 403, 403]),
    ];
    let users = ["Administrator", "dora", "mona", "sam"];
    let mut wrong = Vec::new();
    for (method, path, body, want) in rows {
        for (user, want) in users.iter().zip(want) {
            let r = api(&admin, user, NEW_PASSWORD, method, path, *body).await;
            if r.status != *want {
                wrong.push(format!(
                    "{user} {method} {path}: {} not {want}: {}",
                    r.status, r.body
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Without credentials: 401 everywhere.
    let r = admin
        .run(&["-X", "GET", &admin.url("/api/v1/sessions")])
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}
