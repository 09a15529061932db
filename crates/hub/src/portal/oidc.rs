//! Signing in through the company's identity provider (OpenID Connect), and the page where a
//! company's super administrator sets it up. The rules are in [`crate::ops::oidc_signin`] and
//! [`crate::ops::oidc`].
//!
//! Cookies: the portal's own cookies are `SameSite=Strict`, which a browser does not send on
//! the provider's redirect back (another site). So the flow has a cookie of its own,
//! `__Host-portcullis-oidc`, `SameSite=Lax` (sent on that top-level GET), holding only a
//! random value whose hash keys the flow on the hub, for ten minutes. And the callback does
//! not redirect straight on: a browser that arrived from another site would not send the new
//! `Strict` session cookie on a redirect of that same navigation either. It answers with a
//! small page of this origin that moves on by itself (`<meta http-equiv="refresh">`, no
//! script) or by its link: a navigation this origin starts, which carries `Strict` cookies.
//! The form on the sign-in page leads to such a page too, because the portal's
//! Content-Security-Policy (`form-action 'self'`) forbids a form's redirect to another origin.

use askama::Template;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render::{self, Chrome};
use super::session::{self, Posted, Signed};
use super::signin::{code_cookie, signin_page_sso};
use crate::ops::oidc::{self as settings, OidcInput};
use crate::ops::oidc_signin::{self, Callback, OidcSignInError};
use crate::ops::signin::SignInStep;
use crate::ops::{access, OpError};
use crate::state::State;
use portcullis_domain::authz::Op;

/// The cookie that binds a flow to its browser.
pub const FLOW_COOKIE: &str = "__Host-portcullis-oidc";

fn flow_cookie(value: Option<&str>) -> HeaderValue {
    let v = match value {
        Some(v) => format!(
            "{FLOW_COOKIE}={v}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
            crate::signin::oidc::flows::TTL.as_secs()
        ),
        None => format!("{FLOW_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Template)]
#[template(path = "portal/continue.html")]
struct ContinuePage {
    chrome: Chrome,
    title: &'static str,
    text: &'static str,
    to: String,
}

/// A page of this origin that moves on to `to` by itself (see the module docs).
fn continue_page(title: &'static str, text: &'static str, to: String) -> Response {
    render::page(
        StatusCode::OK,
        &ContinuePage {
            chrome: Chrome::default(),
            title,
            text,
            to,
        },
    )
}

/// The status and sentence of a refused sign-in through the provider.
fn refusal(e: &OidcSignInError) -> (StatusCode, String) {
    let status = match e {
        OidcSignInError::NotAvailable => StatusCode::NOT_FOUND,
        OidcSignInError::SlowDown(_) => StatusCode::TOO_MANY_REQUESTS,
        OidcSignInError::Unreachable => StatusCode::BAD_GATEWAY,
        OidcSignInError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        OidcSignInError::NoUser(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    let text = match e {
        OidcSignInError::Store(err) => {
            tracing::error!(error = %err, "portal sign-in through a provider: store error");
            "The hub could not check the sign-in now. Try again in a moment.".to_string()
        }
        other => render::sentence(&other.to_string()),
    };
    (status, text)
}

/// The form's field.
#[derive(Debug, Default, Deserialize)]
pub struct CompanyQuery {
    #[serde(default)]
    company: String,
}

/// `GET /signin/sso?company=…`: the sign-in page's form; on to the bookmarkable start.
pub async fn form(Query(q): Query<CompanyQuery>) -> Response {
    let company = q.company.trim();
    if crate::ops::check_name("company", company).is_err() {
        let (status, text) = refusal(&OidcSignInError::NotAvailable);
        return signin_page_sso(status, company, text);
    }
    continue_page(
        "On to your identity provider",
        "Your browser goes on to your company's identity provider.",
        format!("/signin/sso/{company}"),
    )
}

/// `GET /signin/sso/{company}`: starts a sign-in through the company's provider.
pub async fn start(
    AxState(st): AxState<State>,
    Path(company): Path<String>,
    req: Request,
) -> Response {
    let from = session::peer(&req);
    match oidc_signin::start(&st, &company, from).await {
        Ok(started) => {
            let mut r = Redirect::to(&started.url).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                flow_cookie(Some(started.browser.expose())),
            );
            r
        }
        Err(e) => {
            let (status, text) = refusal(&e);
            signin_page_sso(status, &company, text)
        }
    }
}

/// The callback's query.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

/// `GET /signin/oidc/callback`: the provider's answer.
pub async fn callback(AxState(st): AxState<State>, req: Request) -> Response {
    let from = session::peer(&req);
    let browser = portcullis_webui::cookies::get(req.headers(), FLOW_COOKIE);
    let q: CallbackQuery = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let cb = Callback {
        browser,
        state: q.state,
        code: q.code,
        error: q.error,
        iss: q.iss,
    };
    let mut r = match oidc_signin::finish(&st, cb, from).await {
        Ok(SignInStep::Done(done)) => {
            let mut r = continue_page(
                "Signed in",
                "You are signed in; your browser goes on to the portal.",
                "/".into(),
            );
            r.headers_mut().append(
                header::SET_COOKIE,
                session::session_cookie(Some(done.credential.expose())),
            );
            r
        }
        Ok(SignInStep::Code(ticket)) => {
            let mut r = continue_page(
                "One more step",
                "Your browser goes on to ask for the code from your authenticator app.",
                "/signin/code".into(),
            );
            r.headers_mut()
                .append(header::SET_COOKIE, code_cookie(Some(ticket.expose())));
            r
        }
        Err(e) => {
            let (status, text) = refusal(&e);
            signin_page_sso(status, "", text)
        }
    };
    r.headers_mut()
        .append(header::SET_COOKIE, flow_cookie(None));
    r
}

// ── the settings page ──────────────────────────────────────────────────────────────────

#[derive(Template)]
#[template(path = "portal/company_signin.html")]
struct SettingsPage {
    chrome: Chrome,
    current: Option<settings::OidcView>,
    updated: String,
    redirect_uri: String,
    start_url: String,
    issuer: String,
    client_id: String,
    user_claim: String,
    extra_ca_pem: String,
    enabled: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// The settings page; `typed`: a refused form as it was typed.
async fn settings_page(
    st: &State,
    s: &Signed,
    status: StatusCode,
    typed: Option<&SettingsForm>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let (company, permit) = match company_permit(st, s).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let current = match settings::get(st, &permit, company.id).await {
        Ok(c) => c,
        Err(e) => return render::op_error(&e),
    };
    let updated = current
        .as_ref()
        .map(|c| render::when(c.updated_at))
        .unwrap_or_default();
    let (issuer, client_id, user_claim, extra_ca_pem, enabled) = match (typed, &current) {
        (Some(f), _) => (
            f.issuer.clone(),
            f.client_id.clone(),
            f.user_claim.clone(),
            f.extra_ca_pem.clone(),
            f.enabled.is_some(),
        ),
        (None, Some(c)) => (
            c.issuer.clone(),
            c.client_id.clone(),
            c.user_claim.clone(),
            c.extra_ca_pem.clone().unwrap_or_default(),
            c.enabled,
        ),
        (None, None) => (
            String::new(),
            String::new(),
            settings::DEFAULT_CLAIM.to_string(),
            String::new(),
            true,
        ),
    };
    render::page(
        status,
        &SettingsPage {
            chrome: s.chrome("account"),
            current,
            updated,
            redirect_uri: settings::redirect_uri(st),
            start_url: format!("{}/signin/sso/{}", st.api_url(), company.name),
            issuer,
            client_id,
            user_claim,
            extra_ca_pem,
            enabled,
            notice,
            error,
        },
    )
}

async fn company_permit(
    st: &State,
    s: &Signed,
) -> Result<(portcullis_store::Company, portcullis_domain::authz::Permit), OpError> {
    let id = s.principal.company_id.ok_or(OpError::NotFound("company"))?;
    access::company(st, &s.principal, &id.to_string(), Op::ManageUsers).await
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /company/sign-in`
pub async fn settings_form(
    AxState(st): AxState<State>,
    s: Signed,
    Query(q): Query<Done>,
) -> Response {
    let notice = match q.done.as_str() {
        "saved" => Some("The identity provider's settings are saved.".to_string()),
        "removed" => {
            Some("The identity provider is removed; users sign in with passwords.".to_string())
        }
        _ => None,
    };
    settings_page(&st, &s, StatusCode::OK, None, notice, None).await
}

/// The settings form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: portcullis_domain::secret::Secret<String>,
    #[serde(default)]
    user_claim: String,
    #[serde(default)]
    extra_ca_pem: String,
    #[serde(default)]
    enabled: Option<String>,
}

/// `POST /company/sign-in`
pub async fn save(AxState(st): AxState<State>, posted: Posted<SettingsForm>) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let (company, permit) = match company_permit(&st, s).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let input = OidcInput {
        issuer: f.issuer.clone(),
        client_id: f.client_id.clone(),
        client_secret: Some(f.client_secret.clone()),
        user_claim: Some(f.user_claim.clone()),
        extra_ca_pem: Some(f.extra_ca_pem.clone()),
        enabled: f.enabled.is_some(),
    };
    match settings::put(&st, s.caller(), &permit, company.id, input).await {
        Ok(_) => Redirect::to("/company/sign-in?done=saved").into_response(),
        Err(OpError::Store(e)) => render::op_error(&OpError::Store(e)),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            settings_page(&st, s, status, Some(&f), None, Some(text)).await
        }
    }
}

/// The removal form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /company/sign-in/remove`
pub async fn remove(AxState(st): AxState<State>, posted: Posted<RemoveForm>) -> Response {
    let s = &posted.signed;
    if posted.form.confirm.is_none() {
        let text = "Tick the box to confirm the removal.".to_string();
        return settings_page(&st, s, StatusCode::BAD_REQUEST, None, None, Some(text)).await;
    }
    let (company, permit) = match company_permit(&st, s).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    match settings::delete(&st, s.caller(), &permit, company.id).await {
        Ok(_) => Redirect::to("/company/sign-in?done=removed").into_response(),
        Err(e) => render::op_error(&e),
    }
}
