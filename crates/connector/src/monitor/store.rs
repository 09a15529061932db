//! The monitoring files in the data directory, kept across restarts:
//!
//! - `hardware-history.json`: the hardware history (at most 24 hours), compact: one array
//!   per sample, `[t_ms, run_start, cpu_permille, memory_total, memory_available]` and
//!   `[t_ms, run_start, disk_total, disk_free]`;
//! - `usage.json`: usage per virtual host and resource (calls, bytes, last access).
//!
//! Both are written like the other files of the data directory: to a temporary name with mode
//! 0600, synced and renamed, so a crash leaves the old file or the new one. A missing file
//! means an empty start. A file that cannot be read, is not JSON of this format (a foreign
//! `format` or another `version`), or is larger than [`MAX_FILE_LEN`] is logged, renamed
//! aside (`<name>.corrupt-<unix time>`) and the connector starts without it: never fatal.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::history::{CpuMemory, Disk, History, Point, Series};
use super::Usage;
use crate::identity::{write_atomic, IdentityError};

/// The `format` field of the history file.
const HISTORY_FORMAT: &str = "portcullis-hardware-history";
/// The `format` field of the usage file.
const USAGE_FORMAT: &str = "portcullis-usage";
/// The version written; another is set aside like a corrupt file.
const VERSION: u32 = 1;
/// Largest file read (24 hours of samples take about 400 KiB).
pub const MAX_FILE_LEN: u64 = 16 * 1024 * 1024;

/// `[t_ms, run_start, cpu_permille, memory_total, memory_available]`.
type CpuMemoryRow = (i64, bool, u16, u64, u64);
/// `[t_ms, run_start, disk_total, disk_free]`.
type DiskRow = (i64, bool, u64, u64);

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryFile {
    format: String,
    version: u32,
    cpu_memory: Vec<CpuMemoryRow>,
    disk: Vec<DiskRow>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageFile {
    format: String,
    version: u32,
    usage: Vec<Usage>,
}

/// Why a file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Reading failed.
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    /// Larger than [`MAX_FILE_LEN`].
    #[error("it is larger than {MAX_FILE_LEN} bytes")]
    TooLarge,
    /// Not JSON of the expected shape.
    #[error("it is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// Another file's format, or another version.
    #[error("it is {format:?} version {version}, not {expected:?} version {VERSION}")]
    Foreign {
        /// Its `format`.
        format: String,
        /// Its `version`.
        version: u32,
        /// The format expected.
        expected: &'static str,
    },
}

/// Writes `history` to `path`.
pub fn save_history(path: &Path, history: &History) -> Result<(), IdentityError> {
    let file = HistoryFile {
        format: HISTORY_FORMAT.into(),
        version: VERSION,
        cpu_memory: history
            .cpu_memory
            .points()
            .map(|p| {
                let v = p.value;
                (
                    p.t_ms,
                    p.run_start,
                    v.cpu_permille,
                    v.memory_total,
                    v.memory_available,
                )
            })
            .collect(),
        disk: history
            .disk
            .points()
            .map(|p| (p.t_ms, p.run_start, p.value.disk_total, p.value.disk_free))
            .collect(),
    };
    write_json(path, &file)
}

/// Writes `usage` to `path`.
pub fn save_usage(path: &Path, usage: &[Usage]) -> Result<(), IdentityError> {
    let file = UsageFile {
        format: USAGE_FORMAT.into(),
        version: VERSION,
        usage: usage.to_vec(),
    };
    write_json(path, &file)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), IdentityError> {
    let mut bytes = serde_json::to_vec(value).map_err(|e| IdentityError::Invalid {
        path: path.to_path_buf(),
        reason: format!("cannot encode: {e}"),
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Reads the history file: `Ok(None)` when there is none. Trimmed to 24 hours before
/// `now_ms`.
pub fn read_history(path: &Path, now_ms: i64) -> Result<Option<History>, LoadError> {
    let Some(file) = read_json::<HistoryFile>(path)? else {
        return Ok(None);
    };
    check_format(&file.format, file.version, HISTORY_FORMAT)?;
    let cpu_memory = file
        .cpu_memory
        .into_iter()
        .map(|(t_ms, run_start, cpu, total, available)| Point {
            t_ms,
            run_start,
            value: CpuMemory {
                cpu_permille: cpu.min(1000),
                memory_total: total,
                memory_available: available.min(total),
            },
        })
        .collect();
    let disk = file
        .disk
        .into_iter()
        .map(|(t_ms, run_start, total, free)| Point {
            t_ms,
            run_start,
            value: Disk {
                disk_total: total,
                disk_free: free.min(total),
            },
        })
        .collect();
    Ok(Some(History {
        cpu_memory: Series::from_points(cpu_memory, now_ms),
        disk: Series::from_points(disk, now_ms),
    }))
}

/// Reads the usage file: `Ok(None)` when there is none.
pub fn read_usage(path: &Path) -> Result<Option<Vec<Usage>>, LoadError> {
    let Some(file) = read_json::<UsageFile>(path)? else {
        return Ok(None);
    };
    check_format(&file.format, file.version, USAGE_FORMAT)?;
    Ok(Some(file.usage))
}

fn check_format(format: &str, version: u32, expected: &'static str) -> Result<(), LoadError> {
    if format != expected || version != VERSION {
        return Err(LoadError::Foreign {
            format: format.to_owned(),
            version,
            expected,
        });
    }
    Ok(())
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, LoadError> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(LoadError::TooLarge);
    }
    Ok(Some(serde_json::from_slice(&bytes)?))
}

/// `read`'s result, or nothing when there is no file; an unusable file is logged and set
/// aside, and gives nothing.
pub fn load_or_set_aside<T>(
    path: &Path,
    what: &str,
    read: impl FnOnce(&Path) -> Result<Option<T>, LoadError>,
) -> Option<T> {
    match read(path) {
        Ok(v) => v,
        Err(why) => {
            let secs = time::OffsetDateTime::now_utc().unix_timestamp();
            let mut aside = path.as_os_str().to_owned();
            aside.push(format!(".corrupt-{secs}"));
            let aside = PathBuf::from(aside);
            match std::fs::rename(path, &aside) {
                Ok(()) => tracing::warn!(
                    path = %path.display(), reason = %why, moved_to = %aside.display(),
                    "the {what} file is unusable and was set aside; starting without it"
                ),
                Err(e) => tracing::warn!(
                    path = %path.display(), reason = %why, rename_error = %e,
                    "the {what} file is unusable and could not be set aside; starting without \
                     it (it is overwritten at the next save)"
                ),
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("temp dir")
    }

    fn sample_history(now: i64) -> History {
        let mut h = History::default();
        h.cpu_memory.push(
            now - 30_000,
            true,
            CpuMemory {
                cpu_permille: 125,
                memory_total: 1 << 30,
                memory_available: 1 << 29,
            },
        );
        h.cpu_memory.push(
            now - 15_000,
            false,
            CpuMemory {
                cpu_permille: 999,
                memory_total: 1 << 30,
                memory_available: 1 << 28,
            },
        );
        h.disk.push(
            now - 20_000,
            true,
            Disk {
                disk_total: 1 << 40,
                disk_free: 1 << 39,
            },
        );
        h
    }

    #[test]
    fn history_round_trips_with_mode_0600() {
        let d = dir();
        let path = d.path().join("hardware-history.json");
        let now = 1_800_000_000_000;
        let h = sample_history(now);
        save_history(&path, &h).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_history(&path, now).unwrap(), Some(h));
        // Read a day later, everything is older than 24 hours.
        let later = read_history(&path, now + 25 * 3_600_000).unwrap().unwrap();
        assert_eq!(later.cpu_memory.points().count(), 0);
        assert_eq!(read_history(&d.path().join("none"), now).unwrap(), None);
    }

    #[test]
    fn usage_round_trips() {
        let d = dir();
        let path = d.path().join("usage.json");
        let u = vec![Usage {
            virtual_host: "web.internal:80".into(),
            resource: "/app".into(),
            calls: 3,
            bytes_received: 10,
            bytes_sent: 2000,
            last_access: "2026-12-07T10:00:00Z".into(),
        }];
        save_usage(&path, &u).unwrap();
        assert_eq!(read_usage(&path).unwrap(), Some(u));
    }

    #[test]
    fn corrupt_or_foreign_files_are_set_aside() {
        let d = dir();
        let path = d.path().join("usage.json");
        // Truncated JSON.
        std::fs::write(&path, b"{\"format\":\"portcullis-usage\",\"vers").unwrap();
        assert!(matches!(read_usage(&path), Err(LoadError::Parse(_))));
        assert_eq!(load_or_set_aside(&path, "usage", read_usage), None);
        assert!(!path.exists(), "set aside");
        let aside: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            aside.iter().any(|n| n.starts_with("usage.json.corrupt-")),
            "{aside:?}"
        );
        // The history file is no usage file, and another version is not read.
        let now = 1_800_000_000_000;
        save_history(&path, &sample_history(now)).unwrap();
        assert!(matches!(read_usage(&path), Err(LoadError::Parse(_))));
        std::fs::write(
            &path,
            br#"{"format":"portcullis-hardware-history","version":2,"cpu_memory":[],"disk":[]}"#,
        )
        .unwrap();
        let e = read_history(&path, now).unwrap_err();
        assert!(matches!(e, LoadError::Foreign { version: 2, .. }), "{e}");
        std::fs::write(
            &path,
            br#"{"format":"something-else","version":1,"cpu_memory":[],"disk":[]}"#,
        )
        .unwrap();
        assert!(matches!(
            read_history(&path, now),
            Err(LoadError::Foreign { .. })
        ));
        // Absurd values are clamped, not trusted.
        std::fs::write(
            &path,
            format!(
                r#"{{"format":"portcullis-hardware-history","version":1,
                "cpu_memory":[[{now},true,5000,10,20]],"disk":[[{now},false,10,20]]}}"#
            ),
        )
        .unwrap();
        let h = read_history(&path, now).unwrap().unwrap();
        let p = h.cpu_memory.last().unwrap();
        assert_eq!((p.value.cpu_permille, p.value.memory_available), (1000, 10));
        assert_eq!(h.disk.last().unwrap().value.disk_free, 10);
    }
}
