//! Every operation of the connector's REST API, as every role, against the API's own
//! document: `GET /api/v1/openapi.json` names each operation and the permit it asks
//! (`x-permit`). Without credentials each answers 401 (but the document itself); a role
//! without the permit gets 403 `forbidden`; a role with it gets past the check (any answer
//! but 401, 403, 404 for the route or 405). So the document cannot name an operation the code
//! lacks, nor the wrong permit, and no operation is reachable by a role that should not reach
//! it. The per-area tests check what each call does; this one checks who may call.
//!
//! The roles' permits, as the issue and `docs/connector.md` state them: Administrator all;
//! Display and Support the View… permits; Monitoring the hub connection, the security
//! status, monitoring and sessions; every role his own account (password, API tokens).

use serde_json::Value;

use super::connector_ui::{api, first_logon, ready_user, world, NEW_PASSWORD};

fn role_may(role: &str, permit: &str) -> bool {
    if permit == "OwnAccount" {
        return true;
    }
    match role {
        "Administrator" => true,
        "Display" | "Support" => permit.starts_with("View"),
        "Monitoring" => matches!(
            permit,
            "ViewStatus" | "ViewSecurity" | "ViewMonitoring" | "ViewSessions"
        ),
        other => panic!("unknown role {other}"),
    }
}

#[tokio::test]
async fn every_api_operation_answers_every_role_as_its_documented_permit_says() {
    let w = world().await;
    let c = w.client();
    first_logon(&c, "Administrator", &w.initial_password()).await;
    let mut users = vec![("Administrator".to_owned(), "Administrator")];
    for role in ["Display", "Support", "Monitoring"] {
        let name = role.to_lowercase();
        ready_user(&w, &name, role).await;
        users.push((name, role));
    }

    let doc = c.get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200, "the document needs no credentials");
    let doc: Value = serde_json::from_str(&doc.body).unwrap();
    let mut operations = 0;
    // Administrator last: his calls get past the checks and may change things.
    users.rotate_left(1);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let url = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "no-such" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in ops.as_object().unwrap() {
            let m = method.to_uppercase();
            let body = matches!(m.as_str(), "POST" | "PUT").then_some("{}");
            let permit = op["x-permit"].as_str();
            operations += 1;
            // Without credentials.
            let anon = c.run(&["-X", &m, &c.url(&url)]).await;
            match permit {
                Some(_) => assert_eq!(anon.status, 401, "{m} {path} without credentials"),
                None => assert_eq!(anon.status, 200, "{m} {path} needs no credentials"),
            }
            let Some(permit) = permit else { continue };
            for (name, role) in &users {
                let r = api(&c, name, NEW_PASSWORD, &m, &url, body).await;
                if role_may(role, permit) {
                    assert!(
                        !refused_or_unrouted(r.status, &r.body),
                        "{role} {m} {path} ({permit}) was refused: {} {}",
                        r.status,
                        r.body
                    );
                } else {
                    assert_eq!(r.status, 403, "{role} {m} {path} ({permit}): {}", r.body);
                    assert!(r.body.contains("\"forbidden\""), "{}", r.body);
                }
            }
        }
    }
    assert!(
        operations > 50,
        "only {operations} operations in the document"
    );
}

/// 401, 403, 405, or the API's own 404 for a path it does not route.
fn refused_or_unrouted(status: u16, body: &str) -> bool {
    matches!(status, 401 | 403 | 405) || (status == 404 && body.contains("no such API route"))
}
