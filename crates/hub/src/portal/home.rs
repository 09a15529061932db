//! The home page: a customer's key figures (open connections first), a vendor user's
//! companies, a support engineer's connections he can reach now and those he may open for
//! himself ([`super::reach`]); and the engineer's forms that open a connection for himself
//! where the customer allows it (independent opening) and close his own again. Those ask
//! [`crate::ops::windows`] exactly what `POST /api/v1/service-connections/{id}/windows` and
//! `POST /api/v1/windows/{id}/close` ask, under the same permit; a refusal comes back on the
//! home page with its reason, the form as it was typed.

use askama::Template;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_store::{Company, Id};
use serde::Deserialize;

use super::form;
use super::reach::{self, IndependentRow, ReachRow};
use super::render::{self, Chrome};
use super::session::{Posted, Signed};
use crate::ops::windows::Summary;
use crate::ops::{access, companies, windows, OpError};
use crate::state::State;

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    chrome: Chrome,
    summary: Option<Summary>,
    companies: Vec<Company>,
    /// A support engineer's connections he can reach now (`None` for other roles).
    reach: Option<Vec<ReachRow>>,
    /// What a support engineer may open for himself (`None` for other roles).
    independent: Option<Vec<IndependentRow>>,
    notice: Option<String>,
    error: Option<String>,
    /// The refused open form: its service connection and the hours typed.
    retry: Option<(Id, String)>,
}

impl HomePage {
    /// Whether any row offers a route password (the general button is shown beside them).
    fn any_route(&self) -> bool {
        self.reach
            .as_ref()
            .is_some_and(|r| r.iter().any(|row| row.route.is_some()))
    }

    /// The hours the open form for `id` shows: as typed when it was refused, else 8.
    fn typed_hours(&self, id: &Id) -> String {
        match &self.retry {
            Some((key, hours)) if key == id => hours.clone(),
            _ => "8".to_owned(),
        }
    }
}

/// The notice a redirect after a change carries.
#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    done: String,
}

/// `GET /`
pub async fn page(AxState(st): AxState<State>, s: Signed, Query(q): Query<HomeQuery>) -> Response {
    let notice = match q.done.as_str() {
        "opened" => Some(
            "The connection is open for you; it is listed under the connections you can reach now."
                .to_owned(),
        ),
        "closed" => Some("Your connection is closed.".to_owned()),
        _ => None,
    };
    render_home(&st, &s, notice, None, None).await
}

/// The home page for `s`, with a notice, or a refusal and the form it refused.
async fn render_home(
    st: &State,
    s: &Signed,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
    retry: Option<(Id, String)>,
) -> Response {
    let p = &s.principal;
    let summary = match p.company_id {
        Some(c) => match access::permit(p, Op::ReadCompany, c, "company") {
            Ok(permit) => match windows::summary(st, &permit).await {
                Ok(sum) => Some(sum),
                Err(e) => return render::op_error(&e),
            },
            Err(_) => None,
        },
        None => None,
    };
    // A support engineer's home is what he can reach; the companies list is the vendor
    // admins' and auditors'.
    let engineer = p.role == portcullis_store::Role::SupportEngineer;
    let lists_companies = p.company_id.is_none() && !engineer;
    let companies = match (lists_companies, companies::list_permit(p)) {
        (true, Some(permit)) => match companies::list(st, &permit).await {
            Ok(list) => list,
            Err(e) => return render::op_error(&e),
        },
        _ => Vec::new(),
    };
    let (reach, independent) = if engineer {
        match (
            reach::rows(st, s).await,
            reach::independent_rows(st, s).await,
        ) {
            (Ok(r), Ok(i)) => (Some(r), Some(i)),
            (Err(e), _) | (_, Err(e)) => return render::op_error(&e),
        }
    } else {
        (None, None)
    };
    let links = reach.as_ref().is_some_and(|r| r.iter().any(|row| row.web));
    let (status, error) = match error {
        Some((status, text)) => (status, Some(text)),
        None => (StatusCode::OK, None),
    };
    let mut r = render::page(
        status,
        &HomePage {
            chrome: s.chrome("home"),
            summary,
            companies,
            reach,
            independent,
            notice,
            error,
            retry,
        },
    );
    if links {
        if let Some(csp) = reach::csp_with_web(st) {
            r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    r
}

/// The home page again, with the refusal shown and the refused form as it was typed.
async fn refused(st: &State, s: &Signed, e: &OpError, retry: Option<(Id, String)>) -> Response {
    render_home(st, s, None, Some(render::op_status(e)), retry).await
}

/// Only a support engineer opens and closes connections for himself; anyone else opens
/// windows on a system's page.
fn engineer_only(s: &Signed) -> Result<(), OpError> {
    if windows::op(&s.principal) == Op::OpenIndependently {
        Ok(())
    } else {
        Err(OpError::forbidden(
            "only a support engineer opens a connection for himself; open windows on the \
             system's page",
        ))
    }
}

/// The independent open form's fields.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    /// Hours from now (8 when empty).
    #[serde(default)]
    hours: String,
}

/// `POST /service-connections/{id}/open-independently`: the engineer opens a window for
/// himself alone, now (the API's `POST /service-connections/{id}/windows` as a support
/// engineer).
pub async fn open_independently(
    AxState(st): AxState<State>,
    Path(sc): Path<Id>,
    posted: Posted<OpenForm>,
) -> Response {
    let s = &posted.signed;
    if let Err(e) = engineer_only(s) {
        return render::op_error(&e);
    }
    let (_, permit) = match access::service(&st, &s.principal, sc, windows::op(&s.principal)).await
    {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let retry = Some((sc, posted.form.hours.clone()));
    let hours = match form::hours("hours", &posted.form.hours) {
        Ok(h) => h,
        Err(e) => return refused(&st, s, &e, retry).await,
    };
    let req = windows::OpenRequest {
        hours,
        ..windows::OpenRequest::default()
    };
    match windows::open(&st, s.caller(), &permit, sc, req).await {
        Ok(_) => Redirect::to("/?done=opened").into_response(),
        Err(e) => refused(&st, s, &e, retry).await,
    }
}

/// The close form has no fields but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /windows/{id}/close-own`: the engineer closes his own independent opening (the
/// API's `POST /windows/{id}/close` as a support engineer; any other window is the
/// customer's).
pub async fn close_own(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    if let Err(e) = engineer_only(s) {
        return render::op_error(&e);
    }
    let (_, permit) = match access::window(&st, &s.principal, id, windows::op(&s.principal)).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    match windows::close(&st, s.caller(), &permit, id).await {
        Ok(_) => Redirect::to("/?done=closed").into_response(),
        Err(e) => refused(&st, s, &e, None).await,
    }
}
