//! Logon with a client certificate (`[admin] client_ca_file`, CC-12's optional certificate
//! logon).
//!
//! With a CA file set, the admin listener's TLS asks every client for a certificate but also
//! serves those without one (the password logon stays). A certificate that chains to the CA
//! reaches the pages (`portcullis_webui::serve::PeerCertificate`); the logon page then offers
//! "Log on with your certificate", which signs in the file user whose name is the
//! certificate's subject common name. Not a directory user (the directory checks passwords,
//! not certificates), not a disabled one, not one who must still change a one-time password
//! (he logs on with it first), and not at all where `[admin.ldap]` is set without
//! `keep_file_users`.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use portcullis_webui::cookies;
use portcullis_webui::serve::PeerCertificate;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::CertificateDer;

use super::session::{self, Empty, PrePosted};
use super::sessions::Source;
use super::state::Admin;
use crate::audit::AuditAction;

/// Why the client CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("[admin] client_ca_file {path}: {reason}")]
pub struct ClientCaError {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The listener's client-certificate verifier: none asked without a CA file; with one,
/// certificates chaining to it are verified and clients without one still served.
pub fn verifier(ca_file: Option<&Path>) -> Result<Arc<dyn ClientCertVerifier>, ClientCaError> {
    let Some(path) = ca_file else {
        return Ok(WebPkiClientVerifier::no_client_auth());
    };
    let bad = |reason: String| ClientCaError {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for der in portcullis_transport::pki::pem_to_der_certs(&pem).map_err(|e| bad(e.to_string()))? {
        roots.add(der).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()
        .map_err(|e| bad(e.to_string()))
}

/// The subject common name of a verified client certificate.
pub fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = c.subject().iter_common_name().next()?.as_str().ok()?;
    Some(cn.to_owned())
}

/// `POST /signin/certificate`: signs in the file user the connection's certificate names.
pub async fn sign_in(
    State(st): State<Admin>,
    cert: Option<Extension<PeerCertificate>>,
    p: PrePosted<Empty>,
) -> Response {
    let refuse = |name: &str, why: &str| {
        st.audit(
            AuditAction::AdminSignIn,
            "denied",
            name,
            "certificate",
            p.from,
        );
        tracing::info!(user = %name, from = %p.from, "admin UI certificate logon refused: {why}");
        super::render::message(StatusCode::UNAUTHORIZED, why)
    };
    let Some(Extension(PeerCertificate(der))) = cert else {
        return refuse("(none)", "This connection presented no client certificate.");
    };
    let Some(name) = common_name(&der) else {
        return refuse(
            "(no common name)",
            "The certificate names no user (no common name).",
        );
    };
    if st.directory.as_ref().is_some_and(|d| !d.keeps_file_users()) {
        return refuse(&name, "Certificate logon is for the connector's own users, and the directory decides who logs on.");
    }
    let Some(actor) = st.users.actor(&name).await else {
        return refuse(&name, "No enabled user has the certificate's common name.");
    };
    if actor.must_change {
        return refuse(
            &name,
            "Log on with your one-time password first and change it.",
        );
    }
    st.audit(AuditAction::AdminSignIn, "ok", &name, "certificate", p.from);
    let id = st.sessions.start(&actor.name, Source::File);
    let mut r = Redirect::to("/").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, session::session_cookie(Some(&id)));
    r.headers_mut().append(
        header::SET_COOKIE,
        cookies::session_cookie(session::PRE_COOKIE, None),
    );
    r
}
