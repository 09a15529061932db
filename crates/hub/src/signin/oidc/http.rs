//! The HTTPS client the hub talks to identity providers with: discovery, keys, the token
//! exchange. It is `openidconnect`'s HTTP client (hyper over rustls, no openssl).
//!
//! What it refuses, and why:
//! - anything but `https://`: the provider's documents and tokens decide who signs in;
//! - a server whose certificate does not chain to the system's roots or to the company's own
//!   CA (the extra PEM in its settings, for an on-premise provider);
//! - redirects (not followed: a provider that moved is told by its discovery document, and
//!   following them would let a document lead the hub anywhere);
//! - an answer larger than [`MAX_BODY`], and a request (name resolution, connect, TLS, the
//!   answer) taking longer than [`TIMEOUT`]: a slow or huge provider cannot tie up the hub.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls;

/// The longest one request to a provider may take, from name resolution to the last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a provider.
pub const MAX_BODY: usize = 256 * 1024;

/// Why a request to a provider failed. The message names the cause, never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Not an `https://` URL with a host.
    #[error("only https:// URLs are fetched ({0})")]
    NotHttps(String),
    /// The request did not finish within [`TIMEOUT`].
    #[error("no answer within {} seconds", TIMEOUT.as_secs())]
    Timeout,
    /// Name resolution, connecting, TLS or HTTP failed.
    #[error("{0}")]
    Transport(String),
    /// The answer was larger than [`MAX_BODY`].
    #[error("the answer is larger than {MAX_BODY} bytes")]
    TooLarge,
}

/// The system's trusted roots, read once.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!(error = %e, "a system root certificate could not be read");
        }
        found.certs
    })
}

/// The certificates in `pem` (none when it holds none, or none that parse).
pub fn pem_certificates(pem: &str) -> Vec<CertificateDer<'static>> {
    use rustls_pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .collect()
}

/// A client that trusts the system's roots and `extra_ca` (PEM).
#[derive(Clone)]
pub struct HttpsClient {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpsClient")
    }
}

impl HttpsClient {
    /// A client trusting the system's roots and the certificates in `extra_ca`.
    pub fn new(extra_ca: Option<&str>) -> Result<HttpsClient, HttpError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(system_roots().iter().cloned());
        if let Some(pem) = extra_ca {
            for cert in pem_certificates(pem) {
                roots
                    .add(cert)
                    .map_err(|e| HttpError::Transport(format!("the extra CA: {e}")))?;
            }
        }
        let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Transport(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpsClient { tls: Arc::new(tls) })
    }

    /// Sends `req` and reads the answer (see the module docs for what is refused).
    pub async fn send(
        &self,
        req: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        tokio::time::timeout(TIMEOUT, self.send_now(req))
            .await
            .map_err(|_| HttpError::Timeout)?
    }

    async fn send_now(
        &self,
        req: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let uri = req.uri().clone();
        let (Some("https"), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return Err(HttpError::NotHttps(uri.to_string()));
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(443);
        let transport = |e: &dyn std::fmt::Display| HttpError::Transport(format!("{host}: {e}"));
        let mut last = None;
        let mut tcp = None;
        for addr in tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| transport(&e))?
        {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| match last {
            Some(e) => transport(&e),
            None => transport(&"the name has no address"),
        })?;
        let name = ServerName::try_from(host.clone()).map_err(|e| transport(&e))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| transport(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| transport(&e))?;
        let driver = AbortOnDrop(tokio::spawn(async move {
            let _ = conn.await;
        }));

        let (parts, body) = req.into_parts();
        let mut out = http::Request::builder()
            .method(parts.method)
            .uri(
                uri.path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
                    .to_string(),
            )
            .header(
                http::header::HOST,
                uri.authority().map(|a| a.as_str()).unwrap_or(""),
            )
            .header(http::header::CONNECTION, "close");
        for (k, v) in &parts.headers {
            out = out.header(k, v);
        }
        let out = out
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| transport(&e))?;
        let resp = sender.send_request(out).await.map_err(|e| transport(&e))?;
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    HttpError::TooLarge
                } else {
                    transport(&e)
                }
            })?
            .to_bytes();
        drop(driver);
        Ok(http::Response::from_parts(parts, body.to_vec()))
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for HttpsClient {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<http::Response<Vec<u8>>, HttpError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: http::Request<Vec<u8>>) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_https_is_fetched() {
        let c = HttpsClient::new(None).unwrap();
        let req = http::Request::get("http://127.0.0.1:9/x")
            .body(Vec::new())
            .unwrap();
        assert!(matches!(c.send(req).await, Err(HttpError::NotHttps(_))));
    }

    #[test]
    fn pem_certificates_are_read_and_junk_is_not() {
        assert!(pem_certificates("not a certificate").is_empty());
        let ca = rcgen::generate_simple_self_signed(vec!["idp.test".into()]).unwrap();
        let pem = format!("junk\n{}", ca.cert.pem());
        assert_eq!(pem_certificates(&pem).len(), 1);
    }
}
