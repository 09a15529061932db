//! Window closes made at the connector that the hub has not confirmed yet, and the file that
//! keeps them across a restart: `data_dir/closed-windows.json`
//! ([`CLOSED_WINDOWS_FILE`](crate::data_dir::names::CLOSED_WINDOWS_FILE)).
//!
//! A local close is the customer's decision; it must survive the connector restarting before
//! the hub heard of it. Otherwise the hub's next `WindowSet` would reopen the window at the
//! connector and the hub would never learn of the close. So the outbox is written to disk
//! whenever it changes (a local close, a confirmation that removes entries) and read back at
//! start, before the admin socket or a tunnel can change it.
//!
//! The file is written like the identity files: to a temporary name with mode 0600, synced
//! and renamed, so a crash leaves the old list or the new one. A missing file means nothing is
//! pending. A file that cannot be read or parsed is logged, renamed aside
//! (`closed-windows.json.corrupt-<unix time>`) for a human to look at, and the connector starts
//! without it: never fatal, but earlier local closes may then be lost.
//!
//! ```json
//! {"version":1,"pending":[{"msg":{"id":"42","by":"alice","reason":"done"},
//!   "info":{"id":"42","service":"acme/PRD/ssh","virtual_host":"prd.internal","virtual_port":22,
//!           "start_ms":1800000000000,"end_ms":1800003600000,"closed":false}}]}
//! ```

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use portcullis_proto::{WindowClosed, WindowInfo};
use serde::{Deserialize, Serialize};

use crate::identity::{write_atomic, IdentityError};

/// The file format written; a file with another version is set aside like a corrupt one.
const FORMAT_VERSION: u32 = 1;
/// Largest file read. The outbox holds at most a few thousand small entries; anything bigger
/// is not ours, and is not read into memory.
const MAX_FILE_LEN: u64 = 16 * 1024 * 1024;

/// One window closed at the connector and not yet confirmed by the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingClose {
    /// What the hub is sent (again on every tunnel until it confirms).
    pub msg: WindowClosed,
    /// The window as last known, to hold it closed in the table after a restart.
    pub info: WindowInfo,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingFile {
    version: u32,
    pending: Vec<PendingClose>,
}

/// Why the file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum LoadError {
    /// Reading failed (permissions, I/O).
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    /// Larger than [`MAX_FILE_LEN`].
    #[error("it is {0} bytes, more than the {MAX_FILE_LEN} allowed")]
    TooLarge(u64),
    /// Not the JSON this module writes.
    #[error("it is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// Written by another format version.
    #[error("it has format version {0}, this connector reads version {FORMAT_VERSION}")]
    Version(u32),
    /// An entry whose message and window do not name the same window.
    #[error("entry {index} closes window {msg_id:?} but describes window {info_id:?}")]
    Mismatch {
        /// Position in the list, from 0.
        index: usize,
        /// `msg.id`.
        msg_id: String,
        /// `info.id`.
        info_id: String,
    },
}

/// Where the pending closes of a connector with `data_dir` are kept.
pub(crate) fn path(data_dir: &Path) -> PathBuf {
    crate::data_dir::ConnectorDataDir::new(data_dir).closed_windows()
}

/// Replaces the file with `pending` (atomically, mode 0600).
pub(crate) fn save(path: &Path, pending: &[PendingClose]) -> Result<(), IdentityError> {
    let file = PendingFile {
        version: FORMAT_VERSION,
        pending: pending.to_vec(),
    };
    let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| IdentityError::Invalid {
        path: path.to_path_buf(),
        reason: format!("cannot encode the pending closes: {e}"),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads the file: `Ok(None)` when there is none.
pub(crate) fn read(path: &Path) -> Result<Option<Vec<PendingClose>>, LoadError> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let len = f.metadata()?.len();
    if len > MAX_FILE_LEN {
        return Err(LoadError::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(LoadError::TooLarge(bytes.len() as u64));
    }
    let file: PendingFile = serde_json::from_slice(&bytes)?;
    if file.version != FORMAT_VERSION {
        return Err(LoadError::Version(file.version));
    }
    let mut seen = HashSet::new();
    let mut pending = Vec::with_capacity(file.pending.len());
    for (index, p) in file.pending.into_iter().enumerate() {
        if p.msg.id != p.info.id {
            return Err(LoadError::Mismatch {
                index,
                msg_id: p.msg.id,
                info_id: p.info.id,
            });
        }
        // The connector never writes a window twice; if it is there twice, the first counts.
        if seen.insert(p.msg.id.clone()) {
            pending.push(p);
        }
    }
    Ok(Some(pending))
}

/// The pending closes of a connector with `data_dir`, as its last run left them. A missing
/// file gives none; an unusable one is logged, set aside and gives none.
pub(crate) fn load(data_dir: &Path) -> Vec<PendingClose> {
    let path = path(data_dir);
    match read(&path) {
        Ok(pending) => pending.unwrap_or_default(),
        Err(e) => {
            set_aside(&path, &e);
            Vec::new()
        }
    }
}

/// Renames an unusable file to `<name>.corrupt-<unix time>`, logging why.
fn set_aside(path: &Path, why: &LoadError) {
    let secs = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{secs}"));
    let aside = PathBuf::from(aside);
    match std::fs::rename(path, &aside) {
        Ok(()) => tracing::warn!(
            path = %path.display(), reason = %why, moved_to = %aside.display(),
            "the file of pending window closes is unusable and was set aside; window closes \
             made at the connector before this start may be lost (not enforced here, not told \
             to the hub)"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(), reason = %why, rename_error = %e,
            "the file of pending window closes is unusable and could not be set aside; it will \
             be overwritten at the next change. Window closes made at the connector before \
             this start may be lost (not enforced here, not told to the hub)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            let p = std::env::temp_dir().join(format!(
                "portcullis-outbox-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&p).expect("temp dir");
            Dir(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pending(id: &str, by: &str, reason: Option<&str>) -> PendingClose {
        PendingClose {
            msg: WindowClosed {
                id: id.into(),
                by: by.into(),
                reason: reason.map(Into::into),
            },
            info: WindowInfo {
                id: id.into(),
                service: format!("acme/PRD/{id}"),
                virtual_host: "erp.internal".into(),
                virtual_port: 3200,
                start_ms: 1_800_000_000_000,
                end_ms: 1_800_003_600_000,
                closed: false,
            },
        }
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn pending_closes_round_trip_through_a_private_file() {
        let dir = Dir::new();
        assert!(load(&dir.0).is_empty(), "no file: nothing pending");
        let list = vec![
            pending("w1", "alice", Some("maintenance is over")),
            pending("w2", "bob", None),
        ];
        let p = path(&dir.0);
        save(&p, &list).expect("save");
        assert_eq!(load(&dir.0), list);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Replaced, not appended; no temporary file left behind.
        save(&p, &list[1..]).expect("save");
        assert_eq!(load(&dir.0), &list[1..]);
        save(&p, &[]).expect("save");
        assert_eq!(read(&p).expect("reads"), Some(vec![]));
        assert_eq!(
            files_in(&dir.0),
            [crate::data_dir::names::CLOSED_WINDOWS_FILE]
        );
    }

    #[test]
    fn a_window_listed_twice_counts_once() {
        let dir = Dir::new();
        let first = pending("w1", "alice", None);
        save(
            &path(&dir.0),
            &[first.clone(), pending("w1", "bob", Some("again"))],
        )
        .expect("save");
        assert_eq!(load(&dir.0), [first]);
    }

    #[test]
    fn a_corrupt_file_is_set_aside_and_nothing_is_restored() {
        let dir = Dir::new();
        let p = path(&dir.0);
        std::fs::write(&p, b"{\"version\":1,\"pending\":[{\"msg\":").expect("write");
        assert!(matches!(read(&p), Err(LoadError::Parse(_))));
        assert!(load(&dir.0).is_empty());
        let names = files_in(&dir.0);
        assert_eq!(names.len(), 1, "{names:?}");
        let aside = &names[0];
        let secs = aside
            .strip_prefix("closed-windows.json.corrupt-")
            .unwrap_or_else(|| panic!("set aside under another name: {aside}"));
        assert!(secs.parse::<i64>().is_ok(), "{aside}");
        assert_eq!(
            std::fs::read(dir.0.join(aside)).expect("kept"),
            b"{\"version\":1,\"pending\":[{\"msg\":",
            "the content is kept for a human to look at"
        );
        // A later close writes a fresh file.
        save(&p, &[pending("w1", "alice", None)]).expect("save");
        assert_eq!(load(&dir.0).len(), 1);
    }

    #[test]
    fn other_versions_and_mismatched_entries_are_unusable() {
        let dir = Dir::new();
        let p = path(&dir.0);
        std::fs::write(&p, br#"{"version":2,"pending":[]}"#).expect("write");
        assert!(matches!(read(&p), Err(LoadError::Version(2))));
        let mut bad = pending("w1", "alice", None);
        bad.info.id = "w2".into();
        save(&p, &[pending("w0", "alice", None), bad]).expect("save");
        let e = read(&p).expect_err("mismatch");
        assert_eq!(
            e.to_string(),
            "entry 1 closes window \"w1\" but describes window \"w2\""
        );
        assert!(load(&dir.0).is_empty());
        assert!(!p.exists(), "set aside");
    }
}
