//! One client session through the hub: authorize, open a stream to the connector, relay,
//! audit. Every entry point (SOCKS5, HTTP proxy, `portcullis connect`) goes through here, so
//! they route and authorize on the same parsed identity and audit the same way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_proto::{OpenResult, StreamOpen};
use portcullis_transport::h2stream::H2Stream;
use portcullis_transport::relay::{relay_counted, RelayEnd, Side};
use portcullis_transport::tunnel::TunnelError;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::audit::Event;
use crate::auth::Principal;
use portcullis_domain::cause::EndCause;

use crate::audit_action::AuditAction;
use crate::registry::{CutKey, Tunnel};
use crate::resolve::{Permission, Resolved};
use crate::state::State;
pub use crate::target::{SessionError, Target};

/// Deadline for the connector to answer a `StreamOpen` (it includes its dial).
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(15);

/// An opened session, ready to relay.
#[derive(Debug)]
pub struct Session {
    id: String,
    principal: Principal,
    entry: &'static str,
    client: SocketAddr,
    target: Target,
    /// The service connection and what permits the stream.
    resolved: Resolved,
    tunnel: Arc<Tunnel>,
    /// Taken by [`Session::relay`]; still here on drop means the session never relayed.
    stream: Option<H2Stream>,
    started: Instant,
    state: State,
    /// Holds one of the token's session slots for the session's lifetime.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.stream.is_none() {
            return;
        }
        // Opened and audited as started, but never relayed (the client's upgrade failed or it
        // went away): record the end so no session.start is left without one.
        let company = self.resolved.company_id;
        let (state, principal, target, id, entry, client) = (
            self.state.clone(),
            self.principal.clone(),
            self.target.to_string(),
            self.id.clone(),
            self.entry,
            self.client,
        );
        self.state.tasks.spawn(async move {
            state
                .audit
                .submit(Event {
                    company_id: Some(company),
                    actor: &principal.label(),
                    action: AuditAction::SessionEnd,
                    target: &target,
                    outcome: "ended",
                    detail: serde_json::json!({
                        "session": id, "entry": entry, "client": client.to_string(),
                        "bytes_up": 0, "bytes_down": 0, "duration_ms": 0,
                        "ended_by": "abandoned before relaying (client went away)",
                        "cause": EndCause::ClientClosed.code(),
                    }),
                })
                .await;
        });
    }
}

/// Opens a session for `principal` to `target`.
pub async fn open(
    state: &State,
    principal: &Principal,
    entry: &'static str,
    client: SocketAddr,
    target: Target,
) -> Result<Session, SessionError> {
    let id = uuid::Uuid::new_v4().to_string();
    let slot = state
        .registry
        .token_slots(principal.token_id, state.config.max_sessions_per_token)
        .try_acquire_owned()
        .map_err(|_| SessionError::TooManySessions(state.config.max_sessions_per_token));
    let res = match slot {
        Ok(slot) => match state.resolved.resolve(state, principal, &target).await {
            Ok(resolved) => open_inner(state, principal, entry, client, &resolved, &id)
                .await
                .map(|(t, s)| (t, s, slot, resolved)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match res {
        Ok((tunnel, stream, slot, resolved)) => {
            state
                .audit
                .submit(Event {
                    // The customer's company, also for vendor engineers: it is the customer's
                    // log book the session belongs in.
                    company_id: Some(resolved.company_id),
                    actor: &principal.label(),
                    action: AuditAction::SessionStart,
                    target: &resolved.target.to_string(),
                    outcome: "ok",
                    detail: serde_json::json!({
                        "session": id, "entry": entry, "client": client.to_string(),
                        "connector": tunnel.connector_id, "service": resolved.label,
                        "service_connection": resolved.service.id,
                        "system": resolved.service.system_id,
                        "permitted_by": permitted_by(&resolved.permission),
                    }),
                })
                .await;
            Ok(Session {
                id,
                principal: principal.clone(),
                entry,
                client,
                target: resolved.target.clone(),
                resolved,
                tunnel,
                stream: Some(stream),
                started: Instant::now(),
                state: state.clone(),
                _slot: slot,
            })
        }
        Err(e) => {
            tracing::warn!(session = %id, principal = %principal.label(), %target, entry, error = %e, "session refused");
            state
                .audit
                .record(Event {
                    company_id: principal.company_id,
                    actor: &principal.label(),
                    action: AuditAction::SessionRefused,
                    target: &target.to_string(),
                    outcome: "refused",
                    detail: serde_json::json!({
                        "session": id, "entry": entry, "client": client.to_string(),
                        "code": e.code(), "reason": e.to_string(),
                    }),
                })
                .await;
            Err(e)
        }
    }
}

fn permitted_by(p: &Permission) -> serde_json::Value {
    match p {
        Permission::Window(w) => serde_json::json!({"window": w.id}),
        Permission::Grant(g) => serde_json::json!({"grant": g.id}),
    }
}

async fn open_inner(
    state: &State,
    principal: &Principal,
    entry: &'static str,
    client: SocketAddr,
    resolved: &Resolved,
    id: &str,
) -> Result<(Arc<Tunnel>, H2Stream), SessionError> {
    if !resolved.permit.admits(principal, resolved.service.id) {
        return Err(SessionError::NotPermitted(
            "the session permit is for another user or service connection",
        ));
    }
    let target = &resolved.target;
    let tunnel = state
        .registry
        .get(resolved.company_id, &target.location)
        .ok_or_else(|| SessionError::ConnectorOffline(target.location.clone()))?;
    let (window, grant) = match &resolved.permission {
        Permission::Window(w) => (Some(w.id.to_string()), None),
        Permission::Grant(g) => (None, Some(g.id.to_string())),
    };
    let open = StreamOpen {
        session_id: id.into(),
        host: target.host.clone(),
        port: target.port,
        principal: principal.label(),
        entry: entry.into(),
        client_addr: Some(client.to_string()),
        window,
        grant,
    };
    match tunnel.mux.open_stream(&open, OPEN_TIMEOUT).await? {
        Ok(stream) => Ok((tunnel, stream)),
        Err(OpenResult::Refused { code, message }) => Err(SessionError::Refused { code, message }),
        Err(OpenResult::Connected) => Err(SessionError::Tunnel(TunnelError::Closed)),
    }
}

impl Session {
    /// The session id (shared with the connector's audit).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The window that permits the session; `None` under a standing grant. (The web entry's
    /// banner reads its end.)
    pub fn window_id(&self) -> Option<portcullis_store::Id> {
        match &self.resolved.permission {
            Permission::Window(w) => Some(w.id),
            Permission::Grant(_) => None,
        }
    }

    /// Relays between the client and the target until one side closes or the tunnel is cut,
    /// then audits the end.
    pub async fn relay<C>(mut self, state: &State, client_io: C)
    where
        C: AsyncRead + AsyncWrite + Unpin,
    {
        // The session ends when its tunnel is cut, its token is revoked, or its token expires:
        // all three are awaited in the relay's own task, no watcher task per session.
        let token_cut = state.registry.token_cut(self.principal.token_id);
        let user_cut = state
            .registry
            .cut_token(CutKey::User(self.principal.user_id));
        let permission_cut = state.registry.cut_token(match &self.resolved.permission {
            Permission::Window(w) => CutKey::Window(w.id),
            Permission::Grant(g) => CutKey::Grant(g.id),
        });
        let expiry = self.principal.expires_at.map(|at| {
            let left = (at - time::OffsetDateTime::now_utc()).max(time::Duration::ZERO);
            Instant::now() + Duration::try_from(left).unwrap_or(Duration::ZERO)
        });
        let Some(stream) = self.stream.take() else {
            return;
        };
        let live = Arc::new(crate::live::LiveSession {
            id: self.id.clone(),
            company_id: self.resolved.company_id,
            user_name: self.principal.user_name.clone(),
            actor: self.principal.label(),
            entry: self.entry,
            client: self.client,
            target: self.target.to_string(),
            service_connection_id: self.resolved.service.id,
            since: time::OffsetDateTime::now_utc(),
            bytes: Arc::default(),
            cut: CancellationToken::new(),
        });
        state.live.insert(live.clone());
        /// Takes the session off the live list however the relay ends.
        struct Unlist<'a>(&'a State, &'a str);
        impl Drop for Unlist<'_> {
            fn drop(&mut self) {
                self.0.live.remove(self.1);
            }
        }
        let _unlist = Unlist(state, &live.id);
        let stop = async {
            let expired = async {
                match expiry {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.tunnel.cut.cancelled() => {}
                _ = token_cut.cancelled() => {}
                _ = user_cut.cancelled() => {}
                _ = permission_cut.cancelled() => {}
                _ = live.cut.cancelled() => {}
                _ = expired => {}
            }
        };
        let (stats, end, err) = relay_counted(client_io, stream, stop, live.bytes.clone()).await;
        let cause = match end {
            RelayEnd::Closed => match stats.closed_first {
                Some(Side::Local) => EndCause::ClientClosed,
                Some(Side::Tunnel) => EndCause::BackendClosed,
                None => EndCause::Closed,
            },
            RelayEnd::Error => EndCause::RelayError,
            RelayEnd::Cut if live.cut.is_cancelled() => EndCause::CutByAdmin,
            RelayEnd::Cut if token_cut.is_cancelled() => EndCause::TokenRevoked,
            RelayEnd::Cut if user_cut.is_cancelled() => EndCause::UserDisabled,
            RelayEnd::Cut if permission_cut.is_cancelled() => match &self.resolved.permission {
                Permission::Window(_) => EndCause::WindowClosed,
                Permission::Grant(_) => EndCause::GrantRevoked,
            },
            RelayEnd::Cut if expiry.is_some_and(|at| Instant::now() >= at) => {
                EndCause::TokenExpired
            }
            RelayEnd::Cut => {
                let why = self.tunnel.cut_reason.read().ok().and_then(|r| *r);
                tunnel_cut_cause(why)
            }
        };
        // The people's text: the cause, and what failed when the relay did.
        let ended_by = match (&end, err) {
            (RelayEnd::Error, Some(e)) => format!("error: {e}"),
            _ if cause == EndCause::WindowClosed => "window closed or expired".to_string(),
            _ => cause.to_string(),
        };
        let duration_ms = self.started.elapsed().as_millis() as u64;
        tracing::info!(session = %self.id, principal = %self.principal.label(), target = %self.target,
            up = stats.to_tunnel, down = stats.from_tunnel, duration_ms, cause = cause.code(),
            fault = cause.fault().map(|f| f.code()), %ended_by, "session ended");
        state
            .audit
            .submit(Event {
                company_id: Some(self.resolved.company_id),
                actor: &self.principal.label(),
                action: AuditAction::SessionEnd,
                target: &self.target.to_string(),
                outcome: if end == RelayEnd::Closed {
                    "ok"
                } else {
                    "ended"
                },
                detail: serde_json::json!({
                    "session": self.id, "entry": self.entry, "client": self.client.to_string(),
                    "service": self.resolved.label, "system": self.resolved.service.system_id,
                    "bytes_up": stats.to_tunnel, "bytes_down": stats.from_tunnel,
                    "duration_ms": duration_ms, "ended_by": ended_by,
                    "cause": cause.code(), "fault": cause.fault().map(|f| f.code()),
                }),
            })
            .await;
    }
}

/// The end cause of a session whose tunnel the hub cut: the connector was revoked or
/// the hub is stopping, or the tunnel was lost (heartbeats stopped, a newer tunnel of the same
/// connector replaced it, or no reason was recorded).
fn tunnel_cut_cause(why: Option<portcullis_proto::GoodbyeReason>) -> EndCause {
    use portcullis_proto::GoodbyeReason;
    match why {
        Some(GoodbyeReason::Revoked) => EndCause::ConnectorRevoked,
        Some(GoodbyeReason::Shutdown) => EndCause::HubShutdown,
        _ => EndCause::ConnectorGone,
    }
}
