//! The router's log file (`-G`) and trace file (`-T`, `-V`, toggled by `-t`).
//!
//! The log file is what auditors read, so it keeps SAProuter's line format (sap-reference
//! §1.9): the time, the action, then the connection's handle pair and the peer, e.g.
//!
//! ```text
//! Sun Nov 22 18:03:04 2026 CONNECT FROM C1/- host 10.0.0.7/51234
//! Sun Nov 22 18:03:04 2026 CONNECT TO S1/2 host 10.1.0.9/3200 (pwdf0932)
//! Sun Nov 22 18:03:09 2026 DISCONNECT S1/2 host 10.1.0.9/3200 (pwdf0932)
//! Sun Nov 22 18:04:00 2026 PERM DENIED C3/- host 10.0.0.8/51240 to 10.1.0.9/3300
//! ```
//!
//! Times are UTC (SAProuter writes local time; a router in a container rarely knows its
//! zone, and UTC lines sort and compare across sites). Lines are written with blocking
//! writes under a lock: they are short and few (a handful per connection), and a line must
//! be on disk before the connection it records goes on. A failed write is returned to the
//! caller: SAProuter goes into soft shutdown when it cannot log, and so does this router.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_ni::rterr::format_error_time;

fn now_text() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format_error_time(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn open(path: &Path, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    options.open(path)
}

/// The `-G` log file.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    max_bytes: Option<u64>,
    inner: Mutex<(File, u64)>,
}

impl LogFile {
    /// Opens (creates, truncates unless `append`) the log file and writes `INIT LOGFILE`.
    pub fn open(path: &Path, append: bool, max_bytes: Option<u64>) -> io::Result<LogFile> {
        let file = open(path, append)?;
        let len = file.metadata()?.len();
        let log = LogFile {
            path: path.to_path_buf(),
            max_bytes,
            inner: Mutex::new((file, len)),
        };
        log.write("INIT LOGFILE", &path.display().to_string())?;
        Ok(log)
    }

    /// Writes one line: `<time> <action> <details>`.
    pub fn write(&self, action: &str, details: &str) -> io::Result<()> {
        let line = format!("{} {action} {details}\n", now_text());
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (file, written) = &mut *guard;
        let len = line.len() as u64;
        if self
            .max_bytes
            .is_some_and(|max| *written > 0 && written.saturating_add(len) > max)
        {
            // Rotate: the full file becomes `<file>.old` (replacing an older one).
            let mut old = self.path.clone().into_os_string();
            old.push(".old");
            std::fs::rename(&self.path, &old)?;
            *file = open(&self.path, false)?;
            *written = 0;
        }
        file.write_all(line.as_bytes())?;
        file.flush()?;
        *written = written.saturating_add(len);
        Ok(())
    }
}

#[cfg(test)]
impl LogFile {
    /// Points the log at another file, e.g. `/dev/full` to see what a full disk does.
    pub(crate) fn replace_file(&self, file: File) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = (file, 0);
    }
}

/// The trace file: what an administrator reads to find out why a route failed.
///
/// Level 1 records start, stop, table reloads and errors; level 2 adds every route
/// decision; level 3 every message before a route is up. Passwords never appear: routes are
/// traced with their passwords masked. `-t` toggles between the start level and 3 (or, if
/// started at 3, 1).
#[derive(Debug)]
pub struct Trace {
    file: Option<Mutex<File>>,
    start_level: u8,
    level: AtomicU8,
}

impl Trace {
    /// A trace into `path` at `level` (1–3), or none.
    pub fn open(path: Option<&Path>, append: bool, level: u8) -> io::Result<Trace> {
        let file = path.map(|p| open(p, append)).transpose()?.map(Mutex::new);
        let level = level.clamp(1, 3);
        Ok(Trace {
            file,
            start_level: level,
            level: AtomicU8::new(level),
        })
    }

    /// No trace file.
    pub fn none() -> Trace {
        Trace {
            file: None,
            start_level: 1,
            level: AtomicU8::new(1),
        }
    }

    /// The level now.
    pub fn level(&self) -> u8 {
        self.level.load(Ordering::Relaxed)
    }

    /// `-t`: switches between the start level and the other end of the scale; returns the
    /// new level.
    pub fn toggle(&self) -> u8 {
        let high = if self.start_level >= 3 { 1 } else { 3 };
        let new = if self.level() == self.start_level {
            high
        } else {
            self.start_level
        };
        self.level.store(new, Ordering::Relaxed);
        new
    }

    /// Writes `message` if `level` is traced. Mirrored to the process log at debug level.
    /// Trace write errors are ignored: the trace is a diagnostic aid, the log file is the
    /// record.
    pub fn write(&self, level: u8, message: impl AsRef<str>) {
        let message = message.as_ref();
        tracing::debug!(target: "portcullis_router::trace", "{message}");
        if level > self.level() {
            return;
        }
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(file, "[{}] {message}", now_text());
            let _ = file.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_time_and_action_and_rotate_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("saprouter.log");
        let log = LogFile::open(&path, false, Some(200)).unwrap();
        log.write("CONNECT FROM", "C1/- host 127.0.0.1/5000")
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains(" INIT LOGFILE "), "{text}");
        // `Sun Nov 22 18:03:04 2026 CONNECT FROM …`: five time fields, then the action.
        let fields: Vec<&str> = lines[1].split(' ').collect();
        assert_eq!(&fields[5..7], ["CONNECT", "FROM"], "{text}");
        assert_eq!(fields[4].len(), 4, "year: {text}");

        for i in 0..5 {
            log.write("DISCONNECT", &format!("C{i}/- host 127.0.0.1/5000"))
                .unwrap();
        }
        let old = std::fs::read_to_string(dir.path().join("saprouter.log.old")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert!(old.len() <= 200 && new.len() <= 200, "{old}\n{new}");
        assert!(new.contains("DISCONNECT C4/-"), "{new}");
    }

    #[test]
    fn append_keeps_earlier_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        LogFile::open(&path, false, None)
            .unwrap()
            .write("X", "first")
            .unwrap();
        LogFile::open(&path, true, None).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("X first"));
        LogFile::open(&path, false, None).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("X first"));
    }

    #[test]
    fn trace_levels_and_toggle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev_rout");
        let trace = Trace::open(Some(&path), false, 1).unwrap();
        trace.write(1, "started");
        trace.write(2, "route decision");
        assert_eq!(trace.toggle(), 3);
        trace.write(3, "message");
        assert_eq!(trace.toggle(), 1);
        trace.write(3, "hidden");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("started") && text.contains("message"),
            "{text}"
        );
        assert!(!text.contains("route decision") && !text.contains("hidden"));
    }
}
