//! The admin UI's pages: log on, the forced password change, log off, the hub connection,
//! the windows with their close button. Pages parse, ask [`roles::permit`], call the
//! connector's operations (`crate::ops`, the same the admin socket and the REST API call) and
//! render: no rule lives here.

use std::time::Instant;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use portcullis_domain::secret::Secret;
use portcullis_webui::serve::PeerCertificate;
use portcullis_webui::{cookies, csrf};
use serde::Deserialize;

use super::logon::{self, Refused};
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{self, Posted, PostedAny, PrePosted, Signed, SignedAny};
use super::state::Admin;
use super::users::UserError;
use crate::audit::AuditAction;
use crate::local::protocol::StatusView;
use crate::windows::{WindowState, WindowView};

#[derive(Template)]
#[template(path = "admin/signin.html")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    /// The common name of the client certificate this connection presented, if any.
    certificate: Option<String>,
    /// The logon text, sanitised.
    text: String,
    name: String,
    error: Option<String>,
}

fn signin_page(
    st: &Admin,
    status: StatusCode,
    pre: &str,
    name: String,
    error: Option<String>,
    cert: Option<&PeerCertificate>,
) -> Response {
    render::page(
        status,
        &SignInPage {
            chrome: Chrome::default(),
            csrf: csrf::csrf_of("signin", pre),
            certificate: cert.and_then(|c| super::client_cert::common_name(&c.0)),
            text: st.logon_text.html(),
            name,
            error,
        },
    )
}

/// `GET /signin`: the logon form, bound to a fresh pre-session cookie.
pub async fn signin_form(
    State(st): State<Admin>,
    cert: Option<Extension<PeerCertificate>>,
) -> Response {
    let pre = super::sessions::random_id();
    let cert = cert.map(|Extension(c)| c);
    let mut r = signin_page(
        &st,
        StatusCode::OK,
        &pre,
        String::new(),
        None,
        cert.as_ref(),
    );
    r.headers_mut().insert(
        header::SET_COOKIE,
        cookies::session_cookie(session::PRE_COOKIE, Some(&pre)),
    );
    r
}

/// The logon form's fields.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /signin`: checks the password (slowed down after failures, per user and address),
/// starts a session; with a password to change, on to `/password`.
pub async fn signin_submit(
    State(st): State<Admin>,
    headers: axum::http::HeaderMap,
    p: PrePosted<SignInForm>,
) -> Response {
    let pre = cookies::get(&headers, session::PRE_COOKIE).unwrap_or_default();
    let name = p.form.name.trim().to_owned();
    let now = Instant::now();
    if let Some(wait) = st.throttle.wait(&name, p.from.ip(), now) {
        return signin_page(
            &st,
            StatusCode::TOO_MANY_REQUESTS,
            &pre,
            name,
            Some(format!(
                "Too many failed logons. Try again in {} seconds.",
                wait.as_secs().max(1)
            )),
            None,
        );
    }
    let (actor, source) = match logon::logon(&st, &name, Secret::new(p.form.password)).await {
        Ok(x) => x,
        Err(refused) => {
            let (status, text) = match refused {
                Refused::Credentials { why } => {
                    st.throttle.failed(&name, p.from.ip(), now);
                    tracing::info!(user = %name, from = %p.from, "admin UI logon refused: {why}");
                    (
                        StatusCode::UNAUTHORIZED,
                        "The user name or the password is wrong.",
                    )
                }
                Refused::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The user directory cannot be reached now. Try again later.",
                ),
            };
            st.audit(AuditAction::AdminSignIn, "denied", &name, "ui", p.from);
            return signin_page(&st, status, &pre, name, Some(text.into()), None);
        }
    };
    st.throttle.succeeded(&name);
    st.audit(AuditAction::AdminSignIn, "ok", &name, "ui", p.from);
    let id = st.sessions.start(&actor.name, source);
    let to = if actor.must_change { "/password" } else { "/" };
    let mut r = Redirect::to(to).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, session::session_cookie(Some(&id)));
    r.headers_mut().append(
        header::SET_COOKIE,
        cookies::session_cookie(session::PRE_COOKIE, None),
    );
    r
}

/// `POST /signout`: ends the session.
pub async fn sign_out(State(st): State<Admin>, PostedAny(p): PostedAny<Empty>) -> Response {
    st.sessions.end(&p.signed.id);
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::session_cookie(None));
    r
}

pub use super::session::Empty;

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    chrome: Chrome,
    forced: bool,
    min_len: usize,
    done: Option<&'static str>,
    error: Option<String>,
}

fn password_page(
    s: &Signed,
    status: StatusCode,
    done: Option<&'static str>,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &PasswordPage {
            chrome: s.chrome("password"),
            forced: s.actor.must_change,
            min_len: portcullis_webui::password::MIN_LEN,
            done,
            error,
        },
    )
}

/// `GET /password`.
pub async fn password_form(SignedAny(s): SignedAny) -> Response {
    if s.directory {
        return directory_user(&s);
    }
    password_page(&s, StatusCode::OK, None, None)
}

/// What a directory user gets on the pages of file users (password, API tokens).
pub(crate) fn directory_user(s: &Signed) -> Response {
    render::message_for(
        s.chrome(""),
        StatusCode::FORBIDDEN,
        "You logged on with your directory (LDAP) account: change its password in the \
         directory. API tokens are for the connector's own users; the REST API takes your \
         directory name and password.",
    )
}

/// The password form's fields.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

/// `POST /password`: the user changes his own password.
pub async fn password_submit(
    State(st): State<Admin>,
    PostedAny(p): PostedAny<PasswordForm>,
) -> Response {
    let s = p.signed;
    if s.directory {
        return directory_user(&s);
    }
    let f = p.form;
    let now = Instant::now();
    if let Some(wait) = st.throttle.wait(&s.actor.name, s.from.ip(), now) {
        let text = format!(
            "Too many wrong passwords. Try again in {} seconds.",
            wait.as_secs().max(1)
        );
        return password_page(&s, StatusCode::TOO_MANY_REQUESTS, None, Some(text));
    }
    match st
        .users
        .change_password(
            &s.actor.name,
            Secret::new(f.current),
            Secret::new(f.new),
            Secret::new(f.repeat),
        )
        .await
    {
        Ok(()) => {
            st.audit(
                AuditAction::AdminUser,
                "password_changed",
                &s.actor.name,
                "ui",
                s.from,
            );
            if s.actor.must_change {
                Redirect::to("/").into_response()
            } else {
                let mut s = s;
                s.actor.must_change = false;
                password_page(&s, StatusCode::OK, Some("Your password is changed."), None)
            }
        }
        Err(UserError::WrongPassword) => {
            st.throttle.failed(&s.actor.name, s.from.ip(), now);
            password_page(
                &s,
                StatusCode::BAD_REQUEST,
                None,
                Some("The current password is wrong.".into()),
            )
        }
        Err(e @ (UserError::Rule(_) | UserError::Mismatch)) => password_page(
            &s,
            StatusCode::BAD_REQUEST,
            None,
            Some(sentence(&e.to_string())),
        ),
        Err(e) => {
            tracing::error!(error = %e, "admin UI: changing a password failed");
            password_page(
                &s,
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                Some("The password could not be saved; see the connector's log.".into()),
            )
        }
    }
}

pub(crate) fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// A refused operation as a page's status (409 for a stale version, as the API) and sentence.
pub(crate) fn op_page(e: &crate::ops::OpError) -> (StatusCode, String) {
    let (status, _) = super::api::op_status(e);
    (status, sentence(&e.to_string()))
}

/// A refusal of [`roles::permit`] as a page.
pub(crate) fn denied(s: &Signed, e: &roles::Denied) -> Response {
    render::message_for(
        s.chrome(""),
        StatusCode::FORBIDDEN,
        &sentence(&e.to_string()),
    )
}

#[derive(Template)]
#[template(path = "admin/hub.html")]
struct HubPage {
    chrome: Chrome,
    s: StatusView,
}

impl HubPage {
    fn opt(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_else(|| "—".into())
    }

    /// A time, or a dash.
    fn opt_when(&self, v: &Option<String>) -> String {
        v.as_deref().map_or_else(|| "—".into(), super::render::when)
    }
}

/// `GET /`: the hub connection.
pub async fn hub(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewStatus) {
        return denied(&s, &e);
    }
    render::page(
        StatusCode::OK,
        &HubPage {
            chrome: s.chrome("hub"),
            s: crate::ops::status(&st.shared),
        },
    )
}

#[derive(Template)]
#[template(path = "admin/windows.html")]
struct WindowsPage {
    chrome: Chrome,
    windows: Vec<WindowView>,
    can_close: bool,
    notice: Option<String>,
}

impl WindowsPage {
    fn when(&self, t: &str) -> String {
        super::render::when(t)
    }

    fn state(&self, w: &WindowView) -> String {
        match (w.state, w.closed_by_name.as_deref(), w.closed_by.as_deref()) {
            (WindowState::Closed, Some(by), _) => format!("closed at the connector by {by}"),
            (WindowState::Closed, None, Some(side)) => format!("closed by the {side}"),
            (st, _, _) => format!("{st:?}").to_lowercase(),
        }
    }

    fn closable(&self, w: &WindowView) -> bool {
        matches!(w.state, WindowState::Open | WindowState::Reserved)
    }
}

/// `?closed=<id>` after a close.
#[derive(Debug, Deserialize)]
pub struct WindowsQuery {
    closed: Option<String>,
}

/// `GET /windows`.
pub async fn windows(
    State(st): State<Admin>,
    s: Signed,
    Query(q): Query<WindowsQuery>,
) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewWindows) {
        return denied(&s, &e);
    }
    render::page(
        StatusCode::OK,
        &WindowsPage {
            can_close: roles::may(&s.actor, Permit::CloseWindow),
            chrome: s.chrome("windows"),
            windows: crate::ops::windows(&st.shared),
            notice: q.closed.map(|id| format!("Window {id} is closed.")),
        },
    )
}

/// The close form's fields.
#[derive(Debug, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    reason: String,
}

/// `POST /windows/{id}/close`: the close operation the admin socket calls, by this user.
pub async fn close_window(
    State(st): State<Admin>,
    Path(id): Path<String>,
    p: Posted<CloseForm>,
) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::CloseWindow) {
        return denied(&s, &e);
    }
    let reason = Some(p.form.reason.trim().to_owned()).filter(|r| !r.is_empty());
    let caller = s.caller();
    match crate::ops::close_window(&st.shared, &id, &caller, reason) {
        Ok(_) => {
            Redirect::to(&format!("/windows?closed={}", render::url_segment(&id))).into_response()
        }
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            render::message_for(s.chrome("windows"), status, &sentence(&e.to_string()))
        }
    }
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    portcullis_webui::assets::serve(&file).unwrap_or_else(render::not_found)
}

/// An unknown path.
pub async fn fallback() -> Response {
    render::not_found()
}
