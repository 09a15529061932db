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
//! The protocol is one request per connection, one JSON object per line each way
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

use portcullis_proto::MAX_TEXT_LEN;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub mod protocol;
mod status;

pub(crate) use protocol::error;
pub use protocol::{ErrorCode, Request, Response};
pub use status::StatusView;

use crate::config_file::{read_config, write_config};
use crate::shared::{LocalCaller, Shared};
use crate::windows::{now_ms, CloseError};

/// The socket's file name under `data_dir`.
pub const SOCKET_FILE: &str = "connector.sock";
/// Longest request line, in bytes (an import carries a whole access list).
pub const MAX_REQUEST_LEN: usize = 1024 * 1024;
/// How long one connection may take from accept to answer.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed without an answer.
pub const MAX_CLIENTS: usize = 8;

/// Where the admin socket of a connector with `data_dir` lives.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
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

async fn answer(req: Request, shared: &Shared, uid: Option<u32>, pid: Option<i32>) -> Response {
    match req {
        Request::AccessExport => match read_config(shared).await {
            Ok((_, text)) => match crate::access_edit::export(&text) {
                Ok(toml) => Response::AccessExport { toml },
                Err(e) => error(ErrorCode::EditRefused, &e.0),
            },
            Err(e) => error(ErrorCode::EditRefused, &e),
        },
        Request::AccessImport { toml, overwrite } => {
            edit_config(shared, uid, "import", |text| {
                crate::access_edit::import(text, &toml, overwrite)
                    .map(|(new, summary)| (new, summary, Vec::new()))
            })
            .await
        }
        Request::AccessRemove { name } => {
            edit_config(shared, uid, "remove", |text| {
                crate::access_edit::remove(text, &name)
                    .map(|new| (new, Default::default(), vec![name.clone()]))
            })
            .await
        }
        Request::TrustList => crate::ops::trust::list(shared).await,
        Request::TrustAdd { name, pem } => crate::ops::trust::add(shared, uid, &name, &pem).await,
        Request::TrustRemove { name } => crate::ops::trust::remove(shared, uid, &name).await,
        Request::Status => Response::Status {
            view: StatusView::of(shared),
        },
        Request::Monitor => Response::Monitor {
            view: shared.monitor.view(),
        },
        Request::Check { entry } => {
            let acl = shared.acl.borrow().acl.clone();
            if let Some(name) = &entry {
                if !acl.entries().iter().any(|e| &e.name == name) {
                    return error(
                        ErrorCode::UnknownEntry,
                        &format!("no access entry is named {name:?}"),
                    );
                }
            }
            Response::Reachability {
                results: crate::reach::check_all(
                    &acl,
                    entry.as_deref(),
                    &shared.backend_tls.current(),
                )
                .await,
            }
        }
        Request::Windows => Response::Windows {
            windows: shared.live.window_views(now_ms()),
        },
        Request::CloseWindow { window, by, reason } => {
            if let Err(why) = check_close(&window, &by, reason.as_deref()) {
                return error(ErrorCode::BadRequest, &why);
            }
            let caller = LocalCaller { by, uid, pid };
            match shared.close_window_locally(&window, &caller, reason) {
                Ok((window, sessions_cut)) => Response::Closed {
                    window,
                    sessions_cut,
                },
                Err(e @ CloseError::Unknown(_)) => error(ErrorCode::UnknownWindow, &e.to_string()),
                Err(e) => error(ErrorCode::AlreadyClosed, &e.to_string()),
            }
        }
    }
}

/// Reads the configuration, applies `change`, checks the result loads, writes it atomically
/// (the reload watcher applies it) and audits the edit.
async fn edit_config(
    shared: &Shared,
    uid: Option<u32>,
    op: &str,
    change: impl FnOnce(
        &str,
    ) -> Result<
        (String, crate::access_edit::ImportSummary, Vec<String>),
        crate::access_edit::EditError,
    >,
) -> Response {
    let _serial = shared.edit_lock.lock().await;
    let (path, text) = match read_config(shared).await {
        Ok(pair) => pair,
        Err(e) => return error(ErrorCode::EditRefused, &e),
    };
    let (new, summary, removed) = match change(&text) {
        Ok(r) => r,
        Err(e) if e.0.starts_with("no access entry is named") => {
            return error(ErrorCode::UnknownEntry, &e.0)
        }
        Err(e) => return error(ErrorCode::EditRefused, &e.0),
    };
    if let Err(refused) = write_config(&path, &new).await {
        return refused;
    }
    shared.audit.record_or_log(crate::audit::AuditEvent::new(
        crate::audit::AuditAction::AccessEdited,
        "ok",
        serde_json::json!({
            "op": op, "uid": uid, "file": path.display().to_string(),
            "added": summary.added, "replaced": summary.replaced,
            "skipped": summary.skipped, "removed": removed,
        }),
    ));
    Response::AccessEdited { summary, removed }
}

/// The fields travel to the hub in `WindowClosed`, whose decoder enforces the same limits.
fn check_close(window: &str, by: &str, reason: Option<&str>) -> Result<(), String> {
    let printable = |s: &str| !s.chars().any(char::is_control);
    if window.is_empty() || window.len() > MAX_TEXT_LEN {
        return Err(format!("window must be 1..={MAX_TEXT_LEN} bytes"));
    }
    if by.trim().is_empty() || by.len() > MAX_TEXT_LEN || !printable(by) {
        return Err(format!(
            "by must be 1..={MAX_TEXT_LEN} bytes without control characters"
        ));
    }
    if reason.is_some_and(|r| r.len() > MAX_TEXT_LEN) {
        return Err(format!("reason must be at most {MAX_TEXT_LEN} bytes"));
    }
    Ok(())
}
