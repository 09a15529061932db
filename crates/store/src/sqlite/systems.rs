//! Systems, connection types and service connections.

use portcullis_domain::conntype::ConnTypeDef;
use portcullis_domain::system::SystemData;
use sqlx::{SqliteConnection, SqlitePool};

use super::now_ms;
use crate::error::map_constraint;
use crate::millis::decode;
use crate::remote::{ConnectionType, NewServiceConnection, ServiceConnection, System};
use crate::{Id, StoreError};

fn corrupt(column: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        column,
        reason: e.to_string(),
    }
}

// ── systems ────────────────────────────────────────────────────────────────────────────

pub(super) const SYS_COLS: &str = "id, company_id, sid, system_number, system_type, product, \
    product_version, installation_number, status, eu_data_protection, advanced_secure_support, \
    allow_independent_opening, description, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct SystemRow {
    id: i64,
    company_id: i64,
    sid: String,
    system_number: String,
    system_type: String,
    product: String,
    product_version: String,
    installation_number: String,
    status: String,
    eu_data_protection: bool,
    advanced_secure_support: bool,
    allow_independent_opening: bool,
    description: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<SystemRow> for System {
    type Error = StoreError;
    fn try_from(r: SystemRow) -> Result<Self, StoreError> {
        Ok(System {
            id: r.id,
            company_id: r.company_id,
            data: SystemData {
                sid: r.sid,
                system_number: r.system_number,
                system_type: r
                    .system_type
                    .parse()
                    .map_err(|e| corrupt("systems.system_type", e))?,
                product: r.product,
                product_version: r.product_version,
                installation_number: r.installation_number,
                status: r.status.parse().map_err(|e| corrupt("systems.status", e))?,
                eu_data_protection: r.eu_data_protection,
                advanced_secure_support: r.advanced_secure_support,
                allow_independent_opening: r.allow_independent_opening,
                description: r.description,
            },
            created_at: decode(r.created_at, "systems.created_at")?,
            updated_at: decode(r.updated_at, "systems.updated_at")?,
        })
    }
}

fn sid_taken(d: &SystemData) -> impl FnOnce() -> String + '_ {
    move || format!("the company already has a system with SID {}", d.sid)
}

pub(super) async fn create_system(
    conn: &mut SqliteConnection,
    company_id: Id,
    d: &SystemData,
) -> Result<System, StoreError> {
    let now = now_ms();
    let row: SystemRow = sqlx::query_as(&format!(
        "INSERT INTO systems (company_id, sid, system_number, system_type, product, \
         product_version, installation_number, status, eu_data_protection, \
         advanced_secure_support, allow_independent_opening, description, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         RETURNING {SYS_COLS}"
    ))
    .bind(company_id)
    .bind(&d.sid)
    .bind(&d.system_number)
    .bind(d.system_type.as_str())
    .bind(&d.product)
    .bind(&d.product_version)
    .bind(&d.installation_number)
    .bind(d.status.as_str())
    .bind(d.eu_data_protection)
    .bind(d.advanced_secure_support)
    .bind(d.allow_independent_opening)
    .bind(&d.description)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| map_constraint(e, sid_taken(d), "company"))?;
    row.try_into()
}

pub(super) async fn get_system(pool: &SqlitePool, id: Id) -> Result<Option<System>, StoreError> {
    let row: Option<SystemRow> =
        sqlx::query_as(&format!("SELECT {SYS_COLS} FROM systems WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(System::try_from).transpose()
}

pub(super) async fn find_system(
    pool: &SqlitePool,
    company_id: Id,
    sid: &str,
) -> Result<Option<System>, StoreError> {
    let row: Option<SystemRow> = sqlx::query_as(&format!(
        "SELECT {SYS_COLS} FROM systems WHERE company_id = $1 AND sid = $2 COLLATE NOCASE"
    ))
    .bind(company_id)
    .bind(sid)
    .fetch_optional(pool)
    .await?;
    row.map(System::try_from).transpose()
}

pub(super) async fn list_systems(
    pool: &SqlitePool,
    company_id: Option<Id>,
) -> Result<Vec<System>, StoreError> {
    let rows: Vec<SystemRow> = sqlx::query_as(&format!(
        "SELECT {SYS_COLS} FROM systems WHERE $1 IS NULL OR company_id = $1 ORDER BY id"
    ))
    .bind(company_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(System::try_from).collect()
}

pub(super) async fn update_system(
    conn: &mut SqliteConnection,
    id: Id,
    d: &SystemData,
) -> Result<System, StoreError> {
    let row: Option<SystemRow> = sqlx::query_as(&format!(
        "UPDATE systems SET sid = $1, system_number = $2, system_type = $3, product = $4, \
         product_version = $5, installation_number = $6, status = $7, eu_data_protection = $8, \
         advanced_secure_support = $9, allow_independent_opening = $10, description = $11, \
         updated_at = $12 WHERE id = $13 RETURNING {SYS_COLS}"
    ))
    .bind(&d.sid)
    .bind(&d.system_number)
    .bind(d.system_type.as_str())
    .bind(&d.product)
    .bind(&d.product_version)
    .bind(&d.installation_number)
    .bind(d.status.as_str())
    .bind(d.eu_data_protection)
    .bind(d.advanced_secure_support)
    .bind(d.allow_independent_opening)
    .bind(&d.description)
    .bind(now_ms())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| map_constraint(e, sid_taken(d), "system"))?;
    row.ok_or(StoreError::NotFound("system"))?.try_into()
}

pub(super) async fn delete_system(conn: &mut SqliteConnection, id: Id) -> Result<bool, StoreError> {
    let used: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM service_connections WHERE system_id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    if used > 0 {
        return Err(StoreError::Conflict(format!(
            "the system has {used} service connection(s); delete them first"
        )));
    }
    let done = sqlx::query("DELETE FROM systems WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ── connection types ───────────────────────────────────────────────────────────────────

const TYPE_COLS: &str =
    "id, company_id, key, name, protocol, default_port, needs_url, description, created_at";

#[derive(sqlx::FromRow)]
struct TypeRow {
    id: i64,
    company_id: Option<i64>,
    key: String,
    name: String,
    protocol: String,
    default_port: Option<i64>,
    needs_url: bool,
    description: String,
    created_at: i64,
}

impl TryFrom<TypeRow> for ConnectionType {
    type Error = StoreError;
    fn try_from(r: TypeRow) -> Result<Self, StoreError> {
        Ok(ConnectionType {
            id: r.id,
            company_id: r.company_id,
            def: ConnTypeDef {
                key: r.key,
                name: r.name,
                protocol: r
                    .protocol
                    .parse()
                    .map_err(|e| corrupt("connection_types.protocol", e))?,
                default_port: r
                    .default_port
                    .map(u16::try_from)
                    .transpose()
                    .map_err(|e| corrupt("connection_types.default_port", e))?,
                needs_url: r.needs_url,
                description: r.description,
            },
            created_at: decode(r.created_at, "connection_types.created_at")?,
        })
    }
}

async fn insert_type(
    conn: &mut sqlx::SqliteConnection,
    company_id: Option<Id>,
    def: &ConnTypeDef,
) -> Result<TypeRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO connection_types (company_id, key, name, protocol, default_port, needs_url, \
         description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {TYPE_COLS}"
    ))
    .bind(company_id)
    .bind(&def.key)
    .bind(&def.name)
    .bind(def.protocol.as_str())
    .bind(def.default_port.map(i64::from))
    .bind(def.needs_url)
    .bind(&def.description)
    .bind(now_ms())
    .fetch_one(conn)
    .await
}

pub(super) async fn ensure_catalogue(
    pool: &SqlitePool,
    types: &[ConnTypeDef],
) -> Result<u32, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut added = 0;
    for def in types {
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM connection_types WHERE company_id IS NULL AND key = $1",
        )
        .bind(&def.key)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            insert_type(&mut tx, None, def).await?;
            added += 1;
        }
    }
    tx.commit().await?;
    Ok(added)
}

pub(super) async fn create_connection_type(
    conn: &mut SqliteConnection,
    company_id: Id,
    def: &ConnTypeDef,
) -> Result<ConnectionType, StoreError> {
    let in_catalogue: Option<i64> =
        sqlx::query_scalar("SELECT id FROM connection_types WHERE company_id IS NULL AND key = $1")
            .bind(&def.key)
            .fetch_optional(&mut *conn)
            .await?;
    if in_catalogue.is_some() {
        return Err(StoreError::Conflict(format!(
            "the catalogue already has a connection type {:?}",
            def.key
        )));
    }
    let row = insert_type(&mut *conn, Some(company_id), def)
        .await
        .map_err(|e| {
            map_constraint(
                e,
                || format!("the company already has a connection type {:?}", def.key),
                "company",
            )
        })?;
    row.try_into()
}

pub(super) async fn get_connection_type(
    pool: &SqlitePool,
    id: Id,
) -> Result<Option<ConnectionType>, StoreError> {
    let row: Option<TypeRow> = sqlx::query_as(&format!(
        "SELECT {TYPE_COLS} FROM connection_types WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(ConnectionType::try_from).transpose()
}

pub(super) async fn find_connection_type(
    pool: &SqlitePool,
    company_id: Id,
    key: &str,
) -> Result<Option<ConnectionType>, StoreError> {
    // The company's own type first (NULLs sort first in ascending order, so DESC).
    let row: Option<TypeRow> = sqlx::query_as(&format!(
        "SELECT {TYPE_COLS} FROM connection_types \
         WHERE key = $1 AND (company_id = $2 OR company_id IS NULL) \
         ORDER BY company_id DESC LIMIT 1"
    ))
    .bind(key)
    .bind(company_id)
    .fetch_optional(pool)
    .await?;
    row.map(ConnectionType::try_from).transpose()
}

pub(super) async fn list_connection_types(
    pool: &SqlitePool,
    company_id: Option<Id>,
) -> Result<Vec<ConnectionType>, StoreError> {
    let rows: Vec<TypeRow> = sqlx::query_as(&format!(
        "SELECT {TYPE_COLS} FROM connection_types \
         WHERE company_id IS NULL OR company_id = $1 \
         ORDER BY company_id IS NOT NULL, id"
    ))
    .bind(company_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(ConnectionType::try_from).collect()
}

pub(super) async fn delete_connection_type(
    conn: &mut SqliteConnection,
    id: Id,
) -> Result<bool, StoreError> {
    let company: Option<Option<i64>> =
        sqlx::query_scalar("SELECT company_id FROM connection_types WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    match company {
        None => return Ok(false),
        Some(None) => {
            return Err(StoreError::Conflict(
                "catalogue connection types cannot be deleted".into(),
            ))
        }
        Some(Some(_)) => {}
    }
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM service_connections WHERE connection_type_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if used > 0 {
        return Err(StoreError::Conflict(format!(
            "{used} service connection(s) use this connection type; delete them first"
        )));
    }
    sqlx::query("DELETE FROM connection_types WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

// ── service connections ────────────────────────────────────────────────────────────────

const SC_COLS: &str = "id, company_id, system_id, connection_type_id, connector_id, \
    virtual_host, virtual_port, url, created_by, created_at";

#[derive(sqlx::FromRow)]
struct ScRow {
    id: i64,
    company_id: i64,
    system_id: i64,
    connection_type_id: i64,
    connector_id: i64,
    virtual_host: String,
    virtual_port: i64,
    url: Option<String>,
    created_by: String,
    created_at: i64,
}

impl TryFrom<ScRow> for ServiceConnection {
    type Error = StoreError;
    fn try_from(r: ScRow) -> Result<Self, StoreError> {
        Ok(ServiceConnection {
            id: r.id,
            company_id: r.company_id,
            system_id: r.system_id,
            connection_type_id: r.connection_type_id,
            connector_id: r.connector_id,
            virtual_host: r.virtual_host,
            virtual_port: u16::try_from(r.virtual_port)
                .map_err(|e| corrupt("service_connections.virtual_port", e))?,
            url: r.url,
            created_by: r.created_by,
            created_at: decode(r.created_at, "service_connections.created_at")?,
        })
    }
}

pub(super) async fn create_service_connection(
    conn: &mut SqliteConnection,
    s: NewServiceConnection,
) -> Result<ServiceConnection, StoreError> {
    let company: Id = sqlx::query_scalar("SELECT company_id FROM systems WHERE id = $1")
        .bind(s.system_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("system"))?;
    let type_company: Option<i64> =
        sqlx::query_scalar("SELECT company_id FROM connection_types WHERE id = $1")
            .bind(s.connection_type_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("connection type"))?;
    if type_company.is_some_and(|c| c != company) {
        return Err(StoreError::Conflict(
            "the connection type belongs to another company".into(),
        ));
    }
    let connector_company: Id =
        sqlx::query_scalar("SELECT company_id FROM connectors WHERE id = $1")
            .bind(s.connector_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("connector"))?;
    if connector_company != company {
        return Err(StoreError::Conflict(
            "the connector belongs to another company".into(),
        ));
    }
    let row: ScRow = sqlx::query_as(&format!(
        "INSERT INTO service_connections (company_id, system_id, connection_type_id, \
         connector_id, virtual_host, virtual_port, url, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {SC_COLS}"
    ))
    .bind(company)
    .bind(s.system_id)
    .bind(s.connection_type_id)
    .bind(s.connector_id)
    .bind(&s.virtual_host)
    .bind(i64::from(s.virtual_port))
    .bind(&s.url)
    .bind(&s.created_by)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        map_constraint(
            e,
            || "this connection type is already set up for the system".into(),
            "system",
        )
    })?;
    row.try_into()
}

pub(super) async fn get_service_connection(
    pool: &SqlitePool,
    id: Id,
) -> Result<Option<ServiceConnection>, StoreError> {
    let row: Option<ScRow> = sqlx::query_as(&format!(
        "SELECT {SC_COLS} FROM service_connections WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(ServiceConnection::try_from).transpose()
}

pub(super) async fn list_service_connections(
    pool: &SqlitePool,
    company_id: Option<Id>,
) -> Result<Vec<ServiceConnection>, StoreError> {
    let rows: Vec<ScRow> = sqlx::query_as(&format!(
        "SELECT {SC_COLS} FROM service_connections WHERE $1 IS NULL OR company_id = $1 \
         ORDER BY id"
    ))
    .bind(company_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(ServiceConnection::try_from).collect()
}

/// By the `UNIQUE (system_id, connection_type_id)` index; the ids go in as one JSON array, so
/// a page of any size is one statement with one bound value.
pub(super) async fn list_service_connections_of_systems(
    pool: &SqlitePool,
    system_ids: &[Id],
) -> Result<Vec<ServiceConnection>, StoreError> {
    if system_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = json_ids(system_ids);
    let rows: Vec<ScRow> = sqlx::query_as(&format!(
        "SELECT {SC_COLS} FROM service_connections \
         WHERE system_id IN (SELECT value FROM json_each($1)) ORDER BY id"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(ServiceConnection::try_from).collect()
}

/// `[1,2,3]`: ids as a JSON array for `json_each`.
pub(super) fn json_ids(ids: &[Id]) -> String {
    let inner: Vec<String> = ids.iter().map(Id::to_string).collect();
    format!("[{}]", inner.join(","))
}

pub(super) async fn delete_service_connection(
    conn: &mut SqliteConnection,
    id: Id,
) -> Result<bool, StoreError> {
    // Favourites reference systems, not service connections; windows and grants cascade.
    let done = sqlx::query("DELETE FROM service_connections WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
