//! `portcullis healthcheck URL`: one GET of a readiness (or liveness) endpoint, for container
//! `HEALTHCHECK`s and systemd's `ExecStartPost=`/watchdog scripts, without curl on the host.
//!
//! Exit 0 on a 2xx answer, 1 on any other answer (its body, which says why, on stderr), 2 when
//! no answer came (refused, timed out, TLS failed). `https://` URLs are checked against the
//! system's roots plus `--ca` (the connector's self-signed UI certificate, the hub's CA).
//! Endpoints: the hub's `http://HOST:PORT/readyz` on `[listen] metrics`, the connector's
//! `https://HOST:PORT/readyz` on its admin listener.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

/// `portcullis healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The endpoint, e.g. `http://127.0.0.1:9464/readyz` (hub) or
    /// `https://127.0.0.1:8443/readyz` (connector).
    pub url: String,
    /// A PEM file of certificates to trust for `https://` (besides the system's roots).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Seconds to wait for the whole answer.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

/// Why no answer came.
#[derive(Debug, thiserror::Error)]
pub enum NoAnswer {
    /// The URL is not one this check can ask.
    #[error("{0}")]
    Url(String),
    /// The connection, TLS or HTTP exchange failed.
    #[error("{0}")]
    Exchange(String),
    /// Nothing within the timeout.
    #[error("no answer within {0} s")]
    Timeout(u64),
}

/// Runs the check; returns the exit code (see the module docs) and prints why on stderr.
pub async fn run(args: &HealthcheckArgs) -> i32 {
    let asked = tokio::time::timeout(Duration::from_secs(args.timeout), get(args)).await;
    match asked {
        Ok(Ok((status, body))) if (200..300).contains(&status) => {
            print!("{body}");
            0
        }
        Ok(Ok((status, body))) => {
            eprintln!("not ready: HTTP {status}: {}", body.trim());
            1
        }
        Ok(Err(e)) => {
            eprintln!("no answer from {}: {e}", args.url);
            2
        }
        Err(_) => {
            eprintln!(
                "no answer from {}: {}",
                args.url,
                NoAnswer::Timeout(args.timeout)
            );
            2
        }
    }
}

async fn get(args: &HealthcheckArgs) -> Result<(u16, String), NoAnswer> {
    let uri: hyper::Uri = args
        .url
        .parse()
        .map_err(|e| NoAnswer::Url(format!("{:?} is no URL: {e}", args.url)))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(NoAnswer::Url(
                "the URL must start with http:// or https://".into(),
            ))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| NoAnswer::Url("the URL names no host".into()))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| NoAnswer::Exchange(format!("cannot connect to {host}:{port}: {e}")))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());
    if tls {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(args)?));
        let name = ServerName::try_from(host.clone())
            .map_err(|e| NoAnswer::Url(format!("{host:?}: {e}")))?;
        let stream = connector
            .connect(name, tcp)
            .await
            .map_err(|e| NoAnswer::Exchange(format!("TLS: {e}")))?;
        exchange(stream, &authority, &path).await
    } else {
        exchange(tcp, &authority, &path).await
    }
}

fn client_config(args: &HealthcheckArgs) -> Result<rustls::ClientConfig, NoAnswer> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &args.ca {
        let pem = std::fs::read(path)
            .map_err(|e| NoAnswer::Url(format!("--ca {}: {e}", path.display())))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| NoAnswer::Url(format!("--ca {}: {e}", path.display())))?;
            roots
                .add(cert)
                .map_err(|e| NoAnswer::Url(format!("--ca {}: {e}", path.display())))?;
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

async fn exchange<S>(stream: S, authority: &str, path: &str) -> Result<(u16, String), NoAnswer>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let failed = |e: hyper::Error| NoAnswer::Exchange(format!("HTTP: {e}"));
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(failed)?;
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "portcullis-healthcheck")
        .body(Empty::<Bytes>::new())
        .map_err(|e| NoAnswer::Url(e.to_string()))?;
    let resp = send.send_request(req).await.map_err(failed)?;
    let status = resp.status().as_u16();
    // An endpoint that sends without end must not fill this process: 64 KiB at most.
    let body = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|e| NoAnswer::Exchange(format!("HTTP body: {e}")))?
        .to_bytes();
    // An answer's first KiB says why; a probe needs no more.
    let text = String::from_utf8_lossy(&body[..body.len().min(1024)]).into_owned();
    Ok((status, text))
}
