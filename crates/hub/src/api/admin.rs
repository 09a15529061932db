//! Administration: companies, API tokens, connectors, audit.
//!
//! A company admin manages his own company; a vendor admin creates companies and hands each
//! over by making its first company admin ([`create_token`]), and otherwise only reads a
//! company's data (BY-01, see `portcullis_domain::authz`). Everything follows
//! `portcullis_domain::authz::authorize`.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_domain::authz::{authorize, Op};
use portcullis_proto::enroll::EnrollToken;
use portcullis_store::{Company, Id, NewEnrollmentToken, Role, StoreTx};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::extract::{Body, Path, Query};
use super::remote::company_permit;
use super::{ApiErr, Authed};
use crate::audit_action::AuditAction;
use crate::auth::{new_secret, Principal};
use crate::ops::{self, Caller, Change};
use crate::state::State;

/// A connector and a permit for `op` on it; another company's connector is "not found".
async fn connector_permit(
    st: &State,
    p: &Principal,
    id: Id,
    op: Op,
) -> Result<portcullis_store::Connector, ApiErr> {
    Ok(ops::access::connector(st, p, id, op).await?.0)
}

fn check_name(field: &'static str, v: &str) -> Result<(), ApiErr> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // Paths accept an id or a name; an all-digit name would be read as an id.
        return Err(ApiErr::bad_request(
            "invalid_name",
            format!("{field} must not be all digits"),
        ));
    }
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiErr::bad_request(
            "invalid_name",
            format!("{field} must be 1-64 characters of letters, digits, '-', '_', '.'"),
        ))
    }
}

/// `POST /companies` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    /// Unique name.
    pub name: String,
}

/// Creates a company (vendor admins only).
pub async fn create_company(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Body(body): Body<NewCompany>,
) -> Result<(StatusCode, Json<Company>), ApiErr> {
    authorize(&p.actor(), Op::CreateCompany, None).map_err(|_| ApiErr::forbidden())?;
    check_name("name", &body.name)?;
    let mut tx = st.store.begin().await?;
    let c = tx.create_company(&body.name).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        Some(c.id),
        AuditAction::CompanyCreated,
        &c.name,
        serde_json::json!({}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Lists the companies the token may see.
pub async fn list_companies(
    AxState(st): AxState<State>,
    Authed(p): Authed,
) -> Result<Json<Vec<Company>>, ApiErr> {
    let all = st.store.list_companies().await?;
    let actor = p.actor();
    Ok(Json(
        all.into_iter()
            .filter(|c| authorize(&actor, Op::ReadCompany, Some(c.id)).is_ok())
            .collect(),
    ))
}

/// `POST /companies/{c}/tokens` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Name, e.g. `ci-bot`.
    pub name: String,
    /// `technical` (default) or `company_admin`.
    #[serde(default)]
    pub role: Option<Role>,
    /// Lifetime in seconds; left out or `null`: the hub's default (`[tokens]
    /// default_lifetime_days`), at most `max_lifetime_days`.
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    /// A token that never expires: only on a hub with `[tokens] allow_unlimited = true`.
    #[serde(default)]
    pub no_expiry: bool,
}

/// A created token: the only time the secret is shown.
#[derive(Serialize)]
pub struct CreatedToken {
    /// Token id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The user the token acts as (created with it; give it grants by this name).
    pub user: String,
    /// The token string (shown once).
    pub token: String,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Creates an API token for a company, with a user of its own: the company admin's way to make
/// technical users (and further admins), and the vendor admin's one way to hand a company
/// over: its **first** company admin (role `company_admin`, only while the company has no
/// enabled company admin; [`Op::BootstrapCompanyAdmin`]).
pub async fn create_token(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(body): Body<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiErr> {
    let role = body.role.unwrap_or(Role::Technical);
    let (c, bootstrap) = match company_permit(&st, &p, &company, Op::ManageTokens).await {
        Ok((c, _permit)) => (c, false),
        Err(refused) => {
            // Not the company's admin: perhaps the vendor admin handing the company over.
            let Ok((c, _permit)) =
                company_permit(&st, &p, &company, Op::BootstrapCompanyAdmin).await
            else {
                return Err(refused);
            };
            (c, true)
        }
    };
    if bootstrap {
        first_admin_only(&st, &c, role).await?;
    }
    check_name("name", &body.name)?;
    if role.check_company(Some(c.id)).is_err() {
        return Err(ApiErr::bad_request(
            "invalid_role",
            "company tokens are technical, company_user, company_admin or auditor",
        ));
    }
    let expires_at = super::token_expiry(
        &st,
        crate::token_policy::LifetimeRequest {
            expires_in_secs: body.expires_in_secs,
            no_expiry: body.no_expiry,
        },
    )?;
    // A token made here gets a user of its own with the asked-for role (the user API manages
    // people with several tokens).
    let mut tx = st.store.begin().await?;
    let user = crate::accounts::create_user(
        &mut *tx,
        Some(c.id),
        None,
        &body.name,
        role,
        portcullis_domain::authz::Authorizations::none(),
    )
    .await?;
    let issued = crate::accounts::issue_token(&mut *tx, user.id, &body.name, expires_at).await?;
    let t = issued.row;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        Some(c.id),
        AuditAction::TokenCreated,
        &t.name,
        serde_json::json!({"token_id": t.id, "role": role, "first_admin": bootstrap}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::Resolution]).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: t.id,
            name: t.name,
            role,
            user: user.name,
            token: issued.token,
            expires_at: t.expires_at,
        }),
    ))
}

/// What a vendor admin may make of a company's credentials: its first company admin, nothing
/// else (BY-01). Refuses any other role, and a company that has an enabled admin already.
async fn first_admin_only(st: &State, c: &Company, role: Role) -> Result<(), ApiErr> {
    if role != Role::CompanyAdmin {
        return Err(ApiErr::new(
            StatusCode::FORBIDDEN,
            "customer_credentials",
            format!(
                "a vendor admin makes only a company's first admin (role company_admin); \
                 {}'s own admin makes its other users and tokens",
                c.name
            ),
        ));
    }
    let has_admin = st
        .store
        .list_users(Some(c.id))
        .await?
        .iter()
        .any(|u| u.role == Role::CompanyAdmin && u.disabled_at.is_none());
    if has_admin {
        return Err(ApiErr::new(
            StatusCode::FORBIDDEN,
            "company_has_admin",
            format!(
                "{} has a company admin already: its users and tokens are the company's to make",
                c.name
            ),
        ));
    }
    Ok(())
}

/// Lists a company's tokens (never their secrets).
pub async fn list_tokens(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<portcullis_store::ApiToken>>, ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::ManageTokens).await?;
    Ok(Json(st.store.list_api_tokens(Some(c.id)).await?))
}

/// Revokes an API token and cuts every live session opened with it. Company admins may revoke
/// their company's tokens; only vendor admins may revoke vendor tokens.
pub async fn revoke_token(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<serde_json::Value>, ApiErr> {
    let tok = st
        .store
        .list_api_tokens(None)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiErr::not_found("token"))?;
    match tok.company_id {
        Some(c) => {
            super::remote::permit(&p, Op::ManageTokens, c, "token")?;
        }
        // A vendor user's token: only who manages vendor users; others learn nothing.
        None => {
            authorize(&p.actor(), Op::ManageTokens, None)
                .map_err(|_| ApiErr::not_found("token"))?;
        }
    }
    let now = OffsetDateTime::now_utc();
    // The user's route passwords were made with one of his API tokens: they go with it.
    let route_passwords = if tok.scope == portcullis_store::TokenScope::Api {
        crate::accounts::live_tokens(
            st.store.as_ref(),
            tok.user_id,
            crate::accounts::TokenKind::RoutePasswords,
        )
        .await?
    } else {
        Vec::new()
    };
    let mut tx = st.store.begin().await?;
    let changed = tx.revoke_api_token(id, now).await?;
    let route_passwords = crate::accounts::revoke(&mut *tx, &route_passwords, now).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        tok.company_id,
        AuditAction::TokenRevoked,
        &tok.name,
        serde_json::json!({"token_id": id, "route_passwords_revoked": route_passwords}),
    ))
    .await?;
    let changes: Vec<Change> = std::iter::once(id)
        .chain(route_passwords.iter().copied())
        .map(|token| Change::TokenRevoked { token })
        .collect();
    ops::commit(&st, tx, &changes).await?;
    Ok(Json(
        serde_json::json!({"id": id, "revoked": true, "was_active": changed}),
    ))
}

/// `POST /companies/{c}/connectors` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConnector {
    /// Location ID, unique per company.
    pub location: String,
}

/// A connector with a fresh enrolment token.
#[derive(Serialize)]
pub struct ConnectorWithToken {
    /// The connector.
    pub connector: ConnectorView,
    /// One-time enrolment token.
    pub enrollment_token: String,
    /// When the token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A connector as the API shows it, with its live status.
#[derive(Debug, Serialize)]
pub struct ConnectorView {
    /// Stored record.
    #[serde(flatten)]
    pub record: portcullis_store::Connector,
    /// `connected`, `not_connected`, `revoked` or `not_enrolled`.
    pub status: &'static str,
    /// Live tunnel details.
    pub tunnel: Option<serde_json::Value>,
}

/// A connector's network status: `revoked` (SAP's *canceled*), `connected` (its tunnel is up),
/// `not_enrolled`, or `not_connected`.
pub fn connector_status(st: &State, c: &portcullis_store::Connector) -> &'static str {
    if c.revoked_at.is_some() {
        "revoked"
    } else if st.registry.by_connector(c.id).is_some() {
        "connected"
    } else if c.cert_fingerprint.is_none() {
        "not_enrolled"
    } else {
        "not_connected"
    }
}

fn view(st: &State, c: portcullis_store::Connector) -> ConnectorView {
    let live = st.registry.by_connector(c.id);
    let status = connector_status(st, &c);
    let tunnel = live.map(|t| {
        serde_json::json!({
            "version": t.version,
            "warning": t.warning,
            "peer": t.peer,
            "connected_at": t.connected_at.format(&time::format_description::well_known::Rfc3339).ok(),
            "inventory": t.inventory.read().map(|i| i.clone()).unwrap_or_default(),
        })
    });
    ConnectorView {
        record: c,
        status,
        tunnel,
    }
}

async fn issue_enrollment(
    st: &State,
    tx: &mut dyn StoreTx,
    connector_id: Id,
) -> Result<(String, OffsetDateTime), ApiErr> {
    let s = new_secret(8);
    let expires_at = OffsetDateTime::now_utc()
        + time::Duration::try_from(st.config.enrollment_token_ttl)
            .map_err(|e| ApiErr::internal(&e))?;
    tx.create_enrollment_token(NewEnrollmentToken {
        connector_id,
        public_id: s.public_id.clone(),
        secret_hash: s.hash.clone(),
        expires_at,
    })
    .await?;
    let tok = EnrollToken {
        public_id: s.public_id,
        secret: s.secret,
        ca_fingerprint: st.pki.ca.fingerprint_hex().to_string(),
    };
    Ok((tok.to_token_string(), expires_at))
}

/// Creates a connector (location) and its first enrolment token.
pub async fn create_connector(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(company): Path<String>,
    Body(body): Body<NewConnector>,
) -> Result<(StatusCode, Json<ConnectorWithToken>), ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::ManageConnectors).await?;
    check_name("location", &body.location)?;
    let mut tx = st.store.begin().await?;
    let conn = tx.create_connector(c.id, &body.location).await?;
    created_with_token(&st, tx, &p, from, conn, AuditAction::ConnectorCreated).await
}

/// Issues a new enrolment token for an existing connector (re-enrolment).
pub async fn new_enrollment_token(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<(StatusCode, Json<ConnectorWithToken>), ApiErr> {
    let conn = connector_permit(&st, &p, id, Op::ManageConnectors).await?;
    let tx = st.store.begin().await?;
    created_with_token(
        &st,
        tx,
        &p,
        from,
        conn,
        AuditAction::ConnectorEnrollmentToken,
    )
    .await
}

/// Issues an enrolment token for `conn` in `tx`, audits `action` there, commits, and answers
/// 201 with both.
async fn created_with_token(
    st: &State,
    mut tx: Box<dyn StoreTx>,
    p: &Principal,
    from: SocketAddr,
    conn: portcullis_store::Connector,
    action: AuditAction,
) -> Result<(StatusCode, Json<ConnectorWithToken>), ApiErr> {
    let (token, expires_at) = issue_enrollment(st, &mut *tx, conn.id).await?;
    tx.audit(ops::event(
        Caller { principal: p, from },
        Some(conn.company_id),
        action,
        &conn.location,
        serde_json::json!({"connector": conn.id}),
    ))
    .await?;
    ops::commit(st, tx, &[Change::Resolution]).await?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectorWithToken {
            connector: view(st, conn),
            enrollment_token: token,
            expires_at,
        }),
    ))
}

/// Lists a company's connectors with live status.
pub async fn list_connectors(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Path(company): Path<String>,
) -> Result<Json<Vec<ConnectorView>>, ApiErr> {
    let (c, _permit) = company_permit(&st, &p, &company, Op::ReadConnectors).await?;
    let list = st.store.list_connectors(Some(c.id)).await?;
    Ok(Json(list.into_iter().map(|c| view(&st, c)).collect()))
}

/// Revokes a connector's certificate and cuts its live tunnel at once.
pub async fn revoke_connector(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(id): Path<Id>,
) -> Result<Json<ConnectorView>, ApiErr> {
    let conn = connector_permit(&st, &p, id, Op::ManageConnectors).await?;
    let mut tx = st.store.begin().await?;
    tx.revoke_connector(id, OffsetDateTime::now_utc()).await?;
    tx.audit(ops::event(
        Caller {
            principal: &p,
            from,
        },
        Some(conn.company_id),
        AuditAction::ConnectorRevoked,
        &conn.location,
        serde_json::json!({"connector": id}),
    ))
    .await?;
    ops::commit(&st, tx, &[Change::ConnectorCut { connector: id }]).await?;
    let conn = st
        .store
        .get_connector(id)
        .await?
        .ok_or_else(|| ApiErr::not_found("connector"))?;
    Ok(Json(view(&st, conn)))
}

/// `GET /audit` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Company id or name; without it, everything for a vendor-wide reader, one's own company
    /// otherwise.
    pub company: Option<String>,
    /// Only actions starting with this.
    pub action: Option<String>,
    /// Only events after this sequence number.
    pub after: Option<i64>,
    /// At most this many (≤ 1000).
    pub limit: Option<u32>,
}

/// Lists audit events.
pub async fn list_audit(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<portcullis_store::AuditEvent>>, ApiErr> {
    // Who may read whose events is decided in one place, with the export's.
    let (scope, permit) = ops::audit::scope(&st, &p, q.company.as_deref()).await?;
    let filter = ops::audit::ListFilter {
        action: q.action,
        after: q.after,
        limit: q.limit,
    };
    Ok(Json(ops::audit::list(&st, &permit, &scope, filter).await?))
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("token", &"****")
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ConnectorWithToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorWithToken")
            .field("connector", &self.connector)
            .field("enrollment_token", &"****")
            .finish_non_exhaustive()
    }
}
