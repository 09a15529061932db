//! The administration client: what `saprouter -s`, `-l`, `-c id` … send to a running router.
//!
//! Like pysap's admin client, it first asks the router for its NI version and puts that
//! version into the request.

use std::time::Duration;

use portcullis_ni::rterr::RtErrKind;
use portcullis_ni::{AdminCommand, AdminRequest, InfoResponse, Message};

use crate::client::{connect_tcp, query_version, ClientError, RouteRefused};
use crate::io::{read_frame, write_frame, FrameError};

/// Largest information message accepted: the client table of a full router
/// (2 048 clients × 137 bytes) with room to spare.
const MAX_INFO_MESSAGE: usize = 1 << 20;

/// What the router answered.
#[derive(Debug)]
pub enum AdminReply {
    /// The command was carried out.
    Done,
    /// The information response.
    Info(InfoResponse),
}

/// Sends `command` to the router at `host:service` and waits for the answer.
pub async fn send(
    host: &str,
    service: &str,
    command: AdminCommand,
    timeout: Duration,
) -> Result<AdminReply, ClientError> {
    let exchange = async {
        let mut stream = connect_tcp(host, service, timeout).await?;
        let ni_version = query_version(&mut stream).await?;
        let is_info = matches!(command, AdminCommand::Info { .. });
        let request = AdminRequest {
            ni_version,
            command,
        };
        let payload = request
            .encode()
            .map_err(|e| ClientError::Unexpected(format!("cannot encode the request: {e}")))?;
        write_frame(&mut stream, &payload).await?;
        let first = read_frame(&mut stream, MAX_INFO_MESSAGE).await?;
        if let Ok(Message::RtErr(err)) = Message::parse(&first) {
            if err.kind() == RtErrKind::Error {
                return Err(ClientError::Refused(RouteRefused::from_rterr(&err)));
            }
        }
        if !is_info {
            return match Message::parse(&first) {
                Ok(Message::Pong) => Ok(AdminReply::Done),
                other => Err(ClientError::Unexpected(format!("{other:?}"))),
            };
        }
        let mut payloads = vec![first];
        loop {
            match read_frame(&mut stream, MAX_INFO_MESSAGE).await {
                Ok(p) => payloads.push(p),
                Err(FrameError::Closed) => break,
                Err(e) => return Err(e.into()),
            }
        }
        InfoResponse::from_payloads(&payloads)
            .map(AdminReply::Info)
            .map_err(|e| ClientError::Unexpected(format!("bad information response: {e}")))
    };
    // Each step has its own timeout inside; this bounds the whole exchange.
    match tokio::time::timeout(timeout.saturating_mul(4), exchange).await {
        Ok(result) => result,
        Err(_) => Err(ClientError::Timeout(timeout)),
    }
}
