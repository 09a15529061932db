//! The hub's certificate authority and server certificate, created on first start in
//! `data_dir/pki/` and reused afterwards.
//!
//! The CA signs connector client certificates (enrolment) and the hub's own server certificate.
//! The server certificate is re-issued when the configured server names change or it has fewer
//! than 30 days left; the CA is never replaced automatically, since every enrolled connector
//! pins it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use portcullis_transport::pki::{self, Ca, PkiError};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why the PKI state could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiStateError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Certificate material was invalid.
    #[error("{0}")]
    Pki(#[from] PkiError),
}

/// The hub's loaded certificates.
pub struct HubPki {
    /// The CA.
    pub ca: Arc<Ca>,
    /// Server chain: leaf then CA.
    pub server_chain: Vec<CertificateDer<'static>>,
    /// Server key.
    pub server_key: PrivateKeyDer<'static>,
    /// Path of the CA certificate (PEM), for clients to trust.
    pub ca_path: PathBuf,
}

// By hand, not with `Secret`: the key and the chain are rustls types, and the chain's bytes
// say nothing useful in a log; the CA and its path are what a reader needs.
impl std::fmt::Debug for HubPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubPki")
            .field("ca", &self.ca)
            .field("ca_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

const SERVER_VALIDITY: Duration = Duration::from_secs(365 * 86_400);
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);

/// The text of the file at `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, PkiStateError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiStateError::Io {
            path: path.into(),
            source,
        }),
    }
}

/// Writes a file atomically with mode 0600: everything in the hub's data directory is its
/// owner's alone (the CA certificate too; who needs it gets a copy).
///
/// The temporary file has a fresh random name and is created with `create_new`, so it is
/// always a new file with the intended mode: a stale temporary from a crash can never be
/// reused (it might carry looser permissions).
pub fn write_file(path: &Path, contents: &str) -> Result<(), PkiStateError> {
    let io = |source| PkiStateError::Io {
        path: path.into(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)
}

/// Creates `dir` (and its parents) if missing and makes it 0700, also when it existed with
/// looser permissions: only the hub's own user may list or enter its data.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates the file at `path` empty with mode 0600 if it is missing, and makes an existing
/// one 0600: for files another library creates (SQLite creates its `-wal` and `-shm` files
/// with the database file's mode).
pub fn private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        opts.open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    opts.open(path)?;
    Ok(())
}

/// Loads the CA and server certificate from `data_dir/pki`, creating what is missing.
pub fn load_or_create(
    data_dir: &crate::data_dir::HubDataDir,
    server_names: &[String],
) -> Result<HubPki, PkiStateError> {
    let dir = data_dir.pki();
    private_dir(&dir).map_err(|source| PkiStateError::Io {
        path: dir.clone(),
        source,
    })?;
    let (ca_path, ca_key_path) = (data_dir.ca_cert(), data_dir.ca_key());
    let ca = match (read_optional(&ca_path)?, read_optional(&ca_key_path)?) {
        (Some(c), Some(k)) => Ca::from_pem(&c, &k)?,
        _ => {
            let m = pki::generate_ca("Portcullis hub CA")?;
            write_file(&ca_key_path, m.key_pem.expose())?;
            write_file(&ca_path, &m.cert_pem)?;
            tracing::info!(path = %ca_path.display(), "created hub CA");
            Ca::from_pem(&m.cert_pem, m.key_pem.expose())?
        }
    };
    let (srv_path, srv_key_path, names_path) = (
        data_dir.server_cert(),
        data_dir.server_key(),
        data_dir.server_names(),
    );
    let wanted_names = server_names.join("\n");
    let existing = match (
        read_optional(&srv_path)?,
        read_optional(&srv_key_path)?,
        read_optional(&names_path)?,
    ) {
        (Some(c), Some(k), Some(n)) if n == wanted_names && !expiring(&c) => Some((c, k)),
        _ => None,
    };
    let (cert_pem, key_pem) = match existing {
        Some(pair) => pair,
        None => {
            let issued = ca.issue_server_cert(server_names, SERVER_VALIDITY)?;
            write_file(&srv_key_path, issued.key_pem.expose())?;
            write_file(&srv_path, &issued.cert_pem)?;
            write_file(&names_path, &wanted_names)?;
            tracing::info!(names = ?server_names, "issued hub server certificate");
            (issued.cert_pem.clone(), issued.key_pem.expose().clone())
        }
    };
    let mut server_chain = pki::pem_to_der_certs(&cert_pem)?;
    server_chain.push(ca.cert_der().clone());
    Ok(HubPki {
        server_key: pki::pem_to_private_key(&key_pem)?,
        server_chain,
        ca: Arc::new(ca),
        ca_path,
    })
}

/// The web entry's certificate: `*.<web_domain>` (every service connection's origin is one
/// label below it), issued by the CA at each start and kept in memory only (a restart
/// issues a new one; nothing pins it but the CA).
pub fn web_certificate(
    ca: &Ca,
    web_domain: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), PkiStateError> {
    let issued = ca.issue_server_cert(&[format!("*.{web_domain}")], SERVER_VALIDITY)?;
    let mut chain = pki::pem_to_der_certs(&issued.cert_pem)?;
    chain.push(ca.cert_der().clone());
    Ok((chain, pki::pem_to_private_key(issued.key_pem.expose())?))
}

/// True when the certificate's `notAfter` is within [`RENEW_BEFORE`] or unreadable.
fn expiring(cert_pem: &str) -> bool {
    let Ok(ders) = pki::pem_to_der_certs(cert_pem) else {
        return true;
    };
    let Some(der) = ders.first() else { return true };
    match x509_not_after(der) {
        Some(na) => na - time::OffsetDateTime::now_utc() < RENEW_BEFORE,
        None => true,
    }
}

fn x509_not_after(der: &[u8]) -> Option<time::OffsetDateTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    time::OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_even_over_an_existing_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pcl-pki-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("server.key");
        std::fs::write(&key, "old").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_file(&key, "secret").unwrap();
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "secret");
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
