//! `ROUTER_ADM` requests against a running router (sap-reference §1.7): `saprouter -s`,
//! `-p`, `-l`, `-n`, `-t`, `-c`, `-z`, …
//!
//! Accepted only from the router's own host (a loopback peer, or a peer whose address is the
//! one it connected to), as SAProuter does: the table does not govern administration, so
//! the network must not reach it. The information request also needs the `-P` password
//! when one is set, compared in constant time (CVE-2014-0984 was a timing leak in exactly
//! this comparison).
//!
//! Answers: the information request gets the information messages, then the router closes;
//! every other command gets `NI_PONG` when done, or an `NI_RTERR` saying why not. (SAProuter
//! does not document an answer; pysap's admin client does not wait for one, and `portcullis
//! router -c` uses it to report the outcome.)

use std::net::IpAddr;

use portcullis_ni::frame::NI_PONG;
use portcullis_ni::rterr::ReturnCode;
use portcullis_ni::{AdminCommand, AdminRequest, InfoResponse, ServerRecord};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::AsyncWriteExt;

use crate::clients::EndReason;
use crate::io::{write_frame, write_frames};
use crate::server::Shared;
use crate::session::Conn;

/// Whether `peer` is on the router's own host.
pub(crate) fn is_local(peer: IpAddr, local: IpAddr) -> bool {
    let peer = peer.to_canonical();
    peer.is_loopback() || peer == local.to_canonical()
}

/// Compares the presented info password with the configured one in constant time (over
/// their digests, so the lengths leak nothing either).
pub(crate) fn password_ok(configured: Option<&str>, presented: &str) -> bool {
    match configured {
        None => true,
        Some(want) => {
            let want = Sha256::digest(want.as_bytes());
            let got = Sha256::digest(presented.as_bytes());
            want.ct_eq(&got).into()
        }
    }
}

/// Executes one administration request.
pub(crate) async fn handle(shared: &Shared, mut conn: Conn, request: AdminRequest) {
    let peer = conn.peer;
    if !is_local(peer.ip(), conn.local.ip()) {
        shared.trace.write(
            1,
            format!("{peer}: administration request refused: not from the router's host"),
        );
        conn.refuse(
            shared,
            ReturnCode::PermDenied,
            "administration is accepted from the router's own host only",
        )
        .await;
        return;
    }
    let command = request.command;
    shared.trace.write(
        1,
        format!("{peer}: administration command {}", command.code()),
    );
    let outcome: Result<(), (ReturnCode, String)> = match command {
        AdminCommand::Info { password } => {
            if password_ok(shared.config.info_password.as_deref(), &password) {
                send_info(shared, &mut conn).await;
                return;
            }
            shared.trace.write(
                1,
                format!("{peer}: information request with a wrong password"),
            );
            Err((ReturnCode::InfoDenied, "information request refused".into()))
        }
        AdminCommand::NewRouteTable => shared.reload().await.map(|_| ()).map_err(|e| {
            (
                ReturnCode::RouterInternal,
                format!("route table not reloaded: {e}"),
            )
        }),
        AdminCommand::ToggleTrace => {
            let level = shared.trace.toggle();
            shared.trace.write(1, format!("trace level now {level}"));
            Ok(())
        }
        AdminCommand::Stop => {
            shared.clients.stop_all(EndReason::Shutdown);
            shared.stop.cancel();
            Ok(())
        }
        AdminCommand::SoftShutdown => {
            shared.soft_shutdown();
            Ok(())
        }
        AdminCommand::Cancel { ids } => not_found(shared.clients.cancel(&ids)),
        AdminCommand::TraceConnection { ids, .. } => not_found(shared.clients.trace(&ids)),
        AdminCommand::HideErrorInfo => {
            shared.hide_detail(true);
            Ok(())
        }
        // Nothing is buffered: routes are relayed as they arrive.
        AdminCommand::DumpBuffers | AdminCommand::FlushBuffers => Ok(()),
        AdminCommand::SetTracePeer(_) | AdminCommand::ClearTracePeer(_) => Err((
            ReturnCode::Invalid,
            "tracing by peer address is not supported; use -t or trace connections by id".into(),
        )),
    };
    match outcome {
        Ok(()) => {
            let _ = write_frame(&mut conn.stream, NI_PONG).await;
            let _ = conn.stream.shutdown().await;
        }
        Err((code, text)) => conn.refuse(shared, code, &text).await,
    }
}

fn not_found(missing: Vec<u32>) -> Result<(), (ReturnCode, String)> {
    if missing.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = missing.iter().map(u32::to_string).collect();
    Err((
        ReturnCode::NoClient,
        format!("no client with id {}", ids.join(", ")),
    ))
}

async fn send_info(shared: &Shared, conn: &mut Conn) {
    let clients = shared.clients.records();
    let working_dir = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let response = InfoResponse {
        lines: InfoResponse::standard_lines(
            clients.len(),
            &working_dir,
            &shared.config.table_path.display().to_string(),
        ),
        clients,
        server: ServerRecord {
            pid: std::process::id(),
            ppid: std::os::unix::process::parent_id(),
            started_on: shared.started,
            port: shared.port,
            parent_port: 0,
        },
    };
    let payloads = response.to_payloads();
    let send = async {
        write_frames(&mut conn.stream, payloads.iter().map(Vec::as_slice)).await?;
        conn.stream.shutdown().await
    };
    let _ = tokio::time::timeout(shared.config.timeout, send).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_means_loopback_or_the_address_connected_to() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let me: IpAddr = "10.0.0.5".parse().unwrap();
        let other: IpAddr = "10.0.0.6".parse().unwrap();
        assert!(is_local(lo, me));
        assert!(is_local("::1".parse().unwrap(), me));
        assert!(is_local(me, me));
        assert!(is_local("::ffff:10.0.0.5".parse().unwrap(), me));
        assert!(!is_local(other, me));
    }

    #[test]
    fn info_password() {
        assert!(password_ok(None, ""));
        assert!(password_ok(None, "anything"));
        assert!(password_ok(Some("secret"), "secret"));
        assert!(!password_ok(Some("secret"), "secreT"));
        assert!(!password_ok(Some("secret"), ""));
    }
}
