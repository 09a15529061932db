//! [`DataDirLock`]: one hub per data directory.
//!
//! Two hubs on one data directory would share a SQLite database, a CA and a scheduler, each
//! believing it alone closes windows and writes the audit chain; and a restore under a running
//! hub would mix two states. So a hub holds an advisory lock (`flock`) on
//! [`HubDataDir::lock_file`] for as long as it runs, and `portcullis hub restore` asks for the
//! same lock. The kernel drops it when the process ends, however it ends: a crashed hub
//! leaves no stale lock behind.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::data_dir::HubDataDir;

/// The held lock; released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock of `dir`, creating its lock file (0600). `Ok(None)`: another hub (or a
    /// restore) holds it.
    pub fn acquire(dir: &HubDataDir) -> io::Result<Option<DataDirLock>> {
        let path = dir.lock_file();
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        lock(o.open(&path)?, path)
    }

    /// Takes the lock of `dir` only if its lock file exists (a hub has run there), creating
    /// nothing: what a restore asks before it has checked the backup. `Ok(None)`: a hub holds
    /// it; `Ok(Some(None))`: no lock file, no hub.
    pub fn acquire_existing(dir: &HubDataDir) -> io::Result<Option<Option<DataDirLock>>> {
        let path = dir.lock_file();
        let file = match std::fs::OpenOptions::new().read(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(None)),
            Err(e) => return Err(e),
        };
        Ok(lock(file, path)?.map(Some))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn lock(file: File, path: PathBuf) -> io::Result<Option<DataDirLock>> {
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(DataDirLock { _file: file, path })),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = HubDataDir::new(tmp.path());
        assert!(matches!(
            DataDirLock::acquire_existing(&dir),
            Ok(Some(None))
        ));
        let first = DataDirLock::acquire(&dir).unwrap().expect("free");
        assert!(DataDirLock::acquire(&dir).unwrap().is_none());
        assert!(DataDirLock::acquire_existing(&dir).unwrap().is_none());
        drop(first);
        assert!(DataDirLock::acquire(&dir).unwrap().is_some());
        assert!(matches!(
            DataDirLock::acquire_existing(&dir),
            Ok(Some(Some(_)))
        ));
    }
}
