//! The domain mappings page (`/domain-mappings`, CC-25; its REST API is `api_domains`): the
//! `[[domain_mapping]]`s (a `Set-Cookie` `Domain` of the internal domain reaches the client for
//! the virtual one), added and removed through [`crate::ops::domain_mappings`]; in force for
//! new sessions without a restart. The permits are the trust store's (`ViewTrust`,
//! `EditTrust`): both are settings of how the connector meets its back ends.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::config::DomainMapping;

/// The page's routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/domain-mappings", get(page))
        .route("/domain-mappings/add", post(add))
        .route("/domain-mappings/remove", post(remove))
}

#[derive(Template)]
#[template(path = "admin/domain_mappings.html")]
struct MappingsPage {
    chrome: Chrome,
    edit: bool,
    mappings: Vec<DomainMapping>,
    notice: Option<String>,
    error: Option<String>,
}

async fn show(
    st: &Admin,
    s: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let chrome = s.chrome("domain-mappings");
    match crate::ops::domain_mappings::list(&st.shared).await {
        Ok(mappings) => render::page(
            status,
            &MappingsPage {
                chrome,
                edit: roles::may(&s.actor, Permit::EditTrust),
                mappings,
                notice,
                error,
            },
        ),
        Err(e) => render::message_for(
            chrome,
            StatusCode::INTERNAL_SERVER_ERROR,
            &super::pages::sentence(&e.to_string()),
        ),
    }
}

/// `GET /domain-mappings`.
pub async fn page(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewTrust) {
        return super::pages::denied(&s, &e);
    }
    show(&st, &s, StatusCode::OK, None, None).await
}

/// The add form (and the API's body).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddForm {
    /// The domain the client sees, e.g. `sap.example.virtual`.
    #[serde(default, rename = "virtual")]
    pub(super) virtual_domain: String,
    /// The back ends' own domain, e.g. `corp.internal`.
    #[serde(default)]
    pub(super) internal: String,
}

/// The page's add form, with its CSRF field.
#[derive(Debug, Deserialize)]
pub struct AddPage {
    #[serde(default, rename = "virtual")]
    virtual_domain: String,
    #[serde(default)]
    internal: String,
}

/// `POST /domain-mappings/add`.
pub async fn add(State(st): State<Admin>, p: Posted<AddPage>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    let r = crate::ops::domain_mappings::add(
        &st.shared,
        &s.caller(),
        &p.form.virtual_domain,
        &p.form.internal,
    )
    .await;
    match r {
        Ok(m) => {
            let n = format!(
                "Cookies for {} now reach clients for {} (new sessions).",
                m.internal_domain, m.virtual_domain
            );
            show(&st, &s, StatusCode::OK, Some(n), None).await
        }
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            let text = super::pages::sentence(&e.to_string());
            show(&st, &s, status, None, Some(text)).await
        }
    }
}

/// The remove form.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    internal: String,
}

/// `POST /domain-mappings/remove`.
pub async fn remove(State(st): State<Admin>, p: Posted<RemoveForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditTrust) {
        return super::pages::denied(&s, &e);
    }
    match crate::ops::domain_mappings::remove(&st.shared, &s.caller(), &p.form.internal).await {
        Ok(m) => {
            let n = format!("Removed the mapping of {}.", m.internal_domain);
            show(&st, &s, StatusCode::OK, Some(n), None).await
        }
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            let text = super::pages::sentence(&e.to_string());
            show(&st, &s, status, None, Some(text)).await
        }
    }
}
