//! A signed-in browser of the admin UI: its cookie, the user it yields, CSRF.
//!
//! The cookie `__Host-portcullis-connector` holds a random session id (in this process's
//! memory only: a restart signs everybody out; [`super::sessions`]). `Secure`, `HttpOnly`,
//! `SameSite=Strict`, `Path=/` (`portcullis_webui::cookies`). A session ends after its idle
//! or absolute timeout, at sign-out, and when its user is disabled or removed.
//!
//! Every form that changes something carries `csrf`, derived from the session id
//! (`portcullis_webui::csrf`); [`Posted`] refuses a form without the right one (403) before
//! the handler runs. The sign-in form is bound the same way to a random pre-session cookie.

use std::net::SocketAddr;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_webui::form::PreSessionRefusal;
use portcullis_webui::{cookies, csrf};
use serde::de::DeserializeOwned;

use super::render;
use super::roles::Actor;
use super::sessions::Source;
use super::state::Admin;

/// The session cookie.
pub const COOKIE: &str = "__Host-portcullis-connector";
/// The pre-session cookie the sign-in form is bound to.
pub const PRE_COOKIE: &str = "__Host-portcullis-connector-pre";
/// `Set-Cookie` for the session cookie (`None`: remove it).
pub fn session_cookie(id: Option<&str>) -> HeaderValue {
    cookies::session_cookie(COOKIE, id)
}

/// A signed-in browser whose password is in order. Without a session it redirects to
/// `/signin`; with a password to change, to `/password`.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Who.
    pub actor: Actor,
    /// The session id (for sign-out).
    pub id: String,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    /// The browser's address.
    pub from: SocketAddr,
    /// A directory (LDAP) user: no password to change here, no API tokens.
    pub directory: bool,
}

impl Signed {
    /// The page chrome for this session.
    pub fn chrome(&self, current: &'static str) -> render::Chrome {
        render::Chrome {
            user: self.actor.name.clone(),
            role: self.actor.role.as_str(),
            csrf: self.csrf.clone(),
            current,
            windows: super::roles::may(&self.actor, super::roles::Permit::ViewWindows),
            users: super::roles::may(&self.actor, super::roles::Permit::ManageUsers),
            trust: super::roles::may(&self.actor, super::roles::Permit::ViewTrust),
            security: super::roles::may(&self.actor, super::roles::Permit::ViewSecurity),
            monitoring: super::roles::may(&self.actor, super::roles::Permit::ViewMonitoring),
            sessions: super::roles::may(&self.actor, super::roles::Permit::ViewSessions),
            audit: super::roles::may(&self.actor, super::roles::Permit::ViewAudit),
            access: super::roles::may(&self.actor, super::roles::Permit::ViewAccess),
            backup: super::roles::may(&self.actor, super::roles::Permit::Backup),
        }
    }
}

/// A signed-in browser that may still have to change its password (the password page).
#[derive(Debug, Clone)]
pub struct SignedAny(pub Signed);

fn to_signin() -> Response {
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(None));
    r
}

/// The browser's address.
pub use portcullis_webui::form::peer;

pub(super) async fn signed(parts: &Parts, st: &Admin) -> Result<Signed, Response> {
    let id = cookies::get(&parts.headers, COOKIE).ok_or_else(to_signin)?;
    let (user, source) = st.sessions.touch(&id).ok_or_else(to_signin)?;
    let directory = matches!(source, Source::Directory(_));
    let actor = match source {
        Source::File => st.users.actor(&user).await,
        Source::Directory(role) => Some(Actor {
            name: user,
            role,
            must_change: false,
        }),
    };
    let Some(actor) = actor else {
        st.sessions.end(&id);
        return Err(to_signin());
    };
    Ok(Signed {
        csrf: csrf::csrf_of("session", &id),
        actor,
        id,
        from: peer(&parts.extensions),
        directory,
    })
}

/// A session whose password must still be changed goes to `/password` first.
fn to_password() -> Response {
    Redirect::to("/password").into_response()
}

impl FromRequestParts<Admin> for SignedAny {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &Admin) -> Result<Self, Response> {
        Ok(SignedAny(signed(parts, st).await?))
    }
}

impl FromRequestParts<Admin> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &Admin) -> Result<Self, Response> {
        let s = signed(parts, st).await?;
        if s.actor.must_change {
            return Err(to_password());
        }
        Ok(s)
    }
}

/// A form posted by a signed-in browser with the right CSRF token and no duty left.
#[derive(Debug)]
pub struct Posted<T> {
    /// The session.
    pub signed: Signed,
    /// The form's fields.
    pub form: T,
}

/// [`Posted`] for the password change and sign-out, which a session with a duty may send.
#[derive(Debug)]
pub struct PostedAny<T>(pub Posted<T>);

async fn form_body<T: DeserializeOwned>(req: Request) -> Result<(String, T), Response> {
    portcullis_webui::form::read(req)
        .await
        .map_err(|e| render::message(e.status(), &e.to_string()))
}

/// The answer to a form without the right CSRF token.
pub fn csrf_refused() -> Response {
    render::message(
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this admin UI. Go back, reload the page \
         and try again.",
    )
}

async fn posted<T: DeserializeOwned>(req: Request, st: &Admin) -> Result<Posted<T>, Response> {
    let (parts, body) = req.into_parts();
    let signed = signed(&parts, st).await?;
    let (given, form) = form_body(Request::from_parts(parts, body)).await?;
    if !csrf::same(&given, &signed.csrf) {
        return Err(csrf_refused());
    }
    Ok(Posted { signed, form })
}

impl<T: DeserializeOwned + Send> FromRequest<Admin> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &Admin) -> Result<Self, Response> {
        let p = posted(req, st).await?;
        if p.signed.actor.must_change {
            return Err(to_password());
        }
        Ok(p)
    }
}

impl<T: DeserializeOwned + Send> FromRequest<Admin> for PostedAny<T> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &Admin) -> Result<Self, Response> {
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

impl<T: DeserializeOwned + Send> FromRequest<Admin> for PrePosted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, _st: &Admin) -> Result<Self, Response> {
        match portcullis_webui::form::read_pre_session(req, PRE_COOKIE, "signin").await {
            Ok((form, from)) => Ok(PrePosted { form, from }),
            Err(PreSessionRefusal::Csrf) => Err(csrf_refused()),
            Err(PreSessionRefusal::Form(e)) => Err(render::message(e.status(), &e.to_string())),
        }
    }
}

impl Signed {
    /// The signed-in user as the caller of an operation: audited with his name and
    /// `via: ui`.
    pub(crate) fn caller(&self) -> crate::shared::LocalCaller {
        crate::shared::LocalCaller {
            by: self.actor.name.clone(),
            via: "ui",
            uid: None,
            pid: None,
        }
    }
}

/// Whether a checkbox was sent checked.
pub fn checked(v: &str) -> bool {
    matches!(v, "on" | "true" | "yes" | "1")
}

/// A form with no field but `csrf`.
#[derive(Debug, serde::Deserialize)]
pub struct Empty {}
