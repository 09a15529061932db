//! [`crate::Store::page_systems`] in SQL: the filter becomes a `WHERE` clause over `systems`
//! (with `EXISTS` over service connections, windows and favourites for the terms that need
//! them), the order an `ORDER BY`, the page a `LIMIT`/`OFFSET`; the count is the same `WHERE`
//! under `count(*)`. What each term means is [`crate::system_page`]'s; this file only says it
//! in SQL. Every value is bound; the only text spliced in is column names from fixed matches.

use portcullis_domain::system_filter::{Clause, Term};
use portcullis_domain::window::WindowState;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::systems::{json_ids, SystemRow, SYS_COLS};
use crate::millis::to_unix_millis;
use crate::remote::System;
use crate::system_page::{SystemGroup, SystemPage, SystemPageQuery, SystemSort};
use crate::StoreError;

/// The values one statement binds, captured once so that the count and the page say the
/// same thing.
struct Ctx<'q> {
    q: &'q SystemPageQuery<'q>,
    now: i64,
    connected: String,
}

/// A window of service connection `c.id` that is open at `now`.
const OPEN_WINDOW: &str = "EXISTS (SELECT 1 FROM windows w WHERE w.service_connection_id = c.id \
     AND w.closed_at IS NULL AND w.start_at <= ";
/// A window of `c.id` that is open or reserved at `now` (not closed and not ended).
const LIVE_WINDOW: &str = "EXISTS (SELECT 1 FROM windows w WHERE w.service_connection_id = c.id \
     AND w.closed_at IS NULL AND w.end_at > ";

impl<'q> Ctx<'q> {
    /// `EXISTS (a window of c.id open at now)`.
    fn open_window(&self, b: &mut QueryBuilder<'q, Sqlite>) {
        b.push(OPEN_WINDOW)
            .push_bind(self.now)
            .push(" AND w.end_at > ")
            .push_bind(self.now)
            .push(")");
    }

    /// `EXISTS (a service connection of s.id through a connector that is not connected)`.
    fn offline(&self, b: &mut QueryBuilder<'q, Sqlite>) {
        b.push(
            "EXISTS (SELECT 1 FROM service_connections c WHERE c.system_id = s.id \
             AND c.connector_id NOT IN (SELECT value FROM json_each(",
        )
        .push_bind(self.connected.clone())
        .push(")))");
    }

    fn term(&self, b: &mut QueryBuilder<'q, Sqlite>, t: &'q Term) {
        const HAS_SC: &str =
            "EXISTS (SELECT 1 FROM service_connections c WHERE c.system_id = s.id)";
        const SC_WHERE: &str =
            "EXISTS (SELECT 1 FROM service_connections c WHERE c.system_id = s.id AND ";
        match t {
            Term::Word(w) => {
                b.push("(instr(lower(s.sid), ")
                    .push_bind(w.as_str())
                    .push(") > 0 OR instr(lower(s.product), ")
                    .push_bind(w.as_str())
                    .push(") > 0 OR instr(lower(s.description), ")
                    .push_bind(w.as_str())
                    .push(") > 0)");
            }
            Term::Status(s) => {
                b.push("s.status = ").push_bind(s.as_str());
            }
            Term::Type(t) => {
                b.push("s.system_type = ").push_bind(t.as_str());
            }
            Term::Product(p) => {
                b.push("instr(lower(s.product), ")
                    .push_bind(p.as_str())
                    .push(") > 0");
            }
            Term::Flag(f) => {
                b.push(match *f {
                    "eu_data_protection" => "s.eu_data_protection <> 0",
                    "advanced_secure_support" => "s.advanced_secure_support <> 0",
                    "allow_independent_opening" => "s.allow_independent_opening <> 0",
                    // The parser makes no other flag; an unknown one holds for no system.
                    _ => "0",
                });
            }
            Term::Favourite(yes) => {
                if !yes {
                    b.push("NOT ");
                }
                b.push(
                    "EXISTS (SELECT 1 FROM favourites f WHERE f.system_id = s.id AND f.user_id = ",
                )
                .push_bind(self.q.viewer)
                .push(")");
            }
            Term::Network(n) => match *n {
                "not_set_up" => {
                    b.push("NOT ").push(HAS_SC);
                }
                "connected" => {
                    b.push("(").push(HAS_SC).push(" AND NOT ");
                    self.offline(b);
                    b.push(")");
                }
                "not_connected" => self.offline(b),
                _ => {
                    b.push("0");
                }
            },
            Term::State(WindowState::Open) => {
                b.push(SC_WHERE);
                self.open_window(b);
                b.push(")");
            }
            Term::State(WindowState::Reserved) => {
                b.push(SC_WHERE)
                    .push(LIVE_WINDOW)
                    .push_bind(self.now)
                    .push(" AND w.start_at > ")
                    .push_bind(self.now)
                    .push(") AND NOT ");
                self.open_window(b);
                b.push(")");
            }
            Term::State(WindowState::Closed) => {
                b.push(SC_WHERE)
                    .push("NOT ")
                    .push(LIVE_WINDOW)
                    .push_bind(self.now)
                    .push("))");
            }
        }
    }

    /// `WHERE s.company_id = ? AND (clause) AND …`
    fn filter(&self, b: &mut QueryBuilder<'q, Sqlite>) {
        b.push(" FROM systems s WHERE s.company_id = ")
            .push_bind(self.q.company_id);
        for Clause { negated, term } in &self.q.filter.clauses {
            b.push(if *negated { " AND NOT (" } else { " AND (" });
            self.term(b, term);
            b.push(")");
        }
    }

    /// The network status as text, for grouping.
    fn network(&self, b: &mut QueryBuilder<'q, Sqlite>) {
        b.push(
            "CASE WHEN NOT EXISTS (SELECT 1 FROM service_connections c WHERE c.system_id = s.id) \
             THEN 'not_set_up' WHEN ",
        );
        self.offline(b);
        b.push(" THEN 'not_connected' ELSE 'connected' END");
    }

    fn order(&self, b: &mut QueryBuilder<'q, Sqlite>) {
        b.push(" ORDER BY ");
        match self.q.group {
            Some(SystemGroup::Status) => {
                b.push("s.status, ");
            }
            Some(SystemGroup::Type) => {
                b.push("s.system_type, ");
            }
            Some(SystemGroup::Product) => {
                b.push("s.product, ");
            }
            Some(SystemGroup::Network) => {
                self.network(b);
                b.push(", ");
            }
            None => {}
        }
        match self.q.sort {
            SystemSort::Sid => {
                b.push("s.sid, ");
            }
            SystemSort::Product => {
                b.push("s.product, ");
            }
            SystemSort::Status => {
                b.push("s.status, ");
            }
            SystemSort::SystemType => {
                b.push("s.system_type, ");
            }
            SystemSort::Open => {
                b.push("(SELECT count(*) FROM service_connections c WHERE c.system_id = s.id AND ");
                self.open_window(b);
                b.push(") DESC, ");
            }
        }
        b.push("s.id");
    }
}

/// See [`crate::Store::page_systems`]. The count and the page are read in one transaction, so
/// they agree.
pub(super) async fn page_systems(
    pool: &SqlitePool,
    q: &SystemPageQuery<'_>,
) -> Result<SystemPage, StoreError> {
    let ctx = Ctx {
        q,
        now: to_unix_millis(q.now),
        connected: json_ids(q.connected),
    };
    let mut tx = pool.begin().await?;

    let mut count = QueryBuilder::<Sqlite>::new("SELECT count(*)");
    ctx.filter(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *tx).await?;

    let cols: String = SYS_COLS
        .split(", ")
        .map(|c| format!("s.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut page = QueryBuilder::<Sqlite>::new(format!("SELECT {cols}"));
    ctx.filter(&mut page);
    ctx.order(&mut page);
    // SQLite needs a LIMIT before an OFFSET; -1 is "no limit".
    let limit = q.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
    page.push(" LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows: Vec<SystemRow> = page.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;

    Ok(SystemPage {
        total: u64::try_from(total).unwrap_or(0),
        systems: rows
            .into_iter()
            .map(System::try_from)
            .collect::<Result<_, _>>()?,
    })
}
