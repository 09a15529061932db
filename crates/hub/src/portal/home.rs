//! The home page: a customer's key figures (open connections first), a vendor user's
//! companies, a support engineer's connections he can reach now ([`super::reach`]).

use askama::Template;
use axum::extract::State as AxState;
use axum::http::{header, StatusCode};
use axum::response::Response;
use portcullis_domain::authz::Op;
use portcullis_store::Company;

use super::reach::{self, ReachRow};
use super::render::{self, Chrome};
use super::session::Signed;
use crate::ops::windows::Summary;
use crate::ops::{access, companies, windows};
use crate::state::State;

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    chrome: Chrome,
    summary: Option<Summary>,
    companies: Vec<Company>,
    /// A support engineer's connections he can reach now (`None` for other roles).
    reach: Option<Vec<ReachRow>>,
}

impl HomePage {
    /// Whether any row offers a route password (the general button is shown beside them).
    fn any_route(&self) -> bool {
        self.reach
            .as_ref()
            .is_some_and(|r| r.iter().any(|row| row.route.is_some()))
    }
}

/// `GET /`
pub async fn page(AxState(st): AxState<State>, s: Signed) -> Response {
    let p = &s.principal;
    let summary = match p.company_id {
        Some(c) => match access::permit(p, Op::ReadCompany, c, "company") {
            Ok(permit) => match windows::summary(&st, &permit).await {
                Ok(sum) => Some(sum),
                Err(e) => return render::op_error(&e),
            },
            Err(_) => None,
        },
        None => None,
    };
    // A support engineer's home is what he can reach; the companies list is the vendor
    // admins' and auditors'.
    let lists_companies =
        p.company_id.is_none() && p.role != portcullis_store::Role::SupportEngineer;
    let companies = match (lists_companies, companies::list_permit(p)) {
        (true, Some(permit)) => match companies::list(&st, &permit).await {
            Ok(list) => list,
            Err(e) => return render::op_error(&e),
        },
        _ => Vec::new(),
    };
    let reach = if p.role == portcullis_store::Role::SupportEngineer {
        match reach::rows(&st, &s).await {
            Ok(rows) => Some(rows),
            Err(e) => return render::op_error(&e),
        }
    } else {
        None
    };
    let links = reach.as_ref().is_some_and(|r| r.iter().any(|row| row.web));
    let mut r = render::page(
        StatusCode::OK,
        &HomePage {
            chrome: s.chrome("home"),
            summary,
            companies,
            reach,
        },
    );
    if links {
        if let Some(csp) = reach::csp_with_web(&st) {
            r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    r
}
