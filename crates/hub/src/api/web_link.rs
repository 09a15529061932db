//! `POST /api/v1/service-connections/{id}/web-link`: a one-time link that opens an HTTP
//! service connection in a browser through the hub's web entry (see `crate::web`).
//!
//! The link opens the service connection's own origin (`https://sc<id>.<web domain>:<port>`)
//! and carries the one-time ticket in its fragment, never in a query (see
//! `crate::entry::web_pages`).
//!
//! The caller must be able to open a session to the service connection now (a support
//! engineer under an open window that admits him, a technical user with a standing grant):
//! the same resolution every entry point uses decides, so a link is never handed out for a
//! service the caller could not reach. The browser session is checked again on every
//! connection it opens.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::Op;
use portcullis_domain::conntype::ConnProtocol;
use portcullis_store::Id;
use serde::Serialize;

use super::extract::Path;
use super::{ApiErr, Authed};
use crate::audit_action::AuditAction;
use crate::entry::web::LOGIN_PATH;
use crate::ops::systems::services;
use crate::ops::{self, Caller};
use crate::state::State;
use crate::target::Target;
use crate::web::{Binding, TICKET_TTL};

/// The answer: the link, shown once.
#[derive(Debug, Serialize)]
pub struct WebLink {
    /// Open this in a browser within `expires_in_secs`; it works once. The ticket is in the
    /// fragment (`#ticket=…`), which browsers never send: the page it opens POSTs it.
    pub url: String,
    /// The service connection's own browser origin.
    pub origin: String,
    /// Seconds the link stays valid.
    pub expires_in_secs: u64,
    /// The service connection, e.g. `acme/PRD/http_connect`.
    pub service: String,
}

/// The path of a service connection's URL (where the browser lands), or `/`.
fn landing(url: Option<&str>) -> String {
    url.and_then(|u| u.parse::<http::Uri>().ok())
        .and_then(|u| u.path_and_query().map(|p| p.as_str().to_owned()))
        .filter(|p| p.starts_with('/'))
        .unwrap_or_else(|| "/".into())
}

/// `POST /api/v1/service-connections/{id}/web-link`
pub async fn create(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<(StatusCode, Json<WebLink>), ApiErr> {
    let (sc, permit) = ops::access::service(&st, &p, id, Op::OpenSession).await?;
    let Some(origins) = st.web_origins.clone() else {
        return Err(ApiErr::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "web_entry_off",
            "the hub's web entry is off: set [listen] web in the hub's configuration",
        ));
    };
    let ty = st
        .store
        .get_connection_type(sc.connection_type_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("connection type"))?;
    if ty.def.protocol != ConnProtocol::Http {
        return Err(ApiErr::bad_request(
            "not_http",
            format!(
                "{} is not an HTTP connection type: open it with portcullis connect, SOCKS5 or a route string",
                ty.def.key
            ),
        ));
    }
    let company_id = sc.company_id;
    let label = crate::windows::service_label(&st, &sc).await;
    let view = services::view(&st, &permit, sc).await?;
    let target = Target {
        location: "-".into(),
        host: view.entry_host.clone(),
        port: view.service.virtual_port,
    };
    // Refused now means refused in the browser too: say so here, with the reason.
    if let Err(e) = st.resolved.resolve(&st, &p, &target).await {
        return Err(ApiErr::new(
            crate::entry::http_proxy::status_for(&e),
            e.code(),
            e.client_message(),
        ));
    }
    let binding = Binding {
        token_public_id: p.public_id.clone(),
        target,
        service_connection_id: id,
        company_id,
        authority: format!(
            "{}:{}",
            view.service.virtual_host, view.service.virtual_port
        ),
        label: label.clone(),
        landing: landing(view.service.url.as_deref()),
    };
    let Some(ticket) = st.web.ticket(binding) else {
        return Err(ApiErr::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many open links and web sessions; try again later",
        ));
    };
    ops::record(
        &st,
        Caller {
            principal: &p,
            from,
        },
        company_id,
        AuditAction::WebLinkCreated,
        &label,
        serde_json::json!({"service_connection": id}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(WebLink {
            url: format!("{}{LOGIN_PATH}#ticket={ticket}", origins.origin(id)),
            origin: origins.origin(id),
            expires_in_secs: TICKET_TTL.as_secs(),
            service: label,
        }),
    ))
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
