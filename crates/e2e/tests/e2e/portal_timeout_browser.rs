//! Session timeouts in real headless Chromium (tests/browser/scenarios/portal_timeout.mjs): a
//! browser whose session was idle too long, and one whose session is past its absolute end,
//! are both sent to sign in with the reason said, and signing in again works. axe-core on the
//! sign-in page with the notice; screenshot `signin-ended` for docs/portal.md.
//!
//! Time is not waited for: two sessions are made by signing in with curl (each answer's
//! cookie is taken before the hub ever checks it, so no cache holds it), then aged in the
//! hub's database (one last used 31 minutes ago, one whose end has passed) and handed to the
//! browser.

use portcullis_domain::authz::Role;
use portcullis_test_support::TestHub;
use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

use super::portal::{user_with_password, Curl, Resp};

/// The session cookie the sign-in answer sets.
fn session_cookie(r: &Resp) -> String {
    assert_eq!(r.status, 303, "{}", r.body);
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.strip_prefix("__Host-portcullis="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("no session cookie in {:?}", r.headers))
}

#[tokio::test]
async fn sessions_that_timed_out_are_sent_to_sign_in_with_the_reason_in_chromium() {
    let hub = TestHub::start().await;
    hub.company("acme").await;
    let (idle_user, idle_pw) =
        user_with_password(&hub, Some("acme"), "ida", Role::CompanyUser, &[], false).await;
    let (old_user, old_pw) =
        user_with_password(&hub, Some("acme"), "otto", Role::CompanyUser, &[], false).await;
    let idle = session_cookie(&Curl::new(&hub).sign_in("ida", &idle_pw).await);
    let old = session_cookie(&Curl::new(&hub).sign_in("otto", &old_pw).await);

    let mut db = SqliteConnectOptions::new()
        .filename(hub.data_dir().join("hub.db"))
        .connect()
        .await
        .expect("open the hub's database");
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let aged = sqlx::query(
        "UPDATE api_tokens SET created_at = $1, last_used_at = NULL \
         WHERE user_id = $2 AND scope = 'portal'",
    )
    .bind(now_ms - 31 * 60 * 1000)
    .bind(idle_user)
    .execute(&mut db)
    .await
    .unwrap();
    assert_eq!(aged.rows_affected(), 1);
    let ended = sqlx::query(
        "UPDATE api_tokens SET expires_at = $1 WHERE user_id = $2 AND scope = 'portal'",
    )
    .bind(now_ms - 1000)
    .bind(old_user)
    .execute(&mut db)
    .await
    .unwrap();
    assert_eq!(ended.rows_affected(), 1);
    drop(db);

    portcullis_test_support::browser::run(
        "portal_timeout",
        &json!({
            "url": hub.api_url,
            "idle_cookie": idle,
            "old_cookie": old,
            "user": {"name": "ida", "password": idle_pw},
        }),
    )
    .await;
    // Signing in again made a new session; the aged ones stayed refused.
    assert_eq!(hub.audit("user.signed_in").await.len(), 3);
}
