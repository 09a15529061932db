//! The settings page of the logon-screen text (`/settings/logon-text`, Administrators): the
//! text as typed, and as it is shown ([`super::logon_text`]).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::audit::{AuditAction, AuditEvent};

#[derive(Template)]
#[template(path = "admin/logon_text.html")]
struct LogonTextPage {
    chrome: Chrome,
    raw: String,
    preview: String,
    max: usize,
    notice: Option<&'static str>,
    error: Option<String>,
}

fn page(
    st: &Admin,
    s: &Signed,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &LogonTextPage {
            chrome: s.chrome("logon-text"),
            raw: st.logon_text.raw(),
            preview: st.logon_text.html(),
            max: portcullis_webui::sanitize::MAX_LEN,
            notice,
            error,
        },
    )
}

/// `GET /settings/logon-text`.
pub async fn form(State(st): State<Admin>, s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::EditSettings) {
        return super::pages::denied(&s, &e);
    }
    page(&st, &s, StatusCode::OK, None, None)
}

/// The form's field.
#[derive(Debug, Deserialize)]
pub struct TextForm {
    #[serde(default)]
    text: String,
}

/// `POST /settings/logon-text`.
pub async fn save(State(st): State<Admin>, p: Posted<TextForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditSettings) {
        return super::pages::denied(&s, &e);
    }
    if p.form.text.len() > portcullis_webui::sanitize::MAX_LEN {
        let e = format!(
            "The text may have at most {} bytes.",
            portcullis_webui::sanitize::MAX_LEN
        );
        return page(&st, &s, StatusCode::BAD_REQUEST, None, Some(e));
    }
    if let Err(e) = st.logon_text.set(&p.form.text) {
        tracing::error!(error = %e, "admin UI: saving the logon text failed");
        let text = "The text could not be saved; see the connector's log.".to_owned();
        return page(&st, &s, StatusCode::INTERNAL_SERVER_ERROR, None, Some(text));
    }
    st.audit_logon_text(&s.actor.name, "ui", &p.form.text);
    page(
        &st,
        &s,
        StatusCode::OK,
        Some("The logon text is saved."),
        None,
    )
}

impl Admin {
    /// Records a change of the logon text (`admin.settings`, outcome `logon_text`).
    pub(super) fn audit_logon_text(&self, by: &str, via: &str, text: &str) {
        let mut ev = AuditEvent::new(
            AuditAction::AdminSettings,
            "logon_text",
            serde_json::json!({ "by": by, "via": via, "bytes": text.trim().len() }),
        );
        ev.principal = Some(by.to_owned());
        self.shared.audit.record_or_log(ev);
    }
}
