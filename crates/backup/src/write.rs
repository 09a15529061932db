//! Writing a backup: named files into one encrypted archive, each read once, hashed and
//! archived from the same bytes, with the manifest last.
//!
//! Consistency is the component's business (which files, copied how); this module is given
//! files that hold still while they are read, except an append-only log, of which only the
//! complete lines present when it is opened are taken (a record being written is left for the
//! next backup).

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::manifest::{FileEntry, Manifest, FORMAT_VERSION};
use crate::{seal, BackupError, Password, MANIFEST_NAME};

/// What a finished backup holds.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    /// The manifest written into it.
    pub manifest: Manifest,
    /// Bytes of file content archived (before encryption).
    pub bytes: u64,
}

/// One file to archive.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its path inside the archive (`config/hub.toml`, `data/pki/ca.key`).
    pub name: String,
    /// Where it is read from.
    pub path: PathBuf,
    /// An append-only log: only its complete lines are taken.
    pub append_only: bool,
}

/// Writes a backup of `sources` for `component` (`connector`, `hub`) to `out` (mode 0600;
/// written as `out.partial` and renamed, so `out` is a whole backup or not there).
/// `progress` is told the bytes archived so far as they grow.
pub fn write_backup(
    out: &Path,
    component: &str,
    sources: &[Source],
    password: &Password,
    progress: &mut dyn FnMut(u64),
) -> Result<BackupSummary, BackupError> {
    let partial = partial_path(out);
    match write_archive(&partial, component, sources, password, progress) {
        Ok(summary) => {
            std::fs::rename(&partial, out).map_err(BackupError::io(out))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn write_archive(
    partial: &Path,
    component: &str,
    sources: &[Source],
    password: &Password,
    progress: &mut dyn FnMut(u64),
) -> Result<BackupSummary, BackupError> {
    let file = create_private(partial).map_err(BackupError::io(partial))?;
    let sealed =
        seal::encrypt_to(BufWriter::new(file), password).map_err(BackupError::io(partial))?;
    let mut tar = tar::Builder::new(sealed);
    let mut files = Vec::new();
    let mut done = 0u64;
    for Source {
        name,
        path,
        append_only,
    } in sources
    {
        let mut f = File::open(path).map_err(BackupError::io(path))?;
        let len = if *append_only {
            complete_lines_len(&mut f).map_err(BackupError::io(path))?
        } else {
            f.metadata().map_err(BackupError::io(path))?.len()
        };
        let mut reader = Hashing {
            inner: f.take(len),
            sha: Sha256::new(),
            done: &mut done,
            progress: &mut *progress,
        };
        tar.append_data(&mut header(len), name, &mut reader)
            .map_err(BackupError::io(path))?;
        files.push(FileEntry {
            path: name.clone(),
            size: len,
            sha256: hex::encode(reader.sha.finalize()),
        });
    }
    let manifest = Manifest {
        format: FORMAT_VERSION,
        portcullis_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        component: component.to_owned(),
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    let io = BackupError::io(partial);
    let finish = (|| {
        tar.append_data(
            &mut header(json.len() as u64),
            MANIFEST_NAME,
            json.as_slice(),
        )?;
        let sealed = tar.into_inner()?;
        let buffered = sealed.finish()?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    finish.map_err(io)?;
    Ok(BackupSummary {
        manifest,
        bytes: done,
    })
}

/// A tar header for a regular file of `len` bytes, mode 0600 (restore sets modes itself).
fn header(len: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(len);
    h.set_mode(0o600);
    h.set_mtime(
        OffsetDateTime::now_utc()
            .unix_timestamp()
            .try_into()
            .unwrap_or(0),
    );
    h
}

/// The files at `path`: itself when it is a file, every file below it (sorted) when it is a
/// directory, none when it does not exist (optional files such as a pending enrolment).
pub fn files_under(path: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io(path)(e)),
    };
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !meta.is_dir() {
        return Ok(Vec::new());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .and_then(|rd| rd.map(|e| e.map(|e| e.path())).collect())
        .map_err(BackupError::io(path))?;
    entries.sort();
    let mut out = Vec::new();
    for e in entries {
        out.extend(files_under(&e)?);
    }
    Ok(out)
}

/// The length of `f` up to and including its last `\n`: the records written completely.
fn complete_lines_len(f: &mut File) -> io::Result<u64> {
    let mut end = f.metadata()?.len();
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            f.seek(SeekFrom::Start(0))?;
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(0)
}

/// `rel` as an archive path: its components joined by `/`.
pub fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

/// Creates (or truncates) a file readable by its owner only.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// Hashes and counts what passes through, telling `progress` the running total.
struct Hashing<'a, R> {
    inner: R,
    sha: Sha256,
    done: &'a mut u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        *self.done += n as u64;
        (self.progress)(*self.done);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_lines_of_an_append_only_file_are_taken() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.log");
        for (text, want) in [
            (&b""[..], 0),
            (b"{\"a\":1}\n", 8),
            (b"{\"a\":1}\n{\"b\":", 8),
            (b"no end", 0),
        ] {
            std::fs::write(&p, text).unwrap();
            let mut f = File::open(&p).unwrap();
            assert_eq!(complete_lines_len(&mut f).unwrap(), want, "{text:?}");
        }
        let mut big = vec![b'x'; 200_000];
        big[10] = b'\n';
        std::fs::write(&p, &big).unwrap();
        assert_eq!(
            complete_lines_len(&mut File::open(&p).unwrap()).unwrap(),
            11
        );
    }
}
