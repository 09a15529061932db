//! The operator's own certificate for the listeners browsers meet (the API/portal, the web
//! entry), instead of one from the hub's private CA, reloaded when its files change.
//!
//! Why: a browser should never be asked to trust a private CA. The tunnel keeps the hub CA
//! (connectors pin it); only the browser-facing listeners change. The files are checked every
//! `[tls] reload_check_secs`; a change is loaded, checked (the key must match the leaf) and
//! then served to new handshakes.
//!
//! Portcullis's own clients pin the hub CA (a connector enrolling, the CLI): they add
//! [`HUB_CA_ALPN`](portcullis_transport::tls::HUB_CA_ALPN) to their ALPN offer, and the API
//! listener answers them with the hub CA's certificate, so setting an operator's certificate
//! changes nothing for them. A file that does not load leaves the current certificate in
//! place and says so in the log, so a half-written renewal never takes the portal down.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use portcullis_transport::pki;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

/// A certificate chain and key in PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The chain: leaf first, then intermediates.
    pub chain: PathBuf,
    /// The private key of the leaf (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the files did not give a certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorCertError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The chain file holds no certificate, or the key file no key.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        what: String,
    },
    /// The key does not belong to the chain's first certificate, or rustls refused it.
    #[error("{path}: {what}")]
    Mismatch {
        /// The key file.
        path: PathBuf,
        /// What rustls said.
        what: String,
    },
}

/// The hub CA's server certificate as rustls serves it.
pub fn hub_certificate(
    chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    key: rustls_pki_types::PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, OperatorCertError> {
    CertifiedKey::from_der(chain, key, &portcullis_transport::tls::provider())
        .map(Arc::new)
        .map_err(|e| OperatorCertError::Mismatch {
            path: PathBuf::from("<hub pki>"),
            what: e.to_string(),
        })
}

/// Loads and checks a chain and key.
pub fn load(files: &CertFiles) -> Result<Arc<CertifiedKey>, OperatorCertError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| OperatorCertError::Read {
            path: p.into(),
            source,
        })
    };
    let chain_pem = read(&files.chain)?;
    let key_pem = read(&files.key)?;
    let pem_err = |path: &Path, e: &dyn std::fmt::Display| OperatorCertError::Pem {
        path: path.into(),
        what: e.to_string(),
    };
    let chain = pki::pem_to_der_certs(&String::from_utf8_lossy(&chain_pem))
        .map_err(|e| pem_err(&files.chain, &e))?;
    let key = pki::pem_to_private_key(&String::from_utf8_lossy(&key_pem))
        .map_err(|e| pem_err(&files.key, &e))?;
    let provider = portcullis_transport::tls::provider();
    let certified =
        CertifiedKey::from_der(chain, key, &provider).map_err(|e| OperatorCertError::Mismatch {
            path: files.key.clone(),
            what: e.to_string(),
        })?;
    Ok(Arc::new(certified))
}

/// Serves the current certificate to every handshake and swaps in a new one when its files
/// change ([`ReloadingCert::watch`]).
#[derive(Debug)]
pub struct ReloadingCert {
    files: CertFiles,
    /// What clients pinning the hub CA get (the API listener); `None`: everyone gets the
    /// operator's (the web entry, which only browsers use).
    hub: Option<Arc<CertifiedKey>>,
    current: RwLock<Arc<CertifiedKey>>,
    /// Loads that replaced the certificate (1 after the first load).
    loaded: AtomicU64,
    /// Changes of the files that did not load.
    failed: AtomicU64,
    /// Bumped after every check that changed something (a load or a failed one), for
    /// whoever waits on a reload ([`ReloadingCert::changes`]).
    changes: tokio::sync::watch::Sender<u64>,
}

/// What the files looked like when last checked (size and modification time of both).
type Stamp = Option<(u64, SystemTime, u64, SystemTime)>;

fn stamp(files: &CertFiles) -> Stamp {
    let a = std::fs::metadata(&files.chain).ok()?;
    let b = std::fs::metadata(&files.key).ok()?;
    Some((a.len(), a.modified().ok()?, b.len(), b.modified().ok()?))
}

impl ReloadingCert {
    /// Loads the files once; an error here stops the hub from starting (it would serve
    /// nothing a browser trusts).
    pub fn load(
        files: CertFiles,
        hub: Option<Arc<CertifiedKey>>,
    ) -> Result<Arc<ReloadingCert>, OperatorCertError> {
        let first = load(&files)?;
        Ok(Arc::new(ReloadingCert {
            files,
            hub,
            current: RwLock::new(first),
            loaded: AtomicU64::new(1),
            failed: AtomicU64::new(0),
            changes: tokio::sync::watch::Sender::new(0),
        }))
    }

    /// A receiver that sees every load and every failed load after it is made.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// How many times a certificate was loaded (1 after start).
    pub fn loaded(&self) -> u64 {
        self.loaded.load(Ordering::SeqCst)
    }

    /// How many changed files did not load.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// The certificate served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Checks the files every `every` until `stop`; a change is loaded and served, or logged
    /// and ignored when it does not load.
    pub async fn watch(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        let mut seen = stamp(&self.files);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let now = stamp(&self.files);
            if now == seen {
                continue;
            }
            seen = now;
            match load(&self.files) {
                Ok(k) => {
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = k;
                    self.loaded.fetch_add(1, Ordering::SeqCst);
                    tracing::info!(chain = %self.files.chain.display(), "operator certificate reloaded");
                }
                Err(e) => {
                    self.failed.fetch_add(1, Ordering::SeqCst);
                    tracing::error!(error = %e, "operator certificate changed but does not load; the previous one stays in use");
                }
            }
            self.changes.send_modify(|n| *n += 1);
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let pins_hub_ca = hello.alpn().is_some_and(|mut offered| {
            offered.any(|p| p == portcullis_transport::tls::HUB_CA_ALPN)
        });
        match &self.hub {
            Some(hub) if pins_hub_ca => Some(hub.clone()),
            _ => Some(self.current()),
        }
    }
}

/// `[tls]` in the hub's configuration file.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// The operator's certificate chain (PEM, leaf first) for the API/portal listener.
    pub api_certificate: Option<PathBuf>,
    /// Its private key (PEM).
    pub api_private_key: Option<PathBuf>,
    /// The operator's certificate for the web entry: a wildcard for `*.<web_domain>`.
    pub web_certificate: Option<PathBuf>,
    /// Its private key (PEM).
    pub web_private_key: Option<PathBuf>,
    /// Seconds between checks of the files for a renewal (default 30).
    pub reload_check_secs: Option<u64>,
}

/// The validated `[tls]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The API/portal listener's certificate; `None`: one from the hub CA.
    pub api: Option<CertFiles>,
    /// The web entry's certificate; `None`: one from the hub CA.
    pub web: Option<CertFiles>,
    /// How often the files are checked.
    pub reload_check: Duration,
}

impl Default for TlsFiles {
    fn default() -> Self {
        TlsFiles {
            api: None,
            web: None,
            reload_check: Duration::from_secs(30),
        }
    }
}

/// Why a `[tls]` section was refused; the message names the field as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A certificate without its key or a key without its certificate.
    #[error("tls.{missing}: needed with tls.{given}")]
    Unpaired {
        /// The field given.
        given: &'static str,
        /// The field missing.
        missing: &'static str,
    },
    /// `reload_check_secs` is 0 or above a day.
    #[error("tls.reload_check_secs: must be 1..=86400")]
    ReloadCheck,
}

fn pair(
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
    names: (&'static str, &'static str),
) -> Result<Option<CertFiles>, TlsConfigError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(c), Some(k)) => Ok(Some(CertFiles {
            chain: c.clone(),
            key: k.clone(),
        })),
        (Some(_), None) => Err(TlsConfigError::Unpaired {
            given: names.0,
            missing: names.1,
        }),
        (None, Some(_)) => Err(TlsConfigError::Unpaired {
            given: names.1,
            missing: names.0,
        }),
    }
}

impl TryFrom<&RawTls> for TlsFiles {
    type Error = TlsConfigError;

    fn try_from(raw: &RawTls) -> Result<Self, TlsConfigError> {
        let reload_check = match raw.reload_check_secs {
            None => TlsFiles::default().reload_check,
            Some(s @ 1..=86_400) => Duration::from_secs(s),
            Some(_) => return Err(TlsConfigError::ReloadCheck),
        };
        Ok(TlsFiles {
            api: pair(
                &raw.api_certificate,
                &raw.api_private_key,
                ("api_certificate", "api_private_key"),
            )?,
            web: pair(
                &raw.web_certificate,
                &raw.web_private_key,
                ("web_certificate", "web_private_key"),
            )?,
            reload_check,
        })
    }
}

/// The watched operator certificates (for status pages and tests).
#[derive(Debug, Default, Clone)]
pub struct OperatorCerts {
    /// The API/portal listener's.
    pub api: Option<Arc<ReloadingCert>>,
    /// The web entry's.
    pub web: Option<Arc<ReloadingCert>>,
}
