//! A small HTTPS JSON client for the hub API, trusting only the hub's CA.

use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use portcullis_proto::enroll::ApiError;
use rustls::pki_types::ServerName;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where the hub is and how to trust and authenticate to it.
#[derive(Clone)]
pub struct ApiClient {
    host: String,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    token: Option<String>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("token", &self.token.as_ref().map(|_| "****"))
            .finish()
    }
}

/// Splits `https://host:port[/...]` into host and port.
pub fn parse_hub_url(url: &str) -> Result<(String, u16)> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| anyhow!("hub URL must start with https:// (got {url:?})"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, p) = v6
                .split_once(']')
                .ok_or_else(|| anyhow!("bad IPv6 host in {url:?}"))?;
            (h.to_string(), p.strip_prefix(':').unwrap_or("443"))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (authority.to_string(), "443"),
        },
    };
    let port = port
        .parse()
        .with_context(|| format!("bad port in {url:?}"))?;
    if host.is_empty() {
        bail!("no host in {url:?}");
    }
    Ok((host, port))
}

impl ApiClient {
    /// A client for `url`, trusting the CA certificate in `ca_pem`.
    pub fn new(url: &str, ca_pem: &str, token: Option<String>) -> Result<ApiClient> {
        let (host, port) = parse_hub_url(url)?;
        let ca = portcullis_transport::pki::pem_to_der_certs(ca_pem)?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("no certificate in the CA file"))?;
        let tls = portcullis_transport::tls::pinned_client_config(ca, &[b"http/1.1"])?;
        Ok(ApiClient {
            host,
            port,
            tls,
            token,
        })
    }

    /// The hub's host name (or IP address), as given in its URL.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `host:port` of the hub.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The TLS configuration (for WebSocket connections).
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone()
    }

    /// The bearer token.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A TLS connection to the hub.
    pub async fn dial(&self) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .with_context(|| format!("cannot reach the hub at {}", self.authority()))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(self.host.clone())?;
        TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .with_context(|| format!("TLS with the hub at {} failed", self.authority()))
    }

    /// Sends one request and returns the status and body as they came, for callers (and tests)
    /// that look at refusals themselves.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes)> {
        let resp = self.send(method, path, body).await?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), 16 << 20)
            .collect()
            .await
            .map_err(|e| anyhow!("reading the hub's answer: {e}"))?
            .to_bytes();
        Ok((status, bytes))
    }

    /// Sends one request on a fresh connection; the body is left to the caller.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<http::Response<hyper::body::Incoming>> {
        let tls = self.dial().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.authority());
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        Ok(sender.send_request(req).await?)
    }

    fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T> {
        if status.is_success() {
            // 204 No Content (a delete) reads as JSON `null`.
            let bytes = if bytes.is_empty() { b"null" } else { bytes };
            return serde_json::from_slice(bytes)
                .context("the hub's answer is not the expected JSON");
        }
        match serde_json::from_slice::<ApiError>(bytes) {
            Ok(e) => bail!("hub refused ({status}): {} [{}]", e.message, e.code),
            Err(_) => bail!("hub answered {status}"),
        }
    }

    /// GET and decode.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let (s, b) = self.call(Method::GET, path, None).await?;
        Self::decode(s, &b)
    }

    /// GETs `path` and copies the answer's body to `out` as it arrives, for answers too big
    /// to hold (an audit export). Returns the bytes written. An error answer (non-2xx) is
    /// decoded like [`ApiClient::get`]'s; a body that breaks off is an error, so a partial
    /// copy is never mistaken for a whole one.
    pub async fn download<W>(&self, path: &str, out: &mut W) -> Result<u64>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        use tokio::io::AsyncWriteExt;
        let resp = self.send(Method::GET, path, None).await?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = Limited::new(resp.into_body(), 1 << 20)
                .collect()
                .await
                .map_err(|e| anyhow!("reading the hub's answer: {e}"))?
                .to_bytes();
            Self::decode::<serde_json::Value>(status, &bytes)?;
            bail!("hub answered {status}");
        }
        let mut body = resp.into_body();
        let mut written = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| anyhow!("the hub's answer broke off: {e}"))?;
            if let Ok(data) = frame.into_data() {
                out.write_all(&data).await?;
                written += data.len() as u64;
            }
        }
        out.flush().await?;
        Ok(written)
    }

    /// POST JSON and decode.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let (s, b) = self
            .call(Method::POST, path, Some(serde_json::to_vec(body)?))
            .await?;
        Self::decode(s, &b)
    }

    /// PATCH JSON and decode.
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let (s, b) = self
            .call(Method::PATCH, path, Some(serde_json::to_vec(body)?))
            .await?;
        Self::decode(s, &b)
    }

    /// PUT JSON and decode.
    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let (s, b) = self
            .call(Method::PUT, path, Some(serde_json::to_vec(body)?))
            .await?;
        Self::decode(s, &b)
    }

    /// DELETE and decode (`null` for 204 No Content).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let (s, b) = self.call(Method::DELETE, path, None).await?;
        Self::decode(s, &b)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_hub_url;

    #[test]
    fn hub_urls() {
        assert_eq!(
            parse_hub_url("https://hub:8443").unwrap(),
            ("hub".into(), 8443)
        );
        assert_eq!(parse_hub_url("https://hub/").unwrap(), ("hub".into(), 443));
        assert_eq!(
            parse_hub_url("https://[::1]:9/x").unwrap(),
            ("::1".into(), 9)
        );
        assert!(parse_hub_url("http://hub").is_err());
        assert!(parse_hub_url("https://:80").is_err());
    }
}
