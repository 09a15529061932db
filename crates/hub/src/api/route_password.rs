//! `POST /api/v1/route-passwords`: a dialog user gets a short-lived route password for himself,
//! to type as the `/W/` password of an SAP route string.
//!
//! The password is shown once. It is a token of scope `route` of the caller's own user (so it
//! shows in token lists and is revoked like any token), accepted only as a connection password
//! (`crate::auth`). Creating one needs an API token: the extractor refuses route passwords, so
//! a route password cannot mint another.
//!
//! # Why this is the one credential a token may make for its own user
//!
//! A token may not mint tokens (`super::users::create_user_token`): otherwise a credential
//! could make a successor that outlives it and survives its revocation. Route passwords stay
//! allowed because none of that holds for them:
//!
//! * **they mint nothing**: the REST API refuses them, so no chain grows from one;
//! * **they are short**: at most 12 hours, and never past the expiry of the API token that
//!   asked for one (the shorter wins), so a short-lived token cannot make a longer-lived
//!   password;
//! * **they die with their holder**: revoking any of the user's API tokens revokes his route
//!   passwords, disabling the user revokes them with everything else of his, and sessions
//!   opened with them are cut;
//! * **they reach nothing new**: a route password is one more connection password of the same
//!   user, decided by the same windows; a technical user gets none.
//!
//! They exist because SAP GUI's route string has only a `/W/` password field, where a
//! long-lived API token must not be typed.

use portcullis_domain::secret::Secret;
use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_store::Id;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::OptionalBody;
use super::{ApiErr, Authed};
use crate::ops::{self, Caller};
use crate::state::State;

/// Body of `POST /api/v1/route-passwords` (the body may be left out).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutePasswordBody {
    /// Lifetime in minutes, 1 to 720; an hour when left out.
    pub ttl_minutes: Option<i64>,
}

/// A route password just made; `password` is shown once (and masked in `Debug`).
#[derive(Debug, Serialize)]
pub struct IssuedRoutePassword {
    /// Token id (to find it in token lists and to revoke it).
    pub id: Id,
    /// The user it is a credential of: the caller.
    pub user: String,
    /// The password: `pct_<12 hex>_<32 hex>`.
    pub password: Secret<String>,
    /// When it stops working; sessions opened with it end then.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `POST /api/v1/route-passwords` ([`ops::tokens::create_route_password`]).
pub async fn create(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    OptionalBody(b): OptionalBody<RoutePasswordBody>,
) -> Result<(StatusCode, Json<IssuedRoutePassword>), ApiErr> {
    let permit = ops::tokens::route_password_permit(&p)?;
    let by = Caller {
        principal: &p,
        from,
    };
    let issued = ops::tokens::create_route_password(&st, by, &permit, b.ttl_minutes).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedRoutePassword {
            id: issued.token.row.id,
            user: issued.token.row.user_name,
            password: issued.token.token,
            expires_at: issued.expires_at,
        }),
    ))
}
