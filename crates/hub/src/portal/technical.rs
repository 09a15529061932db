//! A technical user's standing grants and API tokens, on his page (`/users/{id}`): grant a
//! service connection, revoke a grant, issue a token (shown once), revoke one. The same
//! operations as the REST API (`api/windows.rs` for grants, `api/users.rs` for tokens).

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_domain::authz::Op;
use portcullis_store::Id;
use serde::Deserialize;

use super::render::{self, when};
use super::session::Posted;
use super::users::{back, done, NoFields, OncePage};
use crate::ops::{self, access, OpError};
use crate::state::State;

/// The grant form: the service connection chosen.
#[derive(Debug, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    service: String,
}

/// `POST /users/{id}/grants`: the technical user may reach the chosen service connection
/// without a window (the API's `POST /service-connections/{id}/grants`).
pub async fn create_grant(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<GrantForm>,
) -> Response {
    let s = &posted.signed;
    let (user, _) = match access::user(&st, &s.principal, id, Op::ManageGrants).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let Ok(sc) = posted.form.service.trim().parse::<Id>() else {
        return back(&st, s, id, &OpError::invalid("choose a service connection")).await;
    };
    let r = async {
        let (svc, permit) = access::service(&st, &s.principal, sc, Op::ManageGrants).await?;
        ops::grants::create(&st, s.caller(), &permit, &svc, &user.name).await
    }
    .await;
    match r {
        Ok(_) => done(id, "grant-created"),
        Err(e) => back(&st, s, id, &e).await,
    }
}

/// `POST /grants/{id}/revoke` (the API's `POST /grants/{id}/revoke`).
pub async fn revoke_grant(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    let (g, permit) = match access::grant(&st, &s.principal, id, Op::ManageGrants).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let user = g.user_id;
    match ops::grants::revoke(&st, s.caller(), &permit, g).await {
        Ok(_) => done(user, "grant-revoked"),
        Err(e) => back(&st, s, user, &e).await,
    }
}

/// The token form: its name and lifetime.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    /// Days (empty: the hub's default).
    #[serde(default)]
    days: String,
}

/// `POST /users/{id}/tokens`: an API token for a user, shown once (the API's
/// `POST /users/{id}/tokens`).
pub async fn issue_token(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<TokenForm>,
) -> Response {
    let s = &posted.signed;
    let f = &posted.form;
    let r = async {
        let days = match f.days.trim() {
            "" => None,
            d => Some(
                d.parse::<u64>()
                    .map_err(|_| OpError::invalid("lifetime: a whole number of days, e.g. 90"))?,
            ),
        };
        let (user, permit) = ops::users::token_holder(&st, s.caller(), id).await?;
        let expires_at = ops::tokens::expiry(
            &st,
            crate::token_policy::LifetimeRequest {
                expires_in_secs: days.map(|d| d.saturating_mul(86_400)),
                no_expiry: false,
            },
        )?;
        let issued =
            ops::users::issue_token(&st, s.caller(), &permit, user.clone(), &f.name, expires_at)
                .await?;
        Ok::<_, OpError>((user, issued, expires_at))
    }
    .await;
    match r {
        Ok((user, issued, expires_at)) => render::page(
            StatusCode::CREATED,
            &OncePage {
                chrome: s.chrome("users"),
                title: format!("API token for {}", user.name),
                notice: "The token is made. It is shown only this once: copy it now.".into(),
                facts: vec![
                    ("User name", user.name.clone()),
                    ("Token name", f.name.trim().to_string()),
                    (
                        "Expires",
                        expires_at.map(when).unwrap_or_else(|| "never".into()),
                    ),
                ],
                secret_label: "Token",
                secret: issued.token.token.expose().to_string(),
                hint: "Send it as a bearer token (Authorization: Bearer …) to the hub's API or \
                       give it to the CLI; revoke it here when it is no longer needed.",
                user,
            },
        ),
        Err(e @ OpError::NotFound(_)) => render::op_error(&e),
        Err(e) => back(&st, s, id, &e).await,
    }
}

/// `POST /tokens/{id}/revoke` (the API's `POST /tokens/{id}/revoke`).
pub async fn revoke_token(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    let (tok, permit) = match access::token(&st, &s.principal, id, Op::ManageTokens).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let user = tok.user_id;
    match ops::tokens::revoke(&st, s.caller(), &permit, tok).await {
        Ok(_) => done(user, "token-revoked"),
        Err(e) => back(&st, s, user, &e).await,
    }
}
