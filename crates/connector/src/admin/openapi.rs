//! The REST API's OpenAPI document, generated from the code that serves the API.
//!
//! Every API handler carries a `#[utoipa::path]` annotation (method, path, parameters, body
//! and answers, by the Rust types it reads and writes) and is routed only through
//! [`utoipa_axum::routes!`]: a route is served if and only if it is documented, under the same
//! path and method. The types' doc comments are the schemas' descriptions. Each operation's
//! `x-permit` names the [`Permit`](super::roles::Permit) its handler asks (`null`: none); the
//! e2e matrix test calls every operation of this document as every role and holds the code to
//! it. The answers every authenticated operation shares (401, 403, 429, 503 of the logon) are
//! added here once, from the extractor that gives them ([`ApiUser`](super::api::ApiUser)).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::state::Admin;

/// The document's frame: what no handler says.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis connector REST API",
        version = "1",
        description = "The connector's admin REST API on its admin listener ([admin] listen, \
            HTTPS). HTTP basic auth of a connector user, or an API token of one (Bearer, \
            `pcc_…`, made on the admin UI's API tokens page); a user whose password is still \
            an initial one gets 403 `password_change_required` until he changes it in the \
            admin UI. Errors are `{code, message}`. Generated from the code that serves it.\n\n\
            Each operation's `x-permit` names the permit it asks (null: none). Administrator \
            holds every permit; Display and Support the View… ones and OwnAccount; Monitoring \
            ViewStatus, ViewSecurity, ViewMonitoring, ViewSessions and OwnAccount. \
            OwnAccount's password change is also open to a user who must still change his \
            one-time password."
    ),
    servers((url = "/")),
    security(("basic" = []), ("token" = [])),
    components(schemas(super::api::ErrorBody)),
    modifiers(&Frame)
)]
struct Frame;

impl Modify for Frame {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token of a connector user (pcc_…); it acts as its user.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's routes (served) and their document (generated), from the same registrations.
pub fn api() -> (Router<Admin>, Document) {
    let (router, mut doc) = OpenApiRouter::with_openapi(Frame::openapi())
        .routes(routes!(serve_document))
        .merge(super::api::routes())
        .merge(super::api_users::routes())
        .merge(super::api_me::routes())
        .merge(super::api_trust::routes())
        .merge(super::api_domains::routes())
        .merge(super::api_monitoring::routes())
        .merge(super::api_audit::routes())
        .merge(super::api_access::routes())
        .merge(super::api_backup::routes())
        .split_for_parts();
    shared_answers(&mut doc);
    (router, doc)
}

/// This document (needs no credentials).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "connector",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")),
    extensions(("x-permit" = json!(null))))]
pub async fn serve_document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

/// The document as served, made once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        api()
            .1
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

fn error_answer(description: &str) -> RefOr<DocResponse> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build(),
    )
}

/// The answers of [`ApiUser`](super::api::ApiUser) and [`super::roles::permit`], on every
/// operation that asks a permit; an operation that asks none needs no credentials.
fn shared_answers(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let asks = op
                .extensions
                .as_ref()
                .and_then(|x| x.get("x-permit"))
                .is_some_and(|p| !p.is_null());
            if !asks {
                op.security = Some(vec![Default::default()]);
                continue;
            }
            let answers = &mut op.responses.responses;
            for (status, text) in [
                ("401", "no or wrong credentials (`unauthorized`)"),
                (
                    "403",
                    "the caller's role lacks the permit (`forbidden`), or his password is \
                     still an initial one (`password_change_required`)",
                ),
                (
                    "429",
                    "too many failed logons from this name or address (`too_many_failures`)",
                ),
                (
                    "503",
                    "the LDAP user store cannot be reached (`directory_unavailable`)",
                ),
            ] {
                answers
                    .entry(status.to_owned())
                    .or_insert_with(|| error_answer(text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_names_its_permit_and_documents_its_answers() {
        let doc: serde_json::Value = serde_json::from_str(document()).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() > 30, "the API's routes are documented");
        for (path, ops) in paths {
            assert!(path.starts_with("/api/v1/"), "{path}");
            for (method, op) in ops.as_object().expect("operations") {
                let permit = op.get("x-permit");
                assert!(
                    permit.is_some_and(|p| p.is_null() || p.is_string()),
                    "{method} {path} has no x-permit"
                );
                let answers = op["responses"].as_object().expect("responses");
                assert!(
                    answers.keys().any(|s| s.starts_with('2')),
                    "{method} {path} documents no success"
                );
                if permit.is_some_and(|p| p.is_string()) {
                    assert!(answers.contains_key("401"), "{method} {path}");
                }
            }
        }
    }
}
