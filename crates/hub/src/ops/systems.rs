//! Systems (the Remote Connection app's data), the caller's favourites, a system's log book,
//! and below them the connection types ([`connection_types`]) and service connections
//! ([`services`]).
//!
//! A system's view carries what the lists show about it: its service connections, how many
//! have a window open, the network status of their connectors (RC-08), the caller's mark.

pub mod connection_types;
pub mod services;

use std::collections::{HashMap, HashSet};

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::system::SystemData;
use portcullis_domain::system_filter::{self, Clause, Filter, Term};
use portcullis_domain::window::WindowState;
use portcullis_store::{
    AuditEvent, AuditFilter, Company, Id, ServiceConnection, System, SystemGroup, SystemPageQuery,
    SystemSort,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{check, event, Caller, Change, OpError};
use crate::audit_action::AuditAction;
use crate::state::State;

/// A system with what the lists show about it.
#[derive(Debug, Serialize)]
pub struct SystemView {
    /// The stored system.
    #[serde(flatten)]
    pub system: System,
    /// Service connections set up for it.
    pub service_connections: usize,
    /// How many of them have a window open now.
    pub open_connections: usize,
    /// The network status of the connectors its service connections go through (RC-08):
    /// `connected` when every one is connected, `not_connected` when one is not (not
    /// connected, not enrolled or revoked), `not_set_up` without service connections.
    pub network: &'static str,
    /// The caller's favourite.
    pub favourite: bool,
}

/// What the list can be grouped by.
pub const GROUPS: [&str; 4] = SystemGroup::NAMES;

impl SystemView {
    /// The heading of this system's group when the list is grouped by `by` (one of
    /// [`GROUPS`]).
    pub fn group_key(&self, by: &str) -> String {
        let d = &self.system.data;
        match by {
            "status" => d.status.as_str().to_string(),
            "type" => d.system_type.as_str().to_string(),
            "product" => d.product.clone(),
            "network" => self.network.to_string(),
            _ => String::new(),
        }
    }
}

/// Filters, sort and grouping of the system list (RC-12).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemQuery {
    /// `active` or `inactive`.
    pub status: Option<String>,
    /// System type, e.g. `abap`.
    pub system_type: Option<String>,
    /// Substring of the product, ignoring the case of A–Z.
    pub product: Option<String>,
    /// Only systems with this flag set: `eu_data_protection`, `advanced_secure_support`,
    /// `allow_independent_opening`.
    pub flag: Option<String>,
    /// Only systems with an open connection.
    pub open: Option<bool>,
    /// Only the caller's favourites.
    pub favourites: Option<bool>,
    /// Only systems with this network status: `connected`, `not_connected`, `not_set_up`.
    pub network: Option<String>,
    /// `sid` (default), `product`, `status`, `system_type`, `open` (most open first).
    pub sort: Option<String>,
    /// The filter syntax ([`system_filter`]): `prd NOT status:inactive state:open`.
    pub q: Option<String>,
    /// Group by `status`, `type`, `product` or `network`: the list comes in runs of one group
    /// (groups in ascending order), sorted by `sort` within each.
    pub group: Option<String>,
}

fn invalid(e: impl std::fmt::Display) -> OpError {
    OpError::invalid(e.to_string())
}

/// What one page of the systems list holds.
#[derive(Debug)]
pub struct SystemList {
    /// Systems that match, on every page.
    pub total: usize,
    /// The page, in the list's order.
    pub views: Vec<SystemView>,
}

/// `q`'s explicit fields and its filter syntax as one filter: the fields are terms of the
/// syntax (`status=inactive` is `status:inactive`, `open=true` is `state:open`, …), so there
/// is one meaning for both, and the store's ([`portcullis_store::system_page`]).
fn filter_of(q: &SystemQuery) -> Result<Filter, OpError> {
    let mut f = match q.q.as_deref() {
        Some(text) => system_filter::parse(text).map_err(invalid)?,
        None => Filter::default(),
    };
    let mut and = |term| {
        f.clauses.push(Clause {
            negated: false,
            term,
        })
    };
    if let Some(s) = &q.status {
        and(Term::Status(s.parse().map_err(invalid)?));
    }
    if let Some(t) = &q.system_type {
        and(Term::Type(t.parse().map_err(invalid)?));
    }
    if let Some(p) = &q.product {
        and(Term::Product(p.to_ascii_lowercase()));
    }
    if let Some(name) = &q.flag {
        let known = system_filter::FLAGS.iter().find(|f| **f == name.as_str());
        and(Term::Flag(known.ok_or_else(|| {
            invalid(format!("flag: unknown flag {name:?}"))
        })?));
    }
    if q.open == Some(true) {
        and(Term::State(WindowState::Open));
    }
    if q.favourites == Some(true) {
        and(Term::Favourite(true));
    }
    if let Some(n) = &q.network {
        let known = system_filter::NETWORKS.iter().find(|k| **k == n.as_str());
        and(Term::Network(known.ok_or_else(|| {
            invalid(format!(
                "network: {n:?} is not one of connected, not_connected, not_set_up"
            ))
        })?));
    }
    Ok(f)
}

/// The systems of the permit's company that `q` picks, in its order, as the permit's holder
/// sees them: `limit` of them after skipping `offset` (`None`: all the rest), and how many
/// match in all. The store filters, orders and counts; views are built for the page only.
pub async fn list(
    st: &State,
    permit: &Permit,
    q: &SystemQuery,
    offset: u64,
    limit: Option<u64>,
) -> Result<SystemList, OpError> {
    let company = crate::ops::company_of(permit, Op::ReadSystems)?;
    // Every field is checked before any system is looked at: a value that can never match is
    // a mistake worth saying, also when the company has no system.
    let filter = filter_of(q)?;
    let sort = q.sort.as_deref().unwrap_or("sid");
    let sort = SystemSort::named(sort).ok_or_else(|| {
        invalid(format!(
            "sort: {sort:?} is not one of {}",
            SystemSort::NAMES.join(", ")
        ))
    })?;
    let group =
        match q.group.as_deref() {
            None => None,
            Some(g) => Some(SystemGroup::named(g).ok_or_else(|| {
                invalid(format!("group: {g:?} is not one of {}", GROUPS.join(", ")))
            })?),
        };
    let now = OffsetDateTime::now_utc();
    let statuses = connector_statuses(st, company).await?;
    let connected: Vec<Id> = statuses
        .iter()
        .filter(|(_, s)| **s == "connected")
        .map(|(id, _)| *id)
        .collect();
    let page = st
        .store
        .page_systems(&SystemPageQuery {
            company_id: company,
            viewer: permit.user_id(),
            now,
            connected: &connected,
            filter: &filter,
            group,
            sort,
            offset,
            limit,
        })
        .await?;
    Ok(SystemList {
        total: usize::try_from(page.total).unwrap_or(usize::MAX),
        views: views(st, permit, company, page.systems, &statuses, now).await?,
    })
}

/// One system as the permit's holder sees it now.
pub async fn get(st: &State, permit: &Permit, s: &System) -> Result<SystemView, OpError> {
    check(permit, Op::ReadSystems, Some(s.company_id))?;
    let statuses = connector_statuses(st, s.company_id).await?;
    let now = OffsetDateTime::now_utc();
    views(st, permit, s.company_id, vec![s.clone()], &statuses, now)
        .await?
        .into_iter()
        .find(|v| v.system.id == s.id)
        .ok_or(OpError::NotFound("system"))
}

/// The state at `now` of each of `company`'s service connections that is not closed.
async fn live_states(
    st: &State,
    company: Id,
    now: OffsetDateTime,
) -> Result<HashMap<Id, WindowState>, OpError> {
    let mut live: HashMap<Id, WindowState> = HashMap::new();
    for w in st.store.list_live_windows(Some(company), now).await? {
        let s = w.state(now);
        let e = live.entry(w.service_connection_id).or_insert(s);
        if s == WindowState::Open {
            *e = WindowState::Open;
        }
    }
    Ok(live)
}

/// `systems` (of `company`) as the holder of `permit` (a permit to read them) sees them at
/// `now`. A fixed number of store calls however many systems there are: each list is read
/// once and joined here by id.
async fn views(
    st: &State,
    permit: &Permit,
    company: Id,
    systems: Vec<System>,
    statuses: &HashMap<Id, &'static str>,
    now: OffsetDateTime,
) -> Result<Vec<SystemView>, OpError> {
    let ids: Vec<Id> = systems.iter().map(|s| s.id).collect();
    let scs = st.store.list_service_connections_of_systems(&ids).await?;
    let live = live_states(st, company, now).await?;
    let favs: HashSet<Id> = st
        .store
        .list_favourites(permit.user_id())
        .await?
        .into_iter()
        .collect();
    let mut by_system: HashMap<Id, Vec<&ServiceConnection>> = HashMap::new();
    for sc in &scs {
        by_system.entry(sc.system_id).or_default().push(sc);
    }
    let mut out = Vec::with_capacity(systems.len());
    for s in systems {
        let mine = by_system.get(&s.id).map(Vec::as_slice).unwrap_or_default();
        let open_connections = mine
            .iter()
            .filter(|sc| live.get(&sc.id) == Some(&WindowState::Open))
            .count();
        out.push(SystemView {
            service_connections: mine.len(),
            open_connections,
            network: system_network(mine, statuses),
            favourite: favs.contains(&s.id),
            system: s,
        });
    }
    Ok(out)
}

/// Every connector of a company and its network status now.
async fn connector_statuses(st: &State, company: Id) -> Result<HashMap<Id, &'static str>, OpError> {
    Ok(st
        .store
        .list_connectors(Some(company))
        .await?
        .iter()
        .map(|c| (c.id, super::connectors::status(st, c)))
        .collect())
}

/// A system's network status from its service connections' connectors.
fn system_network(
    mine: &[&ServiceConnection],
    statuses: &HashMap<Id, &'static str>,
) -> &'static str {
    if mine.is_empty() {
        "not_set_up"
    } else if mine
        .iter()
        .all(|sc| statuses.get(&sc.connector_id) == Some(&"connected"))
    {
        "connected"
    } else {
        "not_connected"
    }
}

/// Creates a system of `company`.
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: &Company,
    data: &SystemData,
) -> Result<System, OpError> {
    check(permit, Op::MaintainSystems, Some(company.id))?;
    data.validate().map_err(invalid)?;
    let mut tx = st.store.begin().await?;
    let s = tx.create_system(company.id, data).await?;
    let after = serde_json::to_value(&s).unwrap_or_default();
    tx.audit(event(
        by,
        company.id,
        AuditAction::SystemCreated,
        &s.data.sid,
        serde_json::json!({"after": after}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(s)
}

/// Replaces a system's maintained fields.
pub async fn update(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    before: System,
    data: &SystemData,
) -> Result<System, OpError> {
    check(permit, Op::MaintainSystems, Some(before.company_id))?;
    data.validate().map_err(invalid)?;
    let mut tx = st.store.begin().await?;
    let after = tx.update_system(before.id, data).await?;
    tx.audit(event(
        by,
        after.company_id,
        AuditAction::SystemUpdated,
        &after.data.sid,
        serde_json::json!({"before": before, "after": after}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(after)
}

/// Deletes a system (the store refuses while service connections are set up).
pub async fn delete(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    before: System,
) -> Result<(), OpError> {
    check(permit, Op::MaintainSystems, Some(before.company_id))?;
    let mut tx = st.store.begin().await?;
    tx.delete_system(before.id).await?;
    tx.audit(event(
        by,
        before.company_id,
        AuditAction::SystemDeleted,
        &before.data.sid,
        serde_json::json!({"before": before}),
    ))
    .await?;
    super::commit(st, tx, &[Change::Resolution]).await?;
    Ok(())
}

/// Marks (`on`) or unmarks a system as the permit holder's favourite. Nothing the hub decides
/// depends on it, so it is neither audited nor a [`Change`].
pub async fn set_favourite(
    st: &State,
    permit: &Permit,
    s: &System,
    on: bool,
) -> Result<(), OpError> {
    check(permit, Op::KeepFavourites, Some(s.company_id))?;
    st.store.set_favourite(permit.user_id(), s.id, on).await?;
    Ok(())
}

// ── log book ───────────────────────────────────────────────────────────────────────────

/// Every audit event about system `s` — its changes, its service connections' windows and
/// every session to it — oldest first.
pub async fn logbook(st: &State, permit: &Permit, s: &System) -> Result<Vec<AuditEvent>, OpError> {
    check(permit, Op::ReadLogBook, Some(s.company_id))?;
    let scs: Vec<Id> = st
        .store
        .list_system_service_connections(s.id)
        .await?
        .into_iter()
        .map(|x| x.id)
        .collect();
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let page = st
            .store
            .list_audit(&AuditFilter {
                company_id: Some(s.company_id),
                after_seq: Some(after),
                limit: portcullis_store::MAX_AUDIT_LIMIT,
                ..Default::default()
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        out.extend(
            page.into_iter()
                .filter(|e| about_system(e, s.id, &s.data.sid, &scs)),
        );
    }
    Ok(out)
}

fn about_system(e: &AuditEvent, system: Id, sid: &str, scs: &[Id]) -> bool {
    let d = &e.detail;
    let id_in = |v: &serde_json::Value| v.as_i64().is_some_and(|x| x == system);
    let sc_in = |v: &serde_json::Value| v.as_i64().is_some_and(|x| scs.contains(&x));
    id_in(&d["system"])
        || id_in(&d["after"]["system_id"])
        || id_in(&d["before"]["system_id"])
        || sc_in(&d["service_connection"])
        || sc_in(&d["after"]["service_connection_id"])
        || sc_in(&d["window"]["service_connection_id"])
        || (e.action.starts_with("system.") && e.target == sid)
}
