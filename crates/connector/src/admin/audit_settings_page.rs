//! The audit settings page (`/audit/settings`, CC-47, CC-48, CC-51): the level of the access
//! scope, the configuration-change categories recorded, the retention, and running the
//! cleanup now. Everybody who reads the audit log sees them; only an Administrator
//! (`EditAudit`) changes them. The changes go through `crate::ops::audit_settings`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::pages::{denied, sentence, Empty};
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{Posted, Signed};
use super::state::Admin;
use crate::audit::policy::{AuditLevel, AuditSettings, Category};

/// The audit settings routes.
pub fn routes() -> Router<Admin> {
    Router::new()
        .route("/audit/settings", get(form).post(save))
        .route("/audit/cleanup", post(cleanup))
}

#[derive(Template)]
#[template(path = "admin/audit_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    s: AuditSettings,
    can_edit: bool,
    levels: [AuditLevel; 3],
    categories: [Category; 5],
    notice: Option<String>,
    error: Option<String>,
}

impl SettingsPage {
    fn has(&self, c: &Category) -> bool {
        self.s.categories.contains(c)
    }

    fn level_text(&self, l: &AuditLevel) -> &'static str {
        match l {
            AuditLevel::Security => "Security: refused requests, sessions and changes (default)",
            AuditLevel::All => "All: also every request let through",
            AuditLevel::Off => "Off: no per-request records (sessions and changes stay)",
        }
    }
}

/// `?saved=1` or `?cleaned=<n>`.
#[derive(Debug, Deserialize)]
pub struct Done {
    saved: Option<u8>,
    cleaned: Option<u64>,
}

fn show(
    st: &Admin,
    s: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &SettingsPage {
            can_edit: roles::may(&s.actor, Permit::EditAudit),
            chrome: s.chrome("audit-settings"),
            s: crate::ops::audit_settings::settings(&st.shared),
            levels: AuditLevel::ALL,
            categories: Category::ALL,
            notice,
            error,
        },
    )
}

/// `GET /audit/settings`.
pub async fn form(State(st): State<Admin>, s: Signed, Query(d): Query<Done>) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::ViewAudit) {
        return denied(&s, &e);
    }
    let notice = match (d.saved, d.cleaned) {
        (_, Some(n)) => Some(format!("Cleanup done: {n} records removed.")),
        (Some(_), None) => Some("The audit settings are saved and in force.".into()),
        _ => None,
    };
    show(&st, &s, StatusCode::OK, notice, None)
}

/// The settings form's fields (one checkbox per category).
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    retention_days: String,
    #[serde(default)]
    cat_access: Option<String>,
    #[serde(default)]
    cat_trust: Option<String>,
    #[serde(default)]
    cat_monitoring: Option<String>,
    #[serde(default)]
    cat_users: Option<String>,
    #[serde(default)]
    cat_settings: Option<String>,
}

impl SettingsForm {
    fn settings(&self) -> Result<AuditSettings, String> {
        let level = AuditLevel::parse(self.level.trim())
            .ok_or_else(|| "Choose a level: security, all or off.".to_owned())?;
        let retention_days = self.retention_days.trim().parse::<u32>().map_err(|_| {
            "The retention must be a whole number of days (0: keep for ever).".to_owned()
        })?;
        let categories = [
            (&self.cat_access, Category::Access),
            (&self.cat_trust, Category::Trust),
            (&self.cat_monitoring, Category::Monitoring),
            (&self.cat_users, Category::Users),
            (&self.cat_settings, Category::Settings),
        ]
        .into_iter()
        .filter(|(on, _)| on.is_some())
        .map(|(_, c)| c)
        .collect();
        Ok(AuditSettings {
            level,
            categories,
            retention_days,
        })
    }
}

/// `POST /audit/settings`.
pub async fn save(State(st): State<Admin>, p: Posted<SettingsForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditAudit) {
        return denied(&s, &e);
    }
    let new = match p.form.settings() {
        Ok(n) => n,
        Err(e) => return show(&st, &s, StatusCode::BAD_REQUEST, None, Some(e)),
    };
    match crate::ops::audit_settings::set(&st.shared, new, &s.caller()).await {
        Ok(_) => Redirect::to("/audit/settings?saved=1").into_response(),
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            show(&st, &s, status, None, Some(sentence(&e.to_string())))
        }
    }
}

/// `POST /audit/cleanup`: removes the records older than the retention now.
pub async fn cleanup(State(st): State<Admin>, p: Posted<Empty>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditAudit) {
        return denied(&s, &e);
    }
    match crate::ops::audit_settings::cleanup(&st.shared, &s.caller()).await {
        Ok(c) => Redirect::to(&format!("/audit/settings?cleaned={}", c.removed)).into_response(),
        Err(e) => {
            let (status, _) = super::api::op_status(&e);
            show(&st, &s, status, None, Some(sentence(&e.to_string())))
        }
    }
}
