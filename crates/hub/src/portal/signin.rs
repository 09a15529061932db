//! Sign-in (with the code step when the user has a second factor), the password change
//! (forced after an admin set the password), sign-out.

use askama::Template;
use axum::extract::{Query, Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::secret::Secret;
use rand::RngCore;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::session::{self, PostedAny, PrePosted, SignedAny, PRE_COOKIE};
use crate::ops::signin::{self, PasswordChangeError, SignInError, SignInStep};
use crate::signin::password::MIN_LEN;
use crate::state::State;

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    name: String,
    error: Option<String>,
    /// The company typed into the identity-provider form.
    company: String,
    /// Why a sign-in through the identity provider did not succeed.
    sso_error: Option<String>,
    /// Why the browser is here again: its session ended.
    ended: Option<String>,
}

/// The sign-in page with a fresh pre-session cookie.
fn signin_page(status: StatusCode, name: String, error: Option<String>) -> Response {
    signin_page_with(status, name, error, String::new(), None, None)
}

/// The sign-in page with what the identity-provider form had (`company`) and why it did not
/// succeed.
pub(super) fn signin_page_sso(status: StatusCode, company: &str, error: String) -> Response {
    let company = company.chars().take(64).collect();
    signin_page_with(status, String::new(), None, company, Some(error), None)
}

fn signin_page_with(
    status: StatusCode,
    name: String,
    error: Option<String>,
    company: String,
    sso_error: Option<String>,
    ended: Option<String>,
) -> Response {
    let mut pre = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut pre);
    let pre = hex::encode(pre);
    let mut r = render::page(
        status,
        &SignInPage {
            chrome: Chrome::default(),
            csrf: session::csrf_of("signin", &pre),
            name,
            error,
            company,
            sso_error,
            ended,
        },
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{PRE_COOKIE}={pre}; Path=/; Secure; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /signin`'s query: `ended=idle|expired` after a session ended by itself.
#[derive(Debug, Default, Deserialize)]
pub struct FormQuery {
    #[serde(default)]
    ended: String,
}

/// `GET /signin`
pub async fn form(AxState(st): AxState<State>, Query(q): Query<FormQuery>) -> Response {
    let p = &st.config.portal;
    let ended = match q.ended.as_str() {
        "idle" => Some(format!(
            "You were signed out after {} minutes without activity. Sign in again to go on.",
            p.idle_timeout.as_secs() / 60
        )),
        "expired" => Some(format!(
            "Your session ended {} hours after you signed in. Sign in again to go on.",
            p.absolute_timeout.as_secs() / 3600
        )),
        _ => None,
    };
    signin_page_with(
        StatusCode::OK,
        String::new(),
        None,
        String::new(),
        None,
        ended,
    )
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: Secret<String>,
}

/// `POST /signin`
pub async fn submit(AxState(st): AxState<State>, posted: PrePosted<SignInForm>) -> Response {
    let f = posted.form;
    match signin::sign_in(&st, &f.name, f.password, posted.from).await {
        Ok(SignInStep::Done(done)) => signed_in(done),
        Ok(SignInStep::Code(ticket)) => to_code_page(ticket.expose()),
        Err(e) => {
            let (status, text) = refusal(&e);
            signin_page(status, f.name.chars().take(64).collect(), Some(text))
        }
    }
}

/// The answer to a completed sign-in: the session cookie, and the next page.
pub(super) fn signed_in(done: signin::SignedIn) -> Response {
    let to = if done.must_change { "/password" } else { "/" };
    let mut r = Redirect::to(to).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        session::session_cookie(Some(done.credential.expose())),
    );
    r
}

/// The status and sentence of a refused sign-in.
pub(super) fn refusal(e: &SignInError) -> (StatusCode, String) {
    let status = match e {
        SignInError::Refused | SignInError::WrongCode | SignInError::Ticket(_) => {
            StatusCode::UNAUTHORIZED
        }
        SignInError::SlowDown(_) => StatusCode::TOO_MANY_REQUESTS,
        SignInError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let text = match e {
        SignInError::Store(err) => {
            tracing::error!(error = %err, "portal sign-in: store error");
            "The hub could not check the sign-in now. Try again in a moment.".to_string()
        }
        other => render::sentence(&other.to_string()),
    };
    (status, text)
}

/// The sign-out form has no fields but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /signout`
pub async fn sign_out(
    AxState(st): AxState<State>,
    PostedAny(posted): PostedAny<NoFields>,
) -> Response {
    if let Err(e) = signin::sign_out(&st, posted.signed.caller()).await {
        return render::op_error(&e);
    }
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::session_cookie(None));
    r
}

#[derive(Template)]
#[template(path = "portal/password.html")]
struct PasswordPage {
    chrome: Chrome,
    forced: bool,
    min_len: usize,
    error: Option<String>,
}

async fn password_page(
    st: &State,
    s: &session::Signed,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let forced = signin::must_change(st, &s.principal).await.unwrap_or(false);
    render::page(
        status,
        &PasswordPage {
            chrome: s.chrome(""),
            forced,
            min_len: MIN_LEN,
            error,
        },
    )
}

/// `GET /password`
pub async fn password_form(AxState(st): AxState<State>, SignedAny(s): SignedAny) -> Response {
    password_page(&st, &s, StatusCode::OK, None).await
}

/// The password form's fields.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: Secret<String>,
    #[serde(default)]
    new: Secret<String>,
    #[serde(default)]
    repeat: Secret<String>,
}

/// `POST /password`
pub async fn password_submit(
    AxState(st): AxState<State>,
    PostedAny(posted): PostedAny<PasswordForm>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    match signin::change_password(&st, s.caller(), f.current, f.new, f.repeat).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(PasswordChangeError::Op(e)) => render::op_error(&e),
        Err(e) => {
            let text = render::sentence(&e.to_string());
            password_page(&st, s, StatusCode::BAD_REQUEST, Some(text)).await
        }
    }
}

// ── the code step of a sign-in with a second factor ─────────────────────────────────────

/// The cookie that carries a sign-in waiting for its code.
pub const CODE_COOKIE: &str = "__Host-portcullis-code";

pub(super) fn code_cookie(ticket: Option<&str>) -> HeaderValue {
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
    match portcullis_webui::cookies::get(req.headers(), CODE_COOKIE) {
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
    let Some(ticket) =
        portcullis_webui::cookies::get(req.headers(), CODE_COOKIE).filter(|t| !t.is_empty())
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
    match crate::ops::second_factor::sign_in_code(&st, &ticket, &form.code, from).await {
        Ok(done) => {
            let mut r = signed_in(done);
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
            let (status, text) = refusal(&e);
            code_page(status, &ticket, Some(text))
        }
    }
}
