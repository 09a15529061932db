//! A company's OpenID Connect settings (`company_oidc`, migration 0009).

use sqlx::{SqliteConnection, SqlitePool};

use crate::millis::{decode, to_unix_millis};
use crate::model::OidcConfig;
use crate::{Id, StoreError};

#[derive(sqlx::FromRow)]
struct OidcRow {
    company_id: i64,
    issuer: String,
    client_id: String,
    client_secret: Vec<u8>,
    user_claim: String,
    extra_ca_pem: Option<String>,
    enabled: bool,
    updated_at: i64,
}

pub(super) async fn company_oidc(
    pool: &SqlitePool,
    company_id: Id,
) -> Result<Option<OidcConfig>, StoreError> {
    let row: Option<OidcRow> = sqlx::query_as(
        "SELECT company_id, issuer, client_id, client_secret, user_claim, extra_ca_pem, \
         enabled, updated_at FROM company_oidc WHERE company_id = $1",
    )
    .bind(company_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(OidcConfig {
            company_id: r.company_id,
            issuer: r.issuer,
            client_id: r.client_id,
            client_secret_sealed: r.client_secret.into(),
            user_claim: r.user_claim,
            extra_ca_pem: r.extra_ca_pem,
            enabled: r.enabled,
            updated_at: decode(r.updated_at, "company_oidc.updated_at")?,
        })
    })
    .transpose()
}

pub(super) async fn put_company_oidc(
    conn: &mut SqliteConnection,
    c: &OidcConfig,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO company_oidc (company_id, issuer, client_id, client_secret, user_claim, \
         extra_ca_pem, enabled, updated_at) \
         SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM companies WHERE id = $1 \
         ON CONFLICT (company_id) DO UPDATE SET issuer = excluded.issuer, \
         client_id = excluded.client_id, client_secret = excluded.client_secret, \
         user_claim = excluded.user_claim, extra_ca_pem = excluded.extra_ca_pem, \
         enabled = excluded.enabled, updated_at = excluded.updated_at",
    )
    .bind(c.company_id)
    .bind(&c.issuer)
    .bind(&c.client_id)
    .bind(c.client_secret_sealed.expose().as_slice())
    .bind(&c.user_claim)
    .bind(c.extra_ca_pem.as_deref())
    .bind(c.enabled)
    .bind(to_unix_millis(c.updated_at))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound("company"))
    }
}

pub(super) async fn delete_company_oidc(
    conn: &mut SqliteConnection,
    company_id: Id,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM company_oidc WHERE company_id = $1")
        .bind(company_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
