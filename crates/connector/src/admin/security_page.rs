//! The security status page (`/security`, CC-16) and what the admin layer adds to it: the
//! facts only the admin UI knows (its users, its certificate, its address), handed to the one
//! operation that judges them ([`crate::ops::security::status`]).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::Signed;
use super::state::Admin;
use super::users::INITIAL_USER;
use crate::ops::security::{Check, State as CheckState, UiFacts};

/// The security page's route.
pub fn routes() -> Router<Admin> {
    Router::new().route("/security", get(page))
}

/// The users' part: whether `Administrator` still has the initial password (its one-time
/// file is there and he must change it) and who else has a one-time password to change.
pub async fn user_facts(
    dir: &crate::data_dir::ConnectorDataDir,
    store: &super::users::UserStore,
) -> (bool, Vec<String>) {
    let users = store.list().await;
    let initial = dir.initial_password().exists()
        && users
            .iter()
            .any(|u| u.name == INITIAL_USER && u.must_change);
    let others = users
        .iter()
        .filter(|u| u.must_change && !u.disabled && !(initial && u.name == INITIAL_USER))
        .map(|u| u.name.clone())
        .collect();
    (initial, others)
}

/// What the admin UI knows that the security status needs.
pub async fn facts(st: &Admin) -> UiFacts {
    let (initial, one_time_passwords) = user_facts(&st.ui.dir, &st.users).await;
    let cert = super::ui_cert::current(st);
    UiFacts {
        initial_password_unchanged: initial,
        one_time_passwords,
        ui_cert_self_signed: cert.as_ref().is_some_and(|c| c.self_signed),
        ui_cert_not_after: cert.and_then(|c| {
            time::OffsetDateTime::parse(
                &c.not_after,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
        }),
        listen: Some(st.ui.listen),
        ldap_in_clear: st.directory.as_ref().and_then(|d| d.in_clear()),
    }
}

/// The security status now.
pub async fn status(st: &Admin) -> Vec<Check> {
    crate::ops::security::status(&st.shared, &facts(st).await).await
}

#[derive(Template)]
#[template(path = "admin/security.html")]
struct SecurityPage {
    chrome: Chrome,
    checks: Vec<Check>,
    warnings: usize,
}

impl SecurityPage {
    fn warning(&self, c: &Check) -> bool {
        c.state == CheckState::Warning
    }
}

/// `GET /security`.
pub async fn page(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewSecurity) {
        return super::pages::denied(&s, &e);
    }
    let checks = status(&st).await;
    let warnings = checks
        .iter()
        .filter(|c| c.state == CheckState::Warning)
        .count();
    render::page(
        StatusCode::OK,
        &SecurityPage {
            chrome: s.chrome("security"),
            checks,
            warnings,
        },
    )
}

#[cfg(test)]
mod tests {
    use portcullis_domain::secret::Secret;

    use super::super::roles::Role;
    use super::super::users::UserStore;
    use super::*;
    use crate::data_dir::ConnectorDataDir;

    #[tokio::test]
    async fn the_initial_password_is_named_until_it_is_changed_and_one_time_ones_too() {
        let d = tempfile::tempdir().unwrap();
        let dir = ConnectorDataDir::new(d.path());
        let store = UserStore::open(&dir).unwrap();
        assert_eq!(user_facts(&dir, &store).await, (true, vec![]));
        let initial = std::fs::read_to_string(dir.initial_password()).unwrap();
        let new = || Secret::new("Granite-Harbour-2026".to_owned());
        store
            .change_password(
                INITIAL_USER,
                Secret::new(initial.trim().to_owned()),
                new(),
                new(),
            )
            .await
            .unwrap();
        assert_eq!(user_facts(&dir, &store).await, (false, vec![]));
        let once = store.create("sam", Role::Display).await.unwrap();
        assert_eq!(user_facts(&dir, &store).await, (false, vec!["sam".into()]));
        store
            .change_password("sam", once, new(), new())
            .await
            .unwrap();
        assert_eq!(user_facts(&dir, &store).await, (false, vec![]));
    }
}
