//! Administration over HTTP: companies, API tokens, connectors, the audit list. Each handler
//! parses, gets its permit from [`ops::access`] (or the operation's module), calls the
//! operation and renders.
//!
//! A company admin manages his own company; a vendor admin creates companies and hands each
//! over by making its first company admin ([`create_token`]), and otherwise only reads a
//! company's data (BY-01, see `portcullis_domain::authz`).

use portcullis_domain::secret::Secret;
use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::Op;
use portcullis_store::{Company, Id, Role};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::{Body, Path, Query};
use super::{ApiErr, Authed};
use crate::ops::connectors::{ConnectorView, WithToken};
use crate::ops::{self, Caller};
use crate::state::State;

/// `POST /companies` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    /// Unique name.
    pub name: String,
}

/// Creates a company (vendor admins only).
pub async fn create_company(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Body(body): Body<NewCompany>,
) -> Result<(StatusCode, Json<Company>), ApiErr> {
    let permit = ops::access::vendor_permit(&p, Op::CreateCompany)?;
    let by = Caller {
        principal: &p,
        from,
    };
    let c = ops::companies::create(&st, by, &permit, &body.name).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Lists the companies the token may see.
pub async fn list_companies(
    AxState(st): AxState<State>,
    Authed(p): Authed,
) -> Result<Json<Vec<Company>>, ApiErr> {
    Ok(Json(match ops::companies::list_permit(&p) {
        Some(permit) => ops::companies::list(&st, &permit).await?,
        None => Vec::new(),
    }))
}

/// `POST /companies/{c}/tokens` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Name, e.g. `ci-bot`.
    pub name: String,
    /// `technical` (default) or `company_admin`.
    #[serde(default)]
    pub role: Option<Role>,
    /// Lifetime in seconds; left out or `null`: the hub's default (`[tokens]
    /// default_lifetime_days`), at most `max_lifetime_days`.
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    /// A token that never expires: only on a hub with `[tokens] allow_unlimited = true`.
    #[serde(default)]
    pub no_expiry: bool,
}

/// A created token: the only time the secret is shown.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    /// Token id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The user the token acts as (created with it; give it grants by this name).
    pub user: String,
    /// The token string (shown once).
    pub token: Secret<String>,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Creates an API token for a company, with a user of its own: the company admin's way to make
/// technical users (and further admins), and the vendor admin's one way to hand a company
/// over: its **first** company admin (role `company_admin`, only while the company has no
/// enabled company admin; [`Op::BootstrapCompanyAdmin`]).
pub async fn create_token(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(body): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiErr> {
    let role = body.role.unwrap_or(Role::Technical);
    let (c, permit) = ops::tokens::company_permit(&st, &p, &company).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let new = ops::tokens::NewCompanyToken {
        name: body.name,
        role,
        lifetime: crate::token_policy::LifetimeRequest {
            expires_in_secs: body.expires_in_secs,
            no_expiry: body.no_expiry,
        },
    };
    let issued = ops::tokens::create(&st, by, &permit, &c, new).await?;
    let t = issued.token.row;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: t.id,
            name: t.name,
            role,
            user: issued.user,
            token: issued.token.token,
            expires_at: t.expires_at,
        }),
    ))
}

/// Lists a company's tokens (never their secrets).
pub async fn list_tokens(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<portcullis_store::ApiToken>>, ApiErr> {
    let (_, permit) = ops::access::company(&st, &p, &company, Op::ManageTokens).await?;
    Ok(Json(ops::tokens::list(&st, &permit).await?))
}

/// Revokes an API token and cuts every live session opened with it. Company admins may revoke
/// their company's tokens; only vendor admins may revoke vendor tokens.
pub async fn revoke_token(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<serde_json::Value>, ApiErr> {
    let (tok, permit) = ops::access::token(&st, &p, id, Op::ManageTokens).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let r = ops::tokens::revoke(&st, by, &permit, tok).await?;
    Ok(Json(
        serde_json::json!({"id": r.id, "revoked": true, "was_active": r.was_active}),
    ))
}

/// `POST /companies/{c}/connectors` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    /// Location ID, unique per company.
    pub location: String,
}

/// Creates a connector (location) and its first enrolment token.
pub async fn create_connector(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(body): Body<NewConnector>,
) -> Result<(StatusCode, Json<WithToken>), ApiErr> {
    let (c, permit) = ops::access::company(&st, &p, &company, Op::ManageConnectors).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let made = ops::connectors::register(&st, by, &permit, &c, &body.location).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Issues a new enrolment token for an existing connector (re-enrolment).
pub async fn new_enrollment_token(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<(StatusCode, Json<WithToken>), ApiErr> {
    let (conn, permit) = ops::access::connector(&st, &p, id, Op::ManageConnectors).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let made = ops::connectors::new_enrolment_token(&st, by, &permit, conn).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Lists a company's connectors with live status.
pub async fn list_connectors(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<ConnectorView>>, ApiErr> {
    let (_, permit) = ops::access::company(&st, &p, &company, Op::ReadConnectors).await?;
    Ok(Json(ops::connectors::list(&st, &permit).await?))
}

/// Revokes a connector's certificate and cuts its live tunnel at once.
pub async fn revoke_connector(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<ConnectorView>, ApiErr> {
    let (conn, permit) = ops::access::connector(&st, &p, id, Op::ManageConnectors).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    Ok(Json(ops::connectors::revoke(&st, by, &permit, conn).await?))
}

/// `GET /audit` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Company id or name; without it, everything for a vendor-wide reader, one's own company
    /// otherwise.
    pub company: Option<String>,
    /// Only actions starting with this.
    pub action: Option<String>,
    /// Only events after this sequence number.
    pub after: Option<i64>,
    /// At most this many (≤ 1000).
    pub limit: Option<u32>,
}

/// Lists audit events.
pub async fn list_audit(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<portcullis_store::AuditEvent>>, ApiErr> {
    // Who may read whose events is decided in one place, with the export's.
    let (scope, permit) = ops::audit::scope(&st, &p, q.company.as_deref()).await?;
    let filter = ops::audit::ListFilter {
        action: q.action,
        after: q.after,
        limit: q.limit,
        ..ops::audit::ListFilter::default()
    };
    Ok(Json(ops::audit::list(&st, &permit, &scope, filter).await?))
}
