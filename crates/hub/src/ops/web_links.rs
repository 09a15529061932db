//! A one-time link that opens an HTTP service connection in a browser through the hub's web
//! entry (see `crate::web`).
//!
//! The link opens the service connection's own origin (`https://sc<id>.<web domain>:<port>`)
//! and carries the one-time ticket in its fragment, never in a query (see
//! `crate::entry::web_pages`); the door builds it from [`WebLink`].
//!
//! The caller must be able to open a session to the service connection now (a support
//! engineer under an open window that admits him, a technical user with a standing grant):
//! the same resolution every entry point uses decides, so a link is never handed out for a
//! service the caller could not reach. The browser session is checked again on every
//! connection it opens.

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::conntype::ConnProtocol;
use portcullis_domain::secret::Secret;
use portcullis_store::ServiceConnection;

use super::systems::services;
use super::{check, Caller, OpError};
use crate::audit_action::AuditAction;
use crate::state::State;
use crate::target::{SessionError, Target};
use crate::web::{Binding, TICKET_TTL};

/// Why no link was handed out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebLinkError {
    /// Not found, not allowed, or the store failed.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The hub has no web entry.
    #[error("the hub's web entry is off: set [listen] web in the hub's configuration")]
    WebEntryOff,
    /// The service connection's type is not HTTP.
    #[error(
        "{0} is not an HTTP connection type: open it with portcullis connect, SOCKS5 or a route string"
    )]
    NotHttp(String),
    /// The caller could not open a session to it now (no open window, no grant …): refused
    /// now means refused in the browser too, so the reason is told here.
    #[error("{0}")]
    Refused(SessionError),
    /// Too many open links and web sessions.
    #[error("too many open links and web sessions; try again later")]
    Busy,
}

/// A link handed out: the door puts the ticket in the fragment of a URL on `origin`.
#[derive(Debug)]
pub struct WebLink {
    /// The one-time ticket (masked in `Debug`).
    pub ticket: Secret<String>,
    /// The service connection's own browser origin.
    pub origin: String,
    /// The service connection, e.g. `acme/PRD/http_connect`.
    pub service: String,
    /// Seconds the ticket stays valid.
    pub expires_in_secs: u64,
}

/// The path of a service connection's URL (where the browser lands), or `/`.
fn landing(url: Option<&str>) -> String {
    url.and_then(|u| u.parse::<http::Uri>().ok())
        .and_then(|u| u.path_and_query().map(|p| p.as_str().to_owned()))
        .filter(|p| p.starts_with('/'))
        .unwrap_or_else(|| "/".into())
}

/// Hands out a one-time link to `sc` for the caller, who could open a session to it now.
pub async fn create(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    sc: ServiceConnection,
) -> Result<WebLink, WebLinkError> {
    check(permit, Op::OpenSession, Some(sc.company_id))?;
    let Some(origins) = st.web_origins.clone() else {
        return Err(WebLinkError::WebEntryOff);
    };
    let ty = st
        .store
        .get_connection_type(sc.connection_type_id)
        .await
        .map_err(OpError::from)?
        .ok_or(OpError::NotFound("connection type"))?;
    if ty.def.protocol != ConnProtocol::Http {
        return Err(WebLinkError::NotHttp(ty.def.key));
    }
    let id = sc.id;
    let company_id = sc.company_id;
    let label = crate::windows::service_label(st, &sc).await;
    let company = st
        .store
        .get_company(company_id)
        .await
        .map_err(OpError::from)?
        .map_or_else(|| company_id.to_string(), |c| c.name);
    let view = services::view(st, permit, sc).await?;
    let target = Target {
        location: "-".into(),
        host: view.entry_host.clone(),
        port: view.service.virtual_port,
    };
    st.resolved
        .resolve(st, by.principal, &target)
        .await
        .map_err(WebLinkError::Refused)?;
    let binding = Binding {
        token_public_id: by.principal.public_id.clone(),
        target,
        service_connection_id: id,
        company_id,
        authority: format!(
            "{}:{}",
            view.service.virtual_host, view.service.virtual_port
        ),
        label: label.clone(),
        company,
        sid: view.sid.clone(),
        connection_type: ty.def.name.clone(),
        landing: landing(view.service.url.as_deref()),
    };
    let ticket = st.web.ticket(binding).ok_or(WebLinkError::Busy)?;
    super::record(
        st,
        by,
        company_id,
        AuditAction::WebLinkCreated,
        &label,
        serde_json::json!({"service_connection": id}),
    )
    .await;
    Ok(WebLink {
        ticket: ticket.into(),
        origin: origins.origin(id),
        service: label,
        expires_in_secs: TICKET_TTL.as_secs(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_landing_path_comes_from_the_url() {
        assert_eq!(
            super::landing(Some("http://erp.internal/sap/bc/gui?x=1")),
            "/sap/bc/gui?x=1"
        );
        assert_eq!(super::landing(Some("http://erp.internal")), "/");
        assert_eq!(super::landing(None), "/");
        assert_eq!(super::landing(Some("not a url")), "/");
    }
}
