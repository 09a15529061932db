//! A route request, from the table check to the end of the relay (sap-reference §1.5.3
//! steps 4–9).
//!
//! The router resolves the next hop, checks every address it may connect to against the
//! table, connects (with TLS when a `KT` line names the hop), forwards the request when more
//! routers follow, answers `NI_PONG` and relays bytes both ways until either side closes,
//! the administrator cancels the route (−97 to both sides) or the router stops (−98).
//! Routed connections are never re-checked: a reloaded table applies to new routes only.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use portcullis_ni::frame::NI_PONG;
use portcullis_ni::rterr::ReturnCode;
use portcullis_ni::{Message, RouteRequest, TalkMode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::clients::{EndReason, Slot};
use crate::io::{read_frame, write_frame};
use crate::server::Shared;
use crate::session::{send_error, BoxStream, Conn};
use crate::table::{Decision, PeerName, RouteMode, RouteQuery};

/// A route request the router refuses, with the code and text the client gets.
struct Refusal {
    code: ReturnCode,
    text: String,
    /// The client already has its answer (a later router's error, passed through).
    answered: bool,
}

fn refusal(code: ReturnCode, text: impl Into<String>) -> Refusal {
    Refusal {
        code,
        text: text.into(),
        answered: false,
    }
}

/// Handles a route request on `conn`.
pub(crate) async fn handle(shared: &Shared, mut conn: Conn, request: RouteRequest) {
    let peer_text = format!("host {}/{}", conn.peer_ip(), conn.peer.port());
    let handle = conn.handle();
    if shared.is_soft() {
        conn.refuse(shared, ReturnCode::Shutdown, "saprouter shutdown")
            .await;
        shared.log_line("DISCONNECT", &format!("{handle} {peer_text}"));
        return;
    }
    let next = match connect_next(shared, &mut conn, &request).await {
        Ok(next) => next,
        Err(r) => {
            shared.trace.write(2, format!("{}: {}", conn.peer, r.text));
            if !r.answered {
                conn.refuse(shared, r.code, &r.text).await;
            }
            shared.log_line("DISCONNECT", &format!("{handle} {peer_text}"));
            return;
        }
    };
    let Next {
        mut stream,
        slot,
        addr,
        host,
        service,
    } = next;
    if write_frame(&mut conn.stream, NI_PONG).await.is_err() {
        shared.log_line("DISCONNECT", &format!("{handle} {peer_text}"));
        return;
    }
    shared
        .clients
        .set_routed(&conn.slot, &slot, &host, &service);
    let pair = format!("S{}/{}", conn.slot.id(), slot.id());
    let target_text = format!("host {}/{} ({host})", addr.ip(), addr.port());
    shared.log_line("CONNECT TO", &format!("{pair} {target_text}"));
    shared.trace.write(
        2,
        format!("{}: routed to {host}:{service} as {pair}", conn.peer),
    );

    let ended = tokio::select! {
        result = tokio::io::copy_bidirectional(&mut conn.stream, &mut stream) => {
            if let Err(e) = result {
                shared.trace.write(2, format!("{pair}: {e}"));
            }
            None
        }
        reason = conn.slot.stopper().stopped() => Some(reason),
        _ = shared.stop.cancelled() => Some(EndReason::Shutdown),
    };
    if let Some(reason) = ended {
        let (code, text) = match reason {
            EndReason::Canceled => (
                ReturnCode::Canceled,
                "connection cancelled by administrator",
            ),
            EndReason::Shutdown => (ReturnCode::Shutdown, "saprouter shutdown"),
        };
        if request.talk_mode == TalkMode::Raw {
            // An NI message would be garbage inside a raw protocol: just close.
            let _ = conn.stream.shutdown().await;
            let _ = stream.shutdown().await;
        } else {
            let detail = format!("route {pair}");
            tokio::join!(
                send_error(&mut conn.stream, shared, code, text, &detail),
                send_error(&mut stream, shared, code, text, &detail),
            );
        }
        shared.trace.write(1, format!("{pair}: {text}"));
    }
    shared.log_line("DISCONNECT", &format!("{pair} {target_text}"));
}

/// The router's side of a route that is up.
struct Next {
    stream: BoxStream,
    slot: Slot,
    addr: SocketAddr,
    host: String,
    service: String,
}

/// Resolves, checks, connects, and forwards to the next router if there is one.
async fn connect_next(
    shared: &Shared,
    conn: &mut Conn,
    request: &RouteRequest,
) -> Result<Next, Refusal> {
    let hop = request
        .next_hop()
        .ok_or_else(|| refusal(ReturnCode::RouterInternal, "route has no next hop"))?;
    let host = hop.host.clone();
    let service = hop.service.clone();
    let port = hop.port().ok_or_else(|| {
        refusal(
            ReturnCode::RouterServiceUnknown,
            format!("service '{service}' unknown"),
        )
    })?;
    let addrs = resolve(&host, port, shared.config.timeout, shared.config.ipv6).await?;

    // Every address the name resolves to is checked; the first permitted one is used.
    let table = shared.table();
    let password = request.password_for_next_hop();
    let hops_before = u8::try_from(request.hops_before()).unwrap_or(u8::MAX);
    let hops_after = u8::try_from(request.hops_after()).unwrap_or(u8::MAX);
    let mode = match request.talk_mode {
        TalkMode::Raw => RouteMode::Native,
        TalkMode::Msg | TalkMode::Rout => RouteMode::Ni,
    };
    let source = conn.peer_ip();
    let mut permitted: Option<(SocketAddr, Option<PeerName>)> = None;
    let mut denied = None;
    for addr in &addrs {
        let mut query = RouteQuery::new(source, &host, port)
            .with_dest_addr(addr.ip())
            .with_password(password)
            .with_hops(hops_before, hops_after)
            .with_mode(mode);
        if let Some(subject) = &conn.tls_peer {
            query = query.with_tls_peer(subject);
        }
        match table.check(&query) {
            Decision::Permit(permit) => {
                shared.trace.write(
                    2,
                    format!(
                        "{}: {host}:{port} ({}) permitted by line {}",
                        conn.peer,
                        addr.ip(),
                        permit.line()
                    ),
                );
                permitted = Some((*addr, permit.outgoing_tls_peer().cloned()));
                break;
            }
            Decision::Deny { line, reason } => {
                shared.trace.write(
                    2,
                    format!(
                        "{}: {host}:{port} ({}) denied: {reason} (line {line:?})",
                        conn.peer,
                        addr.ip()
                    ),
                );
                denied.get_or_insert(reason);
            }
        }
    }
    let Some((addr, tls_peer)) = permitted else {
        shared.log_line(
            "PERM DENIED",
            &format!(
                "{} host {}/{} to {host}/{service}",
                conn.handle(),
                source,
                conn.peer.port()
            ),
        );
        let code = denied
            .map(|reason| reason.return_code())
            .unwrap_or(ReturnCode::PermDenied);
        return Err(refusal(
            code,
            format!(
                "{}: route permission denied ({source} to {host}, {service})",
                shared.config.host_name
            ),
        ));
    };

    let slot = shared
        .clients
        .admit(&addr.ip().to_string(), conn.slot.stopper().clone())
        .ok_or_else(|| refusal(ReturnCode::Overflow, "max. number of clients reached"))?;
    let tcp = match tokio::time::timeout(shared.config.timeout, TcpStream::connect(addr)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            return Err(refusal(
                ReturnCode::RouterConnRefused,
                format!("connection to {host}:{service} failed: {e}"),
            ))
        }
        Err(_) => {
            return Err(refusal(
                ReturnCode::RouterConnRefused,
                format!("connection to {host}:{service} timed out"),
            ))
        }
    };
    let _ = tcp.set_nodelay(true);
    let mut stream: BoxStream = match tls_peer {
        None => Box::new(tcp),
        Some(peer) => {
            let Some(tls) = &shared.tls else {
                return Err(refusal(
                    ReturnCode::RouterSncFailure,
                    format!("the route table requires TLS to {host}, but this router has no TLS identity"),
                ));
            };
            match tokio::time::timeout(shared.config.timeout, tls.connect(tcp, &host, &peer)).await
            {
                Ok(Ok(stream)) => Box::new(stream),
                Ok(Err(e)) => return Err(refusal(ReturnCode::RouterSncFailure, e.to_string())),
                Err(_) => {
                    return Err(refusal(
                        ReturnCode::RouterSncFailure,
                        format!("TLS handshake with {host} timed out"),
                    ))
                }
            }
        }
    };
    if let Some(forwarded) = request.forwarded() {
        forward(shared, conn, &mut stream, &forwarded, &host).await?;
    }
    Ok(Next {
        stream,
        slot,
        addr,
        host,
        service,
    })
}

/// Sends the route on to the next router and waits for its answer. A refusal from further
/// down is passed to the client unchanged (its code and text name the router that refused).
async fn forward(
    shared: &Shared,
    conn: &mut Conn,
    next: &mut BoxStream,
    request: &RouteRequest,
    host: &str,
) -> Result<(), Refusal> {
    let payload = request
        .encode()
        .map_err(|e| refusal(ReturnCode::RouterInternal, e.to_string()))?;
    let exchange = async {
        write_frame(next, &payload).await?;
        read_frame(next, portcullis_ni::MAX_ROUTE_MESSAGE).await
    };
    let answer = match tokio::time::timeout(shared.config.timeout, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            return Err(refusal(
                ReturnCode::RouterConnBroken,
                format!("next router {host}: {e}"),
            ))
        }
        Err(_) => {
            return Err(refusal(
                ReturnCode::Timeout,
                format!("next router {host} did not answer"),
            ))
        }
    };
    match Message::parse(&answer) {
        Ok(Message::Pong) => Ok(()),
        Ok(Message::RtErr(_)) => {
            // Pass the error through as it is; then end the connection.
            let _ = write_frame(&mut conn.stream, &answer).await;
            let _ = conn.stream.shutdown().await;
            Err(Refusal {
                answered: true,
                ..refusal(
                    ReturnCode::PermDenied,
                    format!("next router {host} refused the route"),
                )
            })
        }
        _ => Err(refusal(
            ReturnCode::RouterInternal,
            format!("next router {host} sent an unexpected answer"),
        )),
    }
}

/// The addresses of `host`, within `timeout`; IPv6 ones only with `-6`.
async fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
    ipv6: bool,
) -> Result<Vec<SocketAddr>, Refusal> {
    let unknown = || {
        refusal(
            ReturnCode::RouterHostUnknown,
            format!("hostname '{host}' unknown"),
        )
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip.to_canonical(), port)]
    } else {
        match tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            _ => return Err(unknown()),
        }
    };
    let addrs: Vec<SocketAddr> = addrs.into_iter().filter(|a| ipv6 || a.is_ipv4()).collect();
    if addrs.is_empty() {
        return Err(unknown());
    }
    Ok(addrs)
}
