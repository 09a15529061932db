//! [`Store::page_systems`] against an oracle: a company of varied systems (statuses, types,
//! products with and without non-ASCII letters, flags, none to three service connections
//! through a connected and a disconnected connector, windows open, reserved, ended and closed
//! early, favourites of the viewer and of someone else), and every term of the filter syntax,
//! negated and not, alone and in pairs, in every order, paged. The oracle states the meaning
//! of [`crate::system_page`] in plain Rust over the stored rows; a backend must give the same
//! systems in the same order.

use std::collections::HashMap;

use portcullis_domain::authz::Role;
use portcullis_domain::conntype::catalogue;
use portcullis_domain::system::{SystemStatus, SystemType};
use portcullis_domain::system_filter::{self, Filter, Term};
use portcullis_domain::window::WindowState;
use time::{Duration, OffsetDateTime};

use super::remote::{system, user};
use super::Run;
use crate::{
    Id, NewServiceConnection, NewWindow, Store, System, SystemGroup, SystemPageQuery, SystemSort,
};

const PRODUCTS: [&str; 5] = [
    "SAP S/4HANA",
    "SAP BW/4HANA",
    "Solution Manager",
    "sap s/4hana cloud",
    "Ärger ERP",
];
const DESCRIPTIONS: [&str; 4] = ["ERP – production ✓", "Test", "BW quality", "Über ärger"];

/// What the oracle knows of one system.
struct Known {
    system: System,
    favourite: bool,
    /// Per service connection: its connector is connected, its state now.
    scs: Vec<(bool, WindowState)>,
}

impl Known {
    fn network(&self) -> &'static str {
        if self.scs.is_empty() {
            "not_set_up"
        } else if self.scs.iter().all(|(up, _)| *up) {
            "connected"
        } else {
            "not_connected"
        }
    }

    fn open(&self) -> usize {
        self.scs
            .iter()
            .filter(|(_, s)| *s == WindowState::Open)
            .count()
    }

    fn meets(&self, t: &Term) -> bool {
        let d = &self.system.data;
        let has = |s: &str, w: &str| s.to_ascii_lowercase().contains(w);
        match t {
            Term::Word(w) => has(&d.sid, w) || has(&d.product, w) || has(&d.description, w),
            Term::Status(s) => d.status == *s,
            Term::Type(t) => d.system_type == *t,
            Term::Product(p) => has(&d.product, p),
            Term::Flag(f) => match *f {
                "eu_data_protection" => d.eu_data_protection,
                "advanced_secure_support" => d.advanced_secure_support,
                "allow_independent_opening" => d.allow_independent_opening,
                _ => false,
            },
            Term::Network(n) => self.network() == *n,
            Term::State(s) => self.scs.iter().any(|(_, st)| st == s),
            Term::Favourite(y) => self.favourite == *y,
        }
    }

    fn group_key(&self, g: SystemGroup) -> String {
        let d = &self.system.data;
        match g {
            SystemGroup::Status => d.status.as_str().into(),
            SystemGroup::Type => d.system_type.as_str().into(),
            SystemGroup::Product => d.product.clone(),
            SystemGroup::Network => self.network().into(),
        }
    }
}

/// The oracle: the ids `filter` picks, in the order of `sort` within `group`, then id.
fn expected(all: &[Known], f: &Filter, sort: SystemSort, group: Option<SystemGroup>) -> Vec<Id> {
    let mut out: Vec<&Known> = all
        .iter()
        .filter(|k| f.clauses.iter().all(|c| k.meets(&c.term) != c.negated))
        .collect();
    out.sort_by_key(|k| k.system.id);
    match sort {
        SystemSort::Sid => out.sort_by(|a, b| a.system.data.sid.cmp(&b.system.data.sid)),
        SystemSort::Product => {
            out.sort_by(|a, b| a.system.data.product.cmp(&b.system.data.product))
        }
        SystemSort::Status => out.sort_by_key(|k| k.system.data.status.as_str()),
        SystemSort::SystemType => out.sort_by_key(|k| k.system.data.system_type.as_str()),
        SystemSort::Open => out.sort_by_key(|k| std::cmp::Reverse(k.open())),
    }
    if let Some(g) = group {
        out.sort_by_cached_key(|k| k.group_key(g));
    }
    out.into_iter().map(|k| k.system.id).collect()
}

/// A small deterministic generator: the same company every run.
fn pick(i: usize, salt: usize, n: usize) -> usize {
    (i.wrapping_mul(2_654_435_761)
        .wrapping_add(salt.wrapping_mul(40_503))
        >> 7)
        % n
}

/// Every filter the check runs: each term alone, negated and not, and a spread of pairs.
fn filters() -> Vec<Filter> {
    let terms = [
        "s1",
        "hana",
        "ERP",
        "ärger",
        "Ärger",
        "über",
        "✓",
        "status:active",
        "status:inactive",
        "type:abap",
        "type:java",
        "product:s/4",
        "product:Ä",
        "flag:eu_data_protection",
        "flag:advanced_secure_support",
        "flag:allow_independent_opening",
        "network:connected",
        "network:not_connected",
        "network:not_set_up",
        "state:open",
        "state:reserved",
        "state:closed",
        "favourite:yes",
        "favourite:no",
    ];
    let mut texts: Vec<String> = vec![String::new()];
    for t in terms {
        texts.push(t.to_string());
        texts.push(format!("NOT {t}"));
    }
    for (i, a) in terms.iter().enumerate() {
        for b in terms.iter().skip(i + 1).step_by(5) {
            texts.push(format!("{a} -{b}"));
            texts.push(format!("{a} {b}"));
        }
    }
    texts
        .iter()
        .map(|t| system_filter::parse(t).unwrap_or_else(|e| panic!("{t:?}: {e}")))
        .collect()
}

/// What every query of the check shares.
struct Base<'a> {
    company: Id,
    viewer: Id,
    now: OffsetDateTime,
    connected: &'a [Id],
}

impl<'a> Base<'a> {
    fn query(
        &self,
        filter: &'a Filter,
        sort: SystemSort,
        group: Option<SystemGroup>,
        offset: u64,
        limit: Option<u64>,
    ) -> SystemPageQuery<'a> {
        SystemPageQuery {
            company_id: self.company,
            viewer: self.viewer,
            now: self.now,
            connected: self.connected,
            filter,
            group,
            sort,
            offset,
            limit,
        }
    }
}

pub(super) async fn system_page(store: &dyn Store, run: &Run) {
    store.ensure_catalogue(&catalogue()).await.unwrap();
    let company = store.create_company(&run.name("page")).await.unwrap();
    let viewer = store
        .create_user(user(run, Some(company.id), "viewer", Role::CompanyUser))
        .await
        .unwrap();
    let other = store
        .create_user(user(run, Some(company.id), "other", Role::CompanyUser))
        .await
        .unwrap();
    let up = store.create_connector(company.id, "up").await.unwrap().id;
    let down = store.create_connector(company.id, "down").await.unwrap().id;
    let types: Vec<Id> = store
        .list_connection_types(Some(company.id))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .take(3)
        .collect();
    let now = run.now;
    let h = Duration::hours;

    let mut known = Vec::new();
    for i in 0..40usize {
        let mut d = system(&format!("S{i:02}"));
        d.status = [SystemStatus::Active, SystemStatus::Inactive][pick(i, 1, 2)];
        d.system_type = SystemType::ALL[pick(i, 2, SystemType::ALL.len())];
        d.product = PRODUCTS[pick(i, 3, PRODUCTS.len())].into();
        d.description = DESCRIPTIONS[pick(i, 4, DESCRIPTIONS.len())].into();
        d.eu_data_protection = pick(i, 5, 2) == 0;
        d.advanced_secure_support = pick(i, 6, 3) == 0;
        d.allow_independent_opening = pick(i, 7, 2) == 0;
        let s = store.create_system(company.id, &d).await.unwrap();
        let favourite = pick(i, 8, 3) == 0;
        store
            .set_favourite(viewer.id, s.id, favourite)
            .await
            .unwrap();
        store
            .set_favourite(other.id, s.id, !favourite)
            .await
            .unwrap();
        let mut scs = Vec::new();
        for (k, ty) in types.iter().enumerate().take(pick(i, 9, 4)) {
            let connected = pick(i + k, 10, 4) != 0;
            let sc = store
                .create_service_connection(NewServiceConnection {
                    system_id: s.id,
                    connection_type_id: *ty,
                    connector_id: if connected { up } else { down },
                    virtual_host: format!("h{i}-{k}.internal"),
                    virtual_port: 22,
                    url: None,
                    created_by: "user:conformance".into(),
                })
                .await
                .unwrap();
            let window = |start: OffsetDateTime, end: OffsetDateTime| NewWindow {
                service_connection_id: sc.id,
                start_at: start,
                end_at: end,
                contact: "Alice".into(),
                opened_by: "user:conformance".into(),
                engineers: vec![],
                independent: false,
            };
            // 0 none, 1 open, 2 reserved, 3 ended, 4 closed early, 5 open and reserved.
            let state = match pick(i + k, 11, 6) {
                0 => WindowState::Closed,
                1 => {
                    store
                        .create_window(window(now - h(1), now + h(1)), now - h(1))
                        .await
                        .unwrap();
                    WindowState::Open
                }
                2 => {
                    store
                        .create_window(window(now + h(2), now + h(3)), now)
                        .await
                        .unwrap();
                    WindowState::Reserved
                }
                3 => {
                    store
                        .create_window(window(now - h(3), now - h(2)), now - h(3))
                        .await
                        .unwrap();
                    WindowState::Closed
                }
                4 => {
                    let w = store
                        .create_window(window(now - h(1), now + h(4)), now - h(1))
                        .await
                        .unwrap();
                    store
                        .close_window(w.id, now - Duration::minutes(10), "user:conformance")
                        .await
                        .unwrap();
                    WindowState::Closed
                }
                _ => {
                    store
                        .create_window(window(now - h(1), now + h(1)), now - h(1))
                        .await
                        .unwrap();
                    store
                        .create_window(window(now + h(1), now + h(5)), now)
                        .await
                        .unwrap();
                    WindowState::Open
                }
            };
            scs.push((connected, state));
        }
        known.push(Known {
            system: s,
            favourite,
            scs,
        });
    }

    let connected = [up];
    let base = Base {
        company: company.id,
        viewer: viewer.id,
        now,
        connected: &connected,
    };
    // Every filter, whole list, default order.
    let filters = filters();
    let mut matched_some = 0;
    for f in &filters {
        let got = store
            .page_systems(&base.query(f, SystemSort::Sid, None, 0, None))
            .await
            .unwrap();
        let want = expected(&known, f, SystemSort::Sid, None);
        let ids: Vec<Id> = got.systems.iter().map(|s| s.id).collect();
        assert_eq!(ids, want, "filter {f}");
        assert_eq!(got.total, want.len() as u64, "count of filter {f}");
        if !want.is_empty() && want.len() < known.len() {
            matched_some += 1;
        }
    }
    assert!(
        matched_some > filters.len() / 2,
        "the company is too uniform to tell filters apart ({matched_some} of {})",
        filters.len()
    );
    // Every order, grouped and not, paged.
    let sorts: Vec<SystemSort> = SystemSort::NAMES
        .iter()
        .filter_map(|n| SystemSort::named(n))
        .collect();
    let mut groups: Vec<Option<SystemGroup>> = vec![None];
    groups.extend(SystemGroup::NAMES.iter().map(|n| SystemGroup::named(n)));
    for f in [&filters[0], &filters[2]] {
        for &sort in &sorts {
            for &group in &groups {
                let want = expected(&known, f, sort, group);
                for (offset, limit) in [(0, None), (0, Some(7)), (7, Some(7)), (35, Some(50))] {
                    let got = store
                        .page_systems(&base.query(f, sort, group, offset, limit))
                        .await
                        .unwrap();
                    let ids: Vec<Id> = got.systems.iter().map(|s| s.id).collect();
                    let end = limit
                        .map_or(want.len(), |l| (offset + l) as usize)
                        .min(want.len());
                    let start = (offset as usize).min(end);
                    assert_eq!(
                        ids,
                        want[start..end],
                        "filter {f}, sort {sort:?}, group {group:?}, offset {offset}, limit {limit:?}"
                    );
                    assert_eq!(got.total, want.len() as u64);
                }
            }
        }
    }
    // Another company's systems are never on the page, and its page is empty.
    let empty = store.create_company(&run.name("page-empty")).await.unwrap();
    let got = store
        .page_systems(&SystemPageQuery {
            company_id: empty.id,
            ..base.query(&filters[0], SystemSort::Sid, None, 0, None)
        })
        .await
        .unwrap();
    assert_eq!((got.total, got.systems.len()), (0, 0));
    // The rows come back whole.
    let first = store
        .page_systems(&base.query(&filters[0], SystemSort::Sid, None, 0, Some(1)))
        .await
        .unwrap();
    assert_eq!(first.systems, vec![known[0].system.clone()]);
    let some: Vec<Id> = known.iter().take(3).map(|k| k.system.id).collect();
    let scs = store
        .list_service_connections_of_systems(&some)
        .await
        .unwrap();
    let mut per: HashMap<Id, usize> = HashMap::new();
    for sc in &scs {
        *per.entry(sc.system_id).or_default() += 1;
    }
    for k in known.iter().take(3) {
        assert_eq!(per.get(&k.system.id).copied().unwrap_or(0), k.scs.len());
    }
    assert!(store
        .list_service_connections_of_systems(&[])
        .await
        .unwrap()
        .is_empty());
}
