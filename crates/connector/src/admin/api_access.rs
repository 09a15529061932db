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
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{caller, json_body, optional_json_body, ApiError, ApiUser, ErrorBody};
use super::roles::{self, Permit};
use super::state::Admin;
use crate::access_edit::ImportSummary;
use crate::ops::access_entry::{self, EntryEdited, EntryView, ResourceView};
use crate::ops::entry_text::{EntryFields, ResourceChange, ResourceFields};
use crate::reach::Reachability;

/// The API's access routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(export))
        .routes(routes!(import))
        .routes(routes!(check))
        .routes(routes!(read, update, remove))
        .routes(routes!(resources, add_resource))
        .routes(routes!(update_resource, remove_resource))
}

/// Every entry with its version and last reachability result.
#[derive(Debug, Serialize, ToSchema)]
struct Entries {
    entries: Vec<Listed>,
}

/// An entry of the list.
#[derive(Debug, Serialize, ToSchema)]
struct Listed {
    entry: EntryView,
    /// The last check's result (`null`: never checked since start).
    reachability: Option<Reachability>,
}

/// An entry's resources.
#[derive(Debug, Serialize, ToSchema)]
struct Resources {
    /// The entry's version (name it in a change).
    version: String,
    resources: Vec<ResourceView>,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
struct Imported {
    summary: ImportSummary,
}

/// The checks' results.
#[derive(Debug, Serialize, ToSchema)]
struct Checked {
    results: Vec<Reachability>,
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

/// Every entry with its version and last reachability result.
#[utoipa::path(get, path = "/api/v1/access", tag = "access",
    responses((status = 200, body = Entries)),
    extensions(("x-permit" = json!("ViewAccess"))))]
async fn list(State(st): State<Admin>, ApiUser(a): ApiUser) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let entries: Vec<_> = access_entry::list(&st.shared)
        .await?
        .into_iter()
        .map(|e| {
            let r = st.shared.reach.of(&e.name);
            Listed {
                entry: e,
                reachability: r,
            }
        })
        .collect();
    Ok(Json(Entries { entries }).into_response())
}

/// One entry, with its version (also as `ETag`).
#[utoipa::path(get, path = "/api/v1/access/{name}", tag = "access",
    params(("name" = String, Path, description = "The entry's name")),
    responses((status = 200, body = EntryView, headers(("ETag" = String, description = "the version"))),
        (status = 404, body = ErrorBody, description = "no such entry (`unknown_entry`)")),
    extensions(("x-permit" = json!("ViewAccess"))))]
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

/// Adds an entry (201).
#[utoipa::path(post, path = "/api/v1/access", tag = "access",
    request_body = EntryFields,
    responses((status = 201, body = EntryEdited),
        (status = 400, body = ErrorBody, description = "not JSON of these fields"),
        (status = 409, body = ErrorBody, description = "an entry has that name (`exists`)"),
        (status = 422, body = ErrorBody, description = "the entry is not valid (`refused`)")),
    extensions(("x-permit" = json!("EditAccess"))))]
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
#[derive(Debug, Deserialize, ToSchema)]
struct PutEntry {
    #[serde(flatten)]
    fields: EntryFields,
    /// The version the change was made from (as GET returns it); else `If-Match`.
    #[serde(default)]
    version: Option<String>,
}

/// Sets an entry's fields; the version it was read at guards against lost updates.
#[utoipa::path(put, path = "/api/v1/access/{name}", tag = "access",
    params(("name" = String, Path, description = "The entry's name")), request_body = PutEntry,
    responses((status = 200, body = EntryEdited),
        (status = 400, body = ErrorBody, description = "not JSON of these fields"),
        (status = 404, body = ErrorBody, description = "no such entry (`unknown_entry`)"),
        (status = 409, body = ErrorBody, description = "the entry changed since that version (`conflict`)"), (status = 428, body = ErrorBody, description = "no version named (`version_required`)"),
        (status = 422, body = ErrorBody, description = "the entry is not valid (`refused`)")),
    extensions(("x-permit" = json!("EditAccess"))))]
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
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version the removal was made from; else `If-Match`.
    version: Option<String>,
}

/// Removes an entry read at a version.
#[utoipa::path(delete, path = "/api/v1/access/{name}", tag = "access",
    params(("name" = String, Path, description = "The entry's name"), VersionQuery),
    responses((status = 200, body = EntryEdited),
        (status = 404, body = ErrorBody, description = "no such entry (`unknown_entry`)"),
        (status = 409, body = ErrorBody, description = "the entry changed since that version (`conflict`)"), (status = 428, body = ErrorBody, description = "no version named (`version_required`)")),
    extensions(("x-permit" = json!("EditAccess"))))]
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

/// An entry's HTTP resources.
#[utoipa::path(get, path = "/api/v1/access/{name}/resources", tag = "access",
    params(("name" = String, Path, description = "The entry's name")),
    responses((status = 200, body = Resources),
        (status = 404, body = ErrorBody, description = "no such entry (`unknown_entry`)")),
    extensions(("x-permit" = json!("ViewAccess"))))]
async fn resources(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let e = access_entry::get(&st.shared, &name).await?;
    Ok(Json(Resources {
        version: e.version,
        resources: e.resources,
    })
    .into_response())
}

/// A resource to add or set, with the entry's version.
#[derive(Debug, Deserialize, ToSchema)]
struct PutResource {
    #[serde(flatten)]
    fields: ResourceFields,
    /// The entry's version the change was made from; else `If-Match`.
    #[serde(default)]
    version: Option<String>,
}

/// Adds a resource to an entry.
#[utoipa::path(post, path = "/api/v1/access/{name}/resources", tag = "access",
    params(("name" = String, Path, description = "The entry's name")), request_body = PutResource,
    responses((status = 201, body = EntryEdited),
        (status = 400, body = ErrorBody, description = "not JSON of these fields"),
        (status = 404, body = ErrorBody, description = "no such entry (`unknown_entry`)"),
        (status = 409, body = ErrorBody, description = "the entry changed since that version (`conflict`)"), (status = 428, body = ErrorBody, description = "no version named (`version_required`)"),
        (status = 422, body = ErrorBody, description = "the resource is not valid (`refused`)")),
    extensions(("x-permit" = json!("EditAccess"))))]
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

/// Sets a resource of an entry.
#[utoipa::path(put, path = "/api/v1/access/{name}/resources/{index}", tag = "access",
    params(("name" = String, Path, description = "The entry's name"), ("index" = usize, Path, description = "The resource's position, 0-based, as GET …/resources lists it")), request_body = PutResource,
    responses((status = 200, body = EntryEdited),
        (status = 400, body = ErrorBody, description = "not JSON of these fields, or no index"),
        (status = 404, body = ErrorBody, description = "no such entry or resource"),
        (status = 409, body = ErrorBody, description = "the entry changed since that version (`conflict`)"), (status = 428, body = ErrorBody, description = "no version named (`version_required`)"),
        (status = 422, body = ErrorBody, description = "the resource is not valid (`refused`)")),
    extensions(("x-permit" = json!("EditAccess"))))]
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

/// Removes a resource of an entry.
#[utoipa::path(delete, path = "/api/v1/access/{name}/resources/{index}", tag = "access",
    params(("name" = String, Path, description = "The entry's name"), ("index" = usize, Path, description = "The resource's position, 0-based, as GET …/resources lists it"), VersionQuery),
    responses((status = 200, body = EntryEdited),
        (status = 400, body = ErrorBody, description = "no index"),
        (status = 404, body = ErrorBody, description = "no such entry or resource"),
        (status = 409, body = ErrorBody, description = "the entry changed since that version (`conflict`)"), (status = 428, body = ErrorBody, description = "no version named (`version_required`)")),
    extensions(("x-permit" = json!("EditAccess"))))]
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

/// The `[[access]]` tables as a TOML file.
#[utoipa::path(get, path = "/api/v1/access/export", tag = "access",
    responses((status = 200, description = "The `[[access]]` tables as a TOML file", content_type = "application/toml", body = String)),
    extensions(("x-permit" = json!("ViewAccess"))))]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    /// `[[access]]` tables, as export gives them.
    toml: String,
    /// Replace entries of the same name (else they are skipped).
    #[serde(default)]
    overwrite: bool,
}

/// Merges `[[access]]` tables by name.
#[utoipa::path(post, path = "/api/v1/access/import", tag = "access",
    request_body = ImportBody,
    responses((status = 200, body = Imported),
        (status = 400, body = ErrorBody, description = "not JSON of these fields"),
        (status = 422, body = ErrorBody, description = "the TOML is not an access list (`refused`)")),
    extensions(("x-permit" = json!("EditAccess"))))]
async fn import(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::EditAccess)?;
    let b: ImportBody = json_body(&body)?;
    let done = crate::ops::access::import_as(&st.shared, &caller(&a), &b.toml, b.overwrite).await?;
    Ok(Json(Imported {
        summary: done.summary,
    })
    .into_response())
}

/// The optional body of a check.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    /// Only this entry (else every one).
    #[serde(default)]
    entry: Option<String>,
}

/// Checks every entry's back end (or `entry`'s).
#[utoipa::path(post, path = "/api/v1/access/check", tag = "access",
    request_body(content = Option<CheckBody>, description = "Optional; may be empty"),
    responses((status = 200, body = Checked),
        (status = 400, body = ErrorBody, description = "not JSON of these fields"),
        (status = 404, body = ErrorBody, description = "no such entry (`unknown_entry`)")),
    extensions(("x-permit" = json!("ViewAccess"))))]
async fn check(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::ViewAccess)?;
    let b: CheckBody = optional_json_body(&body)?;
    let results = crate::ops::check(&st.shared, b.entry.as_deref()).await?;
    Ok(Json(Checked { results }).into_response())
}
