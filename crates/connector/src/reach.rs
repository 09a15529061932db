//! Reachability of access control entries (CC-20, sap-reference §3.5.2 "Behaviour"): what
//! SAP's Cloud Connector shows as *Reachable* or a warning after saving an entry, and on
//! "Check Availability of Internal Host".
//!
//! Per entry, at its first internal port: a TCP connect; for TLS protocols the TLS handshake
//! (with the system certificate where the entry uses it); for HTTP(S) a `HEAD /` whose answer,
//! any status, proves an HTTP server is there. The connector runs the checks after every
//! reload that changes the list (each result is audited as `access.reachability`) and on
//! demand through its admin socket (`portcullis connector check`). A failed check is a
//! warning: the entry stays in force, as in SAP's.

use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use portcullis_domain::access::{AccessControlList, AccessEntry, Denied};
use serde::{Deserialize, Serialize};

use crate::backend::{dial_backend, DialError};
use crate::backend_tls::BackendTls;

/// How long one entry's check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// One entry's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reachability {
    /// The entry's name.
    pub entry: String,
    /// The internal `host:port` checked.
    pub internal: String,
    /// The entry's protocol.
    pub protocol: String,
    /// Whether the check passed.
    pub reachable: bool,
    /// What was seen: `TCP connect`, `TLS handshake`, `HTTP 200`, or the error.
    pub detail: String,
    /// How long the check took.
    pub millis: u64,
}

/// Checks `entry` (one of `acl`'s).
pub async fn check_entry(
    acl: &AccessControlList,
    entry: &AccessEntry,
    tls: &BackendTls,
) -> Reachability {
    let began = Instant::now();
    let internal = if entry.internal.host.contains(':') {
        format!("[{}]:{}", entry.internal.host, entry.internal.first)
    } else {
        format!("{}:{}", entry.internal.host, entry.internal.first)
    };
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, probe(acl, entry, tls)).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::Timeout),
    };
    let (reachable, detail) = match outcome {
        Ok(detail) => (true, detail),
        Err(e) => (false, e.to_string()),
    };
    Reachability {
        entry: entry.name.clone(),
        internal,
        protocol: entry.protocol.to_string(),
        reachable,
        detail,
        millis: u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Checks every entry (or the one named), concurrently.
pub async fn check_all(
    acl: &AccessControlList,
    only: Option<&str>,
    tls: &BackendTls,
) -> Vec<Reachability> {
    let checks = acl
        .entries()
        .iter()
        .filter(|e| only.is_none_or(|name| e.name == name))
        .map(|e| check_entry(acl, e, tls));
    futures_util::future::join_all(checks).await
}

/// Why a reachability check failed; its text is the check's `detail`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The list does not allow the entry's own first port (cannot happen for a valid entry).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// Connecting, or the TLS handshake, failed.
    #[error(transparent)]
    Dial(#[from] DialError),
    /// The HTTP/1.1 handshake failed.
    #[error("HTTP: {0}")]
    HttpHandshake(#[source] hyper::Error),
    /// The `HEAD /` request could not be built (a virtual host no header can carry).
    #[error("{0}")]
    Request(#[source] http::Error),
    /// The `HEAD /` request got no answer.
    #[error("HEAD / failed: {0}")]
    Head(#[source] hyper::Error),
    /// The whole check took longer than [`CHECK_TIMEOUT`].
    #[error("no answer within {CHECK_TIMEOUT:?}")]
    Timeout,
}

async fn probe(
    acl: &AccessControlList,
    entry: &AccessEntry,
    tls: &BackendTls,
) -> Result<String, ProbeError> {
    // The permit for the entry's first port: dialling needs one, and it maps exactly as a
    // session would.
    let permit = acl.check(&entry.virtual_target.host, entry.virtual_target.first)?;
    let io = dial_backend(&permit, tls).await?;
    if !entry.protocol.is_http() {
        return Ok(if entry.protocol.is_tls() {
            "TLS handshake".into()
        } else {
            "TCP connect".into()
        });
    }
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(ProbeError::HttpHandshake)?;
    tokio::spawn(conn);
    let host = format!(
        "{}:{}",
        entry.virtual_target.host, entry.virtual_target.first
    );
    let req = http::Request::head("/")
        .header(http::header::HOST, host)
        .body(Empty::<bytes::Bytes>::new())
        .map_err(ProbeError::Request)?;
    let resp = sender.send_request(req).await.map_err(ProbeError::Head)?;
    Ok(format!("HTTP {}", resp.status().as_u16()))
}

/// The last reachability result of each entry, from every check: the connector's own after a
/// reload, and those asked for through the admin socket, the UI or the API (kept in memory;
/// a restart forgets them until the checks after the start).
#[derive(Debug, Default)]
pub struct LastChecks(std::sync::Mutex<std::collections::HashMap<String, Reachability>>);

impl LastChecks {
    /// Keeps `results`.
    pub fn keep(&self, results: &[Reachability]) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for r in results {
            m.insert(r.entry.clone(), r.clone());
        }
    }

    /// Every entry's last result, by name.
    pub fn all(&self) -> Vec<Reachability> {
        let mut v: Vec<_> = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.entry.cmp(&b.entry));
        v
    }

    /// The last result of `entry`, if it was checked.
    pub fn of(&self, entry: &str) -> Option<Reachability> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(entry)
            .cloned()
    }
}
