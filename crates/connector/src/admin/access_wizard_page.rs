//! The wizard that adds an access entry (`/access/new`), as SAP's Cloud Connector asks it:
//! one question per page, each a plain form POST, so it works without JavaScript.
//!
//! A step's form carries the earlier answers as hidden fields; the operations check every
//! answer up to the step again (`crate::ops::access_wizard::check_upto`), and a refused answer
//! shows its reason on the step that asked it. The last step calls the one add operation
//! (`crate::ops::access_entry::add`), which loads the result as the reload watcher would, and
//! optionally the reachability check.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::access::{BackendType, Protocol};
use serde::Deserialize;

use super::pages::denied;
use super::pages::op_page;
use super::render::{self, Chrome};
use super::roles::{self, Permit};
use super::session::{checked, Posted, Signed};
use super::state::Admin;
use crate::ops::access_wizard::{check_upto, protocols_for, Step};
use crate::ops::entry_text::EntryFields;

/// The wizard's form: every answer so far, the step it was shown as, and where to go.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WizardForm {
    name: String,
    backend_type: String,
    protocol: String,
    internal: String,
    #[serde(rename = "virtual")]
    virtual_target: String,
    host_in_header: String,
    system_certificate: String,
    system_id: String,
    description: String,
    /// The step the form was (`1..=8`).
    step: u8,
    /// `next`, `back` or `add`.
    go: String,
    /// Check reachability after adding (the summary's checkbox).
    check: String,
}

impl WizardForm {
    fn fields(&self) -> EntryFields {
        EntryFields {
            name: self.name.trim().to_owned(),
            backend_type: self.backend_type.trim().to_owned(),
            protocol: self.protocol.trim().to_owned(),
            internal: self.internal.trim().to_owned(),
            virtual_target: self.virtual_target.trim().to_owned(),
            host_in_header: self.host_in_header.trim().to_owned(),
            system_certificate: checked(&self.system_certificate),
            system_id: self.system_id.trim().to_owned(),
            description: self.description.trim().to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/access_wizard.html")]
struct WizardPage {
    chrome: Chrome,
    step: u8,
    f: EntryFields,
    /// The answers not asked on this step, carried along.
    hidden: Vec<(&'static str, String)>,
    backends: Vec<&'static str>,
    protocols: Vec<&'static str>,
    error: Option<String>,
}

/// The wizard's steps, for the progress list: number, title.
const TITLES: [(u8, &str); 8] = [
    (1, "Name and back-end type"),
    (2, "Protocol"),
    (3, "Internal host"),
    (4, "Virtual host"),
    (5, "Host in request header"),
    (6, "System certificate"),
    (7, "System ID and description"),
    (8, "Summary"),
];

/// One line of the wizard's progress list.
struct Stage {
    title: &'static str,
    /// `current`, `done`, `todo` or `skipped` (the protocol does not use it).
    state: &'static str,
}

impl WizardPage {
    fn stages(&self) -> Vec<Stage> {
        let p: Option<Protocol> = self.f.protocol.parse().ok();
        TITLES
            .iter()
            .map(|&(number, title)| {
                let skipped = match number {
                    5 => !p.is_some_and(Protocol::is_http),
                    6 => !p.is_some_and(Protocol::is_tls),
                    _ => false,
                };
                let state = if number == self.step {
                    "current"
                } else if skipped && number > 2 && self.step > 2 {
                    "skipped"
                } else if number < self.step {
                    "done"
                } else {
                    "todo"
                };
                Stage { title, state }
            })
            .collect()
    }

    fn title(&self) -> &'static str {
        TITLES
            .iter()
            .find(|(n, _)| *n == self.step)
            .map_or("", |(_, t)| t)
    }

    fn host_header(&self) -> &str {
        if self.f.host_in_header.is_empty() {
            "virtual"
        } else {
            &self.f.host_in_header
        }
    }

    /// Whether the entry is HTTP or HTTPS (the host header applies).
    fn http(&self) -> bool {
        self.f.protocol.parse().is_ok_and(Protocol::is_http)
    }

    fn backend_is(&self, b: &str) -> bool {
        self.f.backend_type == b
    }

    fn protocol_is(&self, p: &str) -> bool {
        self.f.protocol == p
    }
}

fn hidden_for(step: Step, f: &EntryFields) -> Vec<(&'static str, String)> {
    let mut h = Vec::new();
    let mut keep = |on: Step, name: &'static str, v: &str| {
        if step != on {
            h.push((name, v.to_owned()));
        }
    };
    keep(Step::Backend, "name", &f.name);
    keep(Step::Backend, "backend_type", &f.backend_type);
    keep(Step::Protocol, "protocol", &f.protocol);
    keep(Step::Internal, "internal", &f.internal);
    keep(Step::Virtual, "virtual", &f.virtual_target);
    keep(Step::HostHeader, "host_in_header", &f.host_in_header);
    let cert = if f.system_certificate { "on" } else { "" };
    keep(Step::Certificate, "system_certificate", cert);
    keep(Step::Describe, "system_id", &f.system_id);
    keep(Step::Describe, "description", &f.description);
    h.retain(|(_, v)| !v.is_empty());
    h
}

fn wizard(
    s: &Signed,
    status: StatusCode,
    step: Step,
    f: EntryFields,
    error: Option<String>,
) -> Response {
    let protocols = protocols_for(&f.backend_type)
        .iter()
        .map(|p| p.as_str())
        .collect();
    render::page(
        status,
        &WizardPage {
            chrome: s.chrome("access"),
            step: step.number(),
            hidden: hidden_for(step, &f),
            backends: BackendType::ALL.iter().map(|b| b.as_str()).collect(),
            protocols,
            f,
            error,
        },
    )
}

/// `GET /access/new`: the first step.
pub async fn start(s: Signed) -> Response {
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(&s, &e);
    }
    let f = EntryFields {
        backend_type: BackendType::NonSapSys.as_str().into(),
        ..Default::default()
    };
    wizard(&s, StatusCode::OK, Step::Backend, f, None)
}

/// `POST /access/new`: checks the answers up to the step shown, then the next step; or back;
/// or, on the summary, adds the entry.
pub async fn step(State(st): State<Admin>, p: Posted<WizardForm>) -> Response {
    let s = p.signed;
    if let Err(e) = roles::permit(&s.actor, Permit::EditAccess) {
        return denied(&s, &e);
    }
    let f = p.form.fields();
    let Some(at) = Step::from_number(p.form.step) else {
        return wizard(
            &s,
            StatusCode::BAD_REQUEST,
            Step::Backend,
            f,
            Some("Start again.".into()),
        );
    };
    if p.form.go == "back" {
        return wizard(&s, StatusCode::OK, at.back(&f), f, None);
    }
    if let Err(e) = check_upto(&st.shared, &f, at).await {
        return wizard(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            e.step,
            f,
            Some(e.reason),
        );
    }
    if at != Step::Summary || p.form.go != "add" {
        return wizard(&s, StatusCode::OK, at.next(&f), f, None);
    }
    match crate::ops::access_entry::add(&st.shared, &s.caller(), &f).await {
        Ok(done) => {
            let mut to = format!("/access/{}?added=1", super::render::url_segment(&done.name));
            if checked(&p.form.check) {
                // The result is kept with the entry (`Shared::reach`) and shown on its page.
                let _ = crate::ops::check(&st.shared, Some(&done.name)).await;
                to.push_str("&checked=1");
            }
            Redirect::to(&to).into_response()
        }
        Err(e) => {
            let (status, text) = op_page(&e);
            wizard(&s, status, Step::Summary, f, Some(text))
        }
    }
}
