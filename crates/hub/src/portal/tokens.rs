//! The signed-in user's own tokens, route passwords and signed-in browsers
//! (`/account/tokens`): list, revoke, and a new API token shown once.

use askama::Template;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::secret::Secret;
use portcullis_store::{ApiToken, Id};
use serde::Deserialize;

use super::render::{self, when, Chrome};
use super::session::{Posted, Signed};
use crate::ops::own_tokens;
use crate::state::State;
use crate::token_policy::LifetimeRequest;

#[derive(Template)]
#[template(path = "portal/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<ApiToken>,
    browsers: Vec<ApiToken>,
    this_browser: Id,
    default_days: i64,
    max_days: i64,
    notice: Option<String>,
    error: Option<String>,
    name: String,
    days: String,
}

impl TokensPage {
    fn when(&self, t: &time::OffsetDateTime) -> String {
        when(*t)
    }

    fn when_opt(&self, t: &Option<time::OffsetDateTime>) -> String {
        t.map(when).unwrap_or_else(|| "never".into())
    }

    fn state(&self, t: &ApiToken) -> &'static str {
        if t.revoked_at.is_some() {
            "revoked"
        } else if t
            .expires_at
            .is_some_and(|e| e <= time::OffsetDateTime::now_utc())
        {
            "expired"
        } else {
            "active"
        }
    }
}

async fn page(
    st: &State,
    s: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    form: (String, String),
) -> Response {
    let own = match own_tokens::list(st, &s.principal).await {
        Ok(o) => o,
        Err(e) => return render::op_error(&e),
    };
    let policy = st.config.tokens;
    render::page(
        status,
        &TokensPage {
            chrome: s.chrome("account"),
            tokens: own.tokens,
            browsers: own.browsers,
            this_browser: s.principal.token_id,
            default_days: policy.default_lifetime.whole_days(),
            max_days: policy.max_lifetime.whole_days(),
            notice,
            error,
            name: form.0,
            days: form.1,
        },
    )
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /account/tokens`
pub async fn list(AxState(st): AxState<State>, s: Signed, Query(q): Query<Done>) -> Response {
    let notice = (q.done == "revoked").then(|| "Revoked.".to_string());
    page(&st, &s, StatusCode::OK, notice, None, Default::default()).await
}

/// The new-token form's fields.
#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    name: String,
    /// Days until it expires (the policy's default when empty).
    #[serde(default)]
    days: String,
}

#[derive(Template)]
#[template(path = "portal/token_created.html")]
struct CreatedPage {
    chrome: Chrome,
    name: String,
    token: Secret<String>,
    expires: String,
}

impl CreatedPage {
    fn token(&self) -> &str {
        self.token.expose()
    }
}

/// `POST /account/tokens`
pub async fn create(AxState(st): AxState<State>, posted: Posted<NewForm>) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let form = (f.name.clone(), f.days.clone());
    let expires_in_secs = match f.days.trim() {
        "" => None,
        d => match d.parse::<u64>() {
            Ok(n) => Some(n.saturating_mul(86_400)),
            Err(_) => {
                let text = "Days: a whole number of days, e.g. 30.".to_string();
                return page(&st, s, StatusCode::BAD_REQUEST, None, Some(text), form).await;
            }
        },
    };
    let lifetime = LifetimeRequest {
        expires_in_secs,
        no_expiry: false,
    };
    match own_tokens::create(&st, s.caller(), &f.name, lifetime).await {
        Ok(issued) => render::page(
            StatusCode::CREATED,
            &CreatedPage {
                chrome: s.chrome("account"),
                name: issued.row.name.clone(),
                expires: issued
                    .row
                    .expires_at
                    .map(when)
                    .unwrap_or_else(|| "never".into()),
                token: issued.token,
            },
        ),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            page(&st, s, status, None, Some(text), form).await
        }
    }
}

/// The revoke form has no fields but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /account/tokens/{id}/revoke`
pub async fn revoke(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    match own_tokens::revoke(&st, s.caller(), id).await {
        Ok(_) => Redirect::to("/account/tokens?done=revoked").into_response(),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            page(&st, s, status, None, Some(text), Default::default()).await
        }
    }
}
