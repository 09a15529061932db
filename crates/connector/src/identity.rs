//! The connector's identity: its client certificate and key, the pinned hub CA, and what it
//! learnt at enrolment. Stored in `data_dir/identity/`:
//!
//! | file | content |
//! |---|---|
//! | `client.pem` | the client certificate the hub issued (PEM) |
//! | `client.key` | its private key (PKCS#8 PEM), mode 0600: it never left this machine |
//! | `ca.pem` | the hub CA, the **only** root the tunnel trusts |
//! | `enrollment.json` | tunnel address, TLS server name, connector id, company, location |
//! | `enroll-pending.json` | only while an enrolment is under way: the token's public id and the key (0600), kept when writing the identity failed so the same token can be used again |
//!
//! The directory is 0700 and every file 0600.
//!
//! Each file is written to a temporary name, synced and renamed, so a crash leaves either the
//! old file or the new one, never half of one. An existing identity is never replaced unless
//! the caller says so (`force`): overwriting it by accident would orphan the enrolment on the hub.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_domain::secret::Secret;
use portcullis_transport::pki::{self, fingerprint_hex};
use portcullis_transport::tls::{self, TlsError};
use serde::{Deserialize, Serialize};

pub use crate::data_dir::names::{CA_FILE, CERT_FILE, ENROLLMENT_FILE, IDENTITY_DIR, KEY_FILE};

/// Why an identity could not be loaded or stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// There is no identity: the connector has not been enrolled.
    #[error("no connector identity at {0}: enrol first (`portcullis connector enroll --hub URL --token T`)")]
    Missing(PathBuf),
    /// An identity exists and replacing it was not asked for.
    #[error("a connector identity already exists at {0}; pass --force to replace it")]
    AlreadyExists(PathBuf),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file exists but its content is unusable.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Certificate, key and CA do not make a usable TLS client (e.g. key and certificate do
    /// not belong together).
    #[error("identity unusable for TLS: {0}")]
    Tls(#[from] TlsError),
}

/// Common name put in the CSR (only a hint: the hub chooses the certified identity).
pub const CSR_COMMON_NAME: &str = "connector";

/// What the connector learnt at enrolment besides its certificate (`enrollment.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The hub's tunnel endpoint, `host:port`.
    pub tunnel_addr: String,
    /// Name to verify on the tunnel endpoint's certificate.
    pub tunnel_server_name: String,
    /// The hub's id for this connector.
    pub connector_id: i64,
    /// The company this connector belongs to.
    pub company: String,
    /// The location ID this connector serves.
    pub location: String,
}

/// A connector identity. `Debug` never prints the private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The client certificate (PEM).
    pub certificate_pem: String,
    /// The pinned hub CA (PEM).
    pub ca_pem: String,
    key_pem: Secret<String>,
    /// Enrolment facts.
    pub enrollment: Enrollment,
}

impl Identity {
    /// Assembles an identity. Nothing is checked here; [`Identity::tls_client_config`] checks
    /// that the parts fit together.
    pub fn new(
        certificate_pem: String,
        key_pem: String,
        ca_pem: String,
        enrollment: Enrollment,
    ) -> Self {
        Identity {
            certificate_pem,
            ca_pem,
            key_pem: Secret::new(key_pem),
            enrollment,
        }
    }

    /// The private key (PKCS#8 PEM).
    ///
    /// Security: a secret; never log it.
    pub fn key_pem(&self) -> &str {
        self.key_pem.expose()
    }

    /// `data_dir/identity`.
    pub fn dir(data_dir: &Path) -> PathBuf {
        crate::data_dir::ConnectorDataDir::new(data_dir).identity()
    }

    /// Whether any identity file exists under `data_dir`.
    pub fn exists(data_dir: &Path) -> bool {
        let dir = Self::dir(data_dir);
        [CERT_FILE, KEY_FILE, CA_FILE, ENROLLMENT_FILE]
            .iter()
            .any(|f| dir.join(f).exists())
    }

    /// SHA-256 fingerprint (lowercase hex) of the pinned CA, as enrolment tokens carry it.
    pub fn ca_fingerprint(&self) -> Result<String, IdentityError> {
        let ca = first_cert(&self.ca_pem, Path::new(CA_FILE))?;
        Ok(fingerprint_hex(&ca))
    }

    /// When the client certificate expires, unix ms (`None` if it cannot be read).
    pub fn certificate_not_after_ms(&self) -> Option<i64> {
        let der = first_cert(&self.certificate_pem, Path::new(CERT_FILE)).ok()?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        Some(cert.validity().not_after.timestamp().saturating_mul(1000))
    }

    /// Loads the identity from `data_dir/identity/`.
    pub fn load(data_dir: &Path) -> Result<Identity, IdentityError> {
        let dir = Self::dir(data_dir);
        if !dir.join(CERT_FILE).exists() && !dir.join(ENROLLMENT_FILE).exists() {
            return Err(IdentityError::Missing(dir));
        }
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| IdentityError::Io { path, source })
        };
        let certificate_pem = read(CERT_FILE)?;
        let key_pem = read(KEY_FILE)?;
        let ca_pem = read(CA_FILE)?;
        let enrollment_path = dir.join(ENROLLMENT_FILE);
        let enrollment: Enrollment =
            serde_json::from_str(&read(ENROLLMENT_FILE)?).map_err(|e| IdentityError::Invalid {
                path: enrollment_path,
                reason: e.to_string(),
            })?;
        warn_if_key_readable_by_others(&dir.join(KEY_FILE));
        Ok(Identity {
            certificate_pem,
            ca_pem,
            key_pem: Secret::new(key_pem),
            enrollment,
        })
    }

    /// Writes the identity to `data_dir/identity/`, each file atomically. Refuses to replace
    /// an existing identity unless `force`.
    pub fn write(&self, data_dir: &Path, force: bool) -> Result<(), IdentityError> {
        let dir = Self::dir(data_dir);
        if !force && Self::exists(data_dir) {
            return Err(IdentityError::AlreadyExists(dir));
        }
        create_private_dir(&dir)?;
        let enrollment =
            serde_json::to_vec_pretty(&self.enrollment).map_err(|e| IdentityError::Invalid {
                path: dir.join(ENROLLMENT_FILE),
                reason: e.to_string(),
            })?;
        // The key first: a certificate without its key is useless, the reverse is harmless.
        write_atomic(&dir.join(KEY_FILE), self.key_pem.expose().as_bytes())?;
        write_atomic(&dir.join(CERT_FILE), self.certificate_pem.as_bytes())?;
        write_atomic(&dir.join(CA_FILE), self.ca_pem.as_bytes())?;
        write_atomic(&dir.join(ENROLLMENT_FILE), &enrollment)?;
        Ok(())
    }

    /// The TLS client configuration for the tunnel: the pinned CA as the only root, this
    /// identity's certificate and key for client authentication. Fails when the parts do not
    /// fit together.
    pub fn tls_client_config(&self) -> Result<Arc<rustls::ClientConfig>, IdentityError> {
        let ca = first_cert(&self.ca_pem, Path::new(CA_FILE))?;
        let chain =
            pki::pem_to_der_certs(&self.certificate_pem).map_err(|e| IdentityError::Invalid {
                path: PathBuf::from(CERT_FILE),
                reason: e.to_string(),
            })?;
        let key =
            pki::pem_to_private_key(self.key_pem.expose()).map_err(|e| IdentityError::Invalid {
                path: PathBuf::from(KEY_FILE),
                reason: e.to_string(),
            })?;
        Ok(tls::tunnel_client_config(ca, chain, key)?)
    }
}

fn first_cert(
    pem: &str,
    path: &Path,
) -> Result<rustls_pki_types::CertificateDer<'static>, IdentityError> {
    pki::pem_to_der_certs(pem)
        .map_err(|e| IdentityError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .into_iter()
        .next()
        .ok_or_else(|| IdentityError::Invalid {
            path: path.to_path_buf(),
            reason: "no certificate".into(),
        })
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), IdentityError> {
    let io = |source| IdentityError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(io)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`.
/// The temporary file is created with mode 0600, so nothing the connector keeps (its key least
/// of all) is ever readable by others, not even for an instant.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| IdentityError::Io { path: p, source }
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn warn_if_key_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{mode:o}"),
                    "the connector's private key is readable by other users; chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_certificates_but_not_the_key() {
        let identity = Identity::new(
            "CERT".into(),
            "-----BEGIN PRIVATE KEY-----\nKEYSECRET".into(),
            "HUBCA".into(),
            Enrollment {
                tunnel_addr: "hub:8443".into(),
                tunnel_server_name: "hub".into(),
                connector_id: 7,
                company: "acme".into(),
                location: "loc".into(),
            },
        );
        let shown = format!("{identity:?}");
        assert!(shown.contains("CERT") && shown.contains("HUBCA"), "{shown}");
        assert!(!shown.contains("KEYSECRET"), "{shown}");
        assert!(identity.key_pem().ends_with("KEYSECRET"));
    }
}
