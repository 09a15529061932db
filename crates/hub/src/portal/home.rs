//! The home page: a customer's key figures (open connections first), a vendor user's
//! companies.

use askama::Template;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_domain::authz::Op;
use portcullis_store::Company;

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
    let companies = match (p.company_id, companies::list_permit(p)) {
        (None, Some(permit)) => match companies::list(&st, &permit).await {
            Ok(list) => list,
            Err(e) => return render::op_error(&e),
        },
        _ => Vec::new(),
    };
    render::page(
        StatusCode::OK,
        &HomePage {
            chrome: s.chrome("home"),
            summary,
            companies,
        },
    )
}
