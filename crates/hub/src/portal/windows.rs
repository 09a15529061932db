//! The company's open and reserved windows across all its systems (`/windows`, where the
//! home page's open-connection KPI leads), with bulk actions: close several, extend several
//! by some hours. Each window goes through the same operation as one closed or edited on its
//! system page (each its own transaction and audit event); a refusal of one is reported
//! beside the others' success.

use askama::Template;
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_domain::authz::Op;
use portcullis_store::{Id, Window};
use serde::Deserialize;
use time::OffsetDateTime;

use super::render::{self, when, Chrome};
use super::session::{Posted, Signed};
use crate::ops::systems::services::{self, ServiceQuery, ServiceView};
use crate::ops::{access, windows, OpError};
use crate::state::State;
use crate::windows::WindowEdit;

/// One window with the names people know it by.
struct Row {
    w: Window,
    state: &'static str,
    sid: String,
    system_id: Id,
    connection_type: String,
}

#[derive(Template)]
#[template(path = "portal/windows.html")]
struct WindowsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    can_operate: bool,
    notice: Option<String>,
    errors: Vec<String>,
}

impl WindowsPage {
    fn when(&self, t: &OffsetDateTime) -> String {
        when(*t)
    }
}

async fn page(
    st: &State,
    s: &Signed,
    status: StatusCode,
    notice: Option<String>,
    errors: Vec<String>,
) -> Response {
    let p = &s.principal;
    let Some(company) = p.company_id else {
        return render::op_error(&OpError::NotFound("page"));
    };
    let rows = async {
        let permit = access::permit(p, Op::ReadSystems, company, "company")?;
        let live = windows::live(st, &permit).await?;
        let services: Vec<ServiceView> =
            services::list(st, &permit, &ServiceQuery::default()).await?;
        let now = OffsetDateTime::now_utc();
        let mut rows: Vec<Row> = live
            .into_iter()
            .filter_map(|w| {
                let sc = services
                    .iter()
                    .find(|v| v.service.id == w.service_connection_id)?;
                Some(Row {
                    state: w.state(now).as_str(),
                    sid: sc.sid.clone(),
                    system_id: sc.service.system_id,
                    connection_type: sc.connection_type_name.clone(),
                    w,
                })
            })
            .collect();
        // Open ones first, each group by its end.
        rows.sort_by_key(|r| (r.state != "open", r.w.end_at));
        Ok::<_, OpError>(rows)
    }
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return render::op_error(&e),
    };
    let can_operate = access::permit(p, Op::OperateConnections, company, "company").is_ok();
    render::page(
        status,
        &WindowsPage {
            chrome: s.chrome("home"),
            rows,
            can_operate,
            notice,
            errors,
        },
    )
}

/// `GET /windows`
pub async fn list(AxState(st): AxState<State>, s: Signed, Query(_q): Query<Empty>) -> Response {
    page(&st, &s, StatusCode::OK, None, Vec::new()).await
}

/// No query parameters.
#[derive(Debug, Default, Deserialize)]
pub struct Empty {}

/// `POST /windows/bulk`: `window` (repeated, the ticked ones), `action` (`close` or
/// `extend`), `hours` (for `extend`).
pub async fn bulk(AxState(st): AxState<State>, posted: Posted<Vec<(String, String)>>) -> Response {
    let s = &posted.signed;
    let f = &posted.form;
    let field = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let ids: Vec<Id> = f
        .iter()
        .filter(|(k, _)| k == "window")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if ids.is_empty() {
        let e = "Tick the windows first.".to_string();
        return page(&st, s, StatusCode::BAD_REQUEST, None, vec![e]).await;
    }
    let action = field("action");
    let hours = match action {
        "close" => None,
        "extend" => match super::form::hours("hours", field("hours")) {
            Ok(Some(h)) if h > 0 => Some(h),
            Ok(_) => {
                let e = "Hours: how many hours to extend by, e.g. 4.".to_string();
                return page(&st, s, StatusCode::BAD_REQUEST, None, vec![e]).await;
            }
            Err(e) => {
                return page(
                    &st,
                    s,
                    render::op_status(&e).0,
                    None,
                    vec![render::op_status(&e).1],
                )
                .await
            }
        },
        _ => {
            let e = "Choose close or extend.".to_string();
            return page(&st, s, StatusCode::BAD_REQUEST, None, vec![e]).await;
        }
    };
    let mut done = 0;
    let mut errors = Vec::new();
    for id in ids {
        let result = async {
            let (w, permit) =
                access::window(&st, &s.principal, id, windows::op(&s.principal)).await?;
            match hours {
                None => windows::close(&st, s.caller(), &permit, id)
                    .await
                    .map(|_| ()),
                Some(h) => {
                    let end = w.end_at + time::Duration::hours(i64::from(h));
                    let edit = WindowEdit {
                        start: None,
                        end: Some(end),
                        contact: None,
                        engineers: None,
                    };
                    windows::edit(&st, s.caller(), &permit, id, edit)
                        .await
                        .map(|_| ())
                }
            }
        }
        .await;
        match result {
            Ok(()) => done += 1,
            Err(e) => errors.push(format!("Window {id}: {}", render::op_status(&e).1)),
        }
    }
    let verb = if hours.is_some() {
        "extended"
    } else {
        "closed"
    };
    let notice =
        (done > 0).then(|| format!("{done} window{} {verb}.", if done == 1 { "" } else { "s" }));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(&st, s, status, notice, errors).await
}
