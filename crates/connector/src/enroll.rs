//! Enrolment: turning a one-time token into a client certificate.
//!
//! The token carries the SHA-256 fingerprint of the hub CA, so the very first HTTPS request
//! is already pinned: the TLS client accepts only a server whose chain contains that CA
//! (no trust on first use, and a TLS-intercepting proxy fails loudly instead of being
//! trusted). The connector generates its key pair locally and sends only a CSR; the hub
//! decides the identity it certifies. The answer's CA must carry the same fingerprint again
//! before anything is written.
//!
//! The HTTP exchange is a single `POST` over hyper's client connection API on a tokio-rustls
//! stream: no connection pool, no redirects, no system roots.
//!
//! # Nothing is spent before the connector can keep it
//!
//! The one-time token is redeemed only after the connector has shown it can write its data
//! directory: [`prepare`] creates `data_dir/identity/` (0700) and stores the new private key
//! with the token's public id in `identity/enroll-pending.json` (0600, written to a temporary
//! name, synced, renamed) before anything is sent. A read-only or full data directory fails
//! there, and the token still works. After the hub's answer the identity is written the same
//! way and the pending file removed. Should that fail, or the answer get lost on the way, the
//! pending key stays: running the same enrolment again with the same token sends a CSR for the
//! same key, and the hub answers it again until the token expires (it refuses any other key).
//!
//! A connector that needs an HTTP CONNECT proxy for its tunnel needs it for enrolment too
//! ([`enroll_via`]): the TLS session runs end to end through the proxy's tunnel, so the pin
//! still holds and a TLS-intercepting proxy still fails on the fingerprint.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use portcullis_domain::secret::Secret;
use portcullis_proto::enroll::{
    ApiError, EnrollRequest, EnrollResponse, EnrollToken, TokenFormatError, ENROLL_PATH,
};
use portcullis_transport::pki::{self, fingerprint_hex, PkiError};
use portcullis_transport::proxy::{self, HttpProxy, ProxyError};
use portcullis_transport::tls::{self, TlsError, FINGERPRINT_MISMATCH};
use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::identity::{create_private_dir, write_atomic, Enrollment, Identity, IdentityError};

pub use crate::data_dir::names::PENDING_ENROLLMENT_FILE as PENDING_FILE;

/// Deadline for the whole exchange (connect, TLS, request, response).
pub const ENROLL_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body accepted.
pub const MAX_RESPONSE_BODY: usize = 1 << 20;
pub use crate::identity::CSR_COMMON_NAME;

/// Why enrolment failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// The hub URL is not `https://host[:port][/prefix]`.
    #[error("invalid hub URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The token is not an enrolment token.
    #[error(transparent)]
    Token(#[from] TokenFormatError),
    /// Storing or checking the identity failed (including: one already exists).
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Generating the key pair or CSR failed.
    #[error("key generation: {0}")]
    Pki(#[from] PkiError),
    /// Building the TLS client failed.
    #[error("TLS configuration: {0}")]
    Tls(#[from] TlsError),
    /// The hub could not be reached.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The outbound proxy could not be reached or refused the tunnel to the hub.
    #[error("cannot reach {addr} through the proxy {proxy}: {source}")]
    Proxy {
        /// The proxy's `host:port`.
        proxy: String,
        /// The hub's `host:port`.
        addr: String,
        /// What the proxy (or the way to it) did.
        #[source]
        source: ProxyError,
    },
    /// The server's certificate chain does not contain the CA the token pins: wrong hub, or
    /// something in between (a TLS-intercepting proxy) presents its own certificate.
    #[error(
        "the hub's TLS certificate chain contains no CA with the SHA-256 fingerprint {expected} \
         from the enrolment token (wrong hub URL, or a TLS-intercepting proxy in between?)"
    )]
    FingerprintMismatch {
        /// The fingerprint from the token.
        expected: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake with the hub failed: {0}")]
    Handshake(#[source] std::io::Error),
    /// The HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    /// The exchange did not finish within [`ENROLL_TIMEOUT`].
    #[error("the hub did not answer within {0:?}")]
    Timeout(Duration),
    /// The hub refused the enrolment (expired or used token, unknown connector …).
    #[error("the hub refused the enrolment ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's stable error code, e.g. `token_expired`.
        code: String,
        /// The API's message.
        message: String,
    },
    /// The hub answered something that is not the enrolment API's answer.
    #[error("unexpected answer from the hub (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
    /// The hub enrolled the connector, but its identity could not be written. The key stays
    /// in the pending file; the same command with the same token works again until it expires.
    #[error(
        "the hub enrolled this connector, but writing its identity failed: {source}. The key \
         is kept in {pending}; fix the cause and run the same enrolment again with the same \
         token before it expires (the hub answers it again for the same key)"
    )]
    NotStored {
        /// The pending file holding the key.
        pending: std::path::PathBuf,
        /// Why writing failed.
        #[source]
        source: IdentityError,
    },
    /// The returned CA is not the one the token pins.
    #[error("the hub returned a CA with fingerprint {got}, but the token pins {expected}")]
    CaMismatch {
        /// From the token.
        expected: String,
        /// Of the returned CA.
        got: String,
    },
}

struct HubUrl {
    host: String,
    port: u16,
    authority: String,
    path: String,
}

fn parse_url(url: &str) -> Result<HubUrl, EnrollError> {
    let bad = |reason| EnrollError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|_| bad("not a URL (expected https://host:port)"))?;
    if uri.scheme_str() != Some("https") {
        return Err(bad("the scheme must be https"));
    }
    if uri.query().is_some() {
        return Err(bad("a query string is not allowed"));
    }
    let authority = uri.authority().ok_or(bad("no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("user info is not allowed"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let prefix = uri.path().trim_end_matches('/');
    Ok(HubUrl {
        host,
        port: authority.port_u16().unwrap_or(443),
        authority: authority.as_str().to_owned(),
        path: format!("{prefix}{ENROLL_PATH}"),
    })
}

/// Enrols this connector with the hub at `hub_api_url` (`https://host:port`) using the
/// one-time `token`, and stores the resulting identity under `data_dir/identity/`.
///
/// Refuses to replace an existing identity unless `force`; that check happens before the
/// token is spent. Dials the hub directly; see [`enroll_via`] for a proxy.
pub async fn enroll(
    hub_api_url: &str,
    token: &str,
    data_dir: &Path,
    force: bool,
) -> Result<Identity, EnrollError> {
    enroll_via(hub_api_url, token, data_dir, force, None).await
}

/// [`enroll`], dialling the hub through the HTTP CONNECT `proxy` when one is given (the
/// connector's configured `[proxy]`, the same way its tunnel goes).
pub async fn enroll_via(
    hub_api_url: &str,
    token: &str,
    data_dir: &Path,
    force: bool,
    proxy: Option<&HttpProxy>,
) -> Result<Identity, EnrollError> {
    let url = parse_url(hub_api_url)?;
    let parsed = EnrollToken::parse(token)?;
    let Prepared { request, key_pem } = prepare(token, data_dir, force)?;
    let response = tokio::time::timeout(
        ENROLL_TIMEOUT,
        exchange(&url, &parsed.ca_fingerprint, &request, proxy),
    )
    .await
    .map_err(|_| EnrollError::Timeout(ENROLL_TIMEOUT))??;

    let ca = pki::pem_to_der_certs(&response.ca_pem)
        .ok()
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| EnrollError::UnexpectedResponse {
            status: 200,
            detail: "ca_pem holds no certificate".into(),
        })?;
    let got = fingerprint_hex(&ca);
    if got != parsed.ca_fingerprint {
        return Err(EnrollError::CaMismatch {
            expected: parsed.ca_fingerprint,
            got,
        });
    }
    let identity = Identity::new(
        response.certificate_pem,
        key_pem.into_inner(),
        response.ca_pem,
        Enrollment {
            tunnel_addr: response.tunnel_addr,
            tunnel_server_name: response.tunnel_server_name,
            connector_id: response.connector_id,
            company: response.company,
            location: response.location,
        },
    );
    // Proves certificate, key and CA fit together before anything is written.
    identity.tls_client_config()?;
    let pending = Identity::dir(data_dir).join(PENDING_FILE);
    if let Err(source) = identity.write(data_dir, force) {
        return Err(EnrollError::NotStored { pending, source });
    }
    if let Err(e) = std::fs::remove_file(&pending) {
        tracing::warn!(path = %pending.display(), error = %e, "cannot remove the pending enrolment key");
    }
    tracing::info!(
        connector_id = identity.enrollment.connector_id,
        company = %identity.enrollment.company,
        location = %identity.enrollment.location,
        tunnel = %identity.enrollment.tunnel_addr,
        "enrolled"
    );
    Ok(identity)
}

/// An enrolment request ready to send, its key stored under the data directory. `Debug`
/// masks the key (and the request masks its token).
#[derive(Debug)]
pub struct Prepared {
    /// What goes to the hub.
    pub request: EnrollRequest,
    key_pem: Secret<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    /// The token's public id.
    token: String,
    key_pem: String,
}

/// The local half of an enrolment, before anything is sent: checks that no identity exists
/// (unless `force`), creates `data_dir/identity/` (0700) and stores the key the CSR is made
/// for in [`PENDING_FILE`] (0600). A pending key for the same token (an enrolment whose answer
/// was lost) is used again, so the hub recognises the repeat; otherwise a new key is made.
///
/// Fails, without spending the token, when the data directory cannot be written.
pub fn prepare(token: &str, data_dir: &Path, force: bool) -> Result<Prepared, EnrollError> {
    let parsed = EnrollToken::parse(token)?;
    if !force && Identity::exists(data_dir) {
        return Err(IdentityError::AlreadyExists(Identity::dir(data_dir)).into());
    }
    let dir = Identity::dir(data_dir);
    create_private_dir(&dir)?;
    let path = dir.join(PENDING_FILE);
    let earlier = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Pending>(&b).ok())
        .filter(|p| p.token == parsed.public_id);
    let (csr_pem, key_pem) = match earlier {
        Some(p) => match pki::csr_for_key(CSR_COMMON_NAME, &p.key_pem) {
            Ok(csr) => {
                tracing::info!(path = %path.display(), "repeating an earlier enrolment with its key");
                (csr, p.key_pem)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the pending enrolment key is unusable; making a new one");
                pki::generate_csr(CSR_COMMON_NAME)?
            }
        },
        None => pki::generate_csr(CSR_COMMON_NAME)?,
    };
    let pending = serde_json::to_vec(&Pending {
        token: parsed.public_id.clone(),
        key_pem: key_pem.clone(),
    })
    .map_err(|e| IdentityError::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_atomic(&path, &pending)?;
    Ok(Prepared {
        request: EnrollRequest {
            token: Secret::new(parsed.to_token_string()),
            csr_pem,
            hostname: crate::run::local_hostname(),
        },
        key_pem: Secret::new(key_pem),
    })
}

async fn exchange(
    url: &HubUrl,
    ca_fingerprint: &str,
    request: &EnrollRequest,
    proxy: Option<&HttpProxy>,
) -> Result<EnrollResponse, EnrollError> {
    let config = tls::fingerprint_pinned_client_config(ca_fingerprint, &[b"http/1.1"])?;
    let server_name =
        ServerName::try_from(url.host.clone()).map_err(|_| EnrollError::InvalidUrl {
            url: url.authority.clone(),
            reason: "the host is not a valid TLS server name",
        })?;
    let addr = format!("{}:{}", url.authority_host(), url.port);
    let tcp = proxy::dial(&url.host, url.port, proxy, ENROLL_TIMEOUT)
        .await
        .map_err(|e| dial_error(e, &addr, proxy))?;
    let tls = TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map_err(|e| handshake_error(e, ca_fingerprint))?;

    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    let driver = AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "enrolment connection ended");
        }
    }));

    let body = serde_json::to_vec(request).map_err(|e| EnrollError::UnexpectedResponse {
        status: 0,
        detail: format!("cannot encode the request: {e}"),
    })?;
    let req = Request::builder()
        .method(Method::POST)
        .uri(url.path.as_str())
        .header(header::HOST, url.authority.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| EnrollError::InvalidUrl {
            url: url.authority.clone(),
            reason: if e.is::<http::uri::InvalidUri>() {
                "invalid path"
            } else {
                "cannot build a request from it"
            },
        })?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let bytes = Limited::new(resp.into_body(), MAX_RESPONSE_BODY)
        .collect()
        .await
        .map_err(|e| EnrollError::UnexpectedResponse {
            status: status.as_u16(),
            detail: if e.is::<http_body_util::LengthLimitError>() {
                format!("response body larger than {MAX_RESPONSE_BODY} bytes")
            } else {
                format!("reading the body failed: {e}")
            },
        })?
        .to_bytes();
    drop(driver);

    if !status.is_success() {
        return Err(match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(api) => EnrollError::Refused {
                status: status.as_u16(),
                code: api.code,
                message: api.message,
            },
            Err(_) => EnrollError::UnexpectedResponse {
                status: status.as_u16(),
                detail: snippet(&bytes),
            },
        });
    }
    serde_json::from_slice::<EnrollResponse>(&bytes).map_err(|e| EnrollError::UnexpectedResponse {
        status: status.as_u16(),
        detail: format!("not an enrolment response: {e}"),
    })
}

impl HubUrl {
    fn authority_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

fn dial_error(e: ProxyError, addr: &str, proxy: Option<&HttpProxy>) -> EnrollError {
    match (e, proxy) {
        (ProxyError::Timeout(d), _) => EnrollError::Timeout(d),
        (source, Some(p)) => EnrollError::Proxy {
            proxy: p.addr.clone(),
            addr: addr.to_owned(),
            source,
        },
        (ProxyError::TargetConnect { source, .. }, None) => EnrollError::Connect {
            addr: addr.to_owned(),
            source,
        },
        (other, None) => EnrollError::Connect {
            addr: addr.to_owned(),
            source: std::io::Error::other(other),
        },
    }
}

fn handshake_error(e: std::io::Error, expected: &str) -> EnrollError {
    let pinned = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::General(m) if m == FINGERPRINT_MISMATCH));
    if pinned {
        EnrollError::FingerprintMismatch {
            expected: expected.to_owned(),
        }
    } else {
        EnrollError::Handshake(e)
    }
}

/// The first 200 characters of a body, printable, for an error message.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut s: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prepared_enrolment_masks_its_key_and_token() {
        let prepared = Prepared {
            request: EnrollRequest {
                token: "pce_tokensecret".into(),
                csr_pem: "CSR".into(),
                hostname: Some("conn-1".into()),
            },
            key_pem: Secret::new("-----BEGIN PRIVATE KEY-----\nKEYSECRET".into()),
        };
        let shown = format!("{prepared:?}");
        assert!(shown.contains("conn-1"), "{shown}");
        assert!(
            !shown.contains("KEYSECRET") && !shown.contains("tokensecret"),
            "{shown}"
        );
    }

    #[test]
    fn urls() {
        let u = parse_url("https://hub.example:8443").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("hub.example", 8443));
        assert_eq!(u.path, "/api/v1/enroll");
        let u = parse_url("https://hub.example/pc/").unwrap();
        assert_eq!((u.port, u.path.as_str()), (443, "/pc/api/v1/enroll"));
        let u = parse_url("https://[::1]:9/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.authority_host()),
            ("::1", "[::1]".into())
        );
        for bad in [
            "http://hub:1",
            "hub:1",
            "https://u:p@hub:1",
            "https://hub:1/?x=1",
            "",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
