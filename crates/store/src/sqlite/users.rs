//! Users and favourites.

use portcullis_domain::authz::Authorizations;
use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

use super::now_ms;
use crate::error::map_constraint;
use crate::millis::{decode, decode_opt, to_unix_millis};
use crate::remote::{NewUser, PasswordRecord, TotpRecord, User};
use crate::{Id, StoreError};

const COLS: &str =
    "id, company_id, name, display_name, email, role, authorizations, created_at, disabled_at";

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    company_id: Option<i64>,
    name: String,
    display_name: String,
    email: Option<String>,
    role: String,
    authorizations: String,
    created_at: i64,
    disabled_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        let corrupt = |column, e: &dyn std::fmt::Display| StoreError::Corrupt {
            column,
            reason: e.to_string(),
        };
        Ok(User {
            id: r.id,
            company_id: r.company_id,
            name: r.name,
            display_name: r.display_name,
            email: r.email,
            role: r.role.parse().map_err(|e| corrupt("users.role", &e))?,
            authorizations: Authorizations::parse(&r.authorizations)
                .map_err(|e| corrupt("users.authorizations", &e))?,
            created_at: decode(r.created_at, "users.created_at")?,
            disabled_at: decode_opt(r.disabled_at, "users.disabled_at")?,
        })
    }
}

async fn one(pool: &SqlitePool, id: Id) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {COLS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(User::try_from).transpose()
}

pub(super) async fn create_user(
    conn: &mut SqliteConnection,
    u: NewUser,
) -> Result<User, StoreError> {
    let row: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (company_id, name, display_name, email, role, authorizations, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLS}"
    ))
    .bind(u.company_id)
    .bind(&u.name)
    .bind(&u.display_name)
    .bind(&u.email)
    .bind(u.role.as_str())
    .bind(u.authorizations.to_stored())
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || format!("a user named {:?} already exists", u.name),
            "company",
        )
    })?;
    row.try_into()
}

pub(super) async fn get_user(pool: &SqlitePool, id: Id) -> Result<Option<User>, StoreError> {
    one(pool, id).await
}

pub(super) async fn find_user_by_name(
    pool: &SqlitePool,
    name: &str,
) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {COLS} FROM users WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.map(User::try_from).transpose()
}

pub(super) async fn list_users(
    pool: &SqlitePool,
    company_id: Option<Id>,
) -> Result<Vec<User>, StoreError> {
    // `IS` compares NULL with NULL as equal, so one query serves both cases.
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLS} FROM users WHERE company_id IS $1 ORDER BY id"
    ))
    .bind(company_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(User::try_from).collect()
}

pub(super) async fn set_user_authorizations(
    conn: &mut SqliteConnection,
    id: Id,
    authorizations: &Authorizations,
) -> Result<User, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "UPDATE users SET authorizations = $1 WHERE id = $2 RETURNING {COLS}"
    ))
    .bind(authorizations.to_stored())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.ok_or(StoreError::NotFound("user"))?.try_into()
}

pub(super) async fn disable_user(
    conn: &mut SqliteConnection,
    id: Id,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(to_unix_millis(at))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_favourite(
    pool: &SqlitePool,
    user_id: Id,
    system_id: Id,
    on: bool,
) -> Result<(), StoreError> {
    if on {
        sqlx::query("INSERT OR IGNORE INTO favourites (user_id, system_id) VALUES ($1, $2)")
            .bind(user_id)
            .bind(system_id)
            .execute(pool)
            .await
            .map_err(|e| map_constraint(e, String::new, "user or system"))?;
    } else {
        sqlx::query("DELETE FROM favourites WHERE user_id = $1 AND system_id = $2")
            .bind(user_id)
            .bind(system_id)
            .execute(pool)
            .await?;
    }
    Ok(())
}

pub(super) async fn list_favourites(pool: &SqlitePool, user_id: Id) -> Result<Vec<Id>, StoreError> {
    Ok(
        sqlx::query_scalar(
            "SELECT system_id FROM favourites WHERE user_id = $1 ORDER BY system_id",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await?,
    )
}

pub(super) async fn user_password(
    pool: &SqlitePool,
    id: Id,
) -> Result<Option<PasswordRecord>, StoreError> {
    let row: Option<(Option<String>, i64)> =
        sqlx::query_as("SELECT password_hash, password_must_change FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(hash, must)| {
        hash.map(|h| PasswordRecord {
            hash: h.into(),
            must_change: must != 0,
        })
    }))
}

pub(super) async fn set_user_password(
    conn: &mut SqliteConnection,
    id: Id,
    record: Option<&PasswordRecord>,
) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE users SET password_hash = $1, password_must_change = $2 WHERE id = $3")
            .bind(record.map(|r| r.hash.expose().as_str()))
            .bind(record.is_some_and(|r| r.must_change))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound("user"))
    }
}

pub(super) async fn user_totp(pool: &SqlitePool, id: Id) -> Result<Option<TotpRecord>, StoreError> {
    let row: Option<(Option<Vec<u8>>, Option<i64>)> =
        sqlx::query_as("SELECT totp_secret, totp_last_step FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(sealed, last_step)| {
        sealed.map(|s| TotpRecord {
            sealed: s.into(),
            last_step,
        })
    }))
}

pub(super) async fn claim_totp_step(
    pool: &SqlitePool,
    id: Id,
    step: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_secret IS NOT NULL \
         AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_user_totp(
    conn: &mut SqliteConnection,
    id: Id,
    sealed: Option<&[u8]>,
) -> Result<(), StoreError> {
    let done =
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE id = $2")
            .bind(sealed)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound("user"))
    }
}
