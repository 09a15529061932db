//! [`Tmpfs`]: a small tmpfs the test mounts over a directory, for real full-disk and read-only
//! file-system failures (CI runs the tests as root). Unmounted when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs; unmounted on drop.
#[derive(Debug)]
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs over `path` (created if missing) with `options` (`size=256k`,
    /// `ro,size=64k` …). `Err` with the reason when this process may not mount (not root, no
    /// `CAP_SYS_ADMIN` in a container): the only case a test may skip for. Any other failure
    /// panics.
    pub fn mount(path: &Path, options: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if out.status.success() {
            return Ok(Tmpfs {
                path: path.to_path_buf(),
            });
        }
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        if [
            "permission denied",
            "not permitted",
            "only root",
            "must be superuser",
        ]
        .iter()
        .any(|m| err.contains(m))
        {
            return Err(format!("mount is not permitted here: {}", err.trim()));
        }
        panic!(
            "mount -t tmpfs -o {options} {} failed: {err}",
            path.display()
        );
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fills the file system with `name` until a write fails with "no space left"; returns
    /// the file.
    pub fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write;
        let file = self.path.join(name);
        let mut f = std::fs::File::create(&file).expect("filler file");
        let chunk = vec![0x55u8; 4096];
        // Bounded: a tmpfs larger than 1 GiB is not what these tests mount.
        for _ in 0..(1 << 18) {
            match f.write(&chunk) {
                Ok(0) => return file,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => {
                    // Fill the last partial page too.
                    let _ = f.write(&chunk[..1]);
                    return file;
                }
                Err(e) => panic!("filling {}: {e}", file.display()),
            }
        }
        panic!("{} never filled up", self.path.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (an open file of a task that has not ended yet): detach it.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}
