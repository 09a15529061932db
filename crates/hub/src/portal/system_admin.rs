//! Maintaining systems in the portal: a new system, its data, deleting it, and setting up
//! and deleting its service connections. The same operations as the REST API
//! (`ops::systems`, `ops::systems::services`), under the same permits: maintaining system
//! data for the system, operating connections for its service connections.

use askama::Template;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Op;
use portcullis_domain::system::{SystemData, SystemStatus, SystemType};
use portcullis_store::{ConnectionType, Id};
use serde::Deserialize;

use super::render::{self, Chrome};
use super::session::{Posted, Signed};
use crate::ops::systems::services::{self, NewService};
use crate::ops::systems::{self, connection_types};
use crate::ops::{access, OpError};
use crate::state::State;

/// The system form's fields as a browser sends them (checkboxes are absent when off).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SystemForm {
    #[serde(default)]
    sid: String,
    #[serde(default)]
    system_number: String,
    #[serde(default)]
    system_type: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    product_version: String,
    #[serde(default)]
    installation_number: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    eu_data_protection: Option<String>,
    #[serde(default)]
    advanced_secure_support: Option<String>,
    #[serde(default)]
    allow_independent_opening: Option<String>,
    #[serde(default)]
    description: String,
}

impl SystemForm {
    fn of(d: &SystemData) -> SystemForm {
        let on = |b: bool| b.then(|| "on".to_string());
        SystemForm {
            sid: d.sid.clone(),
            system_number: d.system_number.clone(),
            system_type: d.system_type.as_str().into(),
            product: d.product.clone(),
            product_version: d.product_version.clone(),
            installation_number: d.installation_number.clone(),
            status: d.status.as_str().into(),
            eu_data_protection: on(d.eu_data_protection),
            advanced_secure_support: on(d.advanced_secure_support),
            allow_independent_opening: on(d.allow_independent_opening),
            description: d.description.clone(),
        }
    }

    /// The data the form names; the domain's `validate` (in the operation) judges the rest.
    fn data(&self) -> Result<SystemData, OpError> {
        let bad = |field: &str, v: &str| {
            OpError::invalid(format!("{field}: {v:?} is not one of the choices"))
        };
        Ok(SystemData {
            sid: self.sid.trim().to_string(),
            system_number: self.system_number.trim().to_string(),
            system_type: self
                .system_type
                .parse::<SystemType>()
                .map_err(|_| bad("system type", &self.system_type))?,
            product: self.product.trim().to_string(),
            product_version: self.product_version.trim().to_string(),
            installation_number: self.installation_number.trim().to_string(),
            status: self
                .status
                .parse::<SystemStatus>()
                .map_err(|_| bad("status", &self.status))?,
            eu_data_protection: self.eu_data_protection.is_some(),
            advanced_secure_support: self.advanced_secure_support.is_some(),
            allow_independent_opening: self.allow_independent_opening.is_some(),
            description: self.description.trim().to_string(),
        })
    }
}

#[derive(Template)]
#[template(path = "portal/system_form.html")]
struct FormPage {
    chrome: Chrome,
    /// `None`: a new system.
    id: Option<Id>,
    f: SystemForm,
    error: Option<String>,
}

impl FormPage {
    fn types(&self) -> Vec<(&'static str, bool)> {
        SystemType::ALL
            .iter()
            .map(|t| (t.as_str(), t.as_str() == self.f.system_type))
            .collect()
    }
}

fn form_page(
    s: &Signed,
    status: StatusCode,
    id: Option<Id>,
    f: SystemForm,
    error: Option<String>,
) -> Response {
    render::page(
        status,
        &FormPage {
            chrome: s.chrome("systems"),
            id,
            f,
            error,
        },
    )
}

/// The signed-in user's company, and a permit to maintain its systems.
async fn company_permit(
    st: &State,
    s: &Signed,
) -> Result<(portcullis_store::Company, portcullis_domain::authz::Permit), OpError> {
    let company = s.principal.company_id.ok_or(OpError::NotFound("company"))?;
    access::company(st, &s.principal, &company.to_string(), Op::MaintainSystems).await
}

/// `GET /systems/new`
pub async fn new_form(AxState(st): AxState<State>, s: Signed) -> Response {
    if let Err(e) = company_permit(&st, &s).await {
        return render::op_error(&e);
    }
    let f = SystemForm {
        system_type: "abap".into(),
        status: "active".into(),
        system_number: "00".into(),
        ..SystemForm::default()
    };
    form_page(&s, StatusCode::OK, None, f, None)
}

/// `POST /systems/new`
pub async fn create(AxState(st): AxState<State>, posted: Posted<SystemForm>) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let result = async {
        let (company, permit) = company_permit(&st, s).await?;
        let data = f.data()?;
        systems::create(&st, s.caller(), &permit, &company, &data).await
    }
    .await;
    match result {
        Ok(sys) => Redirect::to(&format!("/systems/{}?done=created", sys.id)).into_response(),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            form_page(s, status, None, f, Some(text))
        }
    }
}

/// `GET /systems/{id}/edit`
pub async fn edit_form(AxState(st): AxState<State>, s: Signed, Path(id): Path<Id>) -> Response {
    match access::system(&st, &s.principal, id, Op::MaintainSystems).await {
        Ok((sys, _)) => form_page(
            &s,
            StatusCode::OK,
            Some(id),
            SystemForm::of(&sys.data),
            None,
        ),
        Err(e) => render::op_error(&e),
    }
}

/// `POST /systems/{id}/edit`
pub async fn update(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<SystemForm>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let result = async {
        let (before, permit) = access::system(&st, &s.principal, id, Op::MaintainSystems).await?;
        let data = f.data()?;
        systems::update(&st, s.caller(), &permit, before, &data).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/systems/{id}?done=saved")).into_response(),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            form_page(s, status, Some(id), f, Some(text))
        }
    }
}

/// The delete form: a confirmation box.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    #[serde(default)]
    confirm: String,
}

/// `POST /systems/{id}/delete`
pub async fn delete(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<Confirm>,
) -> Response {
    let s = &posted.signed;
    let result = async {
        let (before, permit) = access::system(&st, &s.principal, id, Op::MaintainSystems).await?;
        if posted.form.confirm != "yes" {
            return Err(OpError::invalid("tick the box to confirm the deletion"));
        }
        systems::delete(&st, s.caller(), &permit, before).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/systems").into_response(),
        Err(e) => render::op_error(&e),
    }
}

/// The connection types a company may set up, for the set-up form's choice.
pub async fn choosable_types(st: &State, s: &Signed, company: Id) -> Vec<ConnectionType> {
    match access::permit(&s.principal, Op::ReadSystems, company, "company") {
        Ok(p) => connection_types::list(st, &p).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// The set-up form's fields.
#[derive(Debug, Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    connection_type: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    virtual_host: String,
    #[serde(default)]
    virtual_port: String,
    #[serde(default)]
    url: String,
}

/// `POST /systems/{id}/service-connections`
pub async fn set_up_service(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<ServiceForm>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let result = async {
        let (sys, permit) = access::system(&st, &s.principal, id, Op::OperateConnections).await?;
        let virtual_port = match f.virtual_port.trim() {
            "" => None,
            p => Some(
                p.parse::<u16>()
                    .map_err(|_| OpError::invalid("port: a number from 1 to 65535"))?,
            ),
        };
        let url = Some(f.url.trim().to_string()).filter(|u| !u.is_empty());
        let new = NewService {
            connection_type: f.connection_type.trim().to_string(),
            location: f.location.trim().to_string(),
            virtual_host: f.virtual_host.trim().to_string(),
            virtual_port,
            url,
        };
        services::create(&st, s.caller(), &permit, &sys, new).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/systems/{id}?done=set-up")).into_response(),
        Err(e) => render::op_error(&e),
    }
}

/// `POST /service-connections/{id}/delete`
pub async fn delete_service(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<Confirm>,
) -> Response {
    let s = &posted.signed;
    let result = async {
        let (sc, permit) = access::service(&st, &s.principal, id, Op::OperateConnections).await?;
        let system = sc.system_id;
        if posted.form.confirm != "yes" {
            return Err(OpError::invalid("tick the box to confirm the deletion"));
        }
        services::delete(&st, s.caller(), &permit, sc).await?;
        Ok(system)
    }
    .await;
    match result {
        Ok(system) => Redirect::to(&format!("/systems/{system}?done=removed")).into_response(),
        Err(e) => render::op_error(&e),
    }
}
