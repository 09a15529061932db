//! The Users page (Administrators): the connector's users, and a new user with a role and a
//! one-time password shown once, which his first logon must change.

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
            st.audit_change(&s.actor.name, "created", &name, role, s.from);
            page(&st, &s, StatusCode::OK, Some((name, pw.into_inner())), None).await
        }
        Err(e @ (UserError::Exists(_) | UserError::BadName)) => {
            let text = Some(super::pages::sentence(&e.to_string()));
            page(&st, &s, StatusCode::BAD_REQUEST, None, text).await
        }
        Err(e) => {
            tracing::error!(error = %e, "admin UI: creating a user failed");
            let text = Some("The user could not be saved; see the connector's log.".to_owned());
            page(&st, &s, StatusCode::INTERNAL_SERVER_ERROR, None, text).await
        }
    }
}

impl Admin {
    /// Records a change to another user (`admin.user`, outcome `created` …).
    fn audit_change(
        &self,
        by: &str,
        outcome: &str,
        user: &str,
        role: Role,
        from: std::net::SocketAddr,
    ) {
        let mut ev = crate::audit::AuditEvent::new(
            AuditAction::AdminUser,
            outcome,
            serde_json::json!({ "user": user, "role": role.as_str(), "by": by, "via": "ui", "from": from.ip().to_string() }),
        );
        ev.principal = Some(by.to_owned());
        self.shared.audit.record_or_log(ev);
    }
}
