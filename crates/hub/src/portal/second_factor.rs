//! The account page: a user turns his second factor on or off; a company's super
//! administrator makes it mandatory. (The code step of a sign-in is in [`super::signin`].)

use askama::Template;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_domain::secret::Secret;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::session::{self, Posted, PostedAny, SignedAny};
use crate::ops::{access, second_factor, OpError};
use crate::state::State;

#[derive(Template)]
#[template(path = "portal/account.html")]
struct AccountPage {
    chrome: Chrome,
    totp_on: bool,
    required: bool,
    /// For a company's super administrator: whether he may change the requirement.
    can_require: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn account_page(
    st: &State,
    s: &session::Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let p = &s.principal;
    let totp_on = match second_factor::enabled(st, p).await {
        Ok(b) => b,
        Err(e) => return render::op_error(&e),
    };
    let required = second_factor::required(st, p.company_id)
        .await
        .unwrap_or(false);
    let can_require = p
        .company_id
        .is_some_and(|c| access::permit(p, Op::ManageUsers, c, "company").is_ok());
    render::page(
        status,
        &AccountPage {
            chrome: s.chrome("account"),
            totp_on,
            required,
            can_require,
            notice,
            error,
        },
    )
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /account`
pub async fn account(
    AxState(st): AxState<State>,
    SignedAny(s): SignedAny,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> Response {
    let notice = match q.done.as_str() {
        "totp-on" => Some("Two-factor sign-in is on.".to_string()),
        "totp-off" => Some("Two-factor sign-in is off.".to_string()),
        "required" => Some("Your company now requires two-factor sign-in.".to_string()),
        "not-required" => Some("Your company no longer requires two-factor sign-in.".to_string()),
        _ => None,
    };
    account_page(&st, &s, StatusCode::OK, notice, None).await
}

#[derive(Template)]
#[template(path = "portal/totp.html")]
struct TotpPage {
    chrome: Chrome,
    display: Secret<String>,
    uri: Secret<String>,
    sealed: String,
    required: bool,
    error: Option<String>,
}

impl TotpPage {
    fn secret(&self) -> &str {
        self.display.expose()
    }

    fn link(&self) -> &str {
        self.uri.expose()
    }
}

async fn totp_page(
    st: &State,
    s: &session::Signed,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let offer = second_factor::offer(st, &s.principal);
    let required = second_factor::required(st, s.principal.company_id)
        .await
        .unwrap_or(false);
    render::page(
        status,
        &TotpPage {
            chrome: s.chrome("account"),
            display: offer.display,
            uri: offer.uri,
            sealed: offer.sealed,
            required,
            error,
        },
    )
}

/// `GET /account/totp`: a new secret to add to an authenticator app.
pub async fn totp_form(AxState(st): AxState<State>, SignedAny(s): SignedAny) -> Response {
    totp_page(&st, &s, StatusCode::OK, None).await
}

/// The confirming form's fields.
#[derive(Debug, Deserialize)]
pub struct EnableForm {
    #[serde(default)]
    sealed: String,
    #[serde(default)]
    code: String,
}

/// `POST /account/totp`
pub async fn totp_enable(
    AxState(st): AxState<State>,
    PostedAny(posted): PostedAny<EnableForm>,
) -> Response {
    let s = &posted.signed;
    match second_factor::enable(&st, s.caller(), &posted.form.sealed, &posted.form.code).await {
        Ok(()) => Redirect::to("/account?done=totp-on").into_response(),
        Err(OpError::Store(e)) => render::op_error(&OpError::Store(e)),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            totp_page(&st, s, status, Some(text)).await
        }
    }
}

/// The turn-off form's fields.
#[derive(Debug, Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: Secret<String>,
}

/// `POST /account/totp/off`
pub async fn totp_disable(AxState(st): AxState<State>, posted: Posted<DisableForm>) -> Response {
    let s = &posted.signed;
    match second_factor::disable(&st, s.caller(), posted.form.password).await {
        Ok(()) => Redirect::to("/account?done=totp-off").into_response(),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            account_page(&st, s, status, None, Some(text)).await
        }
    }
}

/// The requirement form's fields.
#[derive(Debug, Deserialize)]
pub struct RequireForm {
    #[serde(default)]
    require: String,
}

/// `POST /account/company-totp`: a company's super administrator makes the second factor
/// mandatory, or not.
pub async fn company_requirement(
    AxState(st): AxState<State>,
    posted: Posted<RequireForm>,
) -> Response {
    let s = &posted.signed;
    let p = &s.principal;
    let Some(company) = p.company_id else {
        return render::op_error(&OpError::NotFound("company"));
    };
    let permit = match access::permit(p, Op::ManageUsers, company, "company") {
        Ok(x) => x,
        Err(e) => {
            return account_page(
                &st,
                s,
                render::op_status(&e).0,
                None,
                Some(render::op_status(&e).1),
            )
            .await
        }
    };
    let on = posted.form.require == "on";
    match second_factor::set_required(&st, s.caller(), &permit, company, on).await {
        Ok(_) => Redirect::to(if on {
            "/account?done=required"
        } else {
            "/account?done=not-required"
        })
        .into_response(),
        Err(e) => render::op_error(&e),
    }
}
