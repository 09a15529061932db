//! The SQLite backend against the conformance suite, plus what only SQLite can show:
//! tampering through raw SQL, reopening a file, the list cap.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_store::{
    conformance, AuditFilter, NewAuditEvent, SqliteStore, Store, StoreError, MAX_AUDIT_LIMIT,
};
use serde_json::json;
use time::OffsetDateTime;

/// A fresh directory under the system temp dir, removed (with the database and its WAL
/// files) when dropped, even if the test fails.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("portcullis-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("hub.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn event(action: &str, n: i64) -> NewAuditEvent {
    NewAuditEvent {
        at: OffsetDateTime::now_utc(),
        company_id: None,
        actor: "test".into(),
        action: action.into(),
        target: format!("thing:{n}"),
        outcome: "ok".into(),
        detail: json!({ "n": n }),
    }
}

async fn append_n(store: &dyn Store, n: i64) {
    for i in 0..n {
        store.append_audit(event("tamper.test", i)).await.unwrap();
    }
}

async fn exec(store: &SqliteStore, sql: &str) {
    sqlx::query(sql).execute(store.pool()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_file() {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.db()).await.unwrap();
    assert!(dir.db().exists(), "open creates the database file");
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    conformance::run_all_shared(shared).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_in_memory() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    conformance::run_all_shared(store).await;
}

#[tokio::test]
async fn conformance_tolerates_existing_data() {
    // The suite must be re-runnable against a database it has already populated (the
    // PostgreSQL run reuses one database).
    let store = SqliteStore::open_in_memory().await.unwrap();
    conformance::run_all(&store).await;
    conformance::run_all(&store).await;
}

#[tokio::test]
async fn in_memory_stores_are_separate() {
    let a = SqliteStore::open_in_memory().await.unwrap();
    let b = SqliteStore::open_in_memory().await.unwrap();
    a.create_company("only-in-a").await.unwrap();
    assert!(b.find_company_by_name("only-in-a").await.unwrap().is_none());
}

#[tokio::test]
async fn editing_a_field_breaks_the_chain_at_that_seq() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    append_n(&store, 6).await;
    assert_eq!(store.verify_audit_chain().await.unwrap(), 6);

    exec(
        &store,
        "UPDATE audit_log SET outcome = 'denied' WHERE seq = 3",
    )
    .await;
    match store.verify_audit_chain().await {
        Err(StoreError::AuditChainBroken { seq: 3 }) => {}
        other => panic!("expected break at 3, got {other:?}"),
    }
}

#[tokio::test]
async fn editing_detail_or_time_breaks_the_chain() {
    for (sql, seq) in [
        (
            r#"UPDATE audit_log SET detail = '{"n":99}' WHERE seq = 2"#,
            2,
        ),
        ("UPDATE audit_log SET detail = 'not json' WHERE seq = 4", 4),
        ("UPDATE audit_log SET at = at + 1 WHERE seq = 5", 5),
        ("UPDATE audit_log SET company_id = 1 WHERE seq = 1", 1),
    ] {
        let store = SqliteStore::open_in_memory().await.unwrap();
        append_n(&store, 5).await;
        exec(&store, sql).await;
        match store.verify_audit_chain().await {
            Err(StoreError::AuditChainBroken { seq: s }) => assert_eq!(s, seq, "{sql}"),
            other => panic!("{sql}: expected a break, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn rehashing_a_tampered_row_moves_the_break_to_its_successor() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    append_n(&store, 5).await;
    let mut third = store
        .list_audit(&AuditFilter {
            after_seq: Some(2),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .remove(0);
    third.outcome = "forged".into();
    third.hash = portcullis_store::audit_hash(&third.prev_hash, &third.hash_input());
    sqlx::query("UPDATE audit_log SET outcome = $1, hash = $2 WHERE seq = 3")
        .bind(&third.outcome)
        .bind(&third.hash)
        .execute(store.pool())
        .await
        .unwrap();
    match store.verify_audit_chain().await {
        Err(StoreError::AuditChainBroken { seq: 4 }) => {}
        other => panic!("expected break at 4, got {other:?}"),
    }
}

#[tokio::test]
async fn deleting_a_row_breaks_the_chain_at_the_gap() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    append_n(&store, 5).await;
    exec(&store, "DELETE FROM audit_log WHERE seq = 2").await;
    match store.verify_audit_chain().await {
        Err(StoreError::AuditChainBroken { seq: 3 }) => {}
        other => panic!("expected break at 3, got {other:?}"),
    }
    // A forged genesis row is caught too.
    let store = SqliteStore::open_in_memory().await.unwrap();
    append_n(&store, 2).await;
    exec(&store, "DELETE FROM audit_log WHERE seq = 1").await;
    match store.verify_audit_chain().await {
        Err(StoreError::AuditChainBroken { seq: 2 }) => {}
        other => panic!("expected break at 2, got {other:?}"),
    }
}

#[tokio::test]
async fn empty_chain_verifies() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), 0);
}

#[tokio::test]
async fn list_audit_is_capped() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    append_n(&store, i64::from(MAX_AUDIT_LIMIT) + 5).await;
    let got = store
        .list_audit(&AuditFilter {
            limit: u32::MAX,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(got.len(), MAX_AUDIT_LIMIT as usize);
    assert_eq!(got.first().unwrap().seq, 1);
    // The verifier pages internally and still sees everything.
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        u64::from(MAX_AUDIT_LIMIT) + 5
    );
}

async fn reopen(path: &Path) -> SqliteStore {
    SqliteStore::open(path).await.unwrap()
}

#[tokio::test]
async fn reopening_a_file_keeps_data_and_migrations_are_idempotent() {
    let dir = TempDir::new();
    let store = reopen(&dir.db()).await;
    let acme = store.create_company("acme").await.unwrap();
    let conn = store.create_connector(acme.id, "berlin").await.unwrap();
    store.put_setting("ca.fingerprint", "abc").await.unwrap();
    let last = store
        .append_audit(event("company.create", 1))
        .await
        .unwrap();
    store.close().await;

    let store = reopen(&dir.db()).await;
    assert_eq!(
        store.get_company(acme.id).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.get_connector(conn.id).await.unwrap(), Some(conn));
    assert_eq!(
        store
            .get_setting("ca.fingerprint")
            .await
            .unwrap()
            .as_deref(),
        Some("abc")
    );
    assert_eq!(store.verify_audit_chain().await.unwrap(), 1);
    // The chain continues across restarts.
    let next = store
        .append_audit(event("company.update", 2))
        .await
        .unwrap();
    assert_eq!((next.seq, next.prev_hash.as_str()), (2, last.hash.as_str()));
    match store.create_company("acme").await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("constraints survive reopen, got {other:?}"),
    }
    store.close().await;

    // A third open with nothing to migrate still works.
    let store = reopen(&dir.db()).await;
    assert_eq!(store.verify_audit_chain().await.unwrap(), 2);
    store.close().await;
}

#[tokio::test]
async fn file_database_uses_wal_and_foreign_keys() {
    let dir = TempDir::new();
    let store = reopen(&dir.db()).await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let (timeout,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(timeout, 5000);
    store.close().await;
}

#[tokio::test]
async fn open_does_not_create_missing_directories() {
    let dir = TempDir::new();
    let path = dir.0.join("missing").join("hub.db");
    match SqliteStore::open(&path).await {
        Err(StoreError::Database(_)) => {}
        other => panic!("expected a database error, got {other:?}"),
    }
}

/// A database made by the first schema (tokens carried role and company themselves) keeps
/// every token working after the remote-connections migration: each token gets a user of its
/// own with the token's role and company.
#[tokio::test]
async fn tokens_of_the_first_schema_become_users() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = TempDir::new();
    let first = dir.0.join("first");
    std::fs::create_dir(&first).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite/0001_initial.sql");
    std::fs::copy(&src, first.join("0001_initial.sql")).unwrap();
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.db())
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(first.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for sql in [
        "INSERT INTO companies (id, name, created_at) VALUES (5, 'acme', 1)",
        "INSERT INTO api_tokens (company_id, name, role, public_id, secret_hash, created_at, \
         expires_at, revoked_at) VALUES (5, 'ci', 'technical', 'abc123', x'0102', 2, NULL, NULL)",
        "INSERT INTO api_tokens (company_id, name, role, public_id, secret_hash, created_at, \
         expires_at, revoked_at) VALUES (NULL, 'root', 'vendor_admin', 'def456', x'03', 3, 9, 4)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = reopen(&dir.db()).await;
    let ci = store.find_api_token("abc123").await.unwrap().unwrap();
    assert_eq!(
        (
            ci.name.as_str(),
            ci.role,
            ci.company_id,
            ci.secret_hash.expose().as_slice()
        ),
        (
            "ci",
            portcullis_store::Role::Technical,
            Some(5),
            &[1u8, 2][..]
        )
    );
    assert_eq!(ci.user_name, "token-abc123");
    assert_eq!(
        ci.scope,
        portcullis_store::TokenScope::Api,
        "tokens made before scopes existed are API tokens"
    );
    let root = store.find_api_token("def456").await.unwrap().unwrap();
    assert_eq!(
        (root.role, root.company_id),
        (portcullis_store::Role::VendorAdmin, None)
    );
    assert!(root.revoked_at.is_some() && root.expires_at.is_some());
    assert_eq!(root.scope, portcullis_store::TokenScope::Api);
    let user = store.get_user(root.user_id).await.unwrap().unwrap();
    assert_eq!(
        (user.name.as_str(), user.display_name.as_str()),
        ("token-def456", "root")
    );
    // A token's user is a real user: new tokens and the unique public id still work.
    conformance::run_all(&store).await;
    store.close().await;
}

/// The stored scope is one of the known names: a row written behind the store's back with
/// another one is refused by the schema.
#[tokio::test]
async fn token_scopes_are_checked_by_the_schema() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    exec(
        &store,
        "INSERT INTO users (id, name, role, created_at) VALUES (1, 'u', 'support_engineer', 1)",
    )
    .await;
    let insert = |scope: &str| {
        format!(
            "INSERT INTO api_tokens (user_id, name, public_id, secret_hash, created_at, scope) \
             VALUES (1, 't', 'p-{scope}', x'00', 1, '{scope}')"
        )
    };
    exec(&store, &insert("route")).await;
    let t = store.find_api_token("p-route").await.unwrap().unwrap();
    assert_eq!(t.scope, portcullis_store::TokenScope::Route);
    assert!(
        sqlx::query(&insert("admin"))
            .execute(store.pool())
            .await
            .is_err(),
        "an unknown scope violates the CHECK constraint"
    );
}
