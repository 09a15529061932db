//! Hub-wide key/value settings.

use sqlx::SqlitePool;

use crate::StoreError;

pub(super) async fn get_setting(
    pool: &SqlitePool,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let value: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(value.map(|(v,)| v))
}

pub(super) async fn put_setting(
    pool: &SqlitePool,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(pool)
    .await?;
    Ok(())
}
