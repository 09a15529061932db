//! The admin UI's certificate: self-signed, made at the first start and kept in
//! `data_dir/admin/` (the key 0600), reused at every later start so that a browser's
//! exception for it holds.
//!
//! Why self-signed: the connector runs inside a customer network without a CA it could ask;
//! the security status names the self-signed certificate as something to replace. The
//! certificate names `localhost`, `127.0.0.1`, `::1` and the listen address.
//!
//! The listener serves whatever [`LiveUiCert`] holds now: a replacement
//! ([`super::ui_cert`]) is in force for the next TLS connection, without a restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::data_dir::ConnectorDataDir;
use crate::identity::{create_private_dir, write_atomic, IdentityError};

/// Why the UI certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiCertError {
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] IdentityError),
    /// Making the certificate failed.
    #[error("cannot make the admin UI's certificate: {0}")]
    Generate(String),
    /// The files are there but unusable.
    #[error(
        "the admin UI's certificate {path}: {reason} (remove {path} and its key to make a new one)"
    )]
    Unusable {
        /// The certificate file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The UI certificate's PEM (loaded, or made and saved now) and the key's PEM.
pub fn load_or_make(
    dir: &ConnectorDataDir,
    listen: SocketAddr,
) -> Result<(String, String), UiCertError> {
    let (cert_path, key_path) = (dir.ui_cert(), dir.ui_key());
    recover_pair(dir)?;
    if cert_path.exists() || key_path.exists() {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|source| IdentityError::Io {
                path: p.to_path_buf(),
                source,
            })
        };
        return Ok((read(&cert_path)?, read(&key_path)?));
    }
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !listen.ip().is_unspecified() && !names.contains(&listen.ip().to_string()) {
        names.push(listen.ip().to_string());
    }
    let mut params =
        rcgen::CertificateParams::new(names).map_err(|e| UiCertError::Generate(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Portcullis connector admin UI");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(825);
    let key = rcgen::KeyPair::generate().map_err(|e| UiCertError::Generate(e.to_string()))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| UiCertError::Generate(e.to_string()))?;
    let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
    create_private_dir(&dir.admin())?;
    write_pair(dir, &key_pem, &cert_pem)?;
    tracing::info!(certificate = %cert_path.display(), "made a self-signed certificate for the admin UI");
    Ok((cert_pem, key_pem))
}

/// The file a pair's part is staged in before it takes its place.
fn staged(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    path.with_file_name(name)
}

fn rename(from: &Path, to: &Path) -> Result<(), IdentityError> {
    std::fs::rename(from, to).map_err(|source| IdentityError::Io {
        path: to.to_path_buf(),
        source,
    })
}

/// Writes the UI key and certificate so that a crash at any point leaves either the old pair
/// or the new one, never a key with another's certificate: each is staged whole (key, then
/// certificate) and only then moved into place; [`recover_pair`] finishes or drops a
/// half-done change at the next start.
pub fn write_pair(
    dir: &ConnectorDataDir,
    key_pem: &str,
    chain_pem: &str,
) -> Result<(), IdentityError> {
    let (key, cert) = (dir.ui_key(), dir.ui_cert());
    write_atomic(&staged(&key), key_pem.as_bytes())?;
    write_atomic(&staged(&cert), chain_pem.as_bytes())?;
    rename(&staged(&key), &key)?;
    rename(&staged(&cert), &cert)
}

/// Finishes what [`write_pair`] began before a crash: a staged certificate means the staged
/// key was complete (it is written first), so both move into place; a staged key alone
/// means the certificate never came, so the old pair stays and the key goes.
pub fn recover_pair(dir: &ConnectorDataDir) -> Result<(), IdentityError> {
    let (key, cert) = (dir.ui_key(), dir.ui_cert());
    let (next_key, next_cert) = (staged(&key), staged(&cert));
    if next_cert.exists() {
        if next_key.exists() {
            rename(&next_key, &key)?;
        }
        rename(&next_cert, &cert)?;
        tracing::warn!(certificate = %cert.display(), "finished a UI certificate change a stop had interrupted");
    } else if next_key.exists() {
        std::fs::remove_file(&next_key).map_err(|source| IdentityError::Io {
            path: next_key.clone(),
            source,
        })?;
        tracing::warn!(certificate = %cert.display(), "dropped a UI certificate change a stop had interrupted before its certificate was written");
    }
    Ok(())
}

/// The UI certificate in force: what every new TLS connection of the admin listener gets.
#[derive(Debug)]
pub struct LiveUiCert(RwLock<Arc<CertifiedKey>>);

impl LiveUiCert {
    /// The certificate served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Serves `key` from the next TLS connection on.
    pub fn replace(&self, key: CertifiedKey) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
    }
}

impl ResolvesServerCert for LiveUiCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// A chain (leaf first) and its private key, checked to belong together, ready to serve.
pub fn certified_key(cert_pem: &str, key_pem: &str) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err("no CERTIFICATE in the chain".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("the private key: {e}"))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("the private key: {e}"))?;
    let ck = CertifiedKey::new(chain, signing);
    ck.keys_match()
        .map_err(|_| "the private key does not belong to the first certificate".to_owned())?;
    Ok(ck)
}

/// The rustls server configuration of the admin listener (HTTP/1.1 and HTTP/2), serving the
/// certificate `live` holds at each handshake.
pub fn server_config(
    dir: &ConnectorDataDir,
    cert_pem: &str,
    key_pem: &str,
    clients: Arc<dyn rustls::server::danger::ClientCertVerifier>,
) -> Result<(Arc<rustls::ServerConfig>, Arc<LiveUiCert>), UiCertError> {
    let unusable = |reason: String| UiCertError::Unusable {
        path: dir.ui_cert().display().to_string(),
        reason,
    };
    let live = Arc::new(LiveUiCert(RwLock::new(Arc::new(
        certified_key(cert_pem, key_pem).map_err(unusable)?,
    ))));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unusable(e.to_string()))?
        .with_client_cert_verifier(clients)
        .with_cert_resolver(live.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), live))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, ConnectorDataDir) {
        let t = tempfile::tempdir().unwrap();
        let d = ConnectorDataDir::new(t.path());
        create_private_dir(&d.admin()).unwrap();
        (t, d)
    }

    fn pair(d: &ConnectorDataDir) -> (String, String) {
        (
            std::fs::read_to_string(d.ui_key()).unwrap(),
            std::fs::read_to_string(d.ui_cert()).unwrap(),
        )
    }

    #[test]
    fn a_change_cut_before_its_certificate_was_staged_leaves_the_old_pair() {
        let (_t, d) = dir();
        write_pair(&d, "old key", "old cert").unwrap();
        // The stop came after the new key was staged, before its certificate was.
        write_atomic(&staged(&d.ui_key()), b"new key").unwrap();
        recover_pair(&d).unwrap();
        assert_eq!(pair(&d), ("old key".into(), "old cert".into()));
        assert!(!staged(&d.ui_key()).exists());
    }

    #[test]
    fn a_change_cut_after_both_were_staged_or_halfway_in_place_is_finished() {
        let (_t, d) = dir();
        write_pair(&d, "old key", "old cert").unwrap();
        write_atomic(&staged(&d.ui_key()), b"new key").unwrap();
        write_atomic(&staged(&d.ui_cert()), b"new cert").unwrap();
        recover_pair(&d).unwrap();
        assert_eq!(pair(&d), ("new key".into(), "new cert".into()));

        // The key already in place, the certificate still staged.
        write_atomic(&staged(&d.ui_cert()), b"newer cert").unwrap();
        write_atomic(&d.ui_key(), b"newer key").unwrap();
        recover_pair(&d).unwrap();
        assert_eq!(pair(&d), ("newer key".into(), "newer cert".into()));
        assert!(!staged(&d.ui_cert()).exists());
    }

    #[test]
    fn a_whole_change_leaves_nothing_staged() {
        let (_t, d) = dir();
        write_pair(&d, "k", "c").unwrap();
        recover_pair(&d).unwrap();
        assert_eq!(pair(&d), ("k".into(), "c".into()));
        assert!(!staged(&d.ui_key()).exists() && !staged(&d.ui_cert()).exists());
    }
}
