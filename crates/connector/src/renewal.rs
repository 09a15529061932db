//! Renewing the client certificate over the tunnel (issue #17 part 4), before it expires: at
//! `[certificate] renew_at_percent` of its life (two thirds by default).
//!
//! 1. On a tunnel to a hub that offers it ([`FEATURE_RENEW`]), when renewal is due, the
//!    connector makes a new key and sends its CSR ([`request`]).
//! 2. The hub answers with a certificate for the same connector ([`RenewOffer`]). The
//!    connector checks it is for the new key and chains to the pinned hub CA, writes it with its
//!    key to `identity/renewed.json` (0600, atomically) beside the identity in use, and tells
//!    the hub ([`accept`] → [`RenewStored`]); the hub then accepts only the new certificate for
//!    new tunnels.
//! 3. The tunnel in use goes on (TLS does not look at a certificate again on a connection it
//!    established), so live streams are not cut. The next connection tries the renewed
//!    certificate first ([`candidates`]); only when the hub answers that it does not know it
//!    (it never put it in force) is the one in use tried, and `renewed.json` dropped if that
//!    works (renewal is asked again). Any other failure is retried with the renewed one: an
//!    unreachable hub says nothing about which certificate it holds. The renewed pair is
//!    moved into `client.key` and `client.pem` ([`promote`]: key, certificate, then
//!    `renewed.json` removed); a start that finds a key not fitting its certificate (a crash
//!    between the two) finishes the promotion from `renewed.json`.

use std::path::Path;

use portcullis_proto::{RenewOffer, RenewRequest, RenewStored, FEATURE_RENEW};
use portcullis_transport::pki;
use serde::{Deserialize, Serialize};

use crate::data_dir::ConnectorDataDir;
use crate::identity::{write_atomic, Identity, IdentityError};

#[allow(unused_imports)] // for the docs
use portcullis_proto::Welcome;

/// A new key waiting for its certificate (kept in memory only: a restart asks again).
pub(crate) struct Pending {
    key_pem: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending(key ***)")
    }
}

/// `identity/renewed.json`: a renewed certificate and its key, not yet the identity in use.
#[derive(Serialize, Deserialize)]
struct Renewed {
    certificate_pem: String,
    key_pem: String,
}

/// Whether the hub of `welcome` renews over the tunnel.
pub(crate) fn offered(welcome: &Welcome) -> bool {
    welcome.features.iter().any(|f| f == FEATURE_RENEW)
}

/// When the certificate `cert_pem` is due for renewal (unix ms): `percent` of the way from
/// its issue to its end. The hub dates `notBefore` back by [`pki::BACKDATE`] for clocks that
/// run behind; the life counted here starts after that.
pub(crate) fn due_ms(cert_pem: &str, percent: u8) -> Option<i64> {
    let der = pki::pem_to_der_certs(cert_pem).ok()?.into_iter().next()?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let end = cert.validity().not_after.timestamp().saturating_mul(1000);
    let backdate = i64::try_from(pki::BACKDATE.as_millis()).unwrap_or(0);
    let start = (cert.validity().not_before.timestamp().saturating_mul(1000) + backdate).min(end);
    Some(start + (end - start) * i64::from(percent) / 100)
}

/// A new key and the request for its certificate.
pub(crate) fn request() -> Result<(Pending, RenewRequest), pki::PkiError> {
    let (csr_pem, key_pem) = pki::generate_csr(crate::identity::CSR_COMMON_NAME)?;
    Ok((Pending { key_pem }, RenewRequest { csr_pem }))
}

/// Checks `offer` against the pending key and the pinned CA of `current`, stores it in
/// `identity/renewed.json`; returns the answer for the hub and the new certificate.
pub(crate) fn accept(
    data_dir: &Path,
    current: &Identity,
    pending: Pending,
    offer: RenewOffer,
) -> Result<(RenewStored, String), String> {
    let renewed = Identity::new(
        offer.certificate_pem.clone(),
        pending.key_pem.clone(),
        current.ca_pem.clone(),
        current.enrollment.clone(),
    );
    // The same check the dialler makes: the certificate chains to the pinned CA and fits the
    // key (rustls refuses a key that is not the certificate's).
    renewed.tls_client_config().map_err(|e| e.to_string())?;
    check_chain(&renewed).map_err(|e| format!("the offered certificate: {e}"))?;
    let der = pki::pem_to_der_certs(&offer.certificate_pem)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("the offer holds no certificate")?;
    let file = serde_json::to_vec(&Renewed {
        certificate_pem: offer.certificate_pem.clone(),
        key_pem: pending.key_pem,
    })
    .map_err(|e| e.to_string())?;
    write_atomic(&ConnectorDataDir::new(data_dir).renewed(), &file).map_err(|e| e.to_string())?;
    Ok((
        RenewStored {
            fingerprint: pki::fingerprint_hex(der.as_ref()),
        },
        offer.certificate_pem,
    ))
}

/// The offered certificate is signed by the pinned CA, names a client, and its key is the one
/// we made.
fn check_chain(renewed: &Identity) -> Result<(), String> {
    let ca = pki::pem_to_der_certs(&renewed.ca_pem).map_err(|e| e.to_string())?;
    let leaf = pki::pem_to_der_certs(&renewed.certificate_pem).map_err(|e| e.to_string())?;
    let (Some(ca), Some(leaf)) = (ca.first(), leaf.first()) else {
        return Err("no certificate".into());
    };
    let (_, ca) = x509_parser::parse_x509_certificate(ca.as_ref()).map_err(|e| e.to_string())?;
    let (_, leaf) =
        x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| e.to_string())?;
    leaf.verify_signature(Some(ca.public_key()))
        .map_err(|_| "not signed by the hub CA this connector trusts".to_owned())?;
    let pair = rcgen::KeyPair::from_pem(renewed.key_pem()).map_err(|e| e.to_string())?;
    if rcgen::PublicKeyData::der_bytes(&pair) != &*leaf.public_key().subject_public_key.data {
        return Err("it is not for the key this connector made".into());
    }
    Ok(())
}

/// The identities to try, the renewed one (if any) first.
pub(crate) fn candidates(data_dir: &Path, current: &Identity) -> Vec<(bool, Identity)> {
    let mut out = Vec::new();
    let path = ConnectorDataDir::new(data_dir).renewed();
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<Renewed>(&bytes) {
            Ok(r) => out.push((
                true,
                Identity::new(
                    r.certificate_pem,
                    r.key_pem,
                    current.ca_pem.clone(),
                    current.enrollment.clone(),
                ),
            )),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "the renewed certificate does not parse; ignored");
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read the renewed certificate")
        }
    }
    out.push((false, current.clone()));
    out
}

/// The renewed identity connected: it becomes `client.key` and `client.pem`.
pub(crate) fn promote(data_dir: &Path, renewed: &Identity) -> Result<(), IdentityError> {
    let d = ConnectorDataDir::new(data_dir);
    write_atomic(&d.client_key(), renewed.key_pem().as_bytes())?;
    write_atomic(&d.client_cert(), renewed.certificate_pem.as_bytes())?;
    drop_renewed(data_dir);
    Ok(())
}

/// Removes `identity/renewed.json` (the hub accepted the identity in use: the renewed one was
/// never put in force).
pub(crate) fn drop_renewed(data_dir: &Path) {
    let path = ConnectorDataDir::new(data_dir).renewed();
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot remove the renewed certificate")
        }
    }
}
