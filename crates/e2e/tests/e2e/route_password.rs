//! Route passwords end to end: a support engineer gets a short-lived password for himself
//! (`POST /api/v1/route-passwords`) and uses it where a connection password goes — SOCKS5 and
//! the HTTP proxy here, the `/W/` password of a route string at the coming NI entry — to reach a
//! customer's system while a window is open. The REST API refuses it (so it cannot mint
//! another); expiry and revocation refuse it and cut the sessions opened with it; creating one
//! is audited without the password.

use std::time::Duration;

use portcullis_client::requests::{NewUser, OpenWindow};
use portcullis_client::ClientError;
use portcullis_domain::authz::Role;
use portcullis_store::{NewApiToken, TokenScope};
use portcullis_test_support::clients::{
    echo_round_trip, http_connect, socks5_connect, Socks5Outcome,
};
use portcullis_test_support::world::{ended_within, time_of, EngineerWorld};
use portcullis_test_support::{echo_server, TestHub, WAIT};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The service connection's name at every entry point.
const ENTRY: &str = EngineerWorld::ENTRY;

type World = EngineerWorld;

/// `POST /api/v1/route-passwords` with `body` as the holder of `token`.
async fn create(hub: &TestHub, token: &str, body: Value) -> Result<Value, ClientError> {
    hub.client(token)
        .post("/api/v1/route-passwords", &body)
        .await
}

async fn socks5(w: &World, password: &str) -> Socks5Outcome {
    socks5_connect(w.hub.socks5(), "any", password, ENTRY, 7)
        .await
        .unwrap()
}

/// Asserts that `expires_at` is `minutes` after some instant in `[before, after]`, give or take
/// a second.
#[track_caller]
fn expires_after(v: &Value, minutes: i64, before: OffsetDateTime, after: OffsetDateTime) {
    let at = time_of(&v["expires_at"]);
    let ttl = time::Duration::minutes(minutes);
    let second = time::Duration::seconds(1);
    assert!(
        at >= before + ttl - second && at <= after + ttl + second,
        "expires_at {at} is not {minutes} minutes after the request ({before} .. {after})"
    );
}

/// Stores a route password for `user_id` expiring at `expires_at`, the way the hub makes one,
/// straight through the store (the API's shortest lifetime, a minute, is too long to wait
/// for); returns (token id, password).
async fn stored_route_password(
    hub: &TestHub,
    user_id: i64,
    expires_at: OffsetDateTime,
) -> (i64, String) {
    use portcullis_hub::auth::{
        format_api_token, new_secret_sized, PUBLIC_ID_BYTES, ROUTE_SECRET_BYTES,
    };
    let s = new_secret_sized(PUBLIC_ID_BYTES, ROUTE_SECRET_BYTES);
    let row = hub
        .state()
        .store
        .create_api_token(NewApiToken {
            user_id,
            name: portcullis_hub::accounts::ROUTE_PASSWORD_NAME.into(),
            public_id: s.public_id.clone(),
            secret_hash: s.hash.clone().into(),
            expires_at: Some(expires_at),
            scope: TokenScope::Route,
        })
        .await
        .unwrap();
    (row.id, format_api_token(&s.public_id, s.secret.expose()))
}

/// `POST /api/v1/route-passwords` with no body at all (what `curl -X POST` sends); returns the
/// status and the JSON answer.
async fn create_without_body(hub: &TestHub, token: &str) -> (u16, Value) {
    let c = hub.client(token);
    let mut tls = c.dial().await.unwrap();
    let req = format!(
        "POST /api/v1/route-passwords HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n",
        c.authority()
    );
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The hub may close without a TLS close_notify; what was read before counts.
    let _ = tokio::time::timeout(WAIT, tls.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

/// Waits until a stream ends (EOF or reset).
#[tokio::test]
async fn an_engineer_gets_one_for_an_hour_or_as_long_as_asked_within_12_hours() {
    let w = EngineerWorld::start(echo_server().await).await;

    // Default: an hour.
    let before = OffsetDateTime::now_utc();
    let v = create(&w.hub, &w.engineer, json!({})).await.unwrap();
    let after = OffsetDateTime::now_utc();
    expires_after(&v, 60, before, after);
    assert_eq!(v["user"], "alice", "for the caller himself");
    assert!(v["id"].as_i64().is_some());
    let password = v["password"].as_str().unwrap();
    let (public, secret) = password
        .strip_prefix("pct_")
        .and_then(|r| r.split_once('_'))
        .unwrap_or_else(|| panic!("{password}"));
    assert_eq!((public.len(), secret.len()), (12, 32), "{password}");
    assert!(
        password
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "only [A-Za-z0-9_], so it fits a route string: {password}"
    );
    // SAP's form of a route string: the /W/ password in the substring of the router it guards
    // (the hub); the NI crate's parser takes it as the hub's password.
    let route = format!("/H/hub.example.com/S/3299/W/{password}/H/{ENTRY}/S/7");
    let parsed = portcullis_ni::route_string::RouteString::parse(&route).unwrap();
    assert_eq!(parsed.hops()[0].password, password);
    assert_eq!(parsed.hops()[1].host, ENTRY);

    // Explicit lifetimes, the shortest and the longest included.
    for minutes in [5, 1, 720] {
        let before = OffsetDateTime::now_utc();
        let v = create(&w.hub, &w.engineer, json!({"ttl_minutes": minutes}))
            .await
            .unwrap();
        expires_after(&v, minutes, before, OffsetDateTime::now_utc());
    }

    // No body at all: the default.
    let before = OffsetDateTime::now_utc();
    let (status, v) = create_without_body(&w.hub, &w.engineer).await;
    assert_eq!(status, 201, "{v}");
    expires_after(&v, 60, before, OffsetDateTime::now_utc());

    // Outside 1..=720 minutes: 400 with the rule in the message.
    for bad in [0, 721, -5] {
        let e = create(&w.hub, &w.engineer, json!({"ttl_minutes": bad}))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("400"), "{bad}: {e}");
        assert!(e.contains("[invalid_ttl]"), "{bad}: {e}");
        assert!(
            e.contains("ttl_minutes must be 1 to 720") && e.contains(&format!("({bad} minutes")),
            "{bad}: {e}"
        );
    }
    let e = create(&w.hub, &w.engineer, json!({"ttl": 5}))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("invalid_body"),
        "unknown fields are refused: {e}"
    );

    // Dialog users of a company get one too; a technical user gets none.
    let (_, carol) = w
        .hub
        .user_with_token(NewUser::new("carol", Role::CompanyUser).in_company("acme"))
        .await;
    let v = create(&w.hub, &carol, json!({})).await.unwrap();
    assert_eq!(v["user"], "carol");
    let bot = w.hub.token("acme", "bot").await;
    let e = create(&w.hub, &bot, json!({}))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("403") && e.contains("technical user"), "{e}");
}

#[tokio::test]
async fn the_rest_api_refuses_a_route_password_so_it_cannot_mint_another() {
    let w = EngineerWorld::start(echo_server().await).await;
    let v = create(&w.hub, &w.engineer, json!({})).await.unwrap();
    let route = v["password"].as_str().unwrap().to_string();
    let as_route = w.hub.client(&route);
    let refused = |e: ClientError| {
        let e = e.to_string();
        assert!(e.contains("403"), "{e}");
        assert!(e.contains("[route_password]"), "{e}");
        assert!(
            e.contains("this is a route password") && e.contains("/W/ password"),
            "the body says what it is for: {e}"
        );
    };
    refused(
        create(&w.hub, &route, json!({}))
            .await
            .expect_err("a route password minted another"),
    );
    refused(
        as_route
            .get::<Value>("/api/v1/companies")
            .await
            .expect_err("a route password read the API"),
    );
    refused(
        as_route
            .get::<Value>("/api/v1/companies/acme/systems")
            .await
            .expect_err("a route password read the API"),
    );
    // Nothing was created by it: alice holds her API token and the one route password.
    let tokens = w
        .hub
        .state()
        .store
        .list_user_tokens(w.engineer_id)
        .await
        .unwrap();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    // A wrong secret learns nothing about the scope: the usual 401.
    let (public, _) = portcullis_hub::auth::parse_api_token(&route).unwrap();
    let wrong = portcullis_hub::auth::format_api_token(public, &"0".repeat(32));
    let e = w
        .hub
        .client(&wrong)
        .get::<Value>("/api/v1/companies")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("401") && e.contains("[invalid_token]"), "{e}");
}

#[tokio::test]
async fn a_route_password_opens_sessions_through_an_open_window_only() {
    let w = EngineerWorld::start(echo_server().await).await;
    let v = create(&w.hub, &w.engineer, json!({})).await.unwrap();
    let route = v["password"].as_str().unwrap().to_string();
    let id = v["id"].as_i64().unwrap();

    // Authenticated, but no window: refused by the hub like the engineer's API token.
    assert!(matches!(
        socks5(&w, &route).await,
        Socks5Outcome::Refused(0x02)
    ));
    let refused = w.hub.wait_audit("session.refused", 1).await;
    assert_eq!(refused[0].detail["code"], "no_open_window");

    w.open_window(&OpenWindow::now("Bob Admin")).await;
    let Socks5Outcome::Connected(mut s) = socks5(&w, &route).await else {
        panic!("the route password was refused under an open window");
    };
    assert_eq!(
        echo_round_trip(&mut s, b"via route password")
            .await
            .unwrap(),
        b"via route password"
    );
    let (status, body, _) = http_connect(w.hub.http_proxy(), "-", &route, &format!("{ENTRY}:7"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let starts = w.hub.wait_audit("session.start", 2).await;
    for s in &starts {
        assert_eq!(
            s.actor,
            format!("token:route-password#{id}"),
            "sessions name the route password"
        );
    }
}

#[tokio::test]
async fn an_expired_route_password_is_refused_and_its_sessions_end_at_the_expiry() {
    let w = EngineerWorld::start(echo_server().await).await;
    w.open_window(&OpenWindow::now("Bob Admin")).await;

    // Expired: refused at both entry points.
    let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let (_, expired) = stored_route_password(&w.hub, w.engineer_id, past).await;
    assert!(matches!(
        socks5(&w, &expired).await,
        Socks5Outcome::AuthFailed(_)
    ));
    let (status, _, _) = http_connect(w.hub.http_proxy(), "-", &expired, &format!("{ENTRY}:7"))
        .await
        .unwrap();
    assert_eq!(status, 407);

    // Valid for three more seconds: the session opened with it is cut at its expiry.
    let end = OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let (_, brief) = stored_route_password(&w.hub, w.engineer_id, end).await;
    let Socks5Outcome::Connected(mut s) = socks5(&w, &brief).await else {
        panic!("a valid route password was refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"brief").await.unwrap(), b"brief");
    ended_within(&mut s, Duration::from_secs(6)).await;
    let late = OffsetDateTime::now_utc() - end;
    assert!(
        late < time::Duration::seconds(1) && late > -time::Duration::milliseconds(50),
        "cut {late} after the expiry"
    );
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["ended_by"], "token expired");
    assert!(matches!(
        socks5(&w, &brief).await,
        Socks5Outcome::AuthFailed(_)
    ));
}

#[tokio::test]
async fn creating_one_is_audited_without_the_password() {
    let w = EngineerWorld::start(echo_server().await).await;
    let v = create(&w.hub, &w.engineer, json!({"ttl_minutes": 30}))
        .await
        .unwrap();
    let password = v["password"].as_str().unwrap();
    let (_, secret) = portcullis_hub::auth::parse_api_token(password).unwrap();
    let created = w.hub.wait_audit("route_password.created", 1).await;
    let e = &created[0];
    assert_eq!(e.target, "alice");
    assert_eq!(e.outcome, "ok");
    assert_eq!(e.company_id, None, "an engineer is a vendor user");
    assert!(
        e.actor.starts_with("token:laptop#"),
        "made with his API token: {e:?}"
    );
    assert_eq!(e.detail["token_id"], v["id"]);
    assert_eq!(e.detail["ttl_minutes"], 30);
    assert_eq!(time_of(&e.detail["expires_at"]), time_of(&v["expires_at"]));
    assert!(e.detail["from"].as_str().is_some(), "{e:?}");
    // Not the secret, anywhere in the log.
    let all: Vec<Value> = w.hub.admin.get("/api/v1/audit?limit=1000").await.unwrap();
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains(secret), "the audit log holds the secret");
}

#[tokio::test]
async fn it_is_listed_with_its_users_tokens_and_revoked_like_any_token() {
    let w = EngineerWorld::start(echo_server().await).await;
    w.open_window(&OpenWindow::now("Bob Admin")).await;
    let v = create(&w.hub, &w.engineer, json!({})).await.unwrap();
    let route = v["password"].as_str().unwrap().to_string();
    let id = v["id"].as_i64().unwrap();

    // The engineer's tokens: his API token and the route password, told apart by scope.
    let tokens = w
        .hub
        .state()
        .store
        .list_user_tokens(w.engineer_id)
        .await
        .unwrap();
    let scopes: Vec<(&str, TokenScope)> =
        tokens.iter().map(|t| (t.name.as_str(), t.scope)).collect();
    assert_eq!(
        scopes,
        vec![
            ("laptop", TokenScope::Api),
            ("route-password", TokenScope::Route)
        ]
    );
    // A company user's route password shows in the company's token list, with its scope.
    let (_, carol) = w
        .hub
        .user_with_token(NewUser::new("carol", Role::CompanyUser).in_company("acme"))
        .await;
    let c = create(&w.hub, &carol, json!({"ttl_minutes": 10}))
        .await
        .unwrap();
    let listed: Vec<Value> = w
        .hub
        .company_admin("acme")
        .await
        .get("/api/v1/companies/acme/tokens")
        .await
        .unwrap();
    let row = listed
        .iter()
        .find(|t| t["id"] == c["id"])
        .expect("listed with the company's tokens");
    assert_eq!(row["scope"], "route");
    assert_eq!(row["name"], "route-password");
    assert_eq!(row["user_name"], "carol");
    assert_eq!(time_of(&row["expires_at"]), time_of(&c["expires_at"]));
    assert!(listed.iter().any(|t| t["scope"] == "api"));
    assert!(
        !serde_json::to_string(&listed)
            .unwrap()
            .contains(c["password"].as_str().unwrap()),
        "lists never show a secret"
    );

    // Revoking the engineer's route password cuts its live session and refuses it after.
    let Socks5Outcome::Connected(mut s) = socks5(&w, &route).await else {
        panic!("refused under an open window");
    };
    assert_eq!(echo_round_trip(&mut s, b"live").await.unwrap(), b"live");
    let r: Value = w
        .hub
        .admin
        .post(&format!("/api/v1/tokens/{id}/revoke"), &json!({}))
        .await
        .unwrap();
    assert_eq!(
        (r["revoked"].clone(), r["was_active"].clone()),
        (json!(true), json!(true))
    );
    ended_within(&mut s, WAIT).await;
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["ended_by"], "token revoked");
    assert!(matches!(
        socks5(&w, &route).await,
        Socks5Outcome::AuthFailed(_)
    ));
    // His API token is untouched.
    let Socks5Outcome::Connected(_) = socks5(&w, &w.engineer).await else {
        panic!("revoking the route password touched the API token");
    };
}
