//! A company's OpenID Connect sign-in settings: `GET`, `PUT`, `DELETE
//! /api/v1/companies/{company}/oidc` (the company's super administrator; the client secret is
//! written, never read). The rules are [`crate::ops::oidc`].

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::Op;

use super::extract::{Body, Path};
use super::{ApiErr, Authed};
use crate::ops::oidc::{self, OidcInput, OidcView};
use crate::ops::{access, Caller, OpError};
use crate::state::State;

/// `GET /api/v1/companies/{company}/oidc`
pub async fn get(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<OidcView>, ApiErr> {
    let (c, permit) = access::company(&st, &p, &company, Op::ManageUsers).await?;
    let view = oidc::get(&st, &permit, c.id)
        .await?
        .ok_or(OpError::NotFound("OpenID Connect sign-in"))?;
    Ok(Json(view))
}

/// `PUT /api/v1/companies/{company}/oidc`
pub async fn put(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(body): Body<OidcInput>,
) -> Result<Json<OidcView>, ApiErr> {
    let (c, permit) = access::company(&st, &p, &company, Op::ManageUsers).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    Ok(Json(oidc::put(&st, by, &permit, c.id, body).await?))
}

/// `DELETE /api/v1/companies/{company}/oidc`
pub async fn delete(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
) -> Result<StatusCode, ApiErr> {
    let (c, permit) = access::company(&st, &p, &company, Op::ManageUsers).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    if oidc::delete(&st, by, &permit, c.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(OpError::NotFound("OpenID Connect sign-in").into())
    }
}
