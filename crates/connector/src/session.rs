//! One session: the hub opened a stream and asks for a virtual target.
//!
//! The connector's own key, in this order:
//! 1. a stream that names a **window** must pass the window rule by the connector's clock
//!    (known, not closed, `start <= now < end`, for exactly this `host:port`), else it is
//!    refused with `window_closed`;
//! 2. a stream without a window must name a **grant** (a technical user's standing grant,
//!    which the hub checked); one with neither is refused with `not_allowed`;
//! 3. the current access control list must allow the target; only the [`AccessPermit`] it
//!    returns lets [`dial`] reach an internal system, so no code path can dial an unchecked
//!    target.
//!
//! Internal systems are always dialled directly, never through the outbound proxy (that
//! proxy is for the tunnel to the hub only).
//!
//! A window the connector does not know yet gets [`WINDOW_LEARN_GRACE`]: the hub sends the
//! window on the control channel before the stream that uses it, but the two are read by
//! different tasks, so the stream may be first by a hair.
//!
//! Refusals are audited *before* the refusal is sent, so whoever sees the refusal can rely on
//! the audit line existing. A session that cannot be audited does not start (fail closed):
//! while the audit log cannot be written (a full disk, an I/O error, a read-only file system)
//! every new stream is refused with `unavailable` and the reason, before anything is dialled;
//! each attempt retries the log first, so sessions work again as soon as it can be written.
//! The start record is written before the hub is told the stream is connected.
//!
//! The check is not only made once: the session stays registered in the live registry while it
//! lives, and a reload whose list no longer allows it (or maps it elsewhere), or a window that
//! closes or ends, cuts it; its end is audited with `cause` saying why (an [`EndCause`] code:
//! `access_removed`, `window_closed`, `window_expired` …), `fault` when a party failed, and
//! the human `ended_by` (`access removed`, `window closed by hub`, `window closed at connector
//! by …`).

use std::sync::Arc;
use std::time::Duration;

use portcullis_domain::access::AccessPermit;
use portcullis_domain::cause::{EndCause, Fault};
use portcullis_proto::{OpenResult, RefuseCode, StreamOpen};
use portcullis_transport::h2stream::H2Stream;
use portcullis_transport::relay::{relay_counted, RelayEnd, Side};
use portcullis_transport::tunnel::{IncomingStream, PendingStream};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::acl::AclSnapshot;
use crate::audit::{AuditAction, AuditEvent, AuditLog};
pub use crate::backend::{dial, DialError, DIAL_TIMEOUT};
use crate::backend::{dial_backend, public_reason, BackendIo};
use crate::backend_tls::{BackendTls, LiveBackendTls};
use crate::http::{HttpCtx, HttpStats};
use crate::live::{Admission, LiveSessions, PolicyCut, Refused};
use crate::windows::{now_ms, show_target, Refusal};

/// How long the hub has to send `StreamOpen` on a new stream.
pub const OPEN_DEADLINE: Duration = Duration::from_secs(10);
/// How long a stream naming a window the connector does not know waits for the window to
/// arrive on the control channel before it is refused.
pub const WINDOW_LEARN_GRACE: Duration = Duration::from_secs(1);

/// What a session task needs.
#[derive(Debug, Clone)]
pub(crate) struct SessionCtx {
    /// TLS to back ends, as in force when a session starts.
    pub backend_tls: Arc<LiveBackendTls>,
    /// Per-request records of HTTP entries.
    pub monitor: Arc<crate::monitor::Monitor>,
    /// Cookie domain mappings, as in force when a session starts.
    pub domain_mappings: Arc<crate::shared::LiveDomainMappings>,
    pub acl: watch::Receiver<AclSnapshot>,
    /// Where the session registers, so a reload can re-check it.
    pub live: Arc<LiveSessions>,
    pub audit: Arc<AuditLog>,
    /// Cuts this tunnel's sessions (a child of `shutdown_cut`).
    pub cut: CancellationToken,
    /// Cut at connector shutdown, after the grace period; tells "shutdown" from "tunnel lost".
    pub shutdown_cut: CancellationToken,
}

/// How a session ended: the audit outcome (`closed`, `cut`, `error`), why ([`EndCause`],
/// which also names the party at fault), and the `ended_by` text people and older tools read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ended {
    outcome: &'static str,
    cause: EndCause,
    ended_by: String,
}

impl Ended {
    fn new(outcome: &'static str, cause: EndCause, ended_by: impl Into<String>) -> Self {
        Ended {
            outcome,
            cause,
            ended_by: ended_by.into(),
        }
    }

    /// A session cut from outside: by a policy change (the list or a window), by the
    /// connector's shutdown, or because the tunnel to the hub was lost.
    fn cut(policy: Option<PolicyCut>, shutting_down: bool) -> Self {
        match policy {
            Some(why) => Ended::new("cut", why.cause, why.ended_by),
            None if shutting_down => {
                Ended::new("cut", EndCause::ConnectorShutdown, "connector shutdown")
            }
            None => Ended::new("cut", EndCause::HubGone, "tunnel lost"),
        }
    }

    /// The party at fault, as its code (`None` for a normal end or a policy decision).
    fn fault(&self) -> Option<&'static str> {
        self.cause.fault().map(Fault::code)
    }

    /// The `session.end` record: `detail` plus `ended_by`, `cause` and, when there is one,
    /// `fault`.
    fn event(&self, open: &StreamOpen, mut detail: serde_json::Value) -> AuditEvent {
        if let serde_json::Value::Object(m) = &mut detail {
            m.insert("ended_by".into(), self.ended_by.as_str().into());
            m.insert("cause".into(), self.cause.code().into());
            if let Some(fault) = self.fault() {
                m.insert("fault".into(), fault.into());
            }
        }
        let mut ev = session_event(AuditAction::SessionEnd, open, self.outcome);
        ev.detail = detail;
        ev
    }
}

fn session_event(action: AuditAction, open: &StreamOpen, outcome: &str) -> AuditEvent {
    AuditEvent {
        action,
        session_id: Some(open.session_id.clone()),
        principal: Some(open.principal.clone()),
        target: Some(show_target(&open.host, open.port)),
        outcome: outcome.to_owned(),
        detail: serde_json::Value::Null,
    }
}

/// Serves one stream from `StreamOpen` to the end of its relay, in phases: admit (window
/// rule and access list), dial the back end, record the start and accept, relay (HTTP or
/// bytes) and record the end. A refusal in any phase before the relay is audited and sent.
pub(crate) async fn serve(incoming: IncomingStream, ctx: SessionCtx) {
    let pending = match incoming.read_open(OPEN_DEADLINE).await {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "stream ended before its StreamOpen");
            return;
        }
    };
    let open = pending.open.clone();
    // Checked and registered at once: from here on, a reload or a window change re-checks
    // this session.
    let (permit, admission) = match admit(&ctx, &open).await {
        Ok(p) => p,
        Err(refused) => {
            let (code, message) = (refused.code(), refused.to_string());
            refuse(pending, &ctx, code, message, Some(refused.reason()), None);
            return;
        }
    };
    // Fail closed: no session starts while its start cannot be recorded. Retrying here makes
    // every attempt a probe, so the first one after the disk has room again works.
    if let Err(e) = ctx.audit.retry() {
        refuse_unaudited(pending, &ctx, &e);
        return;
    }
    let backend_tls = ctx.backend_tls.current();
    let Some((pending, backend)) = connect(pending, &ctx, &permit, &admission, &backend_tls).await
    else {
        return;
    };
    let Some((stream, backend)) = start(pending, &ctx, &permit, backend) else {
        return;
    };
    let admitted = Admitted {
        ctx: &ctx,
        open: &open,
        permit: &permit,
        admission: &admission,
    };
    if permit.protocol().is_http() {
        admitted.serve_http(stream, backend, backend_tls).await;
    } else {
        admitted.relay_bytes(stream, backend).await;
    }
}

/// Dials the back end the permit allows, unless a policy change or shutdown cuts the session
/// first; a failure is refused (naming the virtual target and entry, never the internal
/// address) and gives `None`.
async fn connect(
    pending: PendingStream,
    ctx: &SessionCtx,
    permit: &AccessPermit,
    admission: &Admission,
    backend_tls: &BackendTls,
) -> Option<(PendingStream, Box<dyn BackendIo>)> {
    let target = show_target(&pending.open.host, pending.open.port);
    let dialled = tokio::select! {
        r = dial_backend(permit, backend_tls) => r,
        _ = admission.cut().cancelled() => Err(match admission.cut_by_policy() {
            // The hub may hear why a window ended, never the list's internal addresses.
            Some(why) if why.code == RefuseCode::WindowClosed => DialError {
                code: why.code,
                message: format!("{} while connecting to {target}", why.reason),
                public: None,
            },
            Some(why) => DialError {
                code: why.code,
                message: format!("access to {target} was removed while connecting"),
                public: None,
            },
            None => DialError {
                code: RefuseCode::Unavailable,
                message: "the connector is shutting down".into(),
                public: None,
            },
        }),
    };
    let e = match dialled {
        Ok(backend) => return Some((pending, ctx.monitor.track(&target, backend))),
        Err(e) => e,
    };
    // The hub hears the virtual target and the entry, not internal addresses.
    let public = match e.code {
        RefuseCode::Unavailable | RefuseCode::NotAllowed | RefuseCode::WindowClosed => {
            e.message.clone()
        }
        code => format!(
            "{target} (entry {:?}): {}",
            permit.entry(),
            e.public.as_deref().unwrap_or(public_reason(code))
        ),
    };
    let reason = admission.cut_by_policy().map(|_| "cut_while_connecting");
    refuse(
        pending,
        ctx,
        e.code,
        public,
        reason,
        Some((permit, &e.message)),
    );
    None
}

/// Records the session's start, then tells the hub the stream is connected. `None` (the
/// back-end connection closed) when the start cannot be recorded (refused: fail closed) or
/// the hub went away meanwhile (audited as the session's end).
fn start(
    pending: PendingStream,
    ctx: &SessionCtx,
    permit: &AccessPermit,
    backend: Box<dyn BackendIo>,
) -> Option<(H2Stream, Box<dyn BackendIo>)> {
    let open = pending.open.clone();
    let internal = show_target(permit.internal_host(), permit.internal_port());
    let mut start = session_event(AuditAction::SessionStart, &open, "connected");
    start.detail = json!({
        "entry": permit.entry(),
        "internal": internal,
        "entry_point": open.entry,
        "client_addr": open.client_addr,
        "window": open.window,
        "grant": open.grant,
    });
    if let Err(e) = ctx.audit.record(start) {
        drop(backend);
        refuse_unaudited(pending, ctx, &e);
        return None;
    }
    match pending.accept() {
        Ok(stream) => {
            tracing::info!(
                session = %open.session_id, principal = %open.principal,
                target = %show_target(&open.host, open.port), entry = permit.entry(),
                internal = %internal, "session started"
            );
            Some((stream, backend))
        }
        Err(e) => {
            tracing::debug!(session = %open.session_id, error = %e, "hub went away before the stream was accepted");
            let ended = Ended::new(
                "error",
                EndCause::HubGone,
                "hub went away before the stream was accepted",
            );
            let detail = json!({
                "entry": permit.entry(),
                "duration_ms": 0,
                "window": open.window,
                "grant": open.grant,
            });
            ctx.audit.record_or_log(ended.event(&open, detail));
            None
        }
    }
}

/// A session that runs: what its relay phase and end record need.
struct Admitted<'a> {
    ctx: &'a SessionCtx,
    open: &'a StreamOpen,
    permit: &'a AccessPermit,
    admission: &'a Admission,
}

impl Admitted<'_> {
    /// An `http`/`https` entry: requests are checked one by one against the entry's
    /// resources ([`crate::http`]); the end record counts them.
    async fn serve_http(
        &self,
        stream: H2Stream,
        backend: Box<dyn BackendIo>,
        backend_tls: Arc<BackendTls>,
    ) {
        let (ctx, open, permit) = (self.ctx, self.open, self.permit);
        let cut = self.admission.cut();
        let began = Instant::now();
        let stats = Arc::new(HttpStats::default());
        let http_ctx = HttpCtx {
            acl: ctx.acl.clone(),
            audit: ctx.audit.clone(),
            open: open.clone(),
            permit: permit.clone(),
            backend_tls,
            monitor: ctx.monitor.clone(),
            domain_mappings: ctx.domain_mappings.current(),
            live_bytes: self.admission.bytes(),
        };
        let err =
            crate::http::serve(stream, backend, http_ctx, stats.clone(), cut.cancelled()).await;
        let ended = if cut.is_cancelled() {
            self.cut_end()
        } else if let Some(e) = &err {
            Ended::new("error", e.cause(), "error")
        } else {
            Ended::new("closed", EndCause::ClientClosed, "hub side closed")
        };
        let detail = json!({
            "entry": permit.entry(),
            "requests": stats.requests.load(std::sync::atomic::Ordering::Relaxed),
            "requests_denied": stats.denied.load(std::sync::atomic::Ordering::Relaxed),
            "duration_ms": u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
            "error": err.as_ref().map(ToString::to_string),
            "window": open.window,
            "grant": open.grant,
        });
        ctx.audit.record_or_log(ended.event(open, detail));
        tracing::info!(
            session = %open.session_id, target = %show_target(&open.host, open.port),
            outcome = ended.outcome, cause = ended.cause.code(), fault = ended.fault(),
            ended_by = %ended.ended_by, "HTTP session ended"
        );
    }

    /// Any other entry: bytes both ways until a side closes, fails or the session is cut.
    async fn relay_bytes(&self, stream: H2Stream, backend: Box<dyn BackendIo>) {
        let (ctx, open, permit) = (self.ctx, self.open, self.permit);
        let began = Instant::now();
        let (stats, end, err) = relay_counted(
            backend,
            stream,
            self.admission.cut().cancelled(),
            self.admission.bytes(),
        )
        .await;
        let duration_ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
        let policy_cut = self.admission.cut_by_policy();
        let ended = match end {
            RelayEnd::Closed => match stats.closed_first {
                Some(Side::Tunnel) => {
                    Ended::new("closed", EndCause::ClientClosed, "hub side closed")
                }
                Some(Side::Local) => {
                    Ended::new("closed", EndCause::BackendClosed, "backend closed")
                }
                None => Ended::new("closed", EndCause::Closed, "peers"),
            },
            // The relay does not say which side failed (the hub uses the same cause); the
            // record's `error` field says what failed.
            RelayEnd::Error => Ended::new("error", EndCause::RelayError, "error"),
            RelayEnd::Cut => self.cut_end(),
        };
        let mut detail = json!({
            "entry": permit.entry(),
            "bytes_from_hub": stats.from_tunnel,
            "bytes_to_hub": stats.to_tunnel,
            "duration_ms": duration_ms,
            "error": err.as_ref().map(|e| e.to_string()),
            "window": open.window,
            "grant": open.grant,
        });
        if let Some(why) = &policy_cut {
            if let serde_json::Value::Object(m) = &mut detail {
                m.insert("cut_reason".into(), why.reason.as_str().into());
            }
        }
        ctx.audit.record_or_log(ended.event(open, detail));
        tracing::info!(
            session = %open.session_id, target = %show_target(&open.host, open.port),
            outcome = ended.outcome, cause = ended.cause.code(), fault = ended.fault(),
            ended_by = %ended.ended_by, bytes_from_hub = stats.from_tunnel,
            bytes_to_hub = stats.to_tunnel, duration_ms, "session ended"
        );
    }

    /// The end of a session cut from outside (see [`Ended::cut`]).
    fn cut_end(&self) -> Ended {
        Ended::cut(
            self.admission.cut_by_policy(),
            self.ctx.shutdown_cut.is_cancelled(),
        )
    }
}

/// Admits the stream ([`LiveSessions::admit`] at the connector's clock). A window the
/// connector does not know yet is waited for, up to [`WINDOW_LEARN_GRACE`].
async fn admit(ctx: &SessionCtx, open: &StreamOpen) -> Result<(AccessPermit, Admission), Refused> {
    let mut learned = ctx.live.subscribe_windows();
    let deadline = Instant::now() + WINDOW_LEARN_GRACE;
    loop {
        match ctx.live.admit(&ctx.acl, open, &ctx.cut, now_ms()) {
            Err(Refused::Window(Refusal::Unknown { id })) => {
                let more = tokio::select! {
                    changed = learned.changed() => changed.is_ok(),
                    _ = tokio::time::sleep_until(deadline) => false,
                    _ = ctx.cut.cancelled() => false,
                };
                if !more {
                    return Err(Refused::Window(Refusal::Unknown { id }));
                }
            }
            other => return other,
        }
    }
}

/// Refuses a stream because its start could not be recorded: `unavailable`, with the reason
/// (the I/O error, never the log's path).
fn refuse_unaudited(pending: PendingStream, ctx: &SessionCtx, e: &crate::audit::AuditError) {
    let why = match e {
        crate::audit::AuditError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    };
    tracing::error!(session = %pending.open.session_id, error = %e, "cannot audit the session start; refusing it");
    let message = format!(
        "the connector cannot write its audit log ({why}); it refuses new sessions until it can"
    );
    refuse(
        pending,
        ctx,
        RefuseCode::Unavailable,
        message,
        Some("audit_unwritable"),
        None,
    );
}

/// Audits and logs a refusal, then sends it. `reason` is the rule that refused it
/// (`window_ended`, `no_access_entry` …); `dial` the permit and the local error of a failed dial.
fn refuse(
    pending: PendingStream,
    ctx: &SessionCtx,
    code: RefuseCode,
    message: String,
    reason: Option<&str>,
    dial: Option<(&AccessPermit, &str)>,
) {
    let open = &pending.open;
    let target = show_target(&open.host, open.port);
    let code_name = serde_json::to_value(code).unwrap_or_default();
    let mut ev = session_event(AuditAction::SessionRefused, open, "refused");
    ev.detail = json!({
        "code": code_name,
        "message": message,
        "reason": reason.unwrap_or("dial_failed"),
        "entry": dial.map(|(p, _)| p.entry()),
        "dial_error": dial.map(|(_, e)| e),
        "entry_point": open.entry,
        "client_addr": open.client_addr,
        "window": open.window,
        "grant": open.grant,
    });
    ctx.audit.record_or_log(ev);
    tracing::warn!(
        session = %open.session_id, principal = %open.principal, target = %target,
        code = %code_name, reason = dial.map_or(message.as_str(), |(_, e)| e),
        "session refused"
    );
    let session = open.session_id.clone();
    if let Err(e) = pending.refuse(OpenResult::Refused { code, message }) {
        tracing::debug!(session = %session, error = %e, "could not send the refusal");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> StreamOpen {
        StreamOpen {
            session_id: "s1".into(),
            principal: "alice".into(),
            host: "erp.internal".into(),
            port: 3200,
            entry: "ni".into(),
            client_addr: None,
            window: None,
            grant: Some("g1".into()),
        }
    }

    #[test]
    fn an_end_record_carries_cause_fault_and_ended_by() {
        let lost = Ended::cut(None, false);
        let ev = lost.event(&open(), json!({"entry": "erp"}));
        assert_eq!(ev.outcome, "cut");
        assert_eq!(ev.detail["cause"], "hub_gone");
        assert_eq!(ev.detail["fault"], "hub");
        assert_eq!(ev.detail["ended_by"], "tunnel lost");
        assert_eq!(ev.detail["entry"], "erp");

        let policy = PolicyCut {
            cause: EndCause::WindowClosed,
            ended_by: "window closed at connector by alice".into(),
            reason: "closed".into(),
            code: RefuseCode::WindowClosed,
        };
        let ev = Ended::cut(Some(policy), true).event(&open(), json!({}));
        assert_eq!(ev.detail["cause"], "window_closed");
        assert_eq!(ev.detail["ended_by"], "window closed at connector by alice");
        assert!(ev.detail.get("fault").is_none(), "{}", ev.detail);

        let down = Ended::cut(None, true).event(&open(), json!({}));
        assert_eq!(down.detail["cause"], "connector_shutdown");
        assert!(down.detail.get("fault").is_none());
    }
}
