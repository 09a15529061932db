//! `POST /api/v1/service-connections/{id}/web-link`: a one-time link that opens an HTTP
//! service connection in a browser through the hub's web entry ([`crate::ops::web_links`]
//! decides; this handler renders the URL, with the ticket in its fragment).

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::Op;
use portcullis_store::Id;
use serde::Serialize;

use super::extract::Path;
use super::{ApiErr, Authed};
use crate::entry::http_proxy::status_for;
use crate::entry::web::LOGIN_PATH;
use crate::ops::web_links::{self, WebLinkError};
use crate::ops::{self, Caller};
use crate::state::State;

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

impl From<WebLinkError> for ApiErr {
    fn from(e: WebLinkError) -> Self {
        let message = e.to_string();
        match e {
            WebLinkError::Op(e) => e.into(),
            WebLinkError::WebEntryOff => {
                ApiErr::new(StatusCode::SERVICE_UNAVAILABLE, "web_entry_off", message)
            }
            WebLinkError::NotHttp(_) => ApiErr::bad_request("not_http", message),
            WebLinkError::Refused(e) => ApiErr::new(status_for(&e), e.code(), e.client_message()),
            WebLinkError::Busy => ApiErr::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message),
        }
    }
}

/// `POST /api/v1/service-connections/{id}/web-link`
pub async fn create(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<(StatusCode, Json<WebLink>), ApiErr> {
    let (sc, permit) = ops::access::service(&st, &p, id, Op::OpenSession).await?;
    let by = Caller {
        principal: &p,
        from,
    };
    let link = web_links::create(&st, by, &permit, sc).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebLink {
            url: format!(
                "{}{LOGIN_PATH}#ticket={}",
                link.origin,
                link.ticket.expose()
            ),
            origin: link.origin,
            expires_in_secs: link.expires_in_secs,
            service: link.service,
        }),
    ))
}
