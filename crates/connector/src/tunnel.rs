//! One established tunnel: the multiplexer driver, the control channel and heartbeats.
//!
//! Two tasks per tunnel:
//! - the **driver** owns the multiplexer and loops on `accept()`. That call also drives the
//!   connection's I/O, so it must be polled for as long as any stream lives, including while
//!   sessions drain at shutdown. It hands the control stream over and spawns one tracked task
//!   per session stream.
//! - the **control loop** (the caller's task) speaks on the control stream: inventory at once
//!   and after every ACL change, a heartbeat every interval, answers to the hub's heartbeats,
//!   `Goodbye`. It applies the hub's `WindowSet` / `WindowUpdate` to the window table, and
//!   sends `WindowClosed` for windows closed at the connector (at once, and again on every new
//!   tunnel until the hub confirms). Its liveness deadline is an explicit `select!` arm: no
//!   frame for three intervals and the tunnel is declared dead.
//!
//! Control frames are read by a small reader task feeding a channel, because reading a frame
//! is not cancel-safe and the loop's `select!` would otherwise drop half-read frames.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use portcullis_proto::{Goodbye, GoodbyeReason, Heartbeat, Message, Welcome};
use portcullis_transport::framed::{read_message, write_message};
use portcullis_transport::h2stream::H2Stream;
use portcullis_transport::tunnel::{ConnectorMux, Incoming, TunnelError};
use tokio::io::{AsyncRead, AsyncWrite, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::acl::inventory;
use crate::session::{self, SessionCtx};
use crate::shared::{AbortOnDrop, Shared};

/// Heartbeat interval used when the hub announces 0.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
/// Bounds on the hub's heartbeat interval: faster would be a busy loop, slower would leave a
/// dead tunnel undetected for hours.
pub const HEARTBEAT_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(20), Duration::from_secs(600));
/// Missed intervals after which the tunnel is dead.
pub const MISSED_HEARTBEATS: u32 = 3;
/// Grace period for live sessions at shutdown before they are cut.
pub const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// How long cut sessions get to write their audit records.
pub const CUT_WAIT: Duration = Duration::from_secs(2);
/// After `Goodbye` and the drain, how long the hub gets to close the tunnel itself. Until it
/// does, the driver keeps flushing, so the `Goodbye` is not lost in a dropped connection.
pub const GOODBYE_LINGER: Duration = Duration::from_secs(1);

/// Why a tunnel ended.
#[derive(Debug)]
pub(crate) enum TunnelEnd {
    /// The connector is shutting down (sessions were drained).
    Shutdown,
    /// No frame for [`MISSED_HEARTBEATS`] intervals.
    HeartbeatTimeout,
    /// The hub said goodbye (not a revocation): reconnect.
    Goodbye(Goodbye),
    /// The hub revoked this connector: stop.
    Revoked(Goodbye),
    /// The connection or the control channel failed or closed.
    Lost(String),
}

impl std::fmt::Display for TunnelEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TunnelEnd::Shutdown => f.write_str("connector shutdown"),
            TunnelEnd::HeartbeatTimeout => {
                write!(
                    f,
                    "no frame from the hub for {MISSED_HEARTBEATS} heartbeat intervals"
                )
            }
            TunnelEnd::Goodbye(g) => write!(f, "hub said goodbye ({:?}): {}", g.reason, g.message),
            TunnelEnd::Revoked(g) => write!(f, "hub revoked this connector: {}", g.message),
            TunnelEnd::Lost(why) => write!(f, "tunnel lost: {why}"),
        }
    }
}

/// The hub's heartbeat interval, bounded.
pub(crate) fn heartbeat_interval(welcome: &Welcome) -> Duration {
    if welcome.heartbeat_interval_ms == 0 {
        return DEFAULT_HEARTBEAT;
    }
    Duration::from_millis(welcome.heartbeat_interval_ms)
        .clamp(HEARTBEAT_BOUNDS.0, HEARTBEAT_BOUNDS.1)
}

/// What [`serve`] needs from the agent.
#[derive(Debug)]
pub(crate) struct TunnelCtx<'a> {
    pub shared: &'a Arc<Shared>,
    pub sessions: &'a TaskTracker,
    /// Cut at shutdown after the grace period.
    pub shutdown_cut: &'a CancellationToken,
    pub shutdown: &'a CancellationToken,
}

/// Runs an established tunnel until it ends; on shutdown, drains sessions before returning.
pub(crate) async fn serve<IO>(
    welcome: &Welcome,
    mux: ConnectorMux<IO>,
    ctx: TunnelCtx<'_>,
) -> TunnelEnd
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tunnel_cut = ctx.shutdown_cut.child_token();
    let stop_accepting = CancellationToken::new();
    let (control_tx, control_rx) = mpsc::channel(1);
    let session_ctx = SessionCtx {
        backend_tls: ctx.shared.backend_tls.clone(),
        monitor: ctx.shared.monitor.clone(),
        domain_mappings: ctx.shared.domain_mappings.clone(),
        acl: ctx.shared.acl.subscribe(),
        live: ctx.shared.live.clone(),
        audit: ctx.shared.audit.clone(),
        cut: tunnel_cut.clone(),
        shutdown_cut: ctx.shutdown_cut.clone(),
    };
    let mut driver = AbortOnDrop(tokio::spawn(drive(
        mux,
        control_tx,
        session_ctx,
        ctx.sessions.clone(),
        stop_accepting.clone(),
    )));

    let end = control_loop(welcome, control_rx, &mut driver, &ctx).await;
    ctx.shared.control_live.store(false, Ordering::SeqCst);
    // Pairs with `Shared::install_acl`: a reload that saw the channel live relies on us.
    ctx.shared
        .publish_generation(ctx.shared.acl.borrow().generation);

    if let TunnelEnd::Shutdown = end {
        // Phase one: no new streams (GOAWAY), live sessions get a grace period.
        stop_accepting.cancel();
        ctx.sessions.close();
        if tokio::time::timeout(DRAIN_GRACE, ctx.sessions.wait())
            .await
            .is_err()
        {
            tracing::info!(grace = ?DRAIN_GRACE, "cutting sessions still running after the grace period");
            // Phase two: cut what is left; the driver keeps running so resets go out.
            ctx.shutdown_cut.cancel();
            let _ = tokio::time::timeout(CUT_WAIT, ctx.sessions.wait()).await;
        }
        let _ = tokio::time::timeout(GOODBYE_LINGER, &mut driver.0).await;
    } else {
        tunnel_cut.cancel();
    }
    drop(driver);
    end
}

async fn control_loop(
    welcome: &Welcome,
    mut control_rx: mpsc::Receiver<H2Stream>,
    driver: &mut AbortOnDrop<String>,
    ctx: &TunnelCtx<'_>,
) -> TunnelEnd {
    let interval = heartbeat_interval(welcome);
    let dead_after = interval * MISSED_HEARTBEATS;
    let mut last_rx = Instant::now();
    let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut acl_rx = ctx.shared.acl.subscribe();
    let mut writer: Option<WriteHalf<H2Stream>> = None;
    let mut frames: Option<mpsc::Receiver<Result<Message, TunnelError>>> = None;
    let mut _reader: Option<AbortOnDrop<()>> = None;
    let mut seq: u64 = 0;
    // The last heartbeat sent and when, for the round trip its acknowledgement shows.
    let mut sent_at: Option<(u64, Instant)> = None;
    // Outbox messages sent on this tunnel (a new tunnel sends them all again).
    let mut closes_sent = HashSet::new();
    // Certificate renewal (only with a hub that offers it): when it is due, and the key
    // waiting for its certificate.
    let renews = crate::renewal::offered(welcome);
    // Health reports (only to a hub that takes them).
    let reports = crate::health::offered(welcome);
    let mut report_tick = tokio::time::interval(ctx.shared.monitor.report_interval());
    report_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut renew_at: Option<Instant> = None;
    let mut renew_key: Option<crate::renewal::Pending> = None;
    // Requests without a stored answer since the last success: the wait before the next
    // doubles from a minute up to an hour (a hub that refuses is not asked every minute).
    let mut renew_tries: u32 = 0;

    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => {
                if let Some(w) = writer.as_mut() {
                    let bye = Message::Goodbye(Goodbye {
                        reason: GoodbyeReason::Shutdown,
                        message: "connector shutting down".into(),
                    });
                    let _ = tokio::time::timeout(Duration::from_secs(1), write_message(w, &bye)).await;
                }
                return TunnelEnd::Shutdown;
            }
            why = &mut driver.0 => {
                return TunnelEnd::Lost(why.unwrap_or_else(|e| format!("driver task failed: {e}")));
            }
            Some(control) = control_rx.recv(), if writer.is_none() => {
                let (r, mut w) = tokio::io::split(control);
                let (tx, rx) = mpsc::channel(16);
                _reader = Some(AbortOnDrop(tokio::spawn(read_frames(r, tx))));
                frames = Some(rx);
                last_rx = Instant::now();
                ctx.shared.control_live.store(true, Ordering::SeqCst);
                let snap = acl_rx.borrow_and_update().clone();
                if let Err(e) = send(&mut w, Message::Inventory(inventory(&snap.acl)), dead_after).await {
                    return TunnelEnd::Lost(format!("sending the inventory: {e}"));
                }
                ctx.shared.publish_generation(snap.generation);
                tracing::debug!(targets = snap.acl.entries().len(), "inventory sent");
                if let Err(e) = send_closes(&mut w, ctx, &mut closes_sent, dead_after).await {
                    return TunnelEnd::Lost(format!("sending a window close: {e}"));
                }
                writer = Some(w);
                if renews {
                    renew_at = renew_due(ctx);
                }
            }
            _ = report_tick.tick(), if writer.is_some() && reports => {
                if let Some(w) = writer.as_mut() {
                    let report = Message::HealthReport(crate::health::report(ctx.shared));
                    if let Err(e) = send(w, report, dead_after).await {
                        return TunnelEnd::Lost(format!("sending the health report: {e}"));
                    }
                }
            }
            _ = sleep_until_some(renew_at), if writer.is_some() && renew_at.is_some() => {
                renew_at = Some(Instant::now() + RENEW_RETRY * 2u32.pow(renew_tries.min(6)));
                renew_tries += 1;
                match crate::renewal::request() {
                    Ok((key, req)) => {
                        renew_key = Some(key);
                        if let Some(w) = writer.as_mut() {
                            if let Err(e) = send(w, Message::RenewRequest(req), dead_after).await {
                                return TunnelEnd::Lost(format!("sending a renewal request: {e}"));
                            }
                        }
                        tracing::info!("client certificate renewal asked");
                    }
                    Err(e) => tracing::error!(error = %e, "cannot make a key for renewal; retrying later"),
                }
            }
            frame = next_frame(&mut frames) => {
                last_rx = Instant::now();
                if let (Some(Ok(Message::Heartbeat(Heartbeat { seq: s, ack: true }))), Some((sent, at))) = (&frame, sent_at) {
                    if *s == sent {
                        let rtt = u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX);
                        ctx.shared.status.send_modify(|st| st.heartbeat_rtt_ms = Some(rtt));
                        sent_at = None;
                    }
                }
                let Some(w) = writer.as_mut() else { continue };
                if let Some(Ok(Message::RenewOffer(offer))) = frame {
                    if let Some(next) = on_renew_offer(offer, renew_key.take(), w, ctx, dead_after).await {
                        match next {
                            Ok(Some(at)) => {
                                renew_at = Some(at);
                                renew_tries = 0;
                            }
                            // Refused: the retry already set when asking stands.
                            Ok(None) => {}
                            Err(end) => return end,
                        }
                    }
                    continue;
                }
                if let Some(end) = on_control_frame(frame, w, ctx, dead_after).await {
                    return end;
                }
            }
            _ = ticker.tick(), if writer.is_some() => {
                if let Some(w) = writer.as_mut() {
                    seq += 1;
                    let hb = Message::Heartbeat(Heartbeat { seq, ack: false });
                    sent_at = Some((seq, Instant::now()));
                    if let Err(e) = send(w, hb, dead_after).await {
                        return TunnelEnd::Lost(format!("sending a heartbeat: {e}"));
                    }
                }
            }
            changed = acl_rx.changed(), if writer.is_some() => {
                if changed.is_err() {
                    return TunnelEnd::Lost("access control list channel closed".into());
                }
                let snap = acl_rx.borrow_and_update().clone();
                if let Some(w) = writer.as_mut() {
                    if let Err(e) = send(w, Message::Inventory(inventory(&snap.acl)), dead_after).await {
                        return TunnelEnd::Lost(format!("sending the inventory: {e}"));
                    }
                }
                ctx.shared.publish_generation(snap.generation);
                tracing::info!(generation = snap.generation, targets = snap.acl.entries().len(), "new inventory sent to the hub");
            }
            _ = ctx.shared.outbox_ready.notified(), if writer.is_some() => {
                if let Some(w) = writer.as_mut() {
                    if let Err(e) = send_closes(w, ctx, &mut closes_sent, dead_after).await {
                        return TunnelEnd::Lost(format!("sending a window close: {e}"));
                    }
                }
            }
            _ = tokio::time::sleep_until(last_rx + dead_after) => {
                return TunnelEnd::HeartbeatTimeout;
            }
        }
    }
}

/// How long to wait for an answer to a renewal request before asking again.
const RENEW_RETRY: Duration = Duration::from_secs(60);

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// When the newest certificate (the renewed one waiting, else the one in use) is due.
fn renew_due(ctx: &TunnelCtx<'_>) -> Option<Instant> {
    let current = ctx.shared.identity();
    let (_, newest) = crate::renewal::candidates(&ctx.shared.data_dir, &current)
        .into_iter()
        .next()?;
    let due = crate::renewal::due_ms(&newest.certificate_pem, ctx.shared.renew_at_percent)?;
    // Never sooner than a second from now: a certificate due at once (a clock far ahead, a
    // hub issuing very short lives) must not make the connector ask in a loop.
    let wait = due.saturating_sub(crate::windows::now_ms()).max(1000);
    Some(Instant::now() + Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

/// Stores the hub's renewed certificate and tells the hub; `Some(Ok(next due))` when it was
/// taken, `Some(Err)` when the tunnel ends, `None` for an offer nobody asked for.
async fn on_renew_offer(
    offer: portcullis_proto::RenewOffer,
    key: Option<crate::renewal::Pending>,
    w: &mut WriteHalf<H2Stream>,
    ctx: &TunnelCtx<'_>,
    dead_after: Duration,
) -> Option<Result<Option<Instant>, TunnelEnd>> {
    let Some(key) = key else {
        tracing::warn!("a certificate offer without a request; ignored");
        return None;
    };
    let current = ctx.shared.identity();
    match crate::renewal::accept(&ctx.shared.data_dir, &current, key, offer) {
        Ok((stored, cert_pem)) => {
            if let Err(e) = send(w, Message::RenewStored(stored.clone()), dead_after).await {
                return Some(Err(TunnelEnd::Lost(format!("confirming the renewal: {e}"))));
            }
            let renewed = crate::identity::Identity::new(
                cert_pem,
                String::new(),
                current.ca_pem.clone(),
                current.enrollment.clone(),
            );
            let not_after = renewed.certificate_not_after_ms();
            ctx.shared
                .status
                .send_modify(|s| s.certificate_not_after_ms = not_after);
            ctx.shared
                .audit
                .record_or_log(crate::audit::AuditEvent::new(
                    crate::audit::AuditAction::CertificateRenewed,
                    "ok",
                    serde_json::json!({
                        "fingerprint": stored.fingerprint,
                        "not_after_ms": not_after,
                    }),
                ));
            tracing::info!(fingerprint = %stored.fingerprint, "renewed client certificate stored; the next connection uses it");
            Some(Ok(renew_due(ctx)))
        }
        Err(e) => {
            tracing::error!(error = %e, "the hub's renewed certificate was refused; asking again later");
            Some(Ok(None))
        }
    }
}

/// Handles one frame from the hub's control channel: answers heartbeats, applies window
/// changes; `Some` when the frame (or its absence) ends the tunnel.
async fn on_control_frame(
    frame: Option<Result<Message, TunnelError>>,
    w: &mut WriteHalf<H2Stream>,
    ctx: &TunnelCtx<'_>,
    dead_after: Duration,
) -> Option<TunnelEnd> {
    match frame {
        Some(Ok(Message::Heartbeat(Heartbeat { seq, ack: false }))) => {
            let ack = Message::Heartbeat(Heartbeat { seq, ack: true });
            if let Err(e) = send(w, ack, dead_after).await {
                return Some(TunnelEnd::Lost(format!("answering a heartbeat: {e}")));
            }
        }
        Some(Ok(Message::Heartbeat(_))) => {}
        Some(Ok(Message::Goodbye(g))) if g.reason == GoodbyeReason::Revoked => {
            return Some(TunnelEnd::Revoked(g));
        }
        Some(Ok(Message::Goodbye(g))) => return Some(TunnelEnd::Goodbye(g)),
        Some(Ok(Message::WindowSet(set))) => ctx.shared.apply_window_set(set),
        Some(Ok(Message::WindowUpdate(u))) => ctx.shared.apply_window_update(u),
        Some(Ok(other)) => {
            tracing::debug!(kind = other.name(), "ignoring an unexpected control frame");
        }
        Some(Err(e)) => return Some(TunnelEnd::Lost(format!("control channel: {e}"))),
        None => return Some(TunnelEnd::Lost("control channel closed".into())),
    }
    None
}

async fn next_frame(
    frames: &mut Option<mpsc::Receiver<Result<Message, TunnelError>>>,
) -> Option<Result<Message, TunnelError>> {
    match frames {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Writes one control frame, giving up after `deadline` (a hub that stops reading is dead).
async fn send(
    w: &mut WriteHalf<H2Stream>,
    msg: Message,
    deadline: Duration,
) -> Result<(), TunnelError> {
    tokio::time::timeout(deadline, write_message(w, &msg))
        .await
        .map_err(|_| TunnelError::Timeout("control write"))?
}

/// Sends the outbox's `WindowClosed` messages this tunnel has not carried yet.
async fn send_closes(
    w: &mut WriteHalf<H2Stream>,
    ctx: &TunnelCtx<'_>,
    sent: &mut HashSet<String>,
    deadline: Duration,
) -> Result<(), TunnelError> {
    for msg in ctx.shared.unsent_closes(sent) {
        let id = msg.id.clone();
        send(w, Message::WindowClosed(msg), deadline).await?;
        tracing::info!(window = %id, "told the hub about a window closed at the connector");
    }
    Ok(())
}

async fn read_frames(
    mut r: tokio::io::ReadHalf<H2Stream>,
    tx: mpsc::Sender<Result<Message, TunnelError>>,
) {
    loop {
        let res = read_message(&mut r).await;
        let failed = res.is_err();
        if tx.send(res).await.is_err() || failed {
            return;
        }
    }
}

/// Owns the multiplexer: accepts streams until the connection ends. Returns why it ended.
async fn drive<IO>(
    mut mux: ConnectorMux<IO>,
    control_tx: mpsc::Sender<H2Stream>,
    ctx: SessionCtx,
    sessions: TaskTracker,
    stop_accepting: CancellationToken,
) -> String
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stopping = false;
    let mut control_seen = false;
    loop {
        tokio::select! {
            _ = stop_accepting.cancelled(), if !stopping => {
                stopping = true;
                mux.graceful_shutdown();
            }
            incoming = mux.accept() => match incoming {
                None => return "the hub closed the connection".into(),
                Some(Err(TunnelError::Unexpected { expected, got })) => {
                    tracing::warn!(expected, got, "refused a stream the hub opened on an unknown path");
                }
                Some(Err(e)) => return e.to_string(),
                Some(Ok(Incoming::Control(c))) => {
                    if control_seen {
                        tracing::warn!("the hub opened a second control stream; ignoring it");
                    } else {
                        control_seen = true;
                        let _ = control_tx.try_send(c);
                    }
                }
                Some(Ok(Incoming::Stream(s))) => {
                    if stopping {
                        // Dropping it resets the stream: the hub learns at once.
                        drop(s);
                    } else {
                        sessions.spawn(session::serve(s, ctx.clone()));
                    }
                }
            }
        }
    }
}
