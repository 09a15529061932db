//! The signed-in browser: its cookie, the principal it yields, and CSRF tokens.
//!
//! The cookie `__Host-portcullis` holds the session's credential (a token of scope `portal`):
//! `Secure`, `HttpOnly`, `SameSite=Strict`, `Path=/`, no `Domain` (the `__Host-` prefix makes
//! the browser insist on all of that). Every request re-verifies it
//! ([`TokenCache::verify_portal`](crate::auth::TokenCache::verify_portal)): revoked, expired,
//! idle, or its user disabled, and the browser is sent to sign in again.
//!
//! CSRF: every form that changes something carries `csrf`, the SHA-256 of the credential
//! under a label, which only a page of this origin can know; [`Posted`] refuses a form
//! without the right one before its handler runs. The sign-in form, which has no session
//! yet, is bound the same way to a random pre-session cookie.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use super::render;
use crate::auth::{AuthError, Principal};
use crate::state::State;

/// The session cookie.
pub const COOKIE: &str = "__Host-portcullis";
/// The pre-session cookie the sign-in form is bound to.
pub const PRE_COOKIE: &str = "__Host-portcullis-pre";

pub use portcullis_webui::csrf::{csrf_of, same};

/// `Set-Cookie` for the session cookie (`None`: remove it).
pub fn session_cookie(credential: Option<&str>) -> HeaderValue {
    portcullis_webui::cookies::session_cookie(COOKIE, credential)
}

/// A signed-in browser whose password is in order: what every page but the password page
/// asks for. Without a valid session it redirects to `/signin`; with a password to change, to
/// `/password`.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Who is signed in.
    pub principal: Principal,
    /// The CSRF token this session's forms carry.
    pub csrf: String,
    /// The browser's address.
    pub from: SocketAddr,
}

impl Signed {
    /// The page chrome for this session, with `current` the navigation entry shown as
    /// current.
    pub fn chrome(&self, current: &'static str) -> render::Chrome {
        render::Chrome {
            user: self.principal.user_name.clone(),
            role: render::role_label(self.principal.role).to_string(),
            csrf: self.csrf.clone(),
            current,
            customer: self.principal.company_id.is_some(),
            audit: crate::ops::audit::may_read(&self.principal),
            users: crate::ops::access::may_manage_users(&self.principal),
            connectors: crate::ops::access::may_manage_connectors(&self.principal),
        }
    }

    /// The caller for operations.
    pub fn caller(&self) -> crate::ops::Caller<'_> {
        crate::ops::Caller {
            principal: &self.principal,
            from: self.from,
        }
    }
}

/// A signed-in browser that may still have to change its password (the password page).
#[derive(Debug, Clone)]
pub struct SignedAny(pub Signed);

fn to_signin() -> Response {
    to_signin_at("/signin")
}

/// To the sign-in page, the cookie dropped; `to` may say why the session ended
/// (`/signin?ended=idle`), so that the page can tell the user.
fn to_signin_at(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(None));
    r
}

async fn signed(parts: &mut Parts, st: &State) -> Result<Signed, Response> {
    let credential =
        portcullis_webui::cookies::get(&parts.headers, COOKIE).ok_or_else(to_signin)?;
    let principal = st
        .tokens
        .verify_portal(
            st.store.as_ref(),
            &credential,
            st.config.portal.idle_timeout,
        )
        .await
        .map_err(|e| {
            tracing::debug!(reason = %e, "portal session refused");
            match e {
                AuthError::Idle => to_signin_at("/signin?ended=idle"),
                AuthError::Expired => to_signin_at("/signin?ended=expired"),
                _ => to_signin(),
            }
        })?;
    let from = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    Ok(Signed {
        csrf: csrf_of("session", &credential),
        principal,
        from,
    })
}

impl FromRequestParts<State> for SignedAny {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &State) -> Result<Self, Response> {
        Ok(SignedAny(signed(parts, st).await?))
    }
}

/// Sends a session with a duty left (a password to change, a second factor its company
/// requires) to the page that does it.
async fn without_duty(st: &State, s: Signed) -> Result<Signed, Response> {
    use crate::ops::duty::Duty;
    match crate::ops::duty::duty(st, &s.principal).await {
        Ok(Duty::None) => Ok(s),
        Ok(Duty::ChangePassword) => Err(Redirect::to("/password").into_response()),
        Ok(Duty::SetUpSecondFactor) => Err(Redirect::to("/account/totp").into_response()),
        Err(e) => Err(render::op_error(&e)),
    }
}

impl FromRequestParts<State> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &State) -> Result<Self, Response> {
        let s = signed(parts, st).await?;
        without_duty(st, s).await
    }
}

/// A form posted by a signed-in browser with the right CSRF token and no duty left (see
/// [`Signed`]): the session and the form. Without a session it redirects to `/signin`; with a
/// wrong or missing token it answers 403 before the handler runs.
#[derive(Debug)]
pub struct Posted<T> {
    /// The session.
    pub signed: Signed,
    /// The form's fields.
    pub form: T,
}

/// [`Posted`] for the forms that do a duty (change the password, set up the second factor)
/// and sign-out: a session with a duty left may send them.
#[derive(Debug)]
pub struct PostedAny<T>(pub Posted<T>);

/// The browser's address.
pub fn peer(req: &Request) -> SocketAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
}

/// Reads a form body as `T` (its CSRF field included, if `T` has one).
pub async fn read_form<T: DeserializeOwned>(req: Request) -> Result<T, Response> {
    Ok(form_body::<T>(req).await?.1)
}

/// Reads a form body: its CSRF field and its fields as `T` (`portcullis_webui::form`).
async fn form_body<T: DeserializeOwned>(req: Request) -> Result<(String, T), Response> {
    portcullis_webui::form::read(req)
        .await
        .map_err(|e| render::message(e.status(), &e.to_string()))
}

/// The answer to a form without the right CSRF token.
pub fn csrf_refused() -> Response {
    render::message(
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this portal. Go back, reload the page and \
         try again.",
    )
}

async fn posted<T: DeserializeOwned>(req: Request, st: &State) -> Result<Posted<T>, Response> {
    let (mut parts, body) = req.into_parts();
    let signed = signed(&mut parts, st).await?;
    let (csrf, form) = form_body(Request::from_parts(parts, body)).await?;
    if !same(&csrf, &signed.csrf) {
        return Err(csrf_refused());
    }
    Ok(Posted { signed, form })
}

impl<T: DeserializeOwned + Send> FromRequest<State> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &State) -> Result<Self, Response> {
        let p = posted(req, st).await?;
        let signed = without_duty(st, p.signed).await?;
        Ok(Posted {
            signed,
            form: p.form,
        })
    }
}

impl<T: DeserializeOwned + Send> FromRequest<State> for PostedAny<T> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &State) -> Result<Self, Response> {
        Ok(PostedAny(posted(req, st).await?))
    }
}

/// A form posted with the pre-session CSRF token (the sign-in form).
#[derive(Debug)]
pub struct PrePosted<T> {
    /// The form's fields.
    pub form: T,
    /// The browser's address.
    pub from: SocketAddr,
}

impl<T: DeserializeOwned + Send> FromRequest<State> for PrePosted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, _st: &State) -> Result<Self, Response> {
        use portcullis_webui::form::{read_pre_session, PreSessionRefusal};
        match read_pre_session(req, PRE_COOKIE, "signin").await {
            Ok((form, from)) => Ok(PrePosted { form, from }),
            Err(PreSessionRefusal::Csrf) => Err(csrf_refused()),
            Err(PreSessionRefusal::Form(e)) => Err(render::message(e.status(), &e.to_string())),
        }
    }
}
