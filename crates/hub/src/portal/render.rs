//! Turning templates and refusals into responses.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::ops::OpError;

/// What the page layout needs to know about who is signed in.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The user's login name; empty on pages without a session.
    pub user: String,
    /// The user's role, as people read it.
    pub role: String,
    /// The CSRF token of the sign-out form.
    pub csrf: String,
    /// Which navigation entry is current (`home`, `systems`, `audit`, `users`, `connectors`).
    pub current: &'static str,
    /// Whether the user belongs to a customer company (the customer side's navigation).
    pub customer: bool,
    /// Whether the user may read audit events (the "Audit" entry).
    pub audit: bool,
    /// Whether the user manages the users of his company, or the vendor users (the "Users"
    /// entry).
    pub users: bool,
    /// Whether the user manages his company's connectors (the "Connectors" entry).
    pub connectors: bool,
}

impl Chrome {
    /// The hub's version, for the footer.
    pub fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

/// A role as people read it.
pub fn role_label(r: portcullis_store::Role) -> &'static str {
    use portcullis_store::Role::*;
    match r {
        VendorAdmin => "Vendor administrator",
        SupportEngineer => "Support engineer",
        Auditor => "Auditor",
        CompanyAdmin => "Super administrator",
        CompanyUser => "User",
        Technical => "Technical user",
    }
}

/// Renders a template as an HTML page with `status`.
pub fn page(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "portal template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The page could not be shown.",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage<'a> {
    chrome: Chrome,
    title: &'a str,
    text: &'a str,
}

/// A page that says one thing, with `status`.
pub fn message(status: StatusCode, text: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        status,
        &MessagePage {
            chrome: Chrome::default(),
            title,
            text,
        },
    )
}

/// The page for a path the portal does not know.
pub fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "There is no such page. It may have been removed, or you may not see it.",
    )
}

/// The status and the sentence a refused operation shows.
pub fn op_status(e: &OpError) -> (StatusCode, String) {
    match e {
        OpError::NotFound(what) => (StatusCode::NOT_FOUND, format!("The {what} was not found.")),
        OpError::Forbidden { message, .. } => (StatusCode::FORBIDDEN, sentence(message)),
        OpError::Unprocessable { message, .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, sentence(message))
        }
        OpError::Invalid { message, .. } => (StatusCode::BAD_REQUEST, sentence(message)),
        OpError::Conflict(m) => (StatusCode::CONFLICT, sentence(m)),
        OpError::Internal(what) => {
            tracing::error!(what, "portal: internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on the hub; the administrator finds it in its log.".into(),
            )
        }
        OpError::Store(e) => {
            tracing::error!(error = %e, "portal: store error");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The hub could not read or write its database; nothing was changed. Try again \
                 in a moment."
                    .into(),
            )
        }
    }
}

/// A message of an operation (written for the API, in lower case, without a full stop) as a
/// sentence on a page.
pub fn sentence(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(s.chars().skip(1))
        .collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A refused operation as a page.
pub fn op_error(e: &OpError) -> Response {
    let (status, text) = op_status(e);
    message(status, &text)
}

/// Formats a time for people: `2026-12-07 15:04 UTC` (the connector's UI shows the same).
pub use portcullis_webui::time_text::when;
