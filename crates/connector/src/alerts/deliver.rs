//! Sending one delivery: an e-mail over SMTP (lettre: STARTTLS or TLS, AUTH) or a JSON POST
//! to a webhook, signed with the webhook's secret.
//!
//! # The webhook request
//! `POST <url>` with `Content-Type: application/json` and the body of [`payload`]. Headers:
//! - `Portcullis-Delivery: <alert id>-<raised|resolved>`: the same for every retry of one
//!   delivery, so a receiver that saw it (the answer was lost) can drop the repeat;
//! - `Portcullis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//!   `"<t>." + body` with the shared secret. A receiver recomputes it, compares in constant
//!   time and refuses an old `t` (a replay).
//!
//! Any 2xx answer is taken as delivered; anything else, or no answer in
//! [`SEND_TIMEOUT`], is a failure the book retries.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sha2::Sha256;

use super::book::{Delivery, Event};
use super::rfc3339;
use crate::config::{AlertsConfig, EmailConfig, SmtpSecurity, WebhookConfig};

/// How long one delivery may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Who sends: shown in every message so a reader knows which connector speaks.
#[derive(Debug, Clone, Default)]
pub struct Sender {
    /// The location ID (from enrolment).
    pub location: Option<String>,
    /// This host's name.
    pub host: String,
}

/// Sends `d` over its channel as configured in `config`.
pub async fn send(d: &Delivery, config: &AlertsConfig, from: &Sender) -> Result<(), String> {
    let work = async {
        if d.channel == "email" {
            let email = config
                .email
                .as_ref()
                .ok_or("e-mail is no longer configured")?;
            send_email(d, email, from).await
        } else {
            let hook = config
                .webhooks
                .iter()
                .find(|w| d.channel == super::book::webhook_channel(&w.url))
                .ok_or("the webhook is no longer configured")?;
            send_webhook(d, hook, from).await
        }
    };
    match tokio::time::timeout(SEND_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())),
    }
}

/// The webhook body.
pub fn payload(d: &Delivery, from: &Sender) -> serde_json::Value {
    serde_json::json!({
        "event": match d.event { Event::Raised => "raised", Event::Resolved => "resolved" },
        "id": d.alert.id,
        "category": d.alert.category.name(),
        "key": d.alert.key,
        "message": d.alert.message,
        "entity": d.alert.entity,
        "raised_at": rfc3339(d.alert.raised_ms),
        "resolved_at": d.alert.resolved_ms.map(rfc3339),
        "location": from.location,
        "host": from.host,
    })
}

/// The `Portcullis-Signature` value for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: u64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn subject(d: &Delivery, from: &Sender) -> String {
    let what = match d.event {
        Event::Raised => "ALERT",
        Event::Resolved => "RESOLVED",
    };
    let at = from.location.as_deref().unwrap_or(&from.host);
    format!(
        "[Portcullis {at}] {what} {}: {}",
        d.alert.category.name(),
        d.alert.message
    )
}

fn text(d: &Delivery, from: &Sender) -> String {
    let mut t = String::new();
    match d.event {
        Event::Raised => t.push_str("An alert was raised on a Portcullis connector.\n\n"),
        Event::Resolved => t.push_str(
            "The condition of an earlier alert no longer holds on a Portcullis connector.\n\n",
        ),
    }
    t.push_str(&format!("Category:  {}\n", d.alert.category.name()));
    t.push_str(&format!("Message:   {}\n", d.alert.message));
    t.push_str(&format!("About:     {}\n", d.alert.entity));
    t.push_str(&format!("Raised:    {}\n", rfc3339(d.alert.raised_ms)));
    if let Some(r) = d.alert.resolved_ms {
        t.push_str(&format!("Resolved:  {}\n", rfc3339(r)));
    }
    t.push_str(&format!(
        "Location:  {}\n",
        from.location.as_deref().unwrap_or("-")
    ));
    t.push_str(&format!("Host:      {}\n", from.host));
    t.push_str(&format!("Alert ID:  {}\n", d.alert.id));
    t
}

async fn send_email(d: &Delivery, c: &EmailConfig, from: &Sender) -> Result<(), String> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let mailbox = |a: &str| {
        a.parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("{a:?}: {e}"))
    };
    let mut m = Message::builder()
        .from(mailbox(&c.from)?)
        .subject(subject(d, from))
        .header(ContentType::TEXT_PLAIN);
    for a in &c.to {
        m = m.to(mailbox(a)?);
    }
    for a in &c.cc {
        m = m.cc(mailbox(a)?);
    }
    let message = m.body(text(d, from)).map_err(|e| e.to_string())?;

    let tls = || -> Result<TlsParameters, String> {
        let mut p = TlsParameters::builder(c.smtp_host.clone());
        if let Some(ca) = &c.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            p = p
                .certificate_store(CertificateStore::None)
                .add_root_certificate(
                    Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", ca.display()))?,
                );
        }
        p.build_rustls().map_err(|e| e.to_string())
    };
    let mut t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.smtp_host.clone())
        .port(c.smtp_port)
        .timeout(Some(SEND_TIMEOUT))
        .tls(match c.security {
            SmtpSecurity::Starttls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        });
    if let Some((user, password)) = &c.credentials {
        t = t.credentials(Credentials::new(user.clone(), password.expose().clone()));
    }
    t.build()
        .send(message)
        .await
        .map(drop)
        .map_err(|e| format!("SMTP {}:{}: {e}", c.smtp_host, c.smtp_port))
}

async fn send_webhook(d: &Delivery, w: &WebhookConfig, from: &Sender) -> Result<(), String> {
    let uri: http::Uri = w.url.parse().map_err(|e| format!("{e}"))?;
    let https = uri.scheme_str() == Some("https");
    let host = uri.host().ok_or("the URL has no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let body = serde_json::to_vec(&payload(d, from)).map_err(|e| e.to_string())?;
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let event = match d.event {
        Event::Raised => "raised",
        Event::Resolved => "resolved",
    };
    let request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(
            http::header::HOST,
            match uri.port_u16() {
                Some(p) => format!("{host}:{p}"),
                None => host.clone(),
            },
        )
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("portcullis-connector/", env!("CARGO_PKG_VERSION")),
        )
        .header("portcullis-delivery", format!("{}-{event}", d.alert.id))
        .header(
            "portcullis-signature",
            signature(w.secret.expose(), t, &body),
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;

    let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
        .await
        .map_err(|e| format!("{host}:{port}: {e}"))?;
    let status = if https {
        let config = webhook_tls(w)?;
        let name = ServerName::try_from(bare.clone()).map_err(|e| format!("{host}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}:{port}: {e}"))?;
        exchange(TokioIo::new(tls), request).await?
    } else {
        exchange(TokioIo::new(tcp), request).await?
    };
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered HTTP {}", status.as_u16()))
    }
}

async fn exchange<I>(io: I, request: http::Request<Full<Bytes>>) -> Result<http::StatusCode, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut send, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    let conn = tokio::spawn(conn);
    let answer = send
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    // Read (and drop) a bounded answer so the server sees a clean exchange.
    let _ = http_body_util::Limited::new(answer.into_body(), 64 * 1024)
        .collect()
        .await;
    conn.abort();
    Ok(status)
}

fn webhook_tls(w: &WebhookConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &w.ca_file {
        Some(ca) => {
            for c in
                CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?
            {
                let c = c.map_err(|e| format!("{}: {e}", ca.display()))?;
                roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::backend_tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_time_dot_body() {
        // Computed independently: Python's hmac.new(b"Jefe", b"1700000000.{}", sha256).
        let s = signature("Jefe", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "t=1700000000,v1=d3793e2b4103edfbd98cc19591832f5fad701d413db9fcae0ae7dab8184ed207"
        );
        assert_ne!(signature("Jefe", 1_700_000_001, b"{}"), s);
        assert_ne!(signature("Jeff", 1_700_000_000, b"{}"), s);
    }
}
