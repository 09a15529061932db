//! The audit log: serialized (batched) appends, filtered listing, chain verification.

use serde_json::Value;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::rows::{audit_cols, convert_all, AuditRow};
use crate::audit::{
    audit_hash, canonical_json, AuditEvent, AuditFilter, AuditHashInput, NewAuditEvent,
    GENESIS_HASH,
};
use crate::millis::{decode, to_unix_millis};
use crate::StoreError;

/// Rows fetched per query while verifying, so verification of a long log runs in bounded
/// memory and never holds one read transaction open for the whole walk.
const VERIFY_PAGE: i64 = 1000;

/// Appends `events` in order in one transaction. The caller (the `Store` impl) already holds
/// the in-process write lock; `BEGIN IMMEDIATE` takes SQLite's write lock before reading the
/// chain head, so no other writer — in this process or another — can append between our read
/// and our inserts.
pub(super) async fn append_audit_batch(
    pool: &SqlitePool,
    events: Vec<NewAuditEvent>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let stored = append_in(&mut tx, events).await?;
    tx.commit().await?;
    Ok(stored)
}

/// Appends `events` after the chain's head inside the caller's write transaction, which must
/// hold SQLite's write lock (`BEGIN IMMEDIATE`) so the head cannot move until it commits.
pub(super) async fn append_in(
    conn: &mut SqliteConnection,
    events: Vec<NewAuditEvent>,
) -> Result<Vec<AuditEvent>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (mut seq, mut prev_hash) = match head {
        Some((seq, hash)) => (seq, hash),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let mut stored = Vec::with_capacity(events.len());
    for e in events {
        seq += 1;
        // Store canonical text and hash the value parsed back from it, so the verifier (which
        // can only parse the text) sees exactly the value that was hashed.
        let detail_text = canonical_json(&e.detail);
        let detail: Value =
            serde_json::from_str(&detail_text).map_err(|err| StoreError::Corrupt {
                column: "audit_log.detail",
                reason: format!("canonical JSON does not parse back: {err}"),
            })?;
        let at_ms = to_unix_millis(e.at);
        let hash = audit_hash(
            &prev_hash,
            &AuditHashInput {
                seq,
                at_ms,
                company_id: e.company_id,
                actor: &e.actor,
                action: &e.action,
                target: &e.target,
                outcome: &e.outcome,
                detail: &detail,
            },
        );
        sqlx::query(concat!(
            "INSERT INTO audit_log (",
            audit_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(seq)
        .bind(at_ms)
        .bind(e.company_id)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.outcome)
        .bind(&detail_text)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        stored.push(AuditEvent {
            seq,
            at: decode(at_ms, "audit_log.at")?,
            company_id: e.company_id,
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            detail,
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    Ok(stored)
}

pub(super) async fn list_audit(
    pool: &SqlitePool,
    f: &AuditFilter,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new(concat!(
        "SELECT ",
        audit_cols!(),
        " FROM audit_log WHERE 1 = 1"
    ));
    if let Some(company_id) = f.company_id {
        q.push(" AND company_id = ").push_bind(company_id);
    }
    if let Some(prefix) = &f.action_prefix {
        // substr/length rather than LIKE: LIKE is case-insensitive in SQLite and treats
        // `%` and `_` in the prefix as wildcards.
        q.push(" AND substr(action, 1, length(")
            .push_bind(prefix.clone())
            .push(")) = ")
            .push_bind(prefix.clone());
    }
    if let Some(after) = f.after_seq {
        q.push(" AND seq > ").push_bind(after);
    }
    if let Some(before) = f.before_seq {
        q.push(" AND seq < ").push_bind(before);
    }
    if let Some(actor) = &f.actor {
        q.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(since) = f.since {
        q.push(" AND at >= ").push_bind(to_unix_millis(since));
    }
    if let Some(until) = f.until {
        q.push(" AND at < ").push_bind(to_unix_millis(until));
    }
    q.push(if f.newest_first {
        " ORDER BY seq DESC LIMIT "
    } else {
        " ORDER BY seq LIMIT "
    })
    .push_bind(i64::from(f.effective_limit()));
    let rows: Vec<AuditRow> = q.build_query_as().fetch_all(pool).await?;
    convert_all(rows)
}

pub(super) async fn verify_audit_chain(pool: &SqlitePool) -> Result<u64, StoreError> {
    let mut expected_seq: i64 = 1;
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut count: u64 = 0;
    // Starting below every possible seq means a stray row with seq <= 0 is caught too.
    let mut after = i64::MIN;
    loop {
        let rows: Vec<AuditRow> = sqlx::query_as(concat!(
            "SELECT ",
            audit_cols!(),
            " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after)
        .bind(VERIFY_PAGE)
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(count);
        };
        after = last.seq;
        for row in &rows {
            let broken = StoreError::AuditChainBroken { seq: row.seq };
            if row.seq != expected_seq || row.prev_hash != expected_prev {
                return Err(broken);
            }
            let Ok(detail) = row.parse_detail() else {
                return Err(broken);
            };
            let recomputed = audit_hash(
                &row.prev_hash,
                &AuditHashInput {
                    seq: row.seq,
                    at_ms: row.at,
                    company_id: row.company_id,
                    actor: &row.actor,
                    action: &row.action,
                    target: &row.target,
                    outcome: &row.outcome,
                    detail: &detail,
                },
            );
            if recomputed != row.hash {
                return Err(broken);
            }
            expected_prev.clone_from(&row.hash);
            expected_seq += 1;
            count += 1;
        }
    }
}
