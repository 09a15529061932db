//! Companies and API tokens.

use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

use super::now_ms;
use super::rows::{
    api_token_cols, api_token_from, company_cols, convert_all, ApiTokenRow, CompanyRow,
};
use crate::error::map_constraint;
use crate::millis::to_unix_millis;
use crate::model::{ApiToken, Company, NewApiToken};
use crate::{Id, StoreError};

pub(super) async fn create_company(
    conn: &mut SqliteConnection,
    name: &str,
) -> Result<Company, StoreError> {
    let row: CompanyRow = sqlx::query_as(concat!(
        "INSERT INTO companies (name, created_at) VALUES ($1, $2) RETURNING ",
        company_cols!()
    ))
    .bind(name)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || format!("a company named {name:?} already exists (names compare without case)"),
            "company",
        )
    })?;
    row.try_into()
}

pub(super) async fn get_company(pool: &SqlitePool, id: Id) -> Result<Option<Company>, StoreError> {
    let row: Option<CompanyRow> = sqlx::query_as(concat!(
        "SELECT ",
        company_cols!(),
        " FROM companies WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(Company::try_from).transpose()
}

pub(super) async fn find_company_by_name(
    pool: &SqlitePool,
    name: &str,
) -> Result<Option<Company>, StoreError> {
    let row: Option<CompanyRow> = sqlx::query_as(concat!(
        "SELECT ",
        company_cols!(),
        " FROM companies WHERE name = $1 COLLATE NOCASE"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?;
    row.map(Company::try_from).transpose()
}

pub(super) async fn list_companies(pool: &SqlitePool) -> Result<Vec<Company>, StoreError> {
    let rows: Vec<CompanyRow> = sqlx::query_as(concat!(
        "SELECT ",
        company_cols!(),
        " FROM companies ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    convert_all(rows)
}

pub(super) async fn create_api_token(
    conn: &mut SqliteConnection,
    t: NewApiToken,
) -> Result<ApiToken, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, public_id, secret_hash, created_at, expires_at, \
         scope) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(t.user_id)
    .bind(&t.name)
    .bind(&t.public_id)
    .bind(t.secret_hash.expose())
    .bind(now_ms())
    .bind(t.expires_at.map(to_unix_millis))
    .bind(t.scope.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || {
                format!(
                    "an API token with public id {:?} already exists",
                    t.public_id
                )
            },
            "user",
        )
    })?;
    let row: ApiTokenRow = sqlx::query_as(concat!(
        "SELECT ",
        api_token_cols!(),
        api_token_from!(),
        " WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    row.try_into()
}

pub(super) async fn find_api_token(
    pool: &SqlitePool,
    public_id: &str,
) -> Result<Option<ApiToken>, StoreError> {
    let row: Option<ApiTokenRow> = sqlx::query_as(concat!(
        "SELECT ",
        api_token_cols!(),
        api_token_from!(),
        " WHERE t.public_id = $1"
    ))
    .bind(public_id)
    .fetch_optional(pool)
    .await?;
    row.map(ApiToken::try_from).transpose()
}

pub(super) async fn list_api_tokens(
    pool: &SqlitePool,
    company_id: Option<Id>,
) -> Result<Vec<ApiToken>, StoreError> {
    let rows: Vec<ApiTokenRow> = match company_id {
        Some(company_id) => {
            sqlx::query_as(concat!(
                "SELECT ",
                api_token_cols!(),
                api_token_from!(),
                " WHERE u.company_id = $1 ORDER BY t.id"
            ))
            .bind(company_id)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(concat!(
                "SELECT ",
                api_token_cols!(),
                api_token_from!(),
                " ORDER BY t.id"
            ))
            .fetch_all(pool)
            .await?
        }
    };
    convert_all(rows)
}

pub(super) async fn list_user_tokens(
    pool: &SqlitePool,
    user_id: Id,
) -> Result<Vec<ApiToken>, StoreError> {
    let rows: Vec<ApiTokenRow> = sqlx::query_as(concat!(
        "SELECT ",
        api_token_cols!(),
        api_token_from!(),
        " WHERE t.user_id = $1 ORDER BY t.id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    convert_all(rows)
}

pub(super) async fn revoke_api_token(
    conn: &mut SqliteConnection,
    id: Id,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(to_unix_millis(at))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn touch_api_token(
    pool: &SqlitePool,
    id: Id,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(to_unix_millis(at))
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn set_company_require_totp(
    conn: &mut SqliteConnection,
    id: Id,
    on: bool,
) -> Result<Company, StoreError> {
    let row: Option<CompanyRow> = sqlx::query_as(concat!(
        "UPDATE companies SET require_totp = $1 WHERE id = $2 RETURNING ",
        company_cols!()
    ))
    .bind(on)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.ok_or(StoreError::NotFound("company"))?.try_into()
}
