//! `GET /api/v1/connect?location=L&target=host:port` upgraded to a WebSocket: one stream for
//! `portcullis connect`, which forwards a local port for clients that speak neither SOCKS5 nor
//! HTTP proxies (psql, ssh). Binary messages carry the bytes; a close frame ends the stream.

use std::net::SocketAddr;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State as AxState};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::io::{AsyncWriteExt, DuplexStream};

use super::extract::Query;
use super::{ApiErr, Authed};
use crate::entry::http_proxy::status_for;
use crate::session::{self, Target};
use crate::state::State;
use portcullis_transport::relay::read_chunk;

/// Query of the connect call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectQuery {
    /// Connector location ID.
    pub location: String,
    /// Virtual `host:port`.
    pub target: String,
}

/// Read buffer per WebSocket. The WebSocket library zero-fills its whole read buffer (128 KiB
/// by default) on the first read, which made every `portcullis connect` session cost ~143 KiB
/// on the hub; 16 KiB keeps bulk transfers at the same rate (`docs/benchmarks.md`).
pub const WS_READ_BUFFER: usize = 16 * 1024;

/// Opens the session first, so a refusal is a plain HTTP error the client can print, and
/// upgrades only when the connector has connected.
pub async fn connect(
    AxState(st): AxState<State>,
    Authed(p): Authed,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<ConnectQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiErr> {
    let ws = ws.map_err(|r| {
        ApiErr::bad_request(
            "websocket_required",
            format!("this endpoint needs a WebSocket upgrade: {r}"),
        )
    })?;
    let hp = portcullis_domain::target::HostPorts::parse(&q.target)
        .map_err(|e| ApiErr::bad_request("bad_target", e.to_string()))?;
    if hp.first != hp.last {
        return Err(ApiErr::bad_request(
            "bad_target",
            "connect to one port, not a range",
        ));
    }
    let target = Target {
        location: q.location,
        host: hp.host,
        port: hp.first,
    };
    let s = session::open(&st, &p, "connect", peer, target)
        .await
        .map_err(|e| ApiErr::new(status_for(&e), e.code(), e.client_message()))?;
    let st2 = st.clone();
    Ok(ws
        .max_message_size(1 << 20)
        .read_buffer_size(WS_READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let (ours, theirs) = tokio::io::duplex(256 * 1024);
            let pump = tokio::spawn(pump(socket, theirs));
            s.relay(&st2, ours).await;
            let _ = pump.await;
        }))
}

/// Moves bytes between a WebSocket and a byte pipe until both directions are done.
async fn pump(ws: WebSocket, io: DuplexStream) {
    let (mut tx, mut rx) = ws.split();
    let (mut rd, mut wr) = tokio::io::split(io);
    let inbound = async move {
        while let Some(Ok(msg)) = rx.next().await {
            let go_on = match msg {
                Message::Binary(b) => wr.write_all(&b).await.is_ok(),
                Message::Close(_) => false,
                _ => true,
            };
            if !go_on {
                break;
            }
        }
        let _ = wr.shutdown().await;
    };
    let outbound = async move {
        let mut buf = bytes::BytesMut::new();
        while let Ok(Some(chunk)) = read_chunk(&mut rd, &mut buf).await {
            if tx.send(Message::Binary(chunk)).await.is_err() {
                break;
            }
        }
        let _ = tx.send(Message::Close(None)).await;
    };
    // When the target side is done, the client gets a short while to answer the close frame;
    // a client that never does must not pin the connection.
    let inbound = tokio::spawn(inbound);
    outbound.await;
    let abort = inbound.abort_handle();
    if tokio::time::timeout(std::time::Duration::from_secs(5), inbound)
        .await
        .is_err()
    {
        abort.abort();
    }
}
