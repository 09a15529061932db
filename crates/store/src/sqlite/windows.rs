//! Windows and standing grants.
//!
//! The overlap guard runs inside `BEGIN IMMEDIATE`, so two hubs (or two requests) opening
//! windows for the same service connection at once cannot both succeed.

use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

use super::now_ms;
use crate::error::map_constraint;
use crate::millis::{decode, decode_opt, to_unix_millis};
use crate::remote::{Grant, NewWindow, Window};
use crate::{Id, StoreError};

const WIN_COLS: &str = "id, company_id, service_connection_id, start_at, end_at, closed_at, \
    closed_by, contact, opened_by, engineers, independent, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct WindowRow {
    id: i64,
    company_id: i64,
    service_connection_id: i64,
    start_at: i64,
    end_at: i64,
    closed_at: Option<i64>,
    closed_by: Option<String>,
    contact: String,
    opened_by: String,
    engineers: String,
    independent: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<WindowRow> for Window {
    type Error = StoreError;
    fn try_from(r: WindowRow) -> Result<Self, StoreError> {
        Ok(Window {
            id: r.id,
            company_id: r.company_id,
            service_connection_id: r.service_connection_id,
            start_at: decode(r.start_at, "windows.start_at")?,
            end_at: decode(r.end_at, "windows.end_at")?,
            closed_at: decode_opt(r.closed_at, "windows.closed_at")?,
            closed_by: r.closed_by,
            contact: r.contact,
            opened_by: r.opened_by,
            engineers: serde_json::from_str(&r.engineers).map_err(|e| StoreError::Corrupt {
                column: "windows.engineers",
                reason: e.to_string(),
            })?,
            independent: r.independent,
            created_at: decode(r.created_at, "windows.created_at")?,
            updated_at: decode(r.updated_at, "windows.updated_at")?,
        })
    }
}

fn engineers_json(engineers: &[String]) -> String {
    serde_json::to_string(engineers).unwrap_or_else(|_| "[]".into())
}

/// Refuses when another live window of the service connection overlaps `[start, end)`.
async fn guard_overlap(
    conn: &mut SqliteConnection,
    service_connection_id: Id,
    start: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
    except: Option<Id>,
) -> Result<(), StoreError> {
    let other: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, start_at, end_at FROM windows \
         WHERE service_connection_id = $1 AND closed_at IS NULL AND end_at > $2 \
           AND start_at < $4 AND end_at > $3 AND id IS NOT $5 \
         ORDER BY start_at LIMIT 1",
    )
    .bind(service_connection_id)
    .bind(to_unix_millis(now))
    .bind(to_unix_millis(start))
    .bind(to_unix_millis(end))
    .bind(except)
    .fetch_optional(conn)
    .await?;
    match other {
        None => Ok(()),
        Some((id, _, _)) => Err(StoreError::Conflict(format!(
            "window {id} of this service connection already covers part of that time"
        ))),
    }
}

async fn one(conn: &mut SqliteConnection, id: Id) -> Result<Option<Window>, StoreError> {
    let row: Option<WindowRow> =
        sqlx::query_as(&format!("SELECT {WIN_COLS} FROM windows WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.map(Window::try_from).transpose()
}

pub(super) async fn create_window(
    conn: &mut SqliteConnection,
    w: NewWindow,
    now: OffsetDateTime,
) -> Result<Window, StoreError> {
    let company: Id =
        sqlx::query_scalar("SELECT company_id FROM service_connections WHERE id = $1")
            .bind(w.service_connection_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("service connection"))?;
    guard_overlap(
        &mut *conn,
        w.service_connection_id,
        w.start_at,
        w.end_at,
        now,
        None,
    )
    .await?;
    let stamp = now_ms();
    let row: WindowRow = sqlx::query_as(&format!(
        "INSERT INTO windows (company_id, service_connection_id, start_at, end_at, contact, \
         opened_by, engineers, independent, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {WIN_COLS}"
    ))
    .bind(company)
    .bind(w.service_connection_id)
    .bind(to_unix_millis(w.start_at))
    .bind(to_unix_millis(w.end_at))
    .bind(&w.contact)
    .bind(&w.opened_by)
    .bind(engineers_json(&w.engineers))
    .bind(w.independent)
    .bind(stamp)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::CheckViolation => {
            StoreError::Conflict("a window must end after it starts".into())
        }
        _ => StoreError::from(e),
    })?;
    row.try_into()
}

pub(super) async fn get_window(pool: &SqlitePool, id: Id) -> Result<Option<Window>, StoreError> {
    let mut conn = pool.acquire().await?;
    one(&mut conn, id).await
}

pub(super) async fn list_windows(
    pool: &SqlitePool,
    service_connection_id: Id,
) -> Result<Vec<Window>, StoreError> {
    let rows: Vec<WindowRow> = sqlx::query_as(&format!(
        "SELECT {WIN_COLS} FROM windows WHERE service_connection_id = $1 ORDER BY start_at, id"
    ))
    .bind(service_connection_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Window::try_from).collect()
}

pub(super) async fn list_live_windows(
    pool: &SqlitePool,
    company_id: Option<Id>,
    now: OffsetDateTime,
) -> Result<Vec<Window>, StoreError> {
    let rows: Vec<WindowRow> = sqlx::query_as(&format!(
        "SELECT {WIN_COLS} FROM windows \
         WHERE closed_at IS NULL AND end_at > $1 AND ($2 IS NULL OR company_id = $2) \
         ORDER BY start_at, id"
    ))
    .bind(to_unix_millis(now))
    .bind(company_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Window::try_from).collect()
}

pub(super) async fn update_window(
    conn: &mut SqliteConnection,
    id: Id,
    start_at: OffsetDateTime,
    end_at: OffsetDateTime,
    contact: &str,
    engineers: &[String],
    now: OffsetDateTime,
) -> Result<Window, StoreError> {
    let current = one(&mut *conn, id)
        .await?
        .ok_or(StoreError::NotFound("window"))?;
    if current.closed_at.is_some() || current.end_at <= now {
        return Err(StoreError::Conflict(format!("window {id} is closed")));
    }
    if end_at <= start_at {
        return Err(StoreError::Conflict(
            "a window must end after it starts".into(),
        ));
    }
    guard_overlap(
        &mut *conn,
        current.service_connection_id,
        start_at,
        end_at,
        now,
        Some(id),
    )
    .await?;
    let row: WindowRow = sqlx::query_as(&format!(
        "UPDATE windows SET start_at = $1, end_at = $2, contact = $3, engineers = $4, \
         updated_at = $5 WHERE id = $6 RETURNING {WIN_COLS}"
    ))
    .bind(to_unix_millis(start_at))
    .bind(to_unix_millis(end_at))
    .bind(contact)
    .bind(engineers_json(engineers))
    .bind(now_ms())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    row.try_into()
}

pub(super) async fn close_window(
    conn: &mut SqliteConnection,
    id: Id,
    at: OffsetDateTime,
    closed_by: &str,
) -> Result<Option<Window>, StoreError> {
    let Some(current) = one(&mut *conn, id).await? else {
        return Ok(None);
    };
    if current.closed_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "window {id} was closed before"
        )));
    }
    let row: WindowRow = sqlx::query_as(&format!(
        "UPDATE windows SET closed_at = $1, closed_by = $2, updated_at = $3 WHERE id = $4 \
         RETURNING {WIN_COLS}"
    ))
    .bind(to_unix_millis(at))
    .bind(closed_by)
    .bind(now_ms())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Some(Window::try_from(row)).transpose()
}

// ── grants ─────────────────────────────────────────────────────────────────────────────

const GRANT_COLS: &str =
    "id, company_id, user_id, service_connection_id, created_by, created_at, revoked_at";

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: i64,
    company_id: i64,
    user_id: i64,
    service_connection_id: i64,
    created_by: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(r: GrantRow) -> Result<Self, StoreError> {
        Ok(Grant {
            id: r.id,
            company_id: r.company_id,
            user_id: r.user_id,
            service_connection_id: r.service_connection_id,
            created_by: r.created_by,
            created_at: decode(r.created_at, "grants.created_at")?,
            revoked_at: decode_opt(r.revoked_at, "grants.revoked_at")?,
        })
    }
}

pub(super) async fn create_grant(
    conn: &mut SqliteConnection,
    user_id: Id,
    service_connection_id: Id,
    created_by: &str,
) -> Result<Grant, StoreError> {
    let user_company: Option<i64> =
        sqlx::query_scalar("SELECT company_id FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("user"))?;
    let company: Id =
        sqlx::query_scalar("SELECT company_id FROM service_connections WHERE id = $1")
            .bind(service_connection_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("service connection"))?;
    if user_company != Some(company) {
        return Err(StoreError::Conflict(
            "the user and the service connection belong to different companies".into(),
        ));
    }
    let row: GrantRow = sqlx::query_as(&format!(
        "INSERT INTO grants (company_id, user_id, service_connection_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {GRANT_COLS}"
    ))
    .bind(company)
    .bind(user_id)
    .bind(service_connection_id)
    .bind(created_by)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || "the user already has an active grant for this service connection".into(),
            "user",
        )
    })?;
    row.try_into()
}

pub(super) async fn get_grant(pool: &SqlitePool, id: Id) -> Result<Option<Grant>, StoreError> {
    let row: Option<GrantRow> =
        sqlx::query_as(&format!("SELECT {GRANT_COLS} FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(Grant::try_from).transpose()
}

pub(super) async fn list_grants(
    pool: &SqlitePool,
    company_id: Id,
) -> Result<Vec<Grant>, StoreError> {
    let rows: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLS} FROM grants WHERE company_id = $1 ORDER BY id"
    ))
    .bind(company_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Grant::try_from).collect()
}

pub(super) async fn find_active_grant(
    pool: &SqlitePool,
    user_id: Id,
    service_connection_id: Id,
) -> Result<Option<Grant>, StoreError> {
    let row: Option<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLS} FROM grants \
         WHERE user_id = $1 AND service_connection_id = $2 AND revoked_at IS NULL"
    ))
    .bind(user_id)
    .bind(service_connection_id)
    .fetch_optional(pool)
    .await?;
    row.map(Grant::try_from).transpose()
}

pub(super) async fn revoke_grant(
    conn: &mut SqliteConnection,
    id: Id,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(to_unix_millis(at))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
