//! The Users page (Administrators): the connector's users; a new user with a role and a
//! one-time password shown once, which his first logon must change; a password reset (a new
//! one-time password); disable and enable (not oneself).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::roles::{self, Permit, Role};
use super::session::{Posted, Signed};
use super::state::Admin;
use super::users::{UserError, UserView};
use crate::audit::AuditAction;

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserView>,
    roles: [Role; 4],
    created: Option<(String, String)>,
    error: Option<String>,
}

async fn page(
    st: &Admin,
    s: &Signed,
    status: StatusCode,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &UsersPage {
            chrome: s.chrome("users"),
            users: st.users.list().await,
            roles: Role::ALL,
            created,
            error,
        },
    )
}

/// `GET /users`.
pub async fn list(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ManageUsers) {
        return super::pages::denied(&s, &e);
    }
    page(&st, &s, StatusCode::OK, None, None).await
}

/// The new user's fields.
#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// The user a row's form names.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    name: String,
}

/// `POST /users/reset`: a new one-time password for a user, shown once.
pub async fn reset(State(st): State<Admin>, p: Posted<UserForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::ManageUsers) {
        return super::pages::denied(&s, &e);
    }
    let name = p.form.name;
    match st.users.reset(&name).await {
        Ok(pw) => {
            st.audit_change(&s.actor.name, "password_reset", &name, s.from);
            page(&st, &s, StatusCode::OK, Some((name, pw.into_inner())), None).await
        }
        Err(e) => refused(&st, &s, e).await,
    }
}

/// `POST /users/disable` and `/users/enable`.
pub async fn disable(st: State<Admin>, p: Posted<UserForm>) -> Response {
    set_disabled(st, p, true).await
}

/// `POST /users/enable`.
pub async fn enable(st: State<Admin>, p: Posted<UserForm>) -> Response {
    set_disabled(st, p, false).await
}

async fn set_disabled(State(st): State<Admin>, p: Posted<UserForm>, disabled: bool) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::ManageUsers) {
        return super::pages::denied(&s, &e);
    }
    let name = p.form.name;
    match st.users.set_disabled(&s.actor.name, &name, disabled).await {
        Ok(()) => {
            let what = if disabled { "disabled" } else { "enabled" };
            st.audit_change(&s.actor.name, what, &name, s.from);
            page(&st, &s, StatusCode::OK, None, None).await
        }
        Err(e) => refused(&st, &s, e).await,
    }
}

async fn refused(st: &Admin, s: &Signed, e: UserError) -> Response {
    let status = match e {
        UserError::Unknown(_) => StatusCode::NOT_FOUND,
        UserError::Exists(_) | UserError::BadName | UserError::Yourself => StatusCode::BAD_REQUEST,
        _ => {
            tracing::error!(error = %e, "admin UI: changing a user failed");
            let text = Some("The change could not be saved; see the connector's log.".to_owned());
            return page(st, s, StatusCode::INTERNAL_SERVER_ERROR, None, text).await;
        }
    };
    page(
        st,
        s,
        status,
        None,
        Some(super::pages::sentence(&e.to_string())),
    )
    .await
}

/// `POST /users`: creates a user with a one-time password, shown once.
pub async fn create(State(st): State<Admin>, p: Posted<NewUserForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::ManageUsers) {
        return super::pages::denied(&s, &e);
    }
    let name = p.form.name.trim().to_owned();
    let Some(role) = Role::parse(&p.form.role) else {
        let e = Some("Choose one of the roles.".to_owned());
        return page(&st, &s, StatusCode::BAD_REQUEST, None, e).await;
    };
    match st.users.create(&name, role).await {
        Ok(pw) => {
            st.audit_change(&s.actor.name, "created", &name, s.from);
            page(&st, &s, StatusCode::OK, Some((name, pw.into_inner())), None).await
        }
        Err(e) => refused(&st, &s, e).await,
    }
}

impl Admin {
    /// Records a change to another user (`admin.user`, outcome `created`, `password_reset`,
    /// `disabled`, `enabled`).
    fn audit_change(&self, by: &str, outcome: &str, user: &str, from: std::net::SocketAddr) {
        self.audit_user_change(by, "ui", outcome, user, from);
    }

    /// [`Self::audit_change`] through door `via` (`ui`, `api`).
    pub(super) fn audit_user_change(
        &self,
        by: &str,
        via: &str,
        outcome: &str,
        user: &str,
        from: std::net::SocketAddr,
    ) {
        let mut ev = crate::audit::AuditEvent::new(
            AuditAction::AdminUser,
            outcome,
            serde_json::json!({ "user": user, "by": by, "via": via, "from": from.ip().to_string() }),
        );
        ev.principal = Some(by.to_owned());
        self.shared.audit.record_or_log(ev);
    }
}
