//! The SOCKS5 entry point (RFC 1928 CONNECT, RFC 1929 username/password).
//!
//! Username = the connector's location ID, password = an API token. The token decides the
//! company; the location picks that company's connector. Replies follow RFC 1928: a target the
//! connector does not list is `0x02` (not allowed by ruleset), an offline connector `0x03`.

use std::net::SocketAddr;

use portcullis_proto::RefuseCode;
use portcullis_socks5::{ReplyCode, TargetAddr};
use tokio::net::TcpStream;

use super::listener::PreauthSlot;
use super::socks5;
use crate::session::{self, SessionError, Target};
use crate::state::State;

/// The SOCKS5 reply for a session error.
pub fn reply_for(e: &SessionError) -> ReplyCode {
    match e {
        SessionError::NotPermitted(_) => ReplyCode::NotAllowed,
        SessionError::ConnectorOffline(_) => ReplyCode::NetworkUnreachable,
        SessionError::Refused { code, .. } => match code {
            RefuseCode::NotAllowed | RefuseCode::WindowClosed => ReplyCode::NotAllowed,
            RefuseCode::ConnectionRefused => ReplyCode::ConnectionRefused,
            RefuseCode::HostUnreachable | RefuseCode::Timeout => ReplyCode::HostUnreachable,
            _ => ReplyCode::GeneralFailure,
        },
        SessionError::Tunnel(_) | SessionError::TooManySessions(_) | SessionError::Unavailable => {
            ReplyCode::GeneralFailure
        }
        SessionError::Denied(_) | SessionError::NoWindow => ReplyCode::NotAllowed,
    }
}

/// Handles one SOCKS5 client.
pub async fn handle(state: State, mut tcp: TcpStream, peer: SocketAddr, permit: PreauthSlot) {
    let deadline = permit.deadline();
    let creds = match socks5::accept_auth(&mut tcp, deadline).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(%peer, error = %e, "socks5 handshake failed");
            return;
        }
    };
    let location = creds.username.clone();
    let token = String::from_utf8_lossy(creds.password.expose()).into_owned();
    let principal = match state.tokens.verify(state.store.as_ref(), &token).await {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(%peer, location = %crate::redact::shown(&location), reason = %e, "socks5 authentication failed");
            let _ = socks5::send_auth_result(&mut tcp, false).await;
            return;
        }
    };
    if socks5::send_auth_result(&mut tcp, true).await.is_err() {
        return;
    }
    let target = match socks5::read_request(&mut tcp, deadline).await {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(%peer, error = %e, "socks5 request failed");
            if let Some(code) = e.reply_code() {
                let _ = socks5::send_reply(&mut tcp, code, None).await;
            }
            return;
        }
    };
    drop(permit);
    if let TargetAddr::Domain(h, _) = &target {
        if portcullis_proto::check_host(h).is_err() {
            // The codec allows 255-byte names; the tunnel protocol allows 253.
            tracing::info!(%peer, "socks5 target name is not a valid host name");
            let _ = socks5::send_reply(&mut tcp, ReplyCode::GeneralFailure, None).await;
            return;
        }
    }
    let (host, port) = match target {
        TargetAddr::Ip(sa) => (sa.ip().to_string(), sa.port()),
        TargetAddr::Domain(h, p) => (h, p),
    };
    let target = Target {
        location,
        host,
        port,
    };
    match session::open(&state, &principal, "socks5", peer, target).await {
        Ok(s) => {
            if socks5::send_reply(&mut tcp, ReplyCode::Succeeded, None)
                .await
                .is_ok()
            {
                s.relay(&state, tcp).await;
            }
        }
        Err(e) => {
            let _ = socks5::send_reply(&mut tcp, reply_for(&e), None).await;
        }
    }
}
