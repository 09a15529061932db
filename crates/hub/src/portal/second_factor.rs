//! The second factor in the portal: the code step of a sign-in, and the account page where a
//! user turns it on or off and a company's super administrator makes it mandatory.

use askama::Template;
use axum::extract::{Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_domain::secret::Secret;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::session::{self, Posted, PostedAny, SignedAny};
use crate::ops::{access, second_factor, OpError};
use crate::state::State;

/// The cookie that carries a sign-in waiting for its code.
pub const CODE_COOKIE: &str = "__Host-portcullis-code";

fn code_cookie(ticket: Option<&str>) -> HeaderValue {
    let v = match ticket {
        Some(t) => {
            format!("{CODE_COOKIE}={t}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=300")
        }
        None => format!("{CODE_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// After a right password of a user with a second factor: to the code page, with the ticket.
pub fn to_code_page(ticket: &str) -> Response {
    let mut r = Redirect::to("/signin/code").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, code_cookie(Some(ticket)));
    r
}

#[derive(Template)]
#[template(path = "portal/code.html")]
struct CodePage {
    chrome: Chrome,
    csrf: String,
    error: Option<String>,
}

fn code_page(status: StatusCode, ticket: &str, error: Option<String>) -> Response {
    render::page(
        status,
        &CodePage {
            chrome: Chrome::default(),
            csrf: session::csrf_of("code", ticket),
            error,
        },
    )
}

/// `GET /signin/code`
pub async fn code_form(req: Request) -> Response {
    match crate::cookies::get(req.headers(), CODE_COOKIE) {
        Some(t) if !t.is_empty() => code_page(StatusCode::OK, &t, None),
        _ => Redirect::to("/signin").into_response(),
    }
}

/// The code form's fields.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /signin/code`
pub async fn code_submit(AxState(st): AxState<State>, req: Request) -> Response {
    let Some(ticket) = crate::cookies::get(req.headers(), CODE_COOKIE).filter(|t| !t.is_empty())
    else {
        return Redirect::to("/signin").into_response();
    };
    let from = session::peer(&req);
    let form: CodeForm = match session::read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !session::same(&form.csrf, &session::csrf_of("code", &ticket)) {
        return session::csrf_refused();
    }
    match second_factor::sign_in_code(&st, &ticket, &form.code, from).await {
        Ok(done) => {
            let mut r = super::signin::signed_in(done);
            r.headers_mut()
                .append(header::SET_COOKIE, code_cookie(None));
            r
        }
        Err(crate::ops::signin::SignInError::Ticket(e)) => {
            let mut r = Redirect::to("/signin").into_response();
            r.headers_mut()
                .append(header::SET_COOKIE, code_cookie(None));
            tracing::debug!(reason = %e, "portal code step: ticket gone");
            r
        }
        Err(e) => {
            let (status, text) = super::signin::refusal(&e);
            code_page(status, &ticket, Some(text))
        }
    }
}

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
