//! The REST API of the domain mappings (CC-25): the page's operations
//! ([`crate::ops::domain_mappings`]) and permits (`ViewTrust`, `EditTrust`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{caller, ApiError, ApiUser, ErrorBody};
use super::domain_mappings_page::AddForm;
use super::roles::{self, Permit};
use super::state::Admin;
use crate::config::DomainMapping;

/// The routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(remove))
}

/// A mapping: a cookie `Domain` of `internal` reaches the client as `virtual`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mapping {
    #[serde(rename = "virtual")]
    virtual_domain: String,
    internal: String,
}

fn view(m: &DomainMapping) -> Mapping {
    Mapping {
        virtual_domain: m.virtual_domain.clone(),
        internal: m.internal_domain.clone(),
    }
}

/// Every mapping.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mappings {
    domain_mappings: Vec<Mapping>,
}

/// Every domain mapping.
#[utoipa::path(get, path = "/api/v1/domain-mappings", tag = "trust",
    responses((status = 200, body = Mappings)),
    extensions(("x-permit" = json!("ViewTrust"))))]
pub async fn list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewTrust)?;
    let list = crate::ops::domain_mappings::list(&st.shared).await?;
    let domain_mappings = list.iter().map(view).collect();
    Ok(Json(Mappings { domain_mappings }).into_response())
}

/// Adds a mapping, in force for new sessions.
#[utoipa::path(post, path = "/api/v1/domain-mappings", tag = "trust",
    request_body = AddForm,
    responses((status = 201, body = Mapping),
        (status = 400, body = ErrorBody, description = "a bad body"),
        (status = 422, body = ErrorBody, description = "refused (`refused`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn add(
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
    let m =
        crate::ops::domain_mappings::add(&st.shared, &caller(&a), &b.virtual_domain, &b.internal)
            .await?;
    Ok((StatusCode::CREATED, Json(view(&m))).into_response())
}

/// Removes the mapping of an internal domain.
#[utoipa::path(delete, path = "/api/v1/domain-mappings/{internal}", tag = "trust",
    params(("internal" = String, Path, description = "The mapping's internal domain")),
    responses((status = 200, body = Mapping),
        (status = 404, body = ErrorBody, description = "no such mapping (`unknown_domain_mapping`)")),
    extensions(("x-permit" = json!("EditTrust"))))]
pub async fn remove(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(internal): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditTrust)?;
    let m = crate::ops::domain_mappings::remove(&st.shared, &caller(&a), &internal).await?;
    Ok(Json(view(&m)).into_response())
}
