//! The company's live sessions (`/sessions`): who, from where, to what, since when, bytes so
//! far; a cut button for those who may operate the company's connections.

use askama::Template;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use serde::Deserialize;

use super::render::{self, when, Chrome};
use super::session::{Posted, Signed};
use crate::ops::live::{self, LiveView};
use crate::ops::{access, OpError};
use crate::state::State;

#[derive(Template)]
#[template(path = "portal/sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<LiveView>,
    can_cut: bool,
    notice: Option<String>,
}

impl SessionsPage {
    fn when(&self, t: &time::OffsetDateTime) -> String {
        when(*t)
    }

    fn bytes(&self, n: &u64) -> String {
        match *n {
            n if n >= 10 * 1024 * 1024 => format!("{} MiB", n / (1024 * 1024)),
            n if n >= 10 * 1024 => format!("{} KiB", n / 1024),
            n => format!("{n} B"),
        }
    }
}

/// `?done=` after a cut.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /sessions`
pub async fn list(AxState(st): AxState<State>, s: Signed, Query(q): Query<Done>) -> Response {
    let p = &s.principal;
    let Some(company) = p.company_id else {
        return render::op_error(&OpError::NotFound("page"));
    };
    let sessions = match access::permit(p, Op::ReadAudit, company, "company")
        .and_then(|permit| live::list(&st, &permit))
    {
        Ok(v) => v,
        Err(e) => return render::op_error(&e),
    };
    let can_cut = access::permit(p, Op::OperateConnections, company, "company").is_ok();
    render::page(
        StatusCode::OK,
        &SessionsPage {
            chrome: s.chrome("sessions"),
            sessions,
            can_cut,
            notice: (q.done == "cut").then(|| "The session is cut.".to_string()),
        },
    )
}

/// The cut form has no fields but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /sessions/{id}/cut`
pub async fn cut(
    AxState(st): AxState<State>,
    Path(id): Path<String>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    let result = async {
        let company = s.principal.company_id.ok_or(OpError::NotFound("session"))?;
        let permit = access::permit(&s.principal, Op::OperateConnections, company, "session")?;
        let session = live::get(&st, &permit, &id)?;
        live::cut(&st, s.caller(), &permit, &session).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/sessions?done=cut").into_response(),
        Err(e) => render::op_error(&e),
    }
}
