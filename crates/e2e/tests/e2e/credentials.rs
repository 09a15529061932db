//! Credentials that outlive their holder (issue 13, class 6): a token may not mint tokens;
//! every token expires within the hub's `[tokens]` policy unless the operator and the admin
//! both say otherwise; disabling a user revokes everything of his.

use portcullis_client::requests::{NewRoutePassword, NewUser, NewUserToken, OpenWindow};
use portcullis_client::views::{Id, IssuedToken, User};
use portcullis_client::ApiClient;
use portcullis_domain::authz::Role;
use portcullis_hub::token_policy::RawTokens;
use portcullis_store::TokenScope;
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::time_of;
use portcullis_test_support::{echo_server, HubOptions, TestHub, WAIT};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use tokio::io::AsyncReadExt;

const ENTRY: &str = "generic_tcp.prd.acme.portcullis";

/// The status and `[code]` of a refused call.
fn refused(r: Result<Value, portcullis_client::ClientError>) -> (u16, String) {
    let msg = r.expect_err("the call should be refused").to_string();
    let status = msg
        .split_once("refused (")
        .and_then(|(_, s)| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a JSON error: {msg}"));
    (status, msg)
}

/// `at` is `d` after now, give or take a minute.
#[track_caller]
fn about(at: OffsetDateTime, d: Duration) {
    let want = OffsetDateTime::now_utc() + d;
    assert!(
        (at - want).abs() < Duration::minutes(1),
        "{at} is not ~{want}"
    );
}

/// A user made by `admin` (`body` as for `POST /api/v1/users`) and a token for him with
/// `token` (name, lifetime); returns (user id, token answer).
async fn user_and_token(admin: &ApiClient, body: Value, token: Value) -> (Id, IssuedToken) {
    let u: User = admin.post("/api/v1/users", &body).await.unwrap();
    let t: IssuedToken = admin
        .post(&format!("/api/v1/users/{}/tokens", u.id), &token)
        .await
        .unwrap();
    (u.id, t)
}

#[tokio::test]
async fn a_token_cannot_mint_tokens_for_its_own_user_whatever_it_asks() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let admin = hub.company_admin("acme").await;

    // A technical user's token, living a minute.
    let (bot, t) = user_and_token(
        &admin,
        json!({"company": "acme", "name": "bot", "role": "technical"}),
        json!({"name": "ci", "expires_in_secs": 60}),
    )
    .await;
    let bot_api = hub.client(t.token.expose());
    for body in [
        json!({"name": "successor"}),
        json!({"name": "successor", "expires_in_secs": 86_400}),
        json!({"name": "successor", "expires_in_secs": 30}),
    ] {
        let (status, msg) = refused(
            bot_api
                .post(&format!("/api/v1/users/{bot}/tokens"), &body)
                .await,
        );
        assert_eq!(status, 403, "{msg}");
        assert!(msg.contains("[token_cannot_mint]"), "{msg}");
    }
    let (status, _) = refused(
        bot_api
            .post("/api/v1/companies/acme/tokens", &json!({"name": "x"}))
            .await,
    );
    assert_eq!(status, 403);
    let (status, _) = refused(bot_api.post("/api/v1/route-passwords", &json!({})).await);
    assert_eq!(status, 403);

    // A company admin whose token lives a minute: not even he makes himself a successor, and
    // the route password he may make for himself dies with his token, not 12 hours later.
    let (shorty, t) = user_and_token(
        &admin,
        json!({"company": "acme", "name": "shorty", "role": "company_admin"}),
        json!({"name": "laptop", "expires_in_secs": 60}),
    )
    .await;
    let short_expiry = t.expires_at.expect("a token of a minute expires");
    let shorty_api = hub.client(t.token.expose());
    let (status, msg) = refused(
        shorty_api
            .post(
                &format!("/api/v1/users/{shorty}/tokens"),
                &json!({"name": "longer", "expires_in_secs": 30 * 86_400}),
            )
            .await,
    );
    assert_eq!((status, msg.contains("[token_cannot_mint]")), (403, true));
    let rp = shorty_api
        .create_route_password(&NewRoutePassword {
            ttl_minutes: Some(720),
        })
        .await
        .unwrap();
    assert!(
        rp.expires_at <= short_expiry,
        "route password {} outlives the token that made it ({short_expiry})",
        rp.expires_at
    );

    // Vendor users neither: an engineer, and the vendor admin himself.
    let eng = hub.client(&hub.engineer("eve").await);
    let eve = hub
        .state()
        .store
        .find_user_by_name("eve")
        .await
        .unwrap()
        .unwrap();
    let (status, _) = refused(
        eng.post(
            &format!("/api/v1/users/{}/tokens", eve.id),
            &json!({"name": "x"}),
        )
        .await,
    );
    assert_eq!(status, 403);
    let me = hub
        .state()
        .store
        .find_user_by_name("admin")
        .await
        .unwrap()
        .unwrap();
    let (status, _) = refused(
        hub.admin
            .post(
                &format!("/api/v1/users/{}/tokens", me.id),
                &json!({"name": "x"}),
            )
            .await,
    );
    assert_eq!(status, 403);

    // Nothing was made: the technical user and the short admin hold one token each.
    for user in [bot, shorty] {
        let tokens = hub.state().store.list_user_tokens(user).await.unwrap();
        let api = tokens.iter().filter(|t| t.scope == TokenScope::Api).count();
        assert_eq!(api, 1, "user {user}: {tokens:?}");
    }
}

#[tokio::test]
async fn tokens_get_the_default_lifetime_and_never_more_than_the_maximum() {
    let hub = TestHub::start_with(HubOptions {
        tokens: RawTokens {
            default_lifetime_days: Some(30),
            max_lifetime_days: Some(60),
            allow_unlimited: None,
        },
        ..Default::default()
    })
    .await;
    hub.company("acme").await;
    let admin = hub.company_admin("acme").await;
    let u = admin
        .create_user(&NewUser::new("bob", Role::CompanyUser).in_company("acme"))
        .await
        .unwrap();
    let user_tokens = format!("/api/v1/users/{}/tokens", u.id);
    let day = 86_400u64;

    for path in [user_tokens.as_str(), "/api/v1/companies/acme/tokens"] {
        // None asked (left out, or null): the default.
        for body in [
            json!({"name": "plain"}),
            json!({"name": "plain", "expires_in_secs": null}),
        ] {
            let t: Value = admin.post(path, &body).await.unwrap();
            about(time_of(&t["expires_at"]), Duration::days(30));
        }
        // Up to the maximum: as asked.
        let t: Value = admin
            .post(path, &json!({"name": "max", "expires_in_secs": 60 * day}))
            .await
            .unwrap();
        about(time_of(&t["expires_at"]), Duration::days(60));
        // Above: refused, saying what the limit is.
        let (status, msg) = refused(
            admin
                .post(
                    path,
                    &json!({"name": "long", "expires_in_secs": 60 * day + 1}),
                )
                .await,
        );
        assert_eq!(status, 400, "{msg}");
        assert!(msg.contains("[expiry_above_max]"), "{msg}");
        assert!(msg.contains("60 days"), "{msg}");
        // No expiry: this hub does not allow it.
        let (status, msg) = refused(
            admin
                .post(path, &json!({"name": "forever", "no_expiry": true}))
                .await,
        );
        assert_eq!(status, 400, "{msg}");
        assert!(msg.contains("[unlimited_not_allowed]"), "{msg}");
        let (status, msg) = refused(
            admin
                .post(
                    path,
                    &json!({"name": "both", "no_expiry": true, "expires_in_secs": 5}),
                )
                .await,
        );
        assert_eq!(
            (status, msg.contains("[invalid_expiry]")),
            (400, true),
            "{msg}"
        );
    }

    // A hub that allows unlimited tokens makes one only when asked explicitly.
    let open = TestHub::start_with(HubOptions {
        tokens: RawTokens {
            allow_unlimited: Some(true),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    open.company("acme").await;
    let admin = open.company_admin("acme").await;
    let t: Value = admin
        .post("/api/v1/companies/acme/tokens", &json!({"name": "plain"}))
        .await
        .unwrap();
    about(time_of(&t["expires_at"]), Duration::days(90));
    let t: Value = admin
        .post(
            "/api/v1/companies/acme/tokens",
            &json!({"name": "forever", "no_expiry": true}),
        )
        .await
        .unwrap();
    assert!(t["expires_at"].is_null(), "{t}");
}

/// Waits until a stream ends (EOF or reset).
async fn ended(s: &mut tokio::net::TcpStream) {
    let mut b = [0u8; 16];
    let r = tokio::time::timeout(WAIT, s.read(&mut b)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "the live session was not cut: {r:?}"
    );
}

#[tokio::test]
async fn disabling_a_user_revokes_every_credential_and_session_of_his() {
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    let (_conn, _, sc) = hub.prd_echo_service(echo).await;
    let acme = hub.company_admin("acme").await;
    acme.open_window(sc.id, &OpenWindow::now("Bob Admin"))
        .await
        .unwrap();

    // Engineer alice holds two API tokens and a route password, each with a live session.
    let laptop = hub.engineer("alice").await;
    let alice = hub
        .state()
        .store
        .find_user_by_name("alice")
        .await
        .unwrap()
        .unwrap();
    let desktop = hub
        .admin
        .create_user_token(
            alice.id,
            &NewUserToken {
                name: "desktop".into(),
                ..NewUserToken::default()
            },
        )
        .await
        .unwrap()
        .token
        .into_inner();
    let route = hub
        .client(&laptop)
        .create_route_password(&NewRoutePassword::default())
        .await
        .unwrap()
        .password
        .into_inner();
    let mut live = Vec::new();
    for pw in [&laptop, &desktop, &route] {
        let Socks5Outcome::Connected(mut s) = socks5_connect(hub.socks5(), "any", pw, ENTRY, 7)
            .await
            .unwrap()
        else {
            panic!("refused under an open window");
        };
        assert_eq!(echo_round_trip(&mut s, b"hi").await.unwrap(), b"hi");
        live.push(s);
    }

    let _: Value = hub
        .admin
        .post(&format!("/api/v1/users/{}/disable", alice.id), &json!({}))
        .await
        .unwrap();

    for s in &mut live {
        ended(s).await;
    }
    for pw in [&laptop, &desktop, &route] {
        assert!(matches!(
            socks5_connect(hub.socks5(), "any", pw, ENTRY, 7)
                .await
                .unwrap(),
            Socks5Outcome::AuthFailed(_)
        ));
    }
    assert!(hub
        .client(&desktop)
        .get::<Value>("/api/v1/companies")
        .await
        .is_err());
    // Revoked, not only refused: nothing of his comes back whatever happens to the user row.
    let tokens = hub.state().store.list_user_tokens(alice.id).await.unwrap();
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|t| t.revoked_at.is_some()), "{tokens:?}");
}

#[tokio::test]
async fn revoking_an_api_token_takes_the_route_passwords_made_with_it() {
    let hub = TestHub::start().await;
    let echo = echo_server().await;
    let (_conn, _, sc) = hub.prd_echo_service(echo).await;
    let acme = hub.company_admin("acme").await;
    acme.open_window(sc.id, &OpenWindow::now("Bob Admin"))
        .await
        .unwrap();
    let laptop = hub.engineer("alice").await;
    let (public, _) = portcullis_hub::auth::parse_api_token(&laptop).unwrap();
    let laptop_id = hub
        .state()
        .store
        .find_api_token(public)
        .await
        .unwrap()
        .unwrap()
        .id;
    let route = hub
        .client(&laptop)
        .create_route_password(&NewRoutePassword::default())
        .await
        .unwrap()
        .password
        .into_inner();
    let Socks5Outcome::Connected(mut s) = socks5_connect(hub.socks5(), "any", &route, ENTRY, 7)
        .await
        .unwrap()
    else {
        panic!("refused under an open window");
    };
    assert_eq!(echo_round_trip(&mut s, b"hi").await.unwrap(), b"hi");

    let _: Value = hub
        .admin
        .post(&format!("/api/v1/tokens/{laptop_id}/revoke"), &json!({}))
        .await
        .unwrap();
    ended(&mut s).await;
    assert!(matches!(
        socks5_connect(hub.socks5(), "any", &route, ENTRY, 7)
            .await
            .unwrap(),
        Socks5Outcome::AuthFailed(_)
    ));
}
