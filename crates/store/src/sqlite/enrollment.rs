//! Redeeming an enrolment token for a key, repeatably for that key until the token expires.

use sqlx::SqliteConnection;
use time::OffsetDateTime;

use crate::millis::to_unix_millis;
use crate::model::Redemption;
use crate::StoreError;

/// `(used_at, used_key_sha256, expires_at, connector revoked_at)`.
type TokenState = (Option<i64>, Option<String>, i64, Option<i64>);

pub(super) async fn redeem_enrollment_token(
    conn: &mut SqliteConnection,
    public_id: &str,
    now: OffsetDateTime,
    key_sha256: &str,
) -> Result<Redemption, StoreError> {
    let now_ms = to_unix_millis(now);
    // One guarded UPDATE for the first use: of two concurrent redeemers only one sees
    // `used_at IS NULL`.
    let first: Option<(i64,)> = sqlx::query_as(
        "UPDATE enrollment_tokens SET used_at = $1, used_key_sha256 = $3 \
         WHERE public_id = $2 AND used_at IS NULL AND expires_at > $1 \
         AND connector_id IN (SELECT id FROM connectors WHERE revoked_at IS NULL) \
         RETURNING id",
    )
    .bind(now_ms)
    .bind(public_id)
    .bind(key_sha256)
    .fetch_optional(&mut *conn)
    .await?;
    if first.is_some() {
        return Ok(Redemption::First);
    }
    let state: Option<TokenState> = sqlx::query_as(
        "SELECT t.used_at, t.used_key_sha256, t.expires_at, c.revoked_at \
         FROM enrollment_tokens t JOIN connectors c ON c.id = t.connector_id \
         WHERE t.public_id = $1",
    )
    .bind(public_id)
    .fetch_optional(&mut *conn)
    .await?;
    match state {
        None => Err(StoreError::NotFound("enrollment token")),
        Some((_, _, expires_at, _)) if now_ms >= expires_at => Err(StoreError::Expired),
        Some((_, _, _, Some(_))) => Err(StoreError::Revoked("connector")),
        Some((Some(_), Some(key), _, None)) if key == key_sha256 => Ok(Redemption::Repeat),
        // Used with another key (or before keys were recorded), or — only if a maintenance
        // tool reset a column in between — not used at all: refusing is the safe answer.
        Some(_) => Err(StoreError::AlreadyUsed),
    }
}
