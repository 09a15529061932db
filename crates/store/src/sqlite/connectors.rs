//! Connectors and their one-time enrollment tokens.

use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

use super::now_ms;
use super::rows::{connector_cols, convert_all, enrollment_cols, ConnectorRow, EnrollmentRow};
use crate::error::map_constraint;
use crate::millis::to_unix_millis;
use crate::model::{Connector, EnrollmentToken, NewEnrollmentToken};
use crate::{Id, StoreError};

pub(super) async fn create_connector(
    conn: &mut SqliteConnection,
    company_id: Id,
    location: &str,
) -> Result<Connector, StoreError> {
    let row: ConnectorRow = sqlx::query_as(concat!(
        "INSERT INTO connectors (company_id, location, created_at) VALUES ($1, $2, $3) RETURNING ",
        connector_cols!()
    ))
    .bind(company_id)
    .bind(location)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || {
                format!(
                    "company {company_id} already has a connector at location {location:?} \
                     (location IDs compare without case)"
                )
            },
            "company",
        )
    })?;
    row.try_into()
}

pub(super) async fn get_connector(
    pool: &SqlitePool,
    id: Id,
) -> Result<Option<Connector>, StoreError> {
    let row: Option<ConnectorRow> = sqlx::query_as(concat!(
        "SELECT ",
        connector_cols!(),
        " FROM connectors WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(Connector::try_from).transpose()
}

pub(super) async fn find_connector(
    pool: &SqlitePool,
    company_id: Id,
    location: &str,
) -> Result<Option<Connector>, StoreError> {
    let row: Option<ConnectorRow> = sqlx::query_as(concat!(
        "SELECT ",
        connector_cols!(),
        " FROM connectors WHERE company_id = $1 AND location = $2 COLLATE NOCASE"
    ))
    .bind(company_id)
    .bind(location)
    .fetch_optional(pool)
    .await?;
    row.map(Connector::try_from).transpose()
}

pub(super) async fn list_connectors(
    pool: &SqlitePool,
    company_id: Option<Id>,
) -> Result<Vec<Connector>, StoreError> {
    let rows: Vec<ConnectorRow> = match company_id {
        Some(company_id) => {
            sqlx::query_as(concat!(
                "SELECT ",
                connector_cols!(),
                " FROM connectors WHERE company_id = $1 ORDER BY id"
            ))
            .bind(company_id)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(concat!(
                "SELECT ",
                connector_cols!(),
                " FROM connectors ORDER BY id"
            ))
            .fetch_all(pool)
            .await?
        }
    };
    convert_all(rows)
}

/// Explains why a write guarded by `revoked_at IS NULL` touched no row of connector `id`:
/// it does not exist, or it is revoked.
async fn why_not_writable(conn: &mut SqliteConnection, id: Id) -> Result<StoreError, StoreError> {
    let revoked_at: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT revoked_at FROM connectors WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(match revoked_at {
        Some((Some(_),)) => StoreError::Revoked("connector"),
        // Revocation is one-way, so "exists and live" cannot explain an untouched row unless
        // the row was deleted and recreated in between; report it as missing.
        None | Some((None,)) => StoreError::NotFound("connector"),
    })
}

pub(super) async fn set_connector_certificate(
    conn: &mut SqliteConnection,
    id: Id,
    fingerprint_hex: &str,
    not_after: OffsetDateTime,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE connectors \
         SET cert_fingerprint = $1, cert_not_after = $2, enrolled_at = COALESCE(enrolled_at, $3) \
         WHERE id = $4 AND revoked_at IS NULL",
    )
    .bind(fingerprint_hex.to_ascii_lowercase())
    .bind(to_unix_millis(not_after))
    .bind(now_ms())
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || "the certificate fingerprint already belongs to another connector".to_owned(),
            "connector",
        )
    })?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    Err(why_not_writable(&mut *conn, id).await?)
}

pub(super) async fn find_connector_by_fingerprint(
    pool: &SqlitePool,
    fingerprint_hex: &str,
) -> Result<Option<Connector>, StoreError> {
    let row: Option<ConnectorRow> = sqlx::query_as(concat!(
        "SELECT ",
        connector_cols!(),
        " FROM connectors WHERE cert_fingerprint = $1"
    ))
    .bind(fingerprint_hex.to_ascii_lowercase())
    .fetch_optional(pool)
    .await?;
    row.map(Connector::try_from).transpose()
}

pub(super) async fn revoke_connector(
    conn: &mut SqliteConnection,
    id: Id,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE connectors SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(to_unix_millis(at))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn touch_connector(
    pool: &SqlitePool,
    id: Id,
    version: &str,
    seen_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE connectors SET last_version = $1, last_seen = $2 WHERE id = $3")
        .bind(version)
        .bind(to_unix_millis(seen_at))
        .bind(id)
        .execute(pool)
        .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound("connector"))
    }
}

pub(super) async fn create_enrollment_token(
    conn: &mut SqliteConnection,
    t: NewEnrollmentToken,
) -> Result<EnrollmentToken, StoreError> {
    // INSERT … SELECT so that the revocation check and the insert are one statement.
    let row: Option<EnrollmentRow> = sqlx::query_as(concat!(
        "INSERT INTO enrollment_tokens \
         (connector_id, public_id, secret_hash, created_at, expires_at) \
         SELECT id, $2, $3, $4, $5 FROM connectors WHERE id = $1 AND revoked_at IS NULL \
         RETURNING ",
        enrollment_cols!()
    ))
    .bind(t.connector_id)
    .bind(&t.public_id)
    .bind(t.secret_hash.expose())
    .bind(now_ms())
    .bind(to_unix_millis(t.expires_at))
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || {
                format!(
                    "an enrollment token with public id {:?} already exists",
                    t.public_id
                )
            },
            "connector",
        )
    })?;
    match row {
        Some(row) => row.try_into(),
        None => Err(why_not_writable(&mut *conn, t.connector_id).await?),
    }
}

pub(super) async fn find_enrollment_token(
    pool: &SqlitePool,
    public_id: &str,
) -> Result<Option<EnrollmentToken>, StoreError> {
    let row: Option<EnrollmentRow> = sqlx::query_as(concat!(
        "SELECT ",
        enrollment_cols!(),
        " FROM enrollment_tokens WHERE public_id = $1"
    ))
    .bind(public_id)
    .fetch_optional(pool)
    .await?;
    row.map(TryInto::try_into).transpose()
}

pub(super) async fn consume_enrollment_token(
    conn: &mut SqliteConnection,
    public_id: &str,
    now: OffsetDateTime,
) -> Result<EnrollmentToken, StoreError> {
    let now_ms = to_unix_millis(now);
    // One guarded UPDATE: of two concurrent consumers only one can see `used_at IS NULL`.
    let row: Option<EnrollmentRow> = sqlx::query_as(concat!(
        "UPDATE enrollment_tokens SET used_at = $1 \
         WHERE public_id = $2 AND used_at IS NULL AND expires_at > $1 \
         AND connector_id IN (SELECT id FROM connectors WHERE revoked_at IS NULL) \
         RETURNING ",
        enrollment_cols!()
    ))
    .bind(now_ms)
    .bind(public_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        return row.try_into();
    }

    // Nothing was updated: work out why, in the documented order.
    let state: Option<(Option<i64>, i64, Option<i64>)> = sqlx::query_as(
        "SELECT t.used_at, t.expires_at, c.revoked_at \
         FROM enrollment_tokens t JOIN connectors c ON c.id = t.connector_id \
         WHERE t.public_id = $1",
    )
    .bind(public_id)
    .fetch_optional(&mut *conn)
    .await?;
    Err(match state {
        None => StoreError::NotFound("enrollment token"),
        Some((Some(_), _, _)) => StoreError::AlreadyUsed,
        Some((None, expires_at, _)) if now_ms >= expires_at => StoreError::Expired,
        Some((None, _, Some(_))) => StoreError::Revoked("connector"),
        // Unreachable while `used_at` and `revoked_at` only ever go from NULL to set; if a
        // maintenance tool reset one in between, refusing is the safe answer.
        Some((None, _, None)) => StoreError::AlreadyUsed,
    })
}
