//! Migration 0005 (names unique without regard to case) on a database made before it: one that
//! already holds two names differing only in case is refused with a message naming them, and
//! left as it was; once renamed, it migrates.

use std::path::PathBuf;

use portcullis_store::{SqliteStore, Store, StoreError};

/// A fresh directory, removed with the database when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("portcullis-nocase-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn exec(store: &SqliteStore, sql: &str) {
    sqlx::query(sql).execute(store.pool()).await.unwrap();
}

#[tokio::test]
async fn a_database_with_names_differing_only_in_case_is_refused_naming_them() {
    let dir = TempDir::new();
    let db = dir.0.join("hub.db");
    // A database as version 0004 left it: no case-blind indexes, and clashing names in it.
    let store = SqliteStore::open(&db).await.unwrap();
    let acme = store.create_company("acme").await.unwrap();
    store.create_connector(acme.id, "berlin").await.unwrap();
    exec(&store, "DROP INDEX companies_name_nocase").await;
    exec(&store, "DROP INDEX connectors_location_nocase").await;
    exec(&store, "DROP INDEX systems_sid_nocase").await;
    exec(&store, "DELETE FROM _sqlx_migrations WHERE version = 5").await;
    let acme2 = store.create_company("ACME").await.unwrap();
    store.create_connector(acme.id, "Berlin").await.unwrap();
    store.create_connector(acme2.id, "berlin").await.unwrap();
    store.close().await;

    let e = SqliteStore::open(&db).await.unwrap_err();
    let StoreError::Conflict(msg) = &e else {
        panic!("expected a refusal, got {e:?}");
    };
    let names = |what: &str| {
        let (_, rest) = msg.split_once(what).unwrap_or_else(|| panic!("{msg}"));
        rest.split(';').next().unwrap().to_string()
    };
    let companies = names("company names: ");
    assert!(
        companies.contains("acme") && companies.contains("ACME"),
        "{msg}"
    );
    let locations = names("location IDs of one company: ");
    assert!(
        locations.contains("berlin") && locations.contains("Berlin"),
        "{msg}"
    );
    assert!(msg.contains("Rename"), "{msg}");

    // Renamed (by hand here), it migrates, and the rule holds from then on.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE companies SET name = 'acme-two' WHERE name = 'ACME'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM connectors WHERE location = 'Berlin'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let store = SqliteStore::open(&db).await.unwrap();
    assert!(matches!(
        store.create_company("Acme").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .find_company_by_name("ACME-TWO")
            .await
            .unwrap()
            .unwrap()
            .name,
        "acme-two"
    );
}
