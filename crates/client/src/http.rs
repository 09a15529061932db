//! [`ApiClient`]: HTTPS JSON requests to the hub, trusting only the hub's CA; one fresh
//! connection per request (the CLI makes a few calls per run, tests want no shared state).
//! The untyped calls live here ([`ApiClient::get`], [`ApiClient::post`] …, and the raw
//! [`ApiClient::get_raw`] / [`ApiClient::post_raw`] that hand refusals back as they came);
//! the typed ones, one per operation, in [`crate::api`].

use portcullis_domain::secret::Secret;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use portcullis_proto::enroll::ApiError;
use rustls::pki_types::ServerName;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::ClientError;

type Result<T, E = ClientError> = std::result::Result<T, E>;

/// The largest answer body the client reads (an audit page of 1000 events is far below).
const MAX_BODY: usize = 16 << 20;

/// Where the hub is and how to trust and authenticate to it.
#[derive(Clone)]
pub struct ApiClient {
    host: String,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    token: Option<Secret<String>>,
}

// By hand, to leave out the rustls configuration (long and of no use in a log); the token is
// a `Secret`, masked.
impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Splits `https://host:port[/...]` into host and port.
pub fn parse_hub_url(url: &str) -> Result<(String, u16)> {
    let bad = |why| ClientError::BadUrl {
        url: url.to_string(),
        why,
    };
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| ClientError::NotHttps(url.to_string()))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, p) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 host without its closing bracket"))?;
            (h.to_string(), p.strip_prefix(':').unwrap_or("443"))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (authority.to_string(), "443"),
        },
    };
    let port = port.parse().map_err(|_| bad("the port is not a number"))?;
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((host, port))
}

impl ApiClient {
    /// A client for `url`, trusting the CA certificate in `ca_pem`.
    pub fn new(url: &str, ca_pem: &str, token: Option<String>) -> Result<ApiClient> {
        let (host, port) = parse_hub_url(url)?;
        let ca = portcullis_transport::pki::pem_to_der_certs(ca_pem)
            .map_err(ClientError::CaPem)?
            .into_iter()
            .next()
            .ok_or(ClientError::NoCaCertificate)?;
        let tls = portcullis_transport::tls::pinned_client_config(ca, &[b"http/1.1"])
            .map_err(ClientError::TlsConfig)?;
        Ok(ApiClient {
            host,
            port,
            tls,
            token: token.map(Secret::new),
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
        self.token.as_ref().map(|t| t.expose().as_str())
    }

    /// A TLS connection to the hub.
    pub async fn dial(&self) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| ClientError::Connect {
                authority: self.authority(),
                source,
            })?;
        // Only latency is at stake: a socket that refuses the option still works.
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| ClientError::ServerName(self.host.clone()))?;
        TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|source| ClientError::Handshake {
                authority: self.authority(),
                source,
            })
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
        let bytes = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| ClientError::Body(e.to_string()))?
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
        // The connection ends with the exchange; its error, if any, is the request's.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.authority());
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", t.expose()));
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
            return serde_json::from_slice(bytes).map_err(ClientError::Decode);
        }
        Err(match serde_json::from_slice::<ApiError>(bytes) {
            Ok(e) => ClientError::Refused {
                status,
                code: e.code,
                message: e.message,
            },
            Err(_) => ClientError::Status(status),
        })
    }

    /// Sends one request and returns the status and the body read as JSON (`null` when empty,
    /// a JSON string when not JSON), whatever the status: for tests and callers that check
    /// refusals and odd requests themselves.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value)> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(ClientError::Encode)?;
        let (status, bytes) = self.call(method, path, body).await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, value))
    }

    /// [`ApiClient::raw`] GET.
    pub async fn get_raw(&self, path: &str) -> Result<(StatusCode, Value)> {
        self.raw(Method::GET, path, None).await
    }

    /// [`ApiClient::raw`] POST with a JSON body.
    pub async fn post_raw(&self, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
        self.raw(Method::POST, path, Some(body)).await
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
                .map_err(|e| ClientError::Body(e.to_string()))?
                .to_bytes();
            Self::decode::<Value>(status, &bytes)?;
            return Err(ClientError::Status(status));
        }
        let mut body = resp.into_body();
        let mut written = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ClientError::Body(format!("it broke off: {e}")))?;
            // Trailers carry no data; only data frames are copied.
            if let Ok(data) = frame.into_data() {
                out.write_all(&data).await.map_err(ClientError::Write)?;
                written += data.len() as u64;
            }
        }
        out.flush().await.map_err(ClientError::Write)?;
        Ok(written)
    }

    /// POST JSON and decode.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let (s, b) = self
            .call(
                Method::POST,
                path,
                Some(serde_json::to_vec(body).map_err(ClientError::Encode)?),
            )
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
            .call(
                Method::PATCH,
                path,
                Some(serde_json::to_vec(body).map_err(ClientError::Encode)?),
            )
            .await?;
        Self::decode(s, &b)
    }

    /// PUT JSON and decode.
    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let (s, b) = self
            .call(
                Method::PUT,
                path,
                Some(serde_json::to_vec(body).map_err(ClientError::Encode)?),
            )
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
