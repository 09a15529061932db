//! The access-control part of the REST API (CC-18..21, CC-23, CC-24, CC-57): the entries,
//! their resources, export, import and reachability checks, on the operations the pages and
//! the socket call (`crate::ops::access_entry`, `crate::ops::access`, `crate::ops::check`).
//!
//! Reading needs [`Permit::ViewAccess`] (Administrator, Display, Support), changing needs
//! [`Permit::EditAccess`] (Administrator). A change names the version of the entry it was
//! made from (`version` in the body, or `If-Match`; `?version=` for DELETE): a stale one is
//! answered 409 `conflict`, a missing one 428 `version_required`. A resource is addressed by
//! its position (`index`, 0-based, as `GET …/resources` lists it); the entry's version guards
//! against the list having moved meanwhile.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::api::{ApiError, ApiUser};
use super::roles::{self, Permit};
use super::state::Admin;
use crate::ops::access_entry;
use crate::ops::entry_text::{EntryFields, ResourceChange, ResourceFields};
use crate::shared::LocalCaller;

/// The API's access routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/api/v1/access", get(list).post(add))
        .route("/api/v1/access/export", get(export))
        .route("/api/v1/access/import", post(import))
        .route("/api/v1/access/check", post(check))
        .route(
            "/api/v1/access/{name}",
            get(read).put(update).delete(remove),
        )
        .route(
            "/api/v1/access/{name}/resources",
            get(resources).post(add_resource),
        )
        .route(
            "/api/v1/access/{name}/resources/{index}",
            put(update_resource).delete(remove_resource),
        )
}

fn caller(a: &roles::Actor) -> LocalCaller {
    LocalCaller {
        by: a.name.clone(),
        via: "api",
        uid: None,
        pid: None,
    }
}

fn bad_body(e: impl std::fmt::Display) -> ApiError {
    ApiError(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!("the body: {e}"),
    )
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(bad_body)
}

/// The version a change was made from: the body's, else `If-Match` (quotes dropped).
fn version(given: Option<String>, headers: &HeaderMap) -> Result<String, ApiError> {
    given
        .or_else(|| {
            headers
                .get(header::IF_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    v.trim()
                        .trim_start_matches("W/")
                        .trim_matches('"')
                        .to_owned()
                })
        })
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            ApiError(
                StatusCode::PRECONDITION_REQUIRED,
                "version_required",
                "name the version of the entry you change (`version` as GET returns it, or \
                 If-Match)"
                    .into(),
            )
        })
}

/// `GET /api/v1/access`: every entry with its version and last reachability result.
async fn list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let entries: Vec<_> = access_entry::list(&st.shared)
        .await?
        .into_iter()
        .map(|e| {
            let r = st.shared.reach.of(&e.name);
            json!({ "entry": e, "reachability": r })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })).into_response())
}

/// `GET /api/v1/access/{name}`.
async fn read(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let e = access_entry::get(&st.shared, &name).await?;
    let etag = format!("\"{}\"", e.version);
    let mut r = Json(e).into_response();
    if let Ok(v) = etag.parse() {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

/// `POST /api/v1/access`: adds an entry (201).
async fn add(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let f: EntryFields = json_body(&body)?;
    let done = access_entry::add(&st.shared, &caller(&a), &f).await?;
    Ok((StatusCode::CREATED, Json(done)).into_response())
}

/// A PUT of an entry: its fields and the version they were read at.
#[derive(Debug, Deserialize)]
struct PutEntry {
    #[serde(flatten)]
    fields: EntryFields,
    #[serde(default)]
    version: Option<String>,
}

/// `PUT /api/v1/access/{name}`.
async fn update(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let b: PutEntry = json_body(&body)?;
    let v = version(b.version, &headers)?;
    let done = access_entry::update(&st.shared, &caller(&a), &name, &v, &b.fields).await?;
    Ok(Json(done).into_response())
}

/// `?version=` of a DELETE.
#[derive(Debug, Deserialize)]
struct VersionQuery {
    version: Option<String>,
}

/// `DELETE /api/v1/access/{name}?version=…`.
async fn remove(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
    Query(q): Query<VersionQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let v = version(q.version, &headers)?;
    let done = access_entry::remove(&st.shared, &caller(&a), &name, &v).await?;
    Ok(Json(done).into_response())
}

/// `GET /api/v1/access/{name}/resources`.
async fn resources(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let e = access_entry::get(&st.shared, &name).await?;
    Ok(Json(json!({ "version": e.version, "resources": e.resources })).into_response())
}

/// A resource to add or set, with the entry's version.
#[derive(Debug, Deserialize)]
struct PutResource {
    #[serde(flatten)]
    fields: ResourceFields,
    #[serde(default)]
    version: Option<String>,
}

/// `POST /api/v1/access/{name}/resources` (201).
async fn add_resource(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let b: PutResource = json_body(&body)?;
    let v = version(b.version, &headers)?;
    let change = ResourceChange::Add(b.fields);
    let done = access_entry::resources(&st.shared, &caller(&a), &name, &v, &change).await?;
    Ok((StatusCode::CREATED, Json(done)).into_response())
}

/// A resource's `{index}` (0-based position), read after the permit check so that a caller
/// without the permit learns nothing, and refused as JSON like every API error.
fn resource_index(s: &str) -> Result<usize, ApiError> {
    s.parse().map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{s:?} is no resource index (0, 1, …)"),
        )
    })
}

/// `PUT /api/v1/access/{name}/resources/{index}`.
async fn update_resource(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path((name, index)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let index = resource_index(&index)?;
    let b: PutResource = json_body(&body)?;
    let v = version(b.version, &headers)?;
    let change = ResourceChange::Replace(index, b.fields);
    let done = access_entry::resources(&st.shared, &caller(&a), &name, &v, &change).await?;
    Ok(Json(done).into_response())
}

/// `DELETE /api/v1/access/{name}/resources/{index}?version=…`.
async fn remove_resource(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path((name, index)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let index = resource_index(&index)?;
    let v = version(q.version, &headers)?;
    let change = ResourceChange::Remove(index);
    let done = access_entry::resources(&st.shared, &caller(&a), &name, &v, &change).await?;
    Ok(Json(done).into_response())
}

/// `GET /api/v1/access/export`: the `[[access]]` tables as a TOML file.
async fn export(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let toml = crate::ops::access::export(&st.shared).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/toml; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"access.toml\"",
            ),
        ],
        toml,
    )
        .into_response())
}

/// The body of an import.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    toml: String,
    #[serde(default)]
    overwrite: bool,
}

/// `POST /api/v1/access/import`: merges `[[access]]` tables by name.
async fn import(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let b: ImportBody = json_body(&body)?;
    let done = crate::ops::access::import_as(&st.shared, &caller(&a), &b.toml, b.overwrite).await?;
    Ok(Json(json!({ "summary": done.summary })).into_response())
}

/// The optional body of a check.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    #[serde(default)]
    entry: Option<String>,
}

/// `POST /api/v1/access/check`: checks every entry's back end (or `entry`'s).
async fn check(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let b: CheckBody = if body.iter().all(u8::is_ascii_whitespace) {
        CheckBody::default()
    } else {
        json_body(&body)?
    };
    let results = crate::ops::check(&st.shared, b.entry.as_deref()).await?;
    Ok(Json(json!({ "results": results })).into_response())
}
