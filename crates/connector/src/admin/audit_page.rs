//! The Audit pages (CC-47..52): the viewer (`/audit`, filters, newest first, paged), the chain
//! check (`POST /audit/verify`) and the export of the filtered records as JSON lines
//! (`/audit/export`). Reading is `ViewAudit` (Administrator, Display, Support); the log is
//! read through `crate::ops::audit`, as a stream.

use askama::Template;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::pages::{denied, sentence, Empty};
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::audit::{AuditAction, AuditRecord};
use crate::ops::audit::{AuditFilter, ChainCheck, DEFAULT_LIMIT};
use crate::ops::OpError;

/// The Audit routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/audit", get(viewer))
        .route("/audit/verify", post(verify))
        .route("/audit/export", get(export))
}

/// The viewer's filter fields (a GET form, so a filtered view has an address).
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Records at or after this time (RFC 3339, or a date).
    #[serde(default)]
    pub from: String,
    /// Records before this time (RFC 3339, or a date).
    #[serde(default)]
    pub to: String,
    /// Only this action (e.g. `session.denied`).
    #[serde(default)]
    pub action: String,
    /// Only this outcome (e.g. `denied`).
    #[serde(default)]
    pub outcome: String,
    /// Text anywhere in the record.
    #[serde(default)]
    pub q: String,
    /// Records to skip (newest first).
    #[serde(default)]
    pub offset: Option<usize>,
    /// Records to answer at most.
    #[serde(default)]
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// The filter these fields say.
    pub fn filter(&self) -> Result<AuditFilter, OpError> {
        Ok(AuditFilter::parse(
            Some(&self.from),
            Some(&self.to),
            Some(&self.action),
            Some(&self.outcome),
            Some(&self.q),
        )?)
    }

    /// The query string of these fields at `offset`.
    fn with_offset(&self, offset: usize) -> String {
        let mut s = String::new();
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("q", &self.q),
        ] {
            if !v.is_empty() {
                s.push_str(&format!("{k}={}&", super::render::url_segment(v)));
            }
        }
        s.push_str(&format!("offset={offset}"));
        s
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPageT {
    chrome: Chrome,
    f: AuditQuery,
    actions: Vec<&'static str>,
    records: Vec<AuditRecord>,
    total: u64,
    first: usize,
    newer: Option<String>,
    older: Option<String>,
    export: String,
    check: Option<ChainCheck>,
    error: Option<String>,
}

impl AuditPageT {
    fn when(&self, t: &str) -> String {
        render::when(t)
    }

    fn opt<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }

    fn detail(&self, r: &AuditRecord) -> String {
        r.detail.to_string()
    }
}

fn page(st: &Admin, s: &Signed, f: AuditQuery, check: Option<ChainCheck>) -> Response {
    let limit = f.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = f.offset.unwrap_or(0);
    let found = f
        .filter()
        .and_then(|filter| crate::ops::audit::query(&st.shared, &filter, limit, offset));
    let (records, total, error) = match found {
        Ok(p) => (p.records, p.total, None),
        Err(e) => (Vec::new(), 0, Some(sentence(&e.to_string()))),
    };
    let shown = records.len();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render::page(
        status,
        &AuditPageT {
            chrome: s.chrome("audit"),
            actions: AuditAction::ALL.iter().map(|a| a.as_str()).collect(),
            newer: (offset > 0).then(|| f.with_offset(offset.saturating_sub(limit))),
            older: ((offset + shown) < total as usize).then(|| f.with_offset(offset + shown)),
            export: f.with_offset(0),
            first: offset + 1,
            f,
            records,
            total,
            check,
            error,
        },
    )
}

/// `GET /audit`.
pub async fn viewer(
    State(st): State<Admin>,
    s: Signed,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAudit) {
        return denied(&s, &e);
    }
    match q {
        Ok(Query(f)) => page(&st, &s, f, None),
        Err(_) => render::message_for(
            s.chrome("audit"),
            StatusCode::BAD_REQUEST,
            "The filter is not valid: offset and limit are whole numbers.",
        ),
    }
}

/// `POST /audit/verify?<filter>`: checks the hash chain and shows the result above the viewer
/// (of the same filter).
pub async fn verify(
    State(st): State<Admin>,
    Query(f): Query<AuditQuery>,
    p: Posted<Empty>,
) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAudit) {
        return denied(&s, &e);
    }
    let shared = st.shared.clone();
    let check = tokio::task::spawn_blocking(move || crate::ops::audit::verify(&shared))
        .await
        .unwrap_or_else(|e| ChainCheck {
            ok: false,
            records: 0,
            line: None,
            message: format!("the check did not finish: {e}"),
        });
    page(&st, &s, f, Some(check))
}

/// The export of the records matching `filter` as JSON lines, streamed.
pub fn export_response(st: &Admin, filter: AuditFilter) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let shared = st.shared.clone();
    tokio::task::spawn_blocking(move || crate::ops::audit::export(&shared, filter, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"connector-audit.jsonl\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `GET /audit/export`: the records of the filter as JSON lines (a download).
pub async fn export(State(st): State<Admin>, s: Signed, Query(f): Query<AuditQuery>) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAudit) {
        return denied(&s, &e);
    }
    match f.filter() {
        Ok(filter) => export_response(&st, filter),
        Err(e) => render::message_for(
            s.chrome("audit"),
            StatusCode::BAD_REQUEST,
            &sentence(&e.to_string()),
        ),
    }
}
