//! The local admin socket: how a customer admin on the connector's own machine talks to the
//! running connector (`portcullis connector windows`, `portcullis connector close-window`).
//!
//! It is `data_dir/connector.sock` ([`SOCKET_FILE`]), a Unix domain socket with mode 0600,
//! created when the connector starts and removed when it stops. Only the connector's own user
//! and root may use it: the file mode tells the kernel, and every connection's peer
//! credentials are checked as well, so the instant between `bind` and `chmod` is no gap. A
//! socket file left behind by a connector that crashed is replaced; one that still answers
//! means another connector runs with the same `data_dir`, and this one refuses to start.
//!
//! This module is the socket's transport only: accept, check the peer, read one line, parse
//! it, call the operation (the `ops` module, where the rules live) and render its result or
//! error. The protocol is one request per connection, one JSON object per line each way
//! ([`Request`], [`Response`]), within [`REQUEST_DEADLINE`] and [`MAX_REQUEST_LEN`] bytes;
//! at most [`MAX_CLIENTS`] connections are served at once.
//!
//! ```text
//! → {"op":"windows"}
//! ← {"status":"windows","windows":[{"id":"42","service":"acme/PRD/ssh","target":"prd.internal:22",…}]}
//! → {"op":"close_window","window":"42","by":"alice","reason":"done for today"}
//! ← {"status":"closed","window":{…,"state":"closed"},"sessions_cut":1}
//! ← {"status":"error","code":"unknown_window","message":"the connector does not know window 42"}
//! → {"op":"status"}
//! ← {"status":"status","view":{"tunnel":"connected","connects":1,…,"audit":{"failing":false,…}}}
//! → {"op":"check","entry":"erp"}
//! ← {"status":"reachability","results":[{"entry":"erp","internal":"10.0.0.5:3200","protocol":"ni","reachable":true,"detail":"TCP connect","millis":2}]}
//! ```

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub mod protocol;

use protocol::error;
pub use protocol::{ErrorCode, Request, Response, StatusView};

use crate::access_edit::EditError;
use crate::ops::{self, OpError};
use crate::shared::{LocalCaller, Shared};
use crate::windows::CloseError;

pub use crate::data_dir::names::SOCKET_FILE;
/// Longest request line, in bytes (an import carries a whole access list).
pub const MAX_REQUEST_LEN: usize = 1024 * 1024;
/// How long one connection may take from accept to answer.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed without an answer.
pub const MAX_CLIENTS: usize = 8;

/// Where the admin socket of a connector with `data_dir` lives.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    crate::data_dir::ConnectorDataDir::new(data_dir).admin_socket()
}

/// Why the admin socket could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalSocketError {
    /// Another process answers on the socket: a second connector with the same `data_dir`.
    #[error("admin socket {path}: another connector is running with this data_dir")]
    InUse {
        /// The socket file.
        path: PathBuf,
    },
    /// Something other than a socket sits where the socket goes.
    #[error("admin socket {path}: the path exists and is not a socket; move it away")]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// Creating, binding or securing the socket failed (a path longer than a socket address
    /// allows, about 100 bytes, shows up here too).
    #[error("admin socket {path}: {source}")]
    Io {
        /// The socket file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A bound admin socket, ready for [`serve`].
#[derive(Debug)]
pub(crate) struct LocalListener {
    listener: UnixListener,
    /// The socket file's owner: the connector's own user.
    owner_uid: u32,
}

/// Removes the socket file when dropped (if it is still this connector's).
#[derive(Debug)]
pub(crate) struct SocketGuard {
    path: PathBuf,
    ino: u64,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.ino);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the admin socket");
            }
        }
    }
}

/// Creates `data_dir/connector.sock` with mode 0600, replacing a stale one.
pub(crate) fn bind(data_dir: &Path) -> Result<(LocalListener, SocketGuard), LocalSocketError> {
    let path = socket_path(data_dir);
    let io = |source| LocalSocketError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(LocalSocketError::NotASocket { path });
        }
        Ok(_) => {
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(LocalSocketError::InUse { path });
            }
            tracing::info!(path = %path.display(), "replacing a stale admin socket");
            std::fs::remove_file(&path).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = UnixListener::bind(&path).map_err(io)?;
    let guard_path = path.clone();
    let secure = || -> std::io::Result<std::fs::Metadata> {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        std::fs::symlink_metadata(&path)
    };
    let meta = match secure() {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(io(e));
        }
    };
    tracing::info!(path = %path.display(), "admin socket ready");
    Ok((
        LocalListener {
            listener,
            owner_uid: meta.uid(),
        },
        SocketGuard {
            path: guard_path,
            ino: meta.ino(),
        },
    ))
}

/// Answers admin requests until `stop`.
pub(crate) async fn serve(local: LocalListener, shared: Arc<Shared>, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            a = local.listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors and the like: do not spin on it.
                tracing::warn!(error = %e, "admin socket: accept failed");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                max = MAX_CLIENTS,
                "admin socket: too many connections; closing one"
            );
            continue;
        };
        let shared = shared.clone();
        let owner = local.owner_uid;
        tokio::spawn(async move {
            let _slot = slot;
            // Reading the request has REQUEST_DEADLINE; a reachability check adds its own.
            let deadline = REQUEST_DEADLINE + crate::reach::CHECK_TIMEOUT;
            if tokio::time::timeout(deadline, handle(stream, &shared, owner))
                .await
                .is_err()
            {
                tracing::debug!("admin socket: a client took longer than {REQUEST_DEADLINE:?}");
            }
        });
    }
}

async fn handle(stream: UnixStream, shared: &Shared, owner_uid: u32) {
    let (uid, pid) = match stream.peer_cred() {
        Ok(c) => (Some(c.uid()), c.pid()),
        Err(_) => (None, None),
    };
    let (r, mut w) = stream.into_split();
    let response = if uid.is_none_or(|u| u != owner_uid && u != 0) {
        tracing::warn!(
            peer_uid = uid,
            peer_pid = pid,
            "admin socket: refused a caller that is neither the connector's user nor root"
        );
        error(
            ErrorCode::Forbidden,
            "only the connector's own user or root may use this socket",
        )
    } else {
        let mut line = Vec::new();
        let limit = MAX_REQUEST_LEN as u64 + 1;
        match BufReader::new(r.take(limit))
            .read_until(b'\n', &mut line)
            .await
        {
            Err(e) => {
                tracing::debug!(error = %e, "admin socket: reading a request failed");
                return;
            }
            Ok(_) if line.len() > MAX_REQUEST_LEN => error(
                ErrorCode::BadRequest,
                &format!("request longer than {MAX_REQUEST_LEN} bytes"),
            ),
            Ok(_) => match serde_json::from_slice::<Request>(&line) {
                Err(e) => error(ErrorCode::BadRequest, &format!("not a request: {e}")),
                Ok(req) => answer(req, shared, uid, pid).await,
            },
        }
    };
    let mut out = serde_json::to_vec(&response).unwrap_or_default();
    out.push(b'\n');
    if let Err(e) = w.write_all(&out).await {
        tracing::debug!(error = %e, "admin socket: writing an answer failed");
    }
    let _ = w.shutdown().await;
}

/// Calls the operation `req` asks for and renders its result.
async fn answer(req: Request, shared: &Shared, uid: Option<u32>, pid: Option<i32>) -> Response {
    let done = match req {
        Request::AccessExport => ops::access::export(shared)
            .await
            .map(|toml| Response::AccessExport { toml }),
        Request::AccessImport { toml, overwrite } => {
            ops::access::import(shared, uid, &toml, overwrite)
                .await
                .map(access_edited)
        }
        Request::AccessAdd { entry, by } => {
            let caller = LocalCaller {
                by,
                via: "socket",
                uid,
                pid,
            };
            ops::access_entry::add(shared, &caller, &entry)
                .await
                .map(|e| Response::AccessEntryEdited {
                    name: e.name,
                    version: e.version,
                    applied: e.applied,
                })
        }
        Request::AccessRemove { name } => ops::access::remove(shared, uid, &name)
            .await
            .map(access_edited),
        Request::TrustList => ops::trust::list(shared)
            .await
            .map(|t| Response::TrustStore {
                trust_all: t.trust_all,
                certificates: t.certificates,
                problems: t.problems,
            }),
        Request::TrustAdd { name, pem } => ops::trust::add(shared, &socket(uid, pid), &name, &pem)
            .await
            .map(trust_edited),
        Request::TrustRemove { name } => ops::trust::remove(shared, &socket(uid, pid), &name)
            .await
            .map(trust_edited),
        Request::TrustAll { on } => ops::trust::trust_all(shared, &socket(uid, pid), on)
            .await
            .map(|changed| Response::TrustAllSet { on, changed }),
        Request::Status => Ok(Response::Status {
            view: ops::status(shared),
        }),
        Request::Monitor => Ok(Response::Monitor {
            view: ops::monitor(shared),
        }),
        Request::Alerts => Ok(Response::Alerts {
            view: ops::monitoring::alerts(shared),
        }),
        Request::Check { entry } => ops::check(shared, entry.as_deref())
            .await
            .map(|results| Response::Reachability { results }),
        Request::Hardware { span_secs } => Ok(Response::Hardware {
            view: ops::monitoring::hardware(shared, span_secs.map(Duration::from_secs)),
        }),
        Request::Usage => Ok(Response::Usage {
            usage: ops::monitoring::usage(shared),
        }),
        Request::Connections => Ok(Response::Connections {
            connections: ops::monitoring::connections(shared),
        }),
        Request::MonitorReset { what, by } => {
            let caller = LocalCaller {
                by,
                via: "socket",
                uid,
                pid,
            };
            ops::monitoring::reset(shared, what, &caller)
                .await
                .map(|()| Response::Reset { what })
        }
        Request::Sessions => Ok(Response::Sessions {
            sessions: ops::live::sessions(shared),
        }),
        Request::CutSession { id, by } => {
            let caller = LocalCaller {
                by,
                via: "socket",
                uid,
                pid,
            };
            ops::live::cut_session(shared, id, &caller).map(|session| Response::Cut { session })
        }
        Request::Windows => Ok(Response::Windows {
            windows: ops::windows(shared),
        }),
        Request::CloseWindow { window, by, reason } => {
            let caller = LocalCaller {
                by,
                via: "socket",
                uid,
                pid,
            };
            ops::close_window(shared, &window, &caller, reason).map(|c| Response::Closed {
                window: c.window,
                sessions_cut: c.sessions_cut,
            })
        }
    };
    done.unwrap_or_else(|e| error(error_code(&e), &e.to_string()))
}

fn access_edited(e: ops::access::AccessEdited) -> Response {
    Response::AccessEdited {
        summary: e.summary,
        removed: e.removed,
    }
}

/// A socket caller that gave no name (the trust edits): its peer credentials say who.
fn socket(uid: Option<u32>, pid: Option<i32>) -> LocalCaller {
    LocalCaller {
        by: String::new(),
        via: "socket",
        uid,
        pid,
    }
}

fn trust_edited(e: ops::trust::TrustEdited) -> Response {
    Response::TrustEdited {
        file: e.file,
        certificates: e.certificates,
    }
}

/// The wire code of an operation's error.
fn error_code(e: &OpError) -> ErrorCode {
    match e {
        OpError::Close(CloseError::Unknown(_)) => ErrorCode::UnknownWindow,
        OpError::Close(_) => ErrorCode::AlreadyClosed,
        OpError::CloseRequest(_)
        | OpError::AuditFilter(_)
        | OpError::TrustName(_)
        | OpError::PemTooLong
        | OpError::Certificate(_) => ErrorCode::BadRequest,
        OpError::UnknownEntry(_) | OpError::Edit(EditError::UnknownEntry(_)) => {
            ErrorCode::UnknownEntry
        }
        OpError::UnknownCertificate(_) => ErrorCode::UnknownCertificate,
        OpError::UnknownSession(_) => ErrorCode::UnknownSession,
        OpError::Audit(_) => ErrorCode::AuditFailing,
        _ => ErrorCode::EditRefused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_wire_codes() {
        let unknown = OpError::Edit(EditError::UnknownEntry("erp".into()));
        assert_eq!(error_code(&unknown), ErrorCode::UnknownEntry);
        assert_eq!(unknown.to_string(), "no access entry is named \"erp\"");
        let refused = OpError::Edit(EditError::AlreadyTrusted("/a.pem".into()));
        assert_eq!(error_code(&refused), ErrorCode::EditRefused);
        let closed = OpError::Close(CloseError::Unknown("42".into()));
        assert_eq!(error_code(&closed), ErrorCode::UnknownWindow);
        assert_eq!(error_code(&OpError::PemTooLong), ErrorCode::BadRequest);
        assert_eq!(
            error_code(&OpError::UnknownCertificate("x".into())),
            ErrorCode::UnknownCertificate
        );
    }
}
