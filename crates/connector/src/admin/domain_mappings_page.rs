//! The domain mappings page (`/domain-mappings`, CC-25) and its REST API: the
//! `[[domain_mapping]]`s (a `Set-Cookie` `Domain` of the internal domain reaches the client for
//! the virtual one), added and removed through [`crate::ops::domain_mappings`]; in force for
//! new sessions without a restart. The permits are the trust store's (`ViewTrust`,
//! `EditTrust`): both are settings of how the connector meets its back ends.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::api::{ApiError, ApiUser};
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::config::DomainMapping;
use crate::shared::LocalCaller;

/// The page's and the API's routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/domain-mappings", get(page))
        .route("/domain-mappings/add", post(add))
        .route("/domain-mappings/remove", post(remove))
        .route("/api/v1/domain-mappings", get(api_list).post(api_add))
        .route("/api/v1/domain-mappings/{internal}", delete(api_remove))
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddForm {
    #[serde(default, rename = "virtual")]
    virtual_domain: String,
    #[serde(default)]
    internal: String,
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

fn api_caller(a: &roles::Actor) -> LocalCaller {
    LocalCaller {
        by: a.name.clone(),
        via: "api",
        uid: None,
        pid: None,
    }
}

fn view(m: &DomainMapping) -> serde_json::Value {
    json!({ "virtual": m.virtual_domain, "internal": m.internal_domain })
}

/// `GET /api/v1/domain-mappings`.
pub async fn api_list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    let list = crate::ops::domain_mappings::list(&st.shared).await?;
    let v: Vec<_> = list.iter().map(view).collect();
    Ok(Json(json!({ "domain_mappings": v })).into_response())
}

/// `POST /api/v1/domain-mappings` `{"virtual","internal"}`: 201.
pub async fn api_add(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let b: AddForm = serde_json::from_slice(&b).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body: {e}"),
        )
    })?;
    let m = crate::ops::domain_mappings::add(
        &st.shared,
        &api_caller(&a),
        &b.virtual_domain,
        &b.internal,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&m))).into_response())
}

/// `DELETE /api/v1/domain-mappings/{internal}`.
pub async fn api_remove(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(internal): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let m = crate::ops::domain_mappings::remove(&st.shared, &api_caller(&a), &internal).await?;
    Ok(Json(view(&m)).into_response())
}
