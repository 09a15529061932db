//! The hub's key of the two: from what a client asked for to the service connection, the
//! connector that serves it, and the window or standing grant that permits the stream.
//!
//! A client names a target in one of two ways (see `docs/remote-connections.md`):
//! * a service-connection name, `<type>.<SID>.<company>.portcullis:<port>`
//!   ([`portcullis_domain::naming`]) — how support engineers address a customer's system;
//! * a connector location and a virtual `host:port` (the SOCKS5 user name or the
//!   `location/` prefix) — how a company's technical user (a cloud application) addresses a
//!   target of its own company.
//!
//! Either way the stream must then be permitted: a support engineer needs an open window on
//! the service connection that names him or nobody; a technical user needs an active standing
//! grant. Nothing else opens a stream.

pub mod cache;

use portcullis_domain::authz::{authorize, Op, Role};
use portcullis_domain::naming::parse_service_host;
use portcullis_domain::window::{admits, WindowState};
use portcullis_store::{ServiceConnection, Window};
use time::OffsetDateTime;

pub use cache::{Permission, ResolveCache, Resolved, SessionPermit, RESOLVE_CACHE_TTL};

use crate::auth::Principal;
use crate::state::State;
use crate::target::{SessionError, Target};

fn refused(why: impl Into<String>) -> SessionError {
    SessionError::Denied(why.into())
}

impl ResolveCache {
    /// [`resolve`] through the cache.
    pub async fn resolve(
        &self,
        state: &State,
        principal: &Principal,
        asked: &Target,
    ) -> Result<Resolved, SessionError> {
        let key = (
            principal.user_id,
            asked.location.clone(),
            asked.host.to_ascii_lowercase(),
            asked.port,
        );
        let (hit, generation) = self.get(&key, OffsetDateTime::now_utc());
        if let Some(r) = hit {
            return Ok(r);
        }
        let r = resolve(state, principal, asked).await?;
        self.put(key, &r, generation);
        Ok(r)
    }
}

/// Resolves `asked` for `principal` and checks the hub's key (no cache).
pub async fn resolve(
    state: &State,
    principal: &Principal,
    asked: &Target,
) -> Result<Resolved, SessionError> {
    let store = state.store.as_ref();
    let (company_id, sc) = match parse_service_host(&asked.host) {
        Some(name) => {
            // Company names are unique without regard to case and found that way, so a
            // host name in any case (clients lower-case them, DNS-style) names one tenant.
            let company = store
                .find_company_by_name(&name.company)
                .await
                .map_err(store_err)?
                .ok_or_else(|| unknown(&asked.host))?;
            // A company user asking for another company's service learns no more than
            // "unknown".
            if principal.company_id.is_some_and(|c| c != company.id) {
                return Err(unknown(&asked.host));
            }
            let system = store
                .find_system(company.id, &name.sid)
                .await
                .map_err(store_err)?
                .ok_or_else(|| unknown(&asked.host))?;
            let ty = store
                .find_connection_type(company.id, &name.type_key)
                .await
                .map_err(store_err)?
                .ok_or_else(|| unknown(&asked.host))?;
            let sc = store
                .list_service_connections(Some(company.id))
                .await
                .map_err(store_err)?
                .into_iter()
                .find(|s| s.system_id == system.id && s.connection_type_id == ty.id)
                .ok_or_else(|| unknown(&asked.host))?;
            if asked.port != sc.virtual_port {
                return Err(refused(format!(
                    "{} is reached on port {}, not {}",
                    asked.host, sc.virtual_port, asked.port
                )));
            }
            (company.id, sc)
        }
        None => {
            let company = principal.company_id.ok_or(SessionError::NotPermitted(
                "vendor users name a service connection: <type>.<SID>.<company>.portcullis",
            ))?;
            let connector = store
                .find_connector(company, &asked.location)
                .await
                .map_err(store_err)?
                .ok_or_else(|| SessionError::ConnectorOffline(asked.location.clone()))?;
            let host = asked.host.to_ascii_lowercase();
            let sc = store
                .list_service_connections(Some(company))
                .await
                .map_err(store_err)?
                .into_iter()
                .find(|s| {
                    s.connector_id == connector.id
                        && s.virtual_host == host
                        && s.virtual_port == asked.port
                })
                .ok_or_else(|| {
                    refused(format!(
                        "no service connection of this company reaches {}:{} at {}; a company \
                         admin sets one up and gives this user a grant",
                        asked.host, asked.port, asked.location
                    ))
                })?;
            (company, sc)
        }
    };
    let permit = authorize(&principal.actor(), Op::OpenSession, Some(company_id))
        .map_err(|e| refused(e.to_string()))?;
    let permission = match principal.role {
        Role::SupportEngineer => Permission::Window(open_window(state, principal, &sc).await?),
        Role::Technical => Permission::Grant(
            store
                .find_active_grant(principal.user_id, sc.id)
                .await
                .map_err(store_err)?
                .ok_or_else(|| {
                    refused("this user has no standing grant for the service connection")
                })?,
        ),
        _ => {
            return Err(SessionError::NotPermitted(
                "this role does not open sessions",
            ))
        }
    };
    let connector = store
        .get_connector(sc.connector_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| SessionError::ConnectorOffline(sc.connector_id.to_string()))?;
    let label = crate::windows::service_label(state, &sc).await;
    Ok(Resolved {
        company_id,
        target: Target {
            location: connector.location,
            host: sc.virtual_host.clone(),
            port: sc.virtual_port,
        },
        permit: SessionPermit {
            permit,
            service: sc.id,
        },
        service: sc,
        label,
        permission,
    })
}

async fn open_window(
    state: &State,
    principal: &Principal,
    sc: &ServiceConnection,
) -> Result<Window, SessionError> {
    let now = OffsetDateTime::now_utc();
    let windows = state.store.list_windows(sc.id).await.map_err(store_err)?;
    let open = windows
        .into_iter()
        .find(|w| w.state(now) == WindowState::Open)
        .ok_or_else(|| SessionError::NoWindow)?;
    if !admits(&open.engineers, &principal.user_name) {
        return Err(refused("the open window names other engineers"));
    }
    Ok(open)
}

fn unknown(host: &str) -> SessionError {
    SessionError::Denied(format!("no service connection is named {host}"))
}

fn store_err(e: portcullis_store::StoreError) -> SessionError {
    tracing::error!(error = %e, "store failed while resolving a session");
    SessionError::Unavailable
}
