//! `portcullis connect`: forwards a local port through the hub's HTTPS port, one WebSocket per
//! local connection, for clients that speak neither SOCKS5 nor HTTP proxies (psql, ssh).

use std::net::SocketAddr;

use anyhow::{anyhow, Context, Result};
use futures_util::{SinkExt, StreamExt};
use http::header::AUTHORIZATION;
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use portcullis_client::ApiClient;
use portcullis_transport::relay::read_chunk;

/// What to forward.
#[derive(Debug, Clone)]
pub struct Forward {
    /// Connector location ID.
    pub location: String,
    /// Virtual `host:port`.
    pub target: String,
}

impl Forward {
    /// From the command line's one or two words: a service connection's name alone
    /// (`ssh.prd.acme.portcullis:22`, which names its company, system and type, so no location
    /// is needed), or a connector location and a virtual `host:port`.
    pub fn from_args(words: &[String]) -> Result<Forward> {
        match words {
            [name] => {
                let host = name.rsplit_once(':').map(|(h, _)| h).ok_or_else(|| {
                    anyhow!("`{name}` has no port: write <type>.<SID>.<company>.portcullis:<port>")
                })?;
                if portcullis_domain::naming::parse_service_host(host).is_none() {
                    return Err(anyhow!(
                        "`{name}` is not a service connection name \
                         (<type>.<SID>.<company>.portcullis:<port>); \
                         for a connector's virtual host give its location first: \
                         portcullis connect <LOCATION> {name}"
                    ));
                }
                Ok(Forward {
                    location: ANY_LOCATION.into(),
                    target: name.clone(),
                })
            }
            [location, target] => Ok(Forward {
                location: location.clone(),
                target: target.clone(),
            }),
            _ => Err(anyhow!(
                "give a service connection name, or a location and a target"
            )),
        }
    }
}

/// The location sent with a service connection's name: the hub finds the connector from the
/// service connection itself and ignores this.
pub const ANY_LOCATION: &str = "-";

impl std::fmt::Display for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location == ANY_LOCATION {
            write!(f, "{}", self.target)
        } else {
            write!(f, "{} {}", self.location, self.target)
        }
    }
}

/// Percent-encodes everything but unreserved characters, for query values.
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Listens on `listener` and forwards every accepted connection until `shutdown`.
pub async fn serve(
    client: ApiClient,
    fwd: Forward,
    listener: TcpListener,
    shutdown: CancellationToken,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let (c, f) = (client.clone(), fwd.clone());
        tokio::spawn(async move {
            if let Err(e) = forward(&c, &f, tcp).await {
                tracing::warn!(%peer, "{} {}: {e:#}", f.location, f.target);
                eprintln!("portcullis connect: {}/{}: {e:#}", f.location, f.target);
            }
        });
    }
}

/// Forwards one local connection.
pub async fn forward(client: &ApiClient, fwd: &Forward, tcp: TcpStream) -> Result<()> {
    let _ = tcp.set_nodelay(true);
    let (host, _) = portcullis_client::parse_hub_url(&format!("https://{}", client.authority()))?;
    let raw = TcpStream::connect(client.authority())
        .await
        .with_context(|| format!("cannot reach the hub at {}", client.authority()))?;
    let _ = raw.set_nodelay(true);
    let tls = TlsConnector::from(client.tls())
        .connect(ServerName::try_from(host)?, raw)
        .await
        .context("TLS with the hub failed")?;
    let url = format!(
        "wss://{}/api/v1/connect?location={}&target={}",
        client.authority(),
        query_escape(&fwd.location),
        query_escape(&fwd.target)
    );
    let mut req = url.into_client_request()?;
    let token = client
        .token()
        .ok_or_else(|| anyhow!("a token is needed (--token)"))?;
    req.headers_mut()
        .insert(AUTHORIZATION, format!("Bearer {token}").parse()?);
    let (ws, _) = match tokio_tungstenite::client_async_with_config(
        req,
        tls,
        // See the hub's WS_READ_BUFFER: the default zero-fills 128 KiB per connection.
        Some(WebSocketConfig::default().read_buffer_size(16 * 1024)),
    )
    .await
    {
        Ok(pair) => pair,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice::<portcullis_proto::enroll::ApiError>(b).ok());
            return Err(match body {
                Some(e) => anyhow!(
                    "hub refused ({}): {} [{}]",
                    resp.status(),
                    e.message,
                    e.code
                ),
                None => anyhow!("hub refused: {}", resp.status()),
            });
        }
        Err(e) => return Err(e).context("WebSocket handshake with the hub failed"),
    };
    let (mut tx, mut rx) = ws.split();
    let (mut rd, mut wr) = tcp.into_split();
    let up = async move {
        let mut buf = bytes::BytesMut::new();
        while let Ok(Some(chunk)) = read_chunk(&mut rd, &mut buf).await {
            if tx.send(Message::Binary(chunk)).await.is_err() {
                break;
            }
        }
        let _ = tx.send(Message::Close(None)).await;
    };
    let down = async move {
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
    tokio::join!(up, down);
    Ok(())
}

/// Binds `listen` and returns the listener and its address.
pub async fn bind(listen: SocketAddr) -> Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let a = l.local_addr()?;
    Ok((l, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_service_name_alone_needs_no_location() {
        let f = Forward::from_args(&words(&["ssh.prd.acme.portcullis:22"])).unwrap();
        assert_eq!(f.location, ANY_LOCATION);
        assert_eq!(f.target, "ssh.prd.acme.portcullis:22");
        assert_eq!(f.to_string(), "ssh.prd.acme.portcullis:22");
    }

    #[test]
    fn a_location_and_a_virtual_target() {
        let f = Forward::from_args(&words(&["berlin", "prd-app:22"])).unwrap();
        assert_eq!(
            (f.location.as_str(), f.target.as_str()),
            ("berlin", "prd-app:22")
        );
        assert_eq!(f.to_string(), "berlin prd-app:22");
    }

    #[test]
    fn a_plain_host_alone_or_no_port_is_explained() {
        let e = Forward::from_args(&words(&["prd-app:22"])).unwrap_err();
        assert!(e.to_string().contains("give its location first"), "{e}");
        let e = Forward::from_args(&words(&["ssh.prd.acme.portcullis"])).unwrap_err();
        assert!(e.to_string().contains("has no port"), "{e}");
    }
}
