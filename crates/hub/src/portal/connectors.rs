//! A company's connectors, managed by its super administrator: the list with each one's
//! status, version, last contact and certificate expiry; registering one, which shows the
//! enrolment command with its one-time token; a new enrolment token; revoking one. Each
//! handler gets its permit from [`crate::ops::access`] and calls the operation the REST API
//! calls (`api/admin.rs`).

use askama::Template;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_store::Id;
use serde::Deserialize;
use time::OffsetDateTime;

use super::render::{self, when, Chrome};
use super::session::{Posted, Signed};
use crate::ops::connectors::{ConnectorView, WithToken};
use crate::ops::{self, access, OpError};
use crate::state::State;

#[derive(Template)]
#[template(path = "portal/connectors.html")]
struct ListPage {
    chrome: Chrome,
    connectors: Vec<ConnectorView>,
    notice: Option<String>,
    error: Option<String>,
    location: String,
}

impl ListPage {
    fn when_opt(&self, t: &Option<OffsetDateTime>) -> String {
        t.map(when).unwrap_or_else(|| "—".into())
    }

    /// The version the connector runs (its live tunnel's, else the last one it reported).
    fn version(&self, c: &ConnectorView) -> String {
        c.tunnel
            .as_ref()
            .and_then(|t| t.get("version"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| c.record.last_version.clone())
            .unwrap_or_else(|| "—".into())
    }

    fn status(&self, c: &ConnectorView) -> String {
        c.status.replace('_', " ")
    }

    /// The latest health report in one line ([`crate::health::summary`]).
    fn health(&self, c: &ConnectorView) -> String {
        c.health
            .as_ref()
            .map_or_else(|| "—".into(), crate::health::summary)
    }
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /connectors`
pub async fn list(AxState(st): AxState<State>, s: Signed, Query(q): Query<Done>) -> Response {
    let notice = match q.done.as_str() {
        "revoked" => Some("The connector is revoked; its tunnel is cut.".to_string()),
        _ => None,
    };
    match list_page(&st, &s, notice, None, String::new()).await {
        Ok(r) => r,
        Err(e) => render::op_error(&e),
    }
}

fn company(s: &Signed) -> Result<Id, OpError> {
    s.principal.company_id.ok_or_else(|| {
        OpError::forbidden("connectors belong to a customer company's super administrator")
    })
}

async fn list_page(
    st: &State,
    s: &Signed,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
    location: String,
) -> Result<Response, OpError> {
    let company = company(s)?;
    access::permit(&s.principal, Op::ManageConnectors, company, "company")?;
    let read = access::permit(&s.principal, Op::ReadConnectors, company, "company")?;
    let connectors = ops::connectors::list(st, &read).await?;
    let (status, error) = match error {
        Some((c, t)) => (c, Some(t)),
        None => (StatusCode::OK, None),
    };
    Ok(render::page(
        status,
        &ListPage {
            chrome: s.chrome("connectors"),
            connectors,
            notice,
            error,
            location,
        },
    ))
}

async fn refused(st: &State, s: &Signed, e: &OpError, location: String) -> Response {
    let shown = render::op_status(e);
    match list_page(st, s, None, Some(shown), location).await {
        Ok(r) => r,
        Err(_) => render::op_error(e),
    }
}

#[derive(Template)]
#[template(path = "portal/enrolment.html")]
struct EnrolmentPage {
    chrome: Chrome,
    location: String,
    created: bool,
    expires: String,
    command: String,
}

fn enrolment(st: &State, s: &Signed, made: WithToken, created: bool) -> Response {
    let command = format!(
        "portcullis connector enroll --hub {} --token {} --config connector.toml",
        st.api_url(),
        made.enrollment_token.expose()
    );
    render::page(
        StatusCode::CREATED,
        &EnrolmentPage {
            chrome: s.chrome("connectors"),
            location: made.connector.record.location,
            created,
            expires: when(made.expires_at),
            command,
        },
    )
}

/// The create form.
#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    location: String,
}

/// `POST /connectors`: registers a connector and shows its enrolment command (the API's
/// `POST /companies/{c}/connectors`).
pub async fn create(AxState(st): AxState<State>, posted: Posted<NewForm>) -> Response {
    let s = &posted.signed;
    let location = posted.form.location.trim().to_string();
    let r = async {
        let company = company(s)?;
        let (c, permit) = access::company(
            &st,
            &s.principal,
            &company.to_string(),
            Op::ManageConnectors,
        )
        .await?;
        ops::connectors::register(&st, s.caller(), &permit, &c, &location).await
    }
    .await;
    match r {
        Ok(made) => enrolment(&st, s, made, true),
        Err(e) => refused(&st, s, &e, location).await,
    }
}

/// The forms on a connector's row have no fields but their CSRF token (and a confirmation).
#[derive(Debug, Deserialize)]
pub struct RowForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /connectors/{id}/token`: a new enrolment token (re-enrolment), shown with its
/// command (the API's `POST /connectors/{id}/enrollment-token`).
pub async fn new_token(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<RowForm>,
) -> Response {
    let s = &posted.signed;
    let (conn, permit) = match access::connector(&st, &s.principal, id, Op::ManageConnectors).await
    {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    match ops::connectors::new_enrolment_token(&st, s.caller(), &permit, conn).await {
        Ok(made) => enrolment(&st, s, made, false),
        Err(e) => refused(&st, s, &e, String::new()).await,
    }
}

/// `POST /connectors/{id}/revoke` (its form asks to tick "yes" first).
pub async fn revoke(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<RowForm>,
) -> Response {
    let s = &posted.signed;
    let (conn, permit) = match access::connector(&st, &s.principal, id, Op::ManageConnectors).await
    {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    if posted.form.confirm != "on" {
        let e = OpError::invalid(format!(
            "tick \"yes\" beside {} to confirm that it is to be revoked",
            conn.location
        ));
        return refused(&st, s, &e, String::new()).await;
    }
    match ops::connectors::revoke(&st, s.caller(), &permit, conn).await {
        Ok(_) => Redirect::to("/connectors?done=revoked").into_response(),
        Err(e) => refused(&st, s, &e, String::new()).await,
    }
}
