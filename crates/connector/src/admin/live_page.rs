//! The Sessions page: the connector's live sessions (who, the hub's principal, target, since,
//! bytes) with a Cut button for an Administrator (`CutSession`), which ends the session at once
//! through the cut operation (`crate::ops::live`, audited with the user and `via: ui`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::pages::{denied, sentence, Empty};
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::live::LiveView;

/// The Sessions routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/sessions", get(list))
        .route("/sessions/{id}/cut", post(cut))
}

#[derive(Template)]
#[template(path = "admin/live_sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<LiveView>,
    can_cut: bool,
    notice: Option<String>,
}

impl SessionsPage {
    fn when(&self, t: &str) -> String {
        render::when(t)
    }
}

/// `?cut=<id>` after a cut.
#[derive(Debug, Deserialize)]
pub struct CutQuery {
    cut: Option<u64>,
}

/// `GET /sessions`.
pub async fn list(State(st): State<Admin>, s: Signed, Query(q): Query<CutQuery>) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewSessions) {
        return denied(&s, &e);
    }
    render::page(
        StatusCode::OK,
        &SessionsPage {
            can_cut: roles::may(&s.actor, Permit::CutSession),
            chrome: s.chrome("sessions"),
            sessions: crate::ops::live::sessions(&st.shared),
            notice: q.cut.map(|id| format!("Session {id} is cut.")),
        },
    )
}

/// `POST /sessions/{id}/cut`: the cut operation, by this user.
pub async fn cut(State(st): State<Admin>, Path(id): Path<String>, p: Posted<Empty>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::CutSession) {
        return denied(&s, &e);
    }
    let Ok(id) = id.parse::<u64>() else {
        return render::message_for(
            s.chrome("sessions"),
            StatusCode::NOT_FOUND,
            "There is no such session.",
        );
    };
    let caller = s.caller();
    match crate::ops::live::cut_session(&st.shared, id, &caller) {
        Ok(_) => Redirect::to(&format!("/sessions?cut={id}")).into_response(),
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            render::message_for(s.chrome("sessions"), status, &sentence(&e.to_string()))
        }
    }
}
