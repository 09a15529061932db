//! Turning templates into pages, and the page that says one thing.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// What the layout needs to know about who is signed in.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The user's name; empty on pages without a session.
    pub user: String,
    /// The user's role.
    pub role: &'static str,
    /// The CSRF token of the sign-out form.
    pub csrf: String,
    /// The navigation entry shown as current (`hub`, `windows`).
    pub current: &'static str,
    /// Whether the user sees the windows (the "Windows" entry).
    pub windows: bool,
    /// Whether the user manages the users (the "Users" entry).
    pub users: bool,
    /// Whether the user sees the certificates (the "Trust store", "System certificate" and
    /// "UI certificate" entries).
    pub trust: bool,
    /// Whether the user sees the security status (the "Security" entry).
    pub security: bool,
    /// Whether the user sees the monitoring (the "Monitoring" entry).
    pub monitoring: bool,
    /// Whether the user sees the live sessions (the "Sessions" entry).
    pub sessions: bool,
    /// Whether the user reads the audit log (the "Audit" entry).
    pub audit: bool,
    /// Whether the user sees the access control list (the "Access control" entry).
    pub access: bool,
    /// Whether the user makes backups (the "Backup" entry).
    pub backup: bool,
}

impl Chrome {
    /// The section of the main navigation the current page belongs to: pages are grouped as
    /// in SAP's Cloud Connector (the connector, access to the internal systems, monitoring,
    /// audit, security, configuration), so the header lists seven entries, not fifteen, and
    /// the section's pages are tabs below it.
    pub fn section(&self) -> &'static str {
        match self.current {
            "hub" | "windows" => "connector",
            "access" | "domain-mappings" | "trust" | "system-certificate" => "access",
            "sessions" => "monitoring",
            c if c.starts_with("monitoring") => "monitoring",
            c if c.starts_with("audit") => "audit",
            "security" => "security",
            "users" | "logon-text" | "ui-certificate" | "backup" => "configuration",
            _ => "",
        }
    }

    /// Where the section `access` starts for this user.
    pub fn access_home(&self) -> &'static str {
        if self.access {
            "/access"
        } else {
            "/trust"
        }
    }

    /// Where the section `configuration` starts for this user.
    pub fn configuration_home(&self) -> &'static str {
        if self.users {
            "/users"
        } else {
            "/settings/ui-certificate"
        }
    }

    /// The connector's version, for the footer.
    pub fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

/// An RFC 3339 time as the pages show it: `2026-12-07 19:46 UTC`, as the portal does.
pub use portcullis_webui::time_text::when_text as when;

/// Renders `t` with `status`.
pub fn page(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "admin UI template failed");
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
#[template(path = "admin/message.html")]
struct MessagePage<'a> {
    chrome: Chrome,
    title: &'a str,
    text: &'a str,
}

/// A page that says one thing, with `status`.
pub fn message(status: StatusCode, text: &str) -> Response {
    message_for(Chrome::default(), status, text)
}

/// [`message`] inside a signed-in user's chrome.
pub fn message_for(chrome: Chrome, status: StatusCode, text: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        status,
        &MessagePage {
            chrome,
            title,
            text,
        },
    )
}

/// The page for a path the admin UI does not know.
pub fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "There is no such page.")
}

/// `s` as one segment of a URL path or a query value: unreserved bytes as they are, every
/// other byte percent-encoded (RFC 3986 §2.3).
pub fn url_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
