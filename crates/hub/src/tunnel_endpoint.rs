//! The tunnel endpoint: connectors dial in here.
//!
//! Pre-authentication (TLS handshake, certificate lookup, `Hello`) runs under a deadline (the
//! TLS handshake under a shorter one of its own) and holds a pre-auth slot (capped in all and
//! per source, `portcullis_transport::preauth`), so a flood of half-open connections can neither stall the
//! endpoint nor keep connectors from coming back. The
//! certificate is checked against the store on every connect: revocation is a row, effective at
//! once. After the handshake a control loop keeps heartbeats and the inventory.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use portcullis_proto::version::VersionVerdict;
use portcullis_proto::{Goodbye, GoodbyeReason, Heartbeat, Message, Reject, RejectCode, Welcome};
use portcullis_store::Connector;
use portcullis_transport::framed::{read_message, write_message};
use portcullis_transport::h2stream::H2Stream;
use portcullis_transport::pki::fingerprint_hex;
use portcullis_transport::tls::TUNNEL_ALPN;
use portcullis_transport::tunnel::{hub_read_hello, hub_reject, hub_welcome};
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::audit::Event;
use crate::audit_action::AuditAction;
use crate::entry::listener::{accept_loop_on, PreauthSlot};
use crate::registry::Tunnel;
use crate::state::State;

/// Accepts connectors until shutdown.
pub async fn serve(state: State, listener: TcpListener, acceptor: TlsAcceptor) {
    let tracker = state.tunnels.clone();
    accept_loop_on(
        state,
        listener,
        "tunnel",
        &tracker,
        move |st, tcp, peer, permit| handle(st, acceptor.clone(), tcp, peer, permit),
    )
    .await;
}

async fn reject(tls: TlsStream<TcpStream>, code: RejectCode, message: String, min: Option<String>) {
    let r = Reject {
        code,
        message,
        minimum_version: min,
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), hub_reject(tls, r)).await;
}

async fn handle(
    state: State,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    permit: PreauthSlot,
) {
    portcullis_transport::sockopt::tune_tunnel_socket(&tcp);
    let tls_limit = state.config.tls_handshake_timeout.min(permit.remaining());
    let mut tls = match tokio::time::timeout(tls_limit, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "tunnel TLS handshake failed");
            return;
        }
        Err(_) => {
            // At debug: an idle flood times out by the thousand.
            tracing::debug!(%peer, "tunnel TLS handshake timed out");
            return;
        }
    };
    let (fp, alpn_ok) = {
        let conn = tls.get_ref().1;
        let fp = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| fingerprint_hex(c));
        (fp, conn.alpn_protocol() == Some(TUNNEL_ALPN))
    };
    let Some(fp) = fp.filter(|_| alpn_ok) else {
        tracing::info!(%peer, "tunnel client without certificate or ALPN");
        return;
    };
    let connector = match state.store.find_connector_by_fingerprint(&fp).await {
        Ok(Some(c)) if c.revoked_at.is_none() => c,
        Ok(found) => {
            let (code, what) = match found {
                Some(_) => (
                    RejectCode::Revoked,
                    "this connector's certificate was revoked",
                ),
                None => (
                    RejectCode::UnknownConnector,
                    "certificate not known to this hub",
                ),
            };
            tracing::warn!(%peer, fingerprint = %fp, "tunnel refused: {what}");
            refuse_audit(&state, found.as_ref(), &fp, what).await;
            reject(tls, code, what.into(), None).await;
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "store lookup failed on tunnel connect");
            reject(
                tls,
                RejectCode::Unavailable,
                "hub storage unavailable".into(),
                None,
            )
            .await;
            return;
        }
    };
    let hello = match hub_read_hello(&mut tls, permit.remaining()).await {
        Ok(h) => h,
        Err(e) => {
            tracing::info!(%peer, connector = connector.id, error = %e, "tunnel hello failed");
            return;
        }
    };
    let warning = match state.config.version_policy.check(&hello.software_version) {
        VersionVerdict::Accepted => None,
        VersionVerdict::Warn(w) => {
            tracing::warn!(connector = connector.id, location = %connector.location, "{}", w.message);
            Some(w)
        }
        VersionVerdict::TooOld { .. } | VersionVerdict::Unparseable => {
            let min = state.config.version_policy.minimum.to_string();
            let msg = format!(
                "connector version {:?} is older than the minimum {min} this hub accepts; upgrade the connector",
                hello.software_version
            );
            tracing::warn!(connector = connector.id, location = %connector.location, "tunnel refused: {msg}");
            refuse_audit(&state, Some(&connector), &fp, &msg).await;
            reject(tls, RejectCode::ClientTooOld, msg, Some(min)).await;
            return;
        }
    };
    let welcome = Welcome {
        hub_version: env!("CARGO_PKG_VERSION").into(),
        heartbeat_interval_ms: state.config.heartbeat_interval.as_millis() as u64,
        warning: warning.clone(),
        features: vec![
            portcullis_proto::FEATURE_RENEW.to_owned(),
            portcullis_proto::FEATURE_HEALTH.to_owned(),
        ],
    };
    let (mux, control) = match hub_welcome(
        tls,
        welcome,
        &state.config.tunnel_mux,
        permit.remaining(),
    )
    .await
    {
        Ok(pair) => pair,
        Err(e) => {
            tracing::info!(%peer, connector = connector.id, error = %e, "multiplexer start failed");
            return;
        }
    };
    drop(permit);
    let (push, pushed) = mpsc::unbounded_channel();
    let tunnel = Arc::new(Tunnel {
        connector_id: connector.id,
        company_id: connector.company_id,
        location: connector.location.clone(),
        mux: mux.clone(),
        version: hello.software_version.clone(),
        warning,
        connected_at: OffsetDateTime::now_utc(),
        peer: peer.to_string(),
        fingerprint: fp.clone(),
        inventory: RwLock::new(Vec::new()),
        cut: state.shutdown.child_token(),
        cut_reason: RwLock::new(None),
        push,
    });
    state.registry.insert(tunnel.clone());
    // Revocation may have happened while this handshake was in flight. The revoke call updates
    // the store, then cuts what the registry holds; checking the store after registering
    // closes the gap whichever order the two run in.
    match state.store.get_connector(connector.id).await {
        Ok(Some(c)) if c.revoked_at.is_none() && c.cert_fingerprint.as_deref() == Some(&fp) => {}
        Ok(_) => {
            tracing::warn!(
                connector = connector.id,
                "revoked or re-enrolled during the handshake; cutting"
            );
            tunnel.cut(GoodbyeReason::Revoked);
        }
        Err(e) => {
            tracing::error!(error = %e, "store lookup failed after tunnel registration; cutting");
            tunnel.cut(GoodbyeReason::Shutdown);
        }
    }
    if let Err(e) = state
        .store
        .touch_connector(
            connector.id,
            &hello.software_version,
            OffsetDateTime::now_utc(),
        )
        .await
    {
        tracing::warn!(error = %e, "could not record connector version");
    }
    let actor = format!("connector:{}", connector.id);
    state
        .audit
        .record(Event {
            company_id: Some(connector.company_id),
            actor: &actor,
            action: AuditAction::TunnelConnected,
            target: &connector.location,
            outcome: "ok",
            detail: serde_json::json!({"peer": peer.to_string(), "version": hello.software_version}),
        })
        .await;
    tracing::info!(connector = connector.id, location = %connector.location, %peer, "tunnel up");

    // The connector enforces windows by itself: it gets every live window of its service
    // connections now, and each change as it happens.
    if let Err(e) = crate::windows::send_window_set(&state, connector.id).await {
        tracing::error!(error = %e, "cannot read windows for the connector; cutting");
        tunnel.cut(GoodbyeReason::Shutdown);
    }
    let reason = control_loop(&state, &tunnel, control, pushed).await;

    state.registry.remove(&tunnel);
    tunnel.cut.cancel();
    mux.close();
    tracing::info!(connector = connector.id, location = %connector.location, %reason, "tunnel down");
    state
        .audit
        .record(Event {
            company_id: Some(connector.company_id),
            actor: &actor,
            action: AuditAction::TunnelDisconnected,
            target: &connector.location,
            outcome: "ok",
            detail: serde_json::json!({"reason": reason}),
        })
        .await;
}

async fn refuse_audit(state: &State, c: Option<&Connector>, fp: &str, why: &str) {
    let actor = c.map_or_else(|| "unknown".to_string(), |c| format!("connector:{}", c.id));
    state
        .audit
        .record(Event {
            company_id: c.map(|c| c.company_id),
            actor: &actor,
            action: AuditAction::TunnelRefused,
            target: c.map_or("", |c| c.location.as_str()),
            outcome: "refused",
            detail: serde_json::json!({"reason": why, "fingerprint": fp}),
        })
        .await;
}

/// Runs the control channel until the tunnel ends; returns why it ended.
/// Renewal requests a tunnel may make per [`RENEWAL_WINDOW`] (each is a signature by the CA);
/// more are ignored (logged), never a reason to cut the tunnel and its sessions.
const MAX_RENEWALS_PER_WINDOW: u32 = 8;
/// The window of [`MAX_RENEWALS_PER_WINDOW`].
const RENEWAL_WINDOW: Duration = Duration::from_secs(3600);

async fn control_loop(
    state: &State,
    tunnel: &Tunnel,
    control: H2Stream,
    mut pushed: mpsc::UnboundedReceiver<Message>,
) -> String {
    let (mut rd, mut wr) = tokio::io::split(control);
    // `read_message` is not cancel-safe, so a task owns the read half and forwards frames.
    let (tx, mut rx) = mpsc::channel(16);
    let reader = tokio::spawn(async move {
        loop {
            let r = read_message(&mut rd).await;
            let stop = r.is_err();
            if tx.send(r).await.is_err() || stop {
                break;
            }
        }
    });
    let interval = state.config.heartbeat_interval;
    let mut tick = tokio::time::interval_at(Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_rx = Instant::now();
    let mut seq = 0u64;
    // The certificate offered to the connector and not yet stored by it; renewals asked per
    // tunnel are capped, so a connector cannot make the hub sign without end.
    let mut offered: Option<portcullis_transport::pki::SignedCert> = None;
    let mut renewals = (Instant::now(), 0u32);
    // The certificate on record that this tunnel stands for: the one it opened with, then each
    // one it renewed to. A re-enrolment elsewhere moves the record away from it, and this
    // tunnel renews nothing more.
    let mut in_force = tunnel.fingerprint.clone();
    let reason = loop {
        tokio::select! {
            _ = tunnel.cut.cancelled() => {
                let why = tunnel
                    .cut_reason
                    .read()
                    .ok()
                    .and_then(|r| *r)
                    .unwrap_or(GoodbyeReason::Shutdown);
                let bye = Message::Goodbye(Goodbye { reason: why, message: format!("{why:?}") });
                let _ = tokio::time::timeout(Duration::from_secs(1), write_message(&mut wr, &bye)).await;
                break format!("cut by hub: {why:?}");
            }
            m = rx.recv() => match m {
                Some(Ok(msg)) => {
                    last_rx = Instant::now();
                    match msg {
                        Message::Inventory(inv) => {
                            if let Ok(mut cur) = tunnel.inventory.write() {
                                *cur = inv.targets;
                            }
                            state.registry.inventory_changed();
                        }
                        Message::Heartbeat(h) if !h.ack => {
                            let ack = Message::Heartbeat(Heartbeat { seq: h.seq, ack: true });
                            if !write_within(&mut wr, &ack, interval).await {
                                break "heartbeat reply failed".into();
                            }
                        }
                        Message::Heartbeat(_) => {}
                        Message::Goodbye(g) => break format!("connector said goodbye: {:?}", g.reason),
                        Message::WindowClosed(c) => {
                            // Handled here, one at a time: a connector cannot make the hub run
                            // many closes at once. It takes a few store operations; the
                            // deadline keeps heartbeats flowing even if the store is slow.
                            let close = crate::windows::closed_at_connector(
                                state,
                                tunnel.connector_id,
                                &tunnel.location,
                                c,
                            );
                            if tokio::time::timeout(interval, close).await.is_err() {
                                tracing::warn!(
                                    connector = tunnel.connector_id,
                                    "closing a window for the connector took longer than a heartbeat interval"
                                );
                            }
                        }
                        Message::HealthReport(r) => state.health.record(tunnel.connector_id, r),
                        Message::RenewRequest(_) if tunnel.cut.is_cancelled() => {}
                        Message::RenewRequest(r) => {
                            if renewals.0.elapsed() > RENEWAL_WINDOW {
                                renewals = (Instant::now(), 0);
                            }
                            renewals.1 += 1;
                            if renewals.1 > MAX_RENEWALS_PER_WINDOW {
                                tracing::warn!(connector = tunnel.connector_id, "renewal request ignored: more than {MAX_RENEWALS_PER_WINDOW} this hour");
                                continue;
                            }
                            // Store reads and a signature, under a deadline like a window close,
                            // so a slow store cannot hold up heartbeats; an unanswered request
                            // is asked again by the connector.
                            let signing = crate::ops::renewal::sign(state, tunnel.connector_id, &in_force, &r.csr_pem);
                            let Ok(signed) = tokio::time::timeout(interval, signing).await else {
                                tracing::warn!(connector = tunnel.connector_id, "certificate renewal took longer than a heartbeat interval; not answered");
                                continue;
                            };
                            match signed {
                                Ok(signed) => {
                                    let offer = Message::RenewOffer(portcullis_proto::RenewOffer {
                                        certificate_pem: signed.cert_pem.clone(),
                                    });
                                    offered = Some(signed);
                                    if !write_within(&mut wr, &offer, interval).await {
                                        break "sending renew_offer failed".into();
                                    }
                                }
                                Err(e) => tracing::warn!(connector = tunnel.connector_id, error = %e, "certificate renewal refused"),
                            }
                        }
                        Message::RenewStored(_) if tunnel.cut.is_cancelled() => {}
                        Message::RenewStored(s) => {
                            match offered.take() {
                                Some(signed) if signed.fingerprint_hex == s.fingerprint.to_ascii_lowercase() => {
                                    // Under the same deadline: a transaction given up is rolled
                                    // back, the hub keeps the old certificate, and the connector,
                                    // refused with the new one, goes on with the old one.
                                    let putting = crate::ops::renewal::put_in_force(state, tunnel.connector_id, &in_force, &signed);
                                    let put = tokio::time::timeout(interval, putting)
                                        .await
                                        .unwrap_or_else(|_| Err(crate::ops::enrolment::EnrolError::Timeout));
                                    match put {
                                        Ok(()) => {
                                            tracing::info!(connector = tunnel.connector_id, location = %tunnel.location, fingerprint = %signed.fingerprint_hex, "connector certificate renewed");
                                            in_force = signed.fingerprint_hex.clone();
                                        }
                                        Err(e) => tracing::error!(connector = tunnel.connector_id, error = %e, "renewed certificate not put in force; the old one stays"),
                                    }
                                }
                                _ => tracing::warn!(connector = tunnel.connector_id, "renew_stored for a certificate this tunnel did not offer; ignored"),
                            }
                        }
                        other => break format!("protocol error: unexpected {}", other.name()),
                    }
                }
                Some(Err(e)) => break format!("control channel: {e}"),
                None => break "control channel closed".into(),
            },
            Some(m) = pushed.recv() => {
                if !write_within(&mut wr, &m, interval).await {
                    break format!("sending {} failed", m.name());
                }
            }
            _ = tick.tick() => {
                if last_rx.elapsed() > interval * 3 {
                    break "heartbeat timeout".into();
                }
                seq += 1;
                let hb = Message::Heartbeat(Heartbeat { seq, ack: false });
                if !write_within(&mut wr, &hb, interval).await {
                    break "heartbeat send failed".into();
                }
            }
        }
    };
    reader.abort();
    reason
}

async fn write_within<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    m: &Message,
    d: Duration,
) -> bool {
    matches!(
        tokio::time::timeout(d, write_message(w, m)).await,
        Ok(Ok(()))
    )
}
