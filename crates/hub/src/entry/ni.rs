//! The NI entry: SAP route strings into service connections (BY-04).
//!
//! SAP GUI, niping, pysap and anything else that speaks SAProuter's protocol reach a
//! customer's system through the hub with a route string whose second hop names a service
//! connection, with the engineer's credential as the hub's route password:
//!
//! ```text
//! /H/<hub>/S/3299/W/<API token or route password>/H/<type>.<SID>.<company>.portcullis/S/<port>
//! ```
//!
//! As with any SAProuter, `/W/` follows the router that checks it (in the request it travels
//! in the next entry; a password in the hub's own entry, where pysap's route-string parser
//! puts it, is accepted too). The hub is the first router: it checks the password (an API
//! token, or a short-lived route password from `portcullis route-password`), then opens the session exactly as the SOCKS5
//! and HTTP entries do ([`session::open`]): same name resolution, same window and two-key
//! rules, same audit records (entry `ni`). Further hops after the service connection (the
//! customer's own SAProuter, then the system) are forwarded through the stream like any
//! router forwards them, without the hub's password: it is a credential for the hub, and
//! the routers further on need only the passwords of their own hops. Everything else gets the `NI_RTERR` a SAProuter would send:
//! −94 for anything the hub does not permit, −92 when the system cannot be reached.
//! The hub never answers administration requests: it is not a SAProuter to administer.

use std::net::SocketAddr;

use portcullis_domain::naming::parse_service_host;
use portcullis_ni::frame::NI_PONG;
use portcullis_ni::{Message, ReturnCode, RouteRequest};
use portcullis_proto::RefuseCode;
use portcullis_router::handshake::{self, FirstRequest, Rejected};
use portcullis_router::io::{read_frame, write_frame};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout_at;

use super::listener::PreauthSlot;
use crate::session::{self, SessionError, Target};
use crate::state::State;

/// Buffer between a session's stream and the forwarding of later hops.
const FORWARD_BUFFER: usize = 64 * 1024;

/// The return code for a session error.
pub fn return_code_for(e: &SessionError) -> ReturnCode {
    match e {
        SessionError::NotPermitted(_) | SessionError::Denied(_) | SessionError::NoWindow => {
            ReturnCode::PermDenied
        }
        SessionError::Refused { code, .. } => match code {
            RefuseCode::NotAllowed | RefuseCode::WindowClosed => ReturnCode::PermDenied,
            _ => ReturnCode::RouterConnRefused,
        },
        SessionError::ConnectorOffline(_) | SessionError::Tunnel(_) => {
            ReturnCode::RouterConnRefused
        }
        SessionError::TooManySessions(_) => ReturnCode::Overflow,
        SessionError::Unavailable => ReturnCode::RouterInternal,
    }
}

/// Sends an error and closes, within the pre-auth deadline.
async fn refuse<S: AsyncWrite + Unpin>(
    state: &State,
    stream: &mut S,
    code: ReturnCode,
    text: &str,
) {
    let payload = handshake::error_payload(code, text, "", hub_name(state), true);
    let send = async {
        write_frame(stream, &payload).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(state.config.preauth_timeout, send).await;
}

fn hub_name(state: &State) -> &str {
    state
        .config
        .server_names
        .first()
        .map(String::as_str)
        .unwrap_or("portcullis")
}

/// Handles one NI client.
pub async fn handle(state: State, mut tcp: TcpStream, peer: SocketAddr, permit: PreauthSlot) {
    let deadline = permit.deadline();
    let request = match timeout_at(deadline, handshake::read_first_request(&mut tcp, |_| {})).await
    {
        Ok(Ok(FirstRequest::Route(request))) => request,
        Ok(Ok(FirstRequest::Admin(_))) => {
            tracing::info!(%peer, "ni: administration request refused");
            let text = format!(
                "{}: router administration is not offered here",
                hub_name(&state)
            );
            refuse(&state, &mut tcp, ReturnCode::PermDenied, &text).await;
            return;
        }
        Ok(Err(Rejected::Answer { code, text })) => {
            tracing::info!(%peer, %text, "ni: bad request");
            refuse(&state, &mut tcp, code, &text).await;
            return;
        }
        Ok(Err(Rejected::Gone)) => return,
        Err(_) => {
            tracing::info!(%peer, "ni: no route request in time");
            refuse(
                &state,
                &mut tcp,
                ReturnCode::Timeout,
                "connection timed out",
            )
            .await;
            return;
        }
    };
    let denied = |host: &str, service: &str, why: &str| {
        format!(
            "{}: route permission denied ({} to {host}, {service}): {why}",
            hub_name(&state),
            peer.ip().to_canonical()
        )
    };
    let Some(hop) = request.next_hop() else {
        refuse(
            &state,
            &mut tcp,
            ReturnCode::RouterInternal,
            "route has no next hop",
        )
        .await;
        return;
    };
    let (host, service) = (hop.host.clone(), hop.service.clone());
    if parse_service_host(&host).is_none() {
        let why = "the hub routes to service connections only, named \
                   <type>.<SID>.<company>.portcullis";
        tracing::info!(%peer, host = %crate::redact::shown(&host), "ni: not a service connection");
        refuse(
            &state,
            &mut tcp,
            ReturnCode::PermDenied,
            &denied(&host, &service, why),
        )
        .await;
        return;
    }
    let Some(port) = hop.port() else {
        let text = format!("service '{service}' unknown");
        refuse(&state, &mut tcp, ReturnCode::RouterServiceUnknown, &text).await;
        return;
    };
    let password = request.password_for_next_hop();
    if password.is_empty() {
        let why = "a route password is required: /W/<API token or route password> after the \
                   hub's /S/";
        refuse(
            &state,
            &mut tcp,
            ReturnCode::PermDenied,
            &denied(&host, &service, why),
        )
        .await;
        return;
    }
    let principal = match state.tokens.verify(state.store.as_ref(), password).await {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(%peer, host = %crate::redact::shown(&host), reason = %e, "ni: route password refused");
            let why = "invalid route password";
            refuse(
                &state,
                &mut tcp,
                ReturnCode::PermDenied,
                &denied(&host, &service, why),
            )
            .await;
            return;
        }
    };
    drop(permit);
    let target = Target {
        location: String::new(),
        host: host.clone(),
        port,
    };
    let session = match session::open(&state, &principal, "ni", peer, target).await {
        Ok(s) => s,
        Err(e) => {
            let code = return_code_for(&e);
            let text = if code == ReturnCode::PermDenied {
                denied(&host, &service, &e.client_message())
            } else {
                format!("{}: {}", hub_name(&state), e.client_message())
            };
            refuse(&state, &mut tcp, code, &text).await;
            return;
        }
    };
    match request.forwarded_without_own_password() {
        None => {
            if write_frame(&mut tcp, NI_PONG).await.is_ok() {
                session.relay(&state, tcp).await;
            }
        }
        Some(forwarded) => {
            let (front, back) = tokio::io::duplex(FORWARD_BUFFER);
            tokio::join!(
                session.relay(&state, back),
                forward(&state, tcp, front, &forwarded),
            );
        }
    }
}

/// Sends the rest of the route to the router behind the service connection; on its
/// `NI_PONG`, answers the client and relays; on its error, passes that to the client.
async fn forward<C, S>(state: &State, mut client: C, mut next: S, request: &RouteRequest)
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(payload) = request.encode() else {
        return;
    };
    let exchange = async {
        write_frame(&mut next, &payload).await?;
        read_frame(&mut next, portcullis_ni::MAX_ROUTE_MESSAGE).await
    };
    let answer = match tokio::time::timeout(session::OPEN_TIMEOUT, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            let text = format!("{}: the next router failed: {e}", hub_name(state));
            refuse(state, &mut client, ReturnCode::RouterConnBroken, &text).await;
            return;
        }
        Err(_) => {
            let text = format!("{}: the next router did not answer", hub_name(state));
            refuse(state, &mut client, ReturnCode::Timeout, &text).await;
            return;
        }
    };
    match Message::parse(&answer) {
        Ok(Message::Pong) => {
            if write_frame(&mut client, NI_PONG).await.is_ok() {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut next).await;
            }
        }
        Ok(Message::RtErr(_)) => {
            let _ = write_frame(&mut client, &answer).await;
            let _ = client.shutdown().await;
        }
        _ => {
            let text = format!(
                "{}: the next router sent an unexpected answer",
                hub_name(state)
            );
            refuse(state, &mut client, ReturnCode::RouterInternal, &text).await;
        }
    }
}
