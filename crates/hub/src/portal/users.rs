//! A company's users, managed by its super administrator (a vendor admin manages the vendor
//! users the same way): the list, creating a user with a one-time password shown once,
//! authorizations, disabling (one or several), password and second-factor resets (a
//! technical user's grants and tokens: [`super::technical`]). Each handler gets its permit from
//! [`crate::ops::access`] and calls the operation the REST API calls (`api/users.rs`,
//! `api/windows.rs` for grants, `api/admin.rs` for tokens).

use askama::Template;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::{Authorization, Authorizations, Op, Role};
use portcullis_store::{ApiToken, Grant, Id, User};
use serde::Deserialize;

use super::render::{self, when, Chrome};
use super::session::{Posted, Signed};
use crate::ops::systems::services::{self, ServiceQuery, ServiceView};
use crate::ops::{self, access, OpError};
use crate::state::State;

/// The authorizations as the forms name them.
const AUTHORIZATIONS: [(Authorization, &str); 3] = [
    (
        Authorization::OpenServiceConnections,
        "Open service connections",
    ),
    (Authorization::MaintainSystemData, "Maintain system data"),
    (Authorization::MaintainAccessData, "Maintain access data"),
];

/// The roles the create form offers: a company's, or the vendor's.
fn roles(company: Option<Id>) -> Vec<(&'static str, &'static str)> {
    let list: &[Role] = if company.is_some() {
        &[Role::CompanyUser, Role::Technical, Role::CompanyAdmin]
    } else {
        &[Role::SupportEngineer, Role::Auditor, Role::VendorAdmin]
    };
    list.iter()
        .map(|r| (r.as_str(), render::role_label(*r)))
        .collect()
}

/// The authorizations of a form whose checkboxes are named by the authorizations' keys.
fn checked(pairs: &[(String, String)]) -> Authorizations {
    AUTHORIZATIONS
        .iter()
        .map(|(a, _)| *a)
        .filter(|a| pairs.iter().any(|(k, v)| k == a.as_str() && v == "on"))
        .collect()
}

/// A user as the list shows him.
struct Row {
    user: User,
    totp: bool,
}

#[derive(Template)]
#[template(path = "portal/users.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    roles: Vec<(&'static str, &'static str)>,
    customer: bool,
    me: Id,
    notice: Option<String>,
    error: Option<String>,
    /// The create form as it was typed when it was refused.
    typed: Vec<(String, String)>,
}

impl ListPage {
    fn auths(&self) -> &'static [(Authorization, &'static str)] {
        &AUTHORIZATIONS
    }

    fn auths_of(&self, u: &User) -> String {
        auths_of(u)
    }

    fn role_of(&self, u: &User) -> &'static str {
        render::role_label(u.role)
    }

    fn typed(&self, field: &str) -> String {
        self.typed
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn role_typed(&self, role: &str) -> bool {
        let t = self.typed("role");
        t == role || (t.is_empty() && (role == "company_user" || role == "support_engineer"))
    }

    fn auth_typed(&self, a: &Authorization) -> bool {
        self.typed(a.as_str()) == "on"
    }
}

fn auths_of(u: &User) -> String {
    match u.role {
        Role::CompanyAdmin => "All".into(),
        Role::CompanyUser if u.authorizations.is_empty() => "None".into(),
        Role::CompanyUser => AUTHORIZATIONS
            .iter()
            .filter(|(a, _)| u.authorizations.has(*a))
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "—".into(),
    }
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

fn notice(done: &str) -> Option<String> {
    Some(
        match done {
            "disabled" => "The user is disabled: his tokens are revoked and his sessions ended.",
            "disabled-many" => {
                "The users are disabled: their tokens are revoked and their \
                                sessions ended."
            }
            "authorizations" => "The authorizations are changed.",
            "totp-reset" => "The second factor is removed; the user's portal sessions ended.",
            "created" => "The user is created.",
            "grant-created" => "The grant is created.",
            "grant-revoked" => "The grant is revoked; its sessions are cut.",
            "token-revoked" => "The token is revoked; its sessions are cut.",
            _ => return None,
        }
        .to_string(),
    )
}

/// `GET /users`
pub async fn list(AxState(st): AxState<State>, s: Signed, Query(q): Query<Done>) -> Response {
    match list_page(&st, &s, notice(&q.done), None, Vec::new()).await {
        Ok(r) => r,
        Err(e) => render::op_error(&e),
    }
}

async fn list_page(
    st: &State,
    s: &Signed,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
    typed: Vec<(String, String)>,
) -> Result<Response, OpError> {
    let p = &s.principal;
    access::scoped_permit(p, Op::ManageUsers, p.company_id, "users")?;
    let read = access::scoped_permit(p, Op::ReadUsers, p.company_id, "users")?;
    let mut rows = Vec::new();
    for user in ops::users::list(st, &read).await? {
        let totp = ops::second_factor::enabled_for(st, &read, &user).await?;
        rows.push(Row { user, totp });
    }
    let (status, error) = match error {
        Some((c, t)) => (c, Some(t)),
        None => (StatusCode::OK, None),
    };
    Ok(render::page(
        status,
        &ListPage {
            chrome: s.chrome("users"),
            rows,
            roles: roles(p.company_id),
            customer: p.company_id.is_some(),
            me: p.user_id,
            notice,
            error,
            typed,
        },
    ))
}

/// A secret shown once: a new user's or a reset one-time password, an API token.
#[derive(Template)]
#[template(path = "portal/once.html")]
pub(super) struct OncePage {
    pub(super) chrome: Chrome,
    pub(super) title: String,
    pub(super) notice: String,
    pub(super) facts: Vec<(&'static str, String)>,
    pub(super) secret_label: &'static str,
    pub(super) secret: String,
    pub(super) hint: &'static str,
    pub(super) user: User,
}

fn field<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// `POST /users`: a new user; a dialog user's one-time password is shown once.
pub async fn create(
    AxState(st): AxState<State>,
    posted: Posted<Vec<(String, String)>>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let p = &s.principal;
    let made =
        async {
            let permit = access::scoped_permit(p, Op::ManageUsers, p.company_id, "users")?;
            let role: Role = field(&f, "role").parse().map_err(
                |e: portcullis_domain::authz::ParseRoleError| OpError::invalid(e.to_string()),
            )?;
            let email = Some(field(&f, "email").to_string()).filter(|e| !e.is_empty());
            let new = ops::users::NewUser {
                name: field(&f, "name").to_string(),
                display_name: field(&f, "display_name").to_string(),
                email,
                role,
                authorizations: checked(&f),
            };
            let user = ops::users::create(&st, s.caller(), &permit, new).await?;
            Ok::<_, OpError>((user, permit))
        }
        .await;
    let (user, permit) = match made {
        Ok(x) => x,
        Err(e) => {
            let shown = render::op_status(&e);
            return list_page(&st, s, None, Some(shown), f)
                .await
                .unwrap_or_else(|_| render::op_error(&e));
        }
    };
    if user.role == Role::Technical {
        return Redirect::to(&format!("/users/{}?done=created", user.id)).into_response();
    }
    let setting = ops::signin::PasswordSetting {
        chosen: None,
        must_change: true,
    };
    match ops::signin::set_password(&st, s.caller(), &permit, &user, setting).await {
        Ok(pw) => once_password(
            s,
            user,
            "The user is created.".into(),
            pw.expose().to_string(),
        ),
        Err(e) => back(&st, s, user.id, &e).await,
    }
}

fn once_password(s: &Signed, user: User, notice: String, password: String) -> Response {
    render::page(
        StatusCode::OK,
        &OncePage {
            chrome: s.chrome("users"),
            title: format!("One-time password for {}", user.name),
            notice: format!("{notice} The one-time password is shown only this once: copy it now."),
            facts: vec![
                ("User name", user.name.clone()),
                ("Role", render::role_label(user.role).to_string()),
            ],
            secret_label: "One-time password",
            secret: password,
            hint: "Give it to the user over a channel you trust. Signing in with it, the user \
                   chooses a password of his own at once; until then it works only for that.",
            user,
        },
    )
}

#[derive(Template)]
#[template(path = "portal/user.html")]
struct UserPage {
    chrome: Chrome,
    user: User,
    me: bool,
    totp: bool,
    grants: Vec<Grant>,
    tokens: Vec<ApiToken>,
    services: Vec<ServiceView>,
    notice: Option<String>,
    error: Option<String>,
}

impl UserPage {
    fn auths(&self) -> &'static [(Authorization, &'static str)] {
        &AUTHORIZATIONS
    }

    fn has(&self, a: &Authorization) -> bool {
        self.user.authorizations.has(*a)
    }

    fn auths_of(&self) -> String {
        auths_of(&self.user)
    }

    fn role(&self) -> &'static str {
        render::role_label(self.user.role)
    }

    fn technical(&self) -> bool {
        self.user.role == Role::Technical
    }

    fn company_user(&self) -> bool {
        self.user.role == Role::CompanyUser
    }

    fn when(&self, t: &time::OffsetDateTime) -> String {
        when(*t)
    }

    fn when_opt(&self, t: &Option<time::OffsetDateTime>) -> String {
        t.map(when).unwrap_or_else(|| "never".into())
    }

    /// A service connection as people read it: `PRD · generic_tcp · berlin`.
    fn service(&self, id: &Id) -> String {
        self.services
            .iter()
            .find(|v| v.service.id == *id)
            .map(service_label)
            .unwrap_or_else(|| format!("service connection {id}"))
    }

    fn label(&self, v: &ServiceView) -> String {
        service_label(v)
    }
}

fn service_label(v: &ServiceView) -> String {
    format!(
        "{} · {} · {} ({}:{})",
        v.sid, v.connection_type, v.location, v.service.virtual_host, v.service.virtual_port
    )
}

/// `GET /users/{id}`
pub async fn page(
    AxState(st): AxState<State>,
    s: Signed,
    Path(id): Path<Id>,
    Query(q): Query<Done>,
) -> Response {
    match user_page(&st, &s, id, notice(&q.done), None).await {
        Ok(r) => r,
        Err(e) => render::op_error(&e),
    }
}

async fn user_page(
    st: &State,
    s: &Signed,
    id: Id,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, OpError> {
    let p = &s.principal;
    let (user, _) = access::user(st, p, id, Op::ManageUsers).await?;
    let read = access::scoped_permit(p, Op::ReadUsers, user.company_id, "user")?;
    let totp = ops::second_factor::enabled_for(st, &read, &user).await?;
    let (mut grants, mut tokens, mut services) = (Vec::new(), Vec::new(), Vec::new());
    if let (Role::Technical, Some(company)) = (user.role, user.company_id) {
        let gp = access::permit(p, Op::ManageGrants, company, "user")?;
        grants = ops::grants::of_user(st, &gp, &user).await?;
        let tp = access::permit(p, Op::ManageTokens, company, "user")?;
        tokens = ops::tokens::of_user(st, &tp, &user).await?;
        let sp = access::permit(p, Op::ReadSystems, company, "user")?;
        services = services::list(st, &sp, &ServiceQuery::default()).await?;
    }
    let (status, error) = match error {
        Some((c, t)) => (c, Some(t)),
        None => (StatusCode::OK, None),
    };
    Ok(render::page(
        status,
        &UserPage {
            chrome: s.chrome("users"),
            me: user.id == p.user_id,
            user,
            totp,
            grants,
            tokens,
            services,
            notice,
            error,
        },
    ))
}

/// The user page again with the refusal above it.
pub(super) async fn back(st: &State, s: &Signed, id: Id, e: &OpError) -> Response {
    let shown = render::op_status(e);
    match user_page(st, s, id, None, Some(shown)).await {
        Ok(r) => r,
        Err(_) => render::op_error(e),
    }
}

pub(super) fn done(id: Id, what: &str) -> Response {
    Redirect::to(&format!("/users/{id}?done={what}")).into_response()
}

/// `POST /users/{id}/authorizations`: the checked authorizations replace the user's.
pub async fn authorizations(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<Vec<(String, String)>>,
) -> Response {
    let s = &posted.signed;
    let (before, permit) = match access::user(&st, &s.principal, id, Op::ManageUsers).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let wanted = checked(&posted.form);
    match ops::users::set_authorizations(&st, s.caller(), &permit, before, &wanted).await {
        Ok(_) => done(id, "authorizations"),
        Err(e) => back(&st, s, id, &e).await,
    }
}

/// The confirmation a disable form carries.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    #[serde(default)]
    confirm: String,
}

/// `POST /users/{id}/disable` (its form asks to tick "yes" first).
pub async fn disable(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<Confirm>,
) -> Response {
    let s = &posted.signed;
    let (before, permit) = match access::user(&st, &s.principal, id, Op::ManageUsers).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    if posted.form.confirm != "on" {
        let e = OpError::invalid("tick the box to confirm that the user is to be disabled");
        return back(&st, s, id, &e).await;
    }
    match ops::users::disable(&st, s.caller(), &permit, before).await {
        Ok(_) => done(id, "disabled"),
        Err(e) => back(&st, s, id, &e).await,
    }
}

/// `POST /users/disable`: the users ticked in the list (`user=<id>`, several), once the
/// box "yes" is ticked too.
pub async fn disable_many(
    AxState(st): AxState<State>,
    posted: Posted<Vec<(String, String)>>,
) -> Response {
    let s = &posted.signed;
    let f = &posted.form;
    let p = &s.principal;
    if let Err(e) = access::scoped_permit(p, Op::ManageUsers, p.company_id, "users") {
        return render::op_error(&e);
    }
    let ids: Vec<&str> = f
        .iter()
        .filter(|(k, _)| k == "user")
        .map(|(_, v)| v.as_str())
        .collect();
    if ids.is_empty() {
        return refused_list(
            &st,
            s,
            render::op_status(&OpError::invalid("tick the users to disable")),
        )
        .await;
    }
    if field(f, "confirm") != "on" {
        return refused_list(
            &st,
            s,
            render::op_status(&OpError::invalid(
                "tick the box to confirm that the ticked users are to be disabled",
            )),
        )
        .await;
    }
    for raw in ids {
        let r = match raw.parse::<Id>() {
            Ok(id) => match access::user(&st, p, id, Op::ManageUsers).await {
                Ok((before, permit)) => {
                    let name = before.name.clone();
                    ops::users::disable(&st, s.caller(), &permit, before)
                        .await
                        .map_err(|e| (name, e))
                }
                Err(e) => Err((raw.to_string(), e)),
            },
            Err(_) => Err((raw.to_string(), OpError::NotFound("user"))),
        };
        if let Err((name, e)) = r {
            let (status, text) = render::op_status(&e);
            let text = format!("User {name} was not disabled (those ticked before it are): {text}");
            return refused_list(&st, s, (status, text)).await;
        }
    }
    Redirect::to("/users?done=disabled-many").into_response()
}

/// The user list again with a refusal above it.
async fn refused_list(st: &State, s: &Signed, shown: (StatusCode, String)) -> Response {
    match list_page(st, s, None, Some(shown.clone()), Vec::new()).await {
        Ok(r) => r,
        Err(_) => render::message(shown.0, &shown.1),
    }
}

/// The reset forms have no fields but their CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /users/{id}/password`: a new one-time password, shown once.
pub async fn reset_password(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    let (user, permit) = match access::user(&st, &s.principal, id, Op::ManageUsers).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    let setting = ops::signin::PasswordSetting {
        chosen: None,
        must_change: true,
    };
    match ops::signin::set_password(&st, s.caller(), &permit, &user, setting).await {
        Ok(pw) => once_password(
            s,
            user,
            "The password is reset and the user's portal sessions ended.".into(),
            pw.expose().to_string(),
        ),
        Err(e) => back(&st, s, id, &e).await,
    }
}

/// `POST /users/{id}/totp-reset`: removes the user's second factor (a lost phone).
pub async fn reset_totp(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<NoFields>,
) -> Response {
    let s = &posted.signed;
    let (user, permit) = match access::user(&st, &s.principal, id, Op::ManageUsers).await {
        Ok(x) => x,
        Err(e) => return render::op_error(&e),
    };
    match ops::second_factor::reset(&st, s.caller(), &permit, &user).await {
        Ok(()) => done(id, "totp-reset"),
        Err(e) => back(&st, s, id, &e).await,
    }
}
