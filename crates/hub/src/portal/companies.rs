//! A vendor admin's companies (`/companies`): create one, and hand it over to the customer
//! by making its first super administrator, who signs in with a one-time password. After
//! that the company's users are its own admin's to make (BY-01).

use askama::Template;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_domain::authz::Op;
use portcullis_domain::secret::Secret;
use portcullis_store::{Company, Id};
use serde::Deserialize;

use super::render::{self, when, Chrome};
use super::session::{Posted, Signed};
use crate::ops::{access, companies, users, OpError};
use crate::state::State;

/// A company as the list shows it.
struct Row {
    c: Company,
    has_admin: bool,
}

#[derive(Template)]
#[template(path = "portal/companies.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    /// Whether the viewer may create and hand over companies (vendor admins; auditors read).
    can_create: bool,
    notice: Option<String>,
    error: Option<String>,
    name: String,
}

impl ListPage {
    fn when(&self, t: &time::OffsetDateTime) -> String {
        when(*t)
    }
}

async fn page(
    st: &State,
    s: &Signed,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    name: String,
) -> Response {
    let rows = async {
        let read = companies::list_permit(&s.principal).ok_or(OpError::forbidden("not allowed"))?;
        Ok::<_, OpError>(
            companies::list_with_admin(st, &read)
                .await?
                .into_iter()
                .map(|(c, has_admin)| Row { c, has_admin })
                .collect::<Vec<_>>(),
        )
    }
    .await;
    let can_create = access::vendor_permit(&s.principal, Op::CreateCompany).is_ok();
    match rows {
        Ok(rows) => render::page(
            status,
            &ListPage {
                chrome: s.chrome("companies"),
                rows,
                can_create,
                notice,
                error,
                name,
            },
        ),
        Err(e) => render::op_error(&e),
    }
}

/// `GET /companies`
pub async fn list(AxState(st): AxState<State>, s: Signed) -> Response {
    page(&st, &s, StatusCode::OK, None, None, String::new()).await
}

/// The new-company form.
#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    name: String,
}

/// `POST /companies`
pub async fn create(AxState(st): AxState<State>, posted: Posted<NewForm>) -> Response {
    let s = &posted.signed;
    let name = posted.form.name.trim().to_string();
    let result = async {
        let permit = access::vendor_permit(&s.principal, Op::CreateCompany)?;
        companies::create(&st, s.caller(), &permit, &name).await
    }
    .await;
    match result {
        Ok(c) => {
            let notice = format!(
                "{} is created. Hand it over to its first super administrator.",
                c.name
            );
            page(
                &st,
                s,
                StatusCode::CREATED,
                Some(notice),
                None,
                String::new(),
            )
            .await
        }
        Err(e) => {
            let (status, text) = render::op_status(&e);
            page(&st, s, status, None, Some(text), name).await
        }
    }
}

/// The hand-over form.
#[derive(Debug, Deserialize)]
pub struct HandOverForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Template)]
#[template(path = "portal/handed_over.html")]
struct HandedOverPage {
    chrome: Chrome,
    company: String,
    user: String,
    password: Secret<String>,
    url: String,
}

impl HandedOverPage {
    fn password(&self) -> &str {
        self.password.expose()
    }
}

/// `POST /companies/{id}/hand-over`
pub async fn hand_over(
    AxState(st): AxState<State>,
    Path(id): Path<Id>,
    posted: Posted<HandOverForm>,
) -> Response {
    let s = &posted.signed;
    let f = posted.form;
    let result = async {
        let (c, permit) = access::company(
            &st,
            &s.principal,
            &id.to_string(),
            Op::BootstrapCompanyAdmin,
        )
        .await?;
        let done =
            users::hand_over(&st, s.caller(), &permit, &c, f.name.trim(), &f.display_name).await?;
        Ok::<_, OpError>((c, done))
    }
    .await;
    match result {
        Ok((c, done)) => render::page(
            StatusCode::CREATED,
            &HandedOverPage {
                chrome: s.chrome("companies"),
                company: c.name,
                user: done.user.name,
                password: done.password,
                url: format!("{}/", st.api_url()),
            },
        ),
        Err(e) => {
            let (status, text) = render::op_status(&e);
            page(&st, s, status, None, Some(text), String::new()).await
        }
    }
}
