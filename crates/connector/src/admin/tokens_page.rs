//! The user's own API tokens (`/tokens`): for scripts and monitoring systems that call the
//! REST API without a password (`Authorization: Bearer pcc_…`). A token acts as its user,
//! with his role; it is shown once when made, kept only as a hash, and revoked here.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::session::{Posted, Signed};
use super::state::Admin;
use super::users::{TokenView, UserError};
use crate::audit::{AuditAction, AuditEvent};

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenView>,
    created: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

async fn page(
    st: &Admin,
    s: &Signed,
    status: StatusCode,
    created: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &TokensPage {
            chrome: s.chrome("tokens"),
            tokens: st.users.tokens(&s.actor.name).await,
            created,
            notice,
            error,
        },
    )
}

/// `GET /tokens`.
pub async fn list(State(st): State<Admin>, s: Signed) -> Response {
    if s.directory {
        return super::pages::directory_user(&s);
    }
    page(&st, &s, StatusCode::OK, None, None, None).await
}

/// The form's field: the new token's name, or the token to revoke.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id: String,
}

/// `POST /tokens`: a new token, shown once.
pub async fn create(State(st): State<Admin>, p: Posted<TokenForm>) -> Response {
    let s = p.signed;
    if s.directory {
        return super::pages::directory_user(&s);
    }
    match st.users.create_token(&s.actor.name, &p.form.name).await {
        Ok(t) => {
            audit(&st, &s, "token_created", &p.form.name);
            page(&st, &s, StatusCode::OK, Some(t.into_inner()), None, None).await
        }
        Err(e) => refused(&st, &s, e).await,
    }
}

/// `POST /tokens/revoke`.
pub async fn revoke(State(st): State<Admin>, p: Posted<TokenForm>) -> Response {
    let s = p.signed;
    if s.directory {
        return super::pages::directory_user(&s);
    }
    match st.users.revoke_token(&s.actor.name, &p.form.id).await {
        Ok(()) => {
            audit(&st, &s, "token_revoked", &p.form.id);
            page(
                &st,
                &s,
                StatusCode::OK,
                None,
                Some("The token is revoked."),
                None,
            )
            .await
        }
        Err(e) => refused(&st, &s, e).await,
    }
}

async fn refused(st: &Admin, s: &Signed, e: UserError) -> Response {
    let status = match e {
        UserError::UnknownToken(_) => StatusCode::NOT_FOUND,
        UserError::BadName => {
            let text = "A token's name has 1 to 64 characters.".to_owned();
            return page(st, s, StatusCode::BAD_REQUEST, None, None, Some(text)).await;
        }
        UserError::TooManyTokens => StatusCode::BAD_REQUEST,
        _ => {
            tracing::error!(error = %e, "admin UI: a token change failed");
            let text = "The change could not be saved; see the connector's log.".to_owned();
            return page(
                st,
                s,
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                None,
                Some(text),
            )
            .await;
        }
    };
    let text = super::pages::sentence(&e.to_string());
    page(st, s, status, None, None, Some(text)).await
}

fn audit(st: &Admin, s: &Signed, outcome: &str, token: &str) {
    audit_token(st, &s.actor.name, "ui", s.from, outcome, token);
}

/// The audit record of a token made or revoked by `user` (through the UI or the API).
pub(super) fn audit_token(
    st: &Admin,
    user: &str,
    via: &str,
    from: std::net::SocketAddr,
    outcome: &str,
    token: &str,
) {
    let mut ev = AuditEvent::new(
        AuditAction::AdminUser,
        outcome,
        serde_json::json!({ "user": user, "token": token, "via": via, "from": from.ip().to_string() }),
    );
    ev.principal = Some(user.to_owned());
    st.shared.audit.record_or_log(ev);
}
