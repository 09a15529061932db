//! The behaviour every [`Store`] backend must show, as one runnable story.
//!
//! A backend's integration test opens a store and calls [`run_all`]; it panics (with the
//! failed expectation) on the first deviation. The suite lives in the library rather than
//! under `tests/` so that backends in other crates — and the PostgreSQL tests — run exactly
//! the same checks.
//!
//! The suite tolerates existing data: every name it creates carries a fresh random tag, and
//! it only counts records it created itself. It does expect to be the only writer of the
//! audit log while it runs, because it checks that its own appends get consecutive `seq`s.

mod audit;
mod connectors;
mod names;
mod oidc;
mod remote;
mod system_page;
mod tenants;
mod windows;

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::{millis, Store};

pub use audit::concurrent_audit_appends;

/// Runs every check against `store`, in an order where later checks build on earlier ones.
pub async fn run_all(store: &dyn Store) {
    let run = Run::new();
    tenants::companies(store, &run).await;
    tenants::api_tokens(store, &run).await;
    connectors::connectors(store, &run).await;
    connectors::certificates(store, &run).await;
    connectors::enrollment(store, &run).await;
    connectors::concurrent_consume(store, &run).await;
    remote::users(store, &run).await;
    remote::passwords(store, &run).await;
    remote::systems(store, &run).await;
    remote::connection_types(store, &run).await;
    remote::service_connections(store, &run).await;
    windows::windows(store, &run).await;
    windows::grants_and_favourites(store, &run).await;
    system_page::system_page(store, &run).await;
    audit::chain(store, &run).await;
    audit::batches(store, &run).await;
    audit::filters(store, &run).await;
    audit::transactions(store, &run).await;
    audit::concurrent_joined(store, &run, 32).await;
    settings(store, &run).await;
    oidc::company_oidc(store, &run).await;
    names::names_compare_without_case(store, &run).await;
}

/// [`run_all`], then [`concurrent_audit_appends`] from separate tokio tasks, for callers that
/// own the store.
pub async fn run_all_shared(store: Arc<dyn Store>) {
    run_all(store.as_ref()).await;
    concurrent_audit_appends(store, 8, 16).await;
}

/// Per-run context: a tag that makes names unique, and a reference time.
#[derive(Debug)]
struct Run {
    tag: String,
    /// A fixed "now" with sub-millisecond digits, so that truncation is exercised.
    now: OffsetDateTime,
}

impl Run {
    fn new() -> Run {
        Run {
            tag: uuid::Uuid::new_v4().simple().to_string(),
            now: OffsetDateTime::now_utc()
                .replace_nanosecond(123_456_789)
                .expect("123_456_789 ns is a valid sub-second part"),
        }
    }

    /// `base` made unique to this run.
    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.tag)
    }
}

/// `t` as a store returns it.
fn ms(t: OffsetDateTime) -> OffsetDateTime {
    millis::truncate(t)
}

/// Asserts that a store-assigned timestamp is "now", allowing for a backend whose clock is
/// the database server's.
#[track_caller]
fn assert_recent(t: OffsetDateTime, what: &str) {
    let skew = (OffsetDateTime::now_utc() - t).abs();
    assert!(skew < Duration::minutes(2), "{what} = {t} is not recent");
    assert_eq!(t.offset(), time::UtcOffset::UTC, "{what} is not UTC");
    assert_eq!(t, ms(t), "{what} has sub-millisecond precision");
}

async fn settings(store: &dyn Store, run: &Run) {
    let key = run.name("settings.test");
    assert_eq!(store.get_setting(&key).await.unwrap(), None);
    store.put_setting(&key, "one").await.unwrap();
    assert_eq!(
        store.get_setting(&key).await.unwrap().as_deref(),
        Some("one")
    );
    store.put_setting(&key, "zwei – ✓").await.unwrap();
    assert_eq!(
        store.get_setting(&key).await.unwrap().as_deref(),
        Some("zwei – ✓"),
        "put_setting replaces"
    );
    store.put_setting(&key, "").await.unwrap();
    assert_eq!(store.get_setting(&key).await.unwrap().as_deref(), Some(""));
    let other = run.name("settings.other");
    assert_eq!(
        store.get_setting(&other).await.unwrap(),
        None,
        "keys are independent"
    );
}
