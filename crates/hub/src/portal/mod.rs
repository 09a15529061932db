//! The portal: the hub's web application, served on the API listener beside `/api/v1`.
//!
//! Server-rendered HTML (askama templates under `crates/hub/templates/portal/`) that works
//! without JavaScript; every asset is embedded in the binary and served from `/assets/`. Pages
//! only parse, call the same operations as the REST API ([`crate::ops`]) and render: no rule
//! lives here.
//!
//! Every response carries a strict Content-Security-Policy (no inline script or style, nothing
//! from another origin), `frame-ancestors 'none'`, `nosniff`, no referrer, and pages are not
//! cached. A browser is signed in by its `__Host-` cookie ([`session`]); every form that
//! changes something carries a CSRF token bound to that cookie.
//!
//! # Layout
//! - this file: the router, the security headers, the embedded assets.
//! - [`session`]: the signed-in browser ([`session::Signed`]), cookies, CSRF
//!   ([`session::Posted`]).
//! - [`windows`]: the company's open and reserved windows, closed or extended in bulk.
//! - [`companies`]: a vendor admin's companies: create, hand over to a first admin.
//! - [`live`]: the company's live sessions, with a cut button.
//! - [`render`]: turning templates and operation errors into responses.
//! - [`signin`]: sign-in, the forced password change, sign-out.
//! - [`oidc`]: sign-in through the company's identity provider (OpenID Connect), and its
//!   settings page.
//! - [`second_factor`]: the code step of a sign-in; the account page (two-factor sign-in on
//!   and off, a company's requirement).
//! - [`tokens`]: the user's own tokens, route passwords and signed-in browsers.
//! - [`home`]: the home page: a customer's open-connection KPI, a vendor admin's companies,
//!   a support engineer's connections he can reach now and those he may open for himself
//!   (with the forms that open and close them).
//! - [`reach`]: the support engineer's side: how to connect to what he reaches, a route
//!   password, a one-time browser link.
//! - [`system_admin`]: a new system, its data, deleting it; setting up and deleting its
//!   service connections.
//! - [`system_list`]: the systems list (filter syntax, groups, pages, favourites, its CSV).
//! - [`systems`]: a system's page, opening, reserving, editing and closing windows.
//! - [`audit`]: a system's log book, the audit list, its CSV download, the JSON Lines export
//!   and the chain check.
//! - [`users`]: a company's users (vendor users for a vendor admin): create with a one-time
//!   password, authorizations, disable, password and second-factor resets; a technical
//!   user's standing grants and API tokens.
//! - [`technical`]: a technical user's standing grants and API tokens.
//! - [`connectors`]: a company's connectors: status, create with the enrolment command, a new
//!   enrolment token, revoke.
//! - [`form`]: reading form fields (UTC times, hours, names).
//! - [`csv`]: the downloads' CSV (quoting, formula cells defused).

pub mod audit;
pub mod companies;
pub mod connectors;
pub mod csv;
pub mod form;
pub mod home;
pub mod live;
pub mod oidc;
pub mod reach;
pub mod render;
pub mod second_factor;
pub mod session;
pub mod signin;
pub mod system_admin;
pub mod system_list;
pub mod systems;
pub mod technical;
pub mod tokens;
pub mod users;
pub mod windows;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::state::State;

/// The Content-Security-Policy of every portal response (shared with the connector's UI).
pub use portcullis_webui::headers::CSP;

/// The portal's routes (mounted at `/` by the API router).
pub fn routes() -> Router<State> {
    Router::new()
        .route("/", get(home::page))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signout", post(signin::sign_out))
        .route(
            "/password",
            get(signin::password_form).post(signin::password_submit),
        )
        .route("/signin/sso", get(oidc::form))
        .route("/signin/sso/{company}", get(oidc::start))
        .route(crate::signin::oidc::CALLBACK_PATH, get(oidc::callback))
        .route(
            "/company/sign-in",
            get(oidc::settings_form).post(oidc::save),
        )
        .route("/company/sign-in/remove", post(oidc::remove))
        .route(
            "/signin/code",
            get(signin::code_form).post(signin::code_submit),
        )
        .route("/account", get(second_factor::account))
        .route(
            "/account/totp",
            get(second_factor::totp_form).post(second_factor::totp_enable),
        )
        .route("/account/totp/off", post(second_factor::totp_disable))
        .route("/account/tokens", get(tokens::list).post(tokens::create))
        .route("/account/tokens/{id}/revoke", post(tokens::revoke))
        .route(
            "/account/company-totp",
            post(second_factor::company_requirement),
        )
        .route("/systems", get(system_list::list))
        .route(
            "/systems/new",
            get(system_admin::new_form).post(system_admin::create),
        )
        .route("/systems.csv", get(system_list::csv))
        .route("/systems/{id}/favourite", post(system_list::favourite))
        .route("/systems/{id}", get(systems::page))
        .route(
            "/systems/{id}/edit",
            get(system_admin::edit_form).post(system_admin::update),
        )
        .route("/systems/{id}/delete", post(system_admin::delete))
        .route(
            "/systems/{id}/service-connections",
            post(system_admin::set_up_service),
        )
        .route(
            "/service-connections/{id}/delete",
            post(system_admin::delete_service),
        )
        .route("/service-connections/{id}/open", post(systems::open_window))
        .route(
            "/service-connections/{id}/reserve",
            post(systems::reserve_window),
        )
        .route("/windows/{id}/edit", post(systems::edit_window))
        .route("/windows/{id}/close", post(systems::close_window))
        .route("/systems/{id}/logbook", get(audit::logbook))
        .route("/audit", get(audit::list))
        .route("/audit.csv", get(audit::csv))
        .route("/audit/export.jsonl", get(audit::export))
        .route("/audit/verify", post(audit::verify))
        .route("/route-password", post(reach::route_password))
        .route("/service-connections/{id}/web-link", post(reach::web_link))
        .route(
            "/service-connections/{id}/open-independently",
            post(home::open_independently),
        )
        .route("/windows/{id}/close-own", post(home::close_own))
        .route("/users", get(users::list).post(users::create))
        .route("/users/disable", post(users::disable_many))
        .route("/users/{id}", get(users::page))
        .route("/users/{id}/authorizations", post(users::authorizations))
        .route("/users/{id}/disable", post(users::disable))
        .route("/users/{id}/password", post(users::reset_password))
        .route("/users/{id}/totp-reset", post(users::reset_totp))
        .route("/users/{id}/grants", post(technical::create_grant))
        .route("/users/{id}/tokens", post(technical::issue_token))
        .route("/grants/{id}/revoke", post(technical::revoke_grant))
        .route("/tokens/{id}/revoke", post(technical::revoke_token))
        .route(
            "/connectors",
            get(connectors::list).post(connectors::create),
        )
        .route("/connectors/{id}/token", post(connectors::new_token))
        .route("/connectors/{id}/revoke", post(connectors::revoke))
        .route("/companies", get(companies::list).post(companies::create))
        .route("/companies/{id}/hand-over", post(companies::hand_over))
        .route("/windows", get(windows::list))
        .route("/windows/bulk", post(windows::bulk))
        .route("/sessions", get(live::list))
        .route("/sessions/{id}/cut", post(live::cut))
        .route("/assets/{file}", get(asset))
        .layer(axum::middleware::from_fn(
            portcullis_webui::headers::security_headers,
        ))
}

/// Whether `path` belongs to the portal (everything but the API).
pub fn owns(path: &str) -> bool {
    !(path == "/api" || path.starts_with("/api/"))
}

/// Adds the portal's security headers to `r` (`portcullis_webui::headers`). A page that set
/// its own Content-Security-Policy keeps it: the engineer's home, whose browser-link forms
/// lead to the web entry's origins ([`reach::csp_with_web`]).
fn harden(r: &mut Response) {
    portcullis_webui::headers::harden(r);
}

/// The embedded assets (`portcullis_webui::assets`: htmx, the stylesheet, the script, the
/// logo).
async fn asset(Path(file): Path<String>) -> Response {
    portcullis_webui::assets::serve(&file).unwrap_or_else(render::not_found)
}

/// The portal's answer for a path it does not know.
pub async fn fallback() -> Response {
    let mut r = render::not_found();
    *r.status_mut() = StatusCode::NOT_FOUND;
    harden(&mut r);
    r
}
