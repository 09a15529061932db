//! The customer's systems list (`/systems`): the filter syntax, groups, pages of [`PAGE`],
//! favourites, the CSV download. Each handler asks [`crate::ops`] exactly what the REST API
//! asks.

use askama::Template;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_store::Id;
use serde::{Deserialize, Serialize};

use super::render::{self, Chrome};
use super::session::{Posted, Signed};
use crate::ops::systems::{self, SystemQuery, SystemView};
use crate::ops::{access, OpError};
use crate::state::State;

/// Systems per page of the list.
pub const PAGE: usize = 50;

/// The list's query string as a form sends it (empty fields are "any").
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct ListQuery {
    /// The filter syntax ([`portcullis_domain::system_filter`]).
    #[serde(default)]
    q: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    open: String,
    #[serde(default)]
    sort: String,
    /// `status`, `type`, `product` or `network`.
    #[serde(default)]
    group: String,
    /// 1-based page number.
    #[serde(default)]
    page: String,
}

impl ListQuery {
    /// What [`systems::list`] is asked.
    fn query(&self) -> SystemQuery {
        SystemQuery {
            q: some(&self.q),
            status: some(&self.status),
            product: some(&self.product),
            open: (self.open == "on").then_some(true),
            sort: some(&self.sort),
            group: some(&self.group),
            ..SystemQuery::default()
        }
    }

    /// `path` with this query's non-empty fields, `page` replaced (`None`: without it).
    fn href(&self, path: &str, page: Option<usize>) -> String {
        let page = page.map(|p| p.to_string()).unwrap_or_default();
        let pairs: Vec<(&str, &str)> = [
            ("q", self.q.as_str()),
            ("product", self.product.as_str()),
            ("status", self.status.as_str()),
            ("open", self.open.as_str()),
            ("sort", self.sort.as_str()),
            ("group", self.group.as_str()),
            ("page", page.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        let qs = serde_urlencoded::to_string(pairs).unwrap_or_default();
        if qs.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{qs}")
        }
    }

    /// The page asked for (1 when empty); `invalid` when it is no positive number.
    fn page(&self) -> Result<usize, OpError> {
        match self.page.trim() {
            "" => Ok(1),
            p => p
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| OpError::invalid(format!("page: {p:?} is not a page number"))),
        }
    }
}

fn some(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A run of one group on a page: its heading (empty when the list is not grouped).
struct GroupRows {
    heading: String,
    rows: Vec<SystemView>,
}

#[derive(Template)]
#[template(path = "portal/systems.html")]
struct ListPage {
    chrome: Chrome,
    q: ListQuery,
    groups: Vec<GroupRows>,
    /// Systems that match, on every page.
    total: usize,
    /// First and last position shown (1-based).
    first: usize,
    last: usize,
    prev: Option<String>,
    next: Option<String>,
    /// The list's query, for the favourite forms to come back to.
    back: String,
    csv: String,
    error: Option<String>,
}

impl ListPage {
    fn group_label(&self) -> &'static str {
        match self.q.group.as_str() {
            "status" => "Status",
            "type" => "Type",
            "product" => "Product",
            "network" => "Network",
            _ => "",
        }
    }
}

/// The company whose list the signed-in user sees, and his permit to read it.
fn list_permit(s: &Signed) -> Result<portcullis_domain::authz::Permit, Box<Response>> {
    let Some(company) = s.principal.company_id else {
        return Err(Box::new(render::message(
            StatusCode::NOT_FOUND,
            "The systems list belongs to a customer company's users.",
        )));
    };
    access::permit(&s.principal, Op::ReadSystems, company, "company")
        .map_err(|e| Box::new(render::op_error(&e)))
}

/// `GET /systems`
pub async fn list(AxState(st): AxState<State>, s: Signed, Query(q): Query<ListQuery>) -> Response {
    let permit = match list_permit(&s) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let listed = match q.page() {
        Ok(page) => {
            let skip = (page as u64 - 1).saturating_mul(PAGE as u64);
            systems::list(&st, &permit, &q.query(), skip, Some(PAGE as u64))
                .await
                .map(|l| (page, l))
        }
        Err(e) => Err(e),
    };
    let (status, page, total, views, error) = match listed {
        Ok((page, l)) => (StatusCode::OK, page, l.total, l.views, None),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            (status, 1, 0, Vec::new(), Some(text))
        }
    };
    let skip = (page - 1).saturating_mul(PAGE);
    let mut groups: Vec<GroupRows> = Vec::new();
    for v in views {
        let heading = if q.group.is_empty() {
            String::new()
        } else {
            v.group_key(q.group.trim())
        };
        match groups.last_mut() {
            Some(g) if g.heading == heading => g.rows.push(v),
            _ => groups.push(GroupRows {
                heading,
                rows: vec![v],
            }),
        }
    }
    let shown: usize = groups.iter().map(|g| g.rows.len()).sum();
    render::page(
        status,
        &ListPage {
            chrome: s.chrome("systems"),
            total,
            first: if shown == 0 { 0 } else { skip + 1 },
            last: skip + shown,
            prev: (page > 1 && skip <= total).then(|| q.href("/systems", Some(page - 1))),
            next: (skip + PAGE < total).then(|| q.href("/systems", Some(page + 1))),
            back: q.href("", Some(page)).trim_start_matches('?').to_string(),
            csv: q.href("/systems.csv", None),
            groups,
            q,
            error,
        },
    )
}

/// The CSV download's columns.
const CSV_HEADER: [&str; 14] = [
    "id",
    "sid",
    "system_number",
    "system_type",
    "product",
    "product_version",
    "installation_number",
    "status",
    "description",
    "service_connections",
    "open_connections",
    "network",
    "favourite",
    "flags",
];

/// `GET /systems.csv`: every system the list's query picks (every page), in its order.
pub async fn csv(AxState(st): AxState<State>, s: Signed, Query(q): Query<ListQuery>) -> Response {
    let permit = match list_permit(&s) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let all = match systems::list(&st, &permit, &q.query(), 0, None).await {
        Ok(l) => l.views,
        Err(e) => return render::op_error(&e),
    };
    let mut out = String::with_capacity(200 * (all.len() + 1));
    super::csv::row(&mut out, &CSV_HEADER);
    for v in &all {
        let d = &v.system.data;
        let flags: Vec<&str> = [
            ("eu_data_protection", d.eu_data_protection),
            ("advanced_secure_support", d.advanced_secure_support),
            ("allow_independent_opening", d.allow_independent_opening),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name)
        .collect();
        let flags = flags.join(" ");
        super::csv::row(
            &mut out,
            &[
                &v.system.id.to_string(),
                &d.sid,
                &d.system_number,
                d.system_type.as_str(),
                &d.product,
                &d.product_version,
                &d.installation_number,
                d.status.as_str(),
                &d.description,
                &v.service_connections.to_string(),
                &v.open_connections.to_string(),
                v.network,
                if v.favourite { "yes" } else { "no" },
                &flags,
            ],
        );
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"portcullis-systems.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}

/// The favourite form: mark (`on=1`) or unmark, and the list's query to come back to.
#[derive(Debug, Deserialize)]
pub struct FavouriteForm {
    #[serde(default)]
    on: String,
    #[serde(default)]
    back: String,
}

/// `POST /systems/{id}/favourite`: what `PUT`/`DELETE /api/v1/systems/{id}/favourite` do,
/// then back to the list as it was.
pub async fn favourite(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<FavouriteForm>,
) -> Response {
    let s = &posted.signed;
    let f = &posted.form;
    let done = match access::favourite(&st, &s.principal, id).await {
        Ok((sys, permit)) => systems::set_favourite(&st, &permit, &sys, f.on == "1").await,
        Err(e) => Err(e),
    };
    if let Err(e) = done {
        return render::op_error(&e);
    }
    // Rebuilt from its fields: the redirect stays on the list whatever `back` holds.
    let back: ListQuery = serde_urlencoded::from_str(&f.back).unwrap_or_default();
    let page = back.page().unwrap_or(1);
    Redirect::to(&back.href("/systems", Some(page).filter(|p| *p > 1))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_query_keeps_its_fields_in_links() {
        let q = ListQuery {
            q: "NOT status:inactive".into(),
            group: "type".into(),
            page: "3".into(),
            ..ListQuery::default()
        };
        assert_eq!(
            q.href("/systems", Some(2)),
            "/systems?q=NOT+status%3Ainactive&group=type&page=2"
        );
        assert_eq!(
            q.href("/systems.csv", None),
            "/systems.csv?q=NOT+status%3Ainactive&group=type"
        );
        assert_eq!(q.page().unwrap(), 3);
        let bad = ListQuery {
            page: "0".into(),
            ..ListQuery::default()
        };
        assert!(bad.page().is_err());
    }
}
