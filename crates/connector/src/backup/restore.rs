//! Restoring a backup: decrypt into a directory next to the data directory, check
//! everything, then rename it into place. Any refusal leaves the data directory and the
//! configuration file as they were.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{check_path, Manifest, ManifestError, COMPONENT};
use super::write::create_private;
use super::{seal, BackupError, Password, CONFIG_NAME, DATA_PREFIX, MANIFEST_NAME};
use crate::config::{base_dir_of, ConnectorConfig};
use crate::data_dir::ConnectorDataDir;

/// The largest manifest read (a manifest lists files; megabytes of it are not one).
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// Where and how to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup file.
    pub from: PathBuf,
    /// Where the configuration file is written. Its `data_dir` (relative paths resolve
    /// against this file's directory) receives the data files.
    pub config: PathBuf,
    /// Another data directory than the backed-up configuration names (a fresh host with
    /// another layout); written into the restored configuration.
    pub data_dir: Option<PathBuf>,
    /// Replace a data directory with files in it, and an existing configuration file.
    pub force: bool,
}

/// What a restore put in place.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// The data directory written.
    pub data_dir: PathBuf,
    /// Records in the restored audit log (its chain verified).
    pub audit_records: u64,
}

/// Restores the backup `opts.from`, opened with `password`. `progress` is told the bytes
/// extracted so far.
pub fn restore(
    opts: &RestoreOptions,
    password: &Password,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, BackupError> {
    let file = File::open(&opts.from).map_err(BackupError::io(&opts.from))?;
    let plain = seal::decrypt_from(BufReader::new(file), password)?;
    let mut archive = tar::Archive::new(plain);
    let read_err = |e: io::Error| {
        if seal::is_damage(&e) {
            BackupError::Damaged
        } else {
            BackupError::io(&opts.from)(e)
        }
    };
    let mut entries = archive.entries().map_err(read_err)?;

    // The configuration comes first: it says where the data directory is.
    let mut first = match entries.next() {
        Some(e) => e.map_err(read_err)?,
        None => return Err(not_ours("the archive is empty")),
    };
    if entry_name(&first)? != CONFIG_NAME {
        return Err(not_ours(
            "the archive does not start with the configuration",
        ));
    }
    let mut found = BTreeMap::new();
    let mut original = Vec::new();
    let mut hashing = Hashing::new(&mut first, progress);
    hashing.read_to_end(&mut original).map_err(read_err)?;
    let (size, sha, done) = hashing.finish();
    found.insert(CONFIG_NAME.to_owned(), (size, sha));
    let config_text =
        String::from_utf8(original).map_err(|_| not_ours("the configuration is not UTF-8 text"))?;
    let config_text = match &opts.data_dir {
        Some(d) => with_data_dir(&config_text, d)?,
        None => config_text,
    };
    let config = ConnectorConfig::from_toml_str(&config_text, &base_dir_of(&opts.config))
        .map_err(BackupError::Config)?;
    let data_dir = config.data_dir.clone();
    refuse_if_running(&data_dir)?;
    if !opts.force {
        refuse_if_in_use(&data_dir, &opts.config)?;
    }

    let stage = Stage::create(&data_dir)?;
    let mut manifest = None;
    let mut done = done;
    for entry in entries {
        let mut entry = entry.map_err(read_err)?;
        let name = entry_name(&entry)?;
        if manifest.is_some() {
            return Err(ManifestError::Unlisted { path: name }.into());
        }
        if name == MANIFEST_NAME {
            let mut json = Vec::new();
            (&mut entry)
                .take(MAX_MANIFEST)
                .read_to_end(&mut json)
                .map_err(read_err)?;
            manifest = Some(Manifest::parse(&json)?);
            continue;
        }
        check_path(&name)?;
        let Some(rel) = name.strip_prefix(DATA_PREFIX) else {
            return Err(ManifestError::Unlisted { path: name }.into());
        };
        if found.contains_key(&name) || entry.header().entry_type() != tar::EntryType::Regular {
            return Err(ManifestError::BadPath(name).into());
        }
        let target = stage.path.join(rel);
        if let Some(parent) = target.parent() {
            create_private_dirs(parent)?;
        }
        let mut out = create_private(&target).map_err(BackupError::io(&target))?;
        let mut tell = |n: u64| progress(done + n);
        let mut hashing = Hashing::new(&mut entry, &mut tell);
        io::copy(&mut hashing, &mut out).map_err(|e| {
            if seal::is_damage(&e) {
                BackupError::Damaged
            } else {
                BackupError::io(&target)(e)
            }
        })?;
        out.sync_all().map_err(BackupError::io(&target))?;
        let (size, sha, n) = hashing.finish();
        done += n;
        found.insert(name, (size, sha));
    }
    // Read to the end: the last chunk's authentication tells a file cut short.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(read_err)?;

    let manifest = manifest.ok_or_else(|| not_ours("the archive has no manifest"))?;
    let running = semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("our own version");
    manifest.check_header(COMPONENT, &running)?;
    manifest.check_files(&found)?;
    let staged_audit = ConnectorDataDir::new(&stage.path).audit_log();
    let audit_records = if staged_audit.exists() {
        crate::audit::verify_file(&staged_audit).map_err(BackupError::AuditChain)?
    } else {
        0
    };

    refuse_if_running(&data_dir)?;
    stage.put_in_place(&data_dir)?;
    write_config(&opts.config, &config_text)?;
    Ok(Restored {
        manifest,
        data_dir,
        audit_records,
    })
}

fn not_ours(why: &str) -> BackupError {
    ManifestError::NotAManifest(why.to_owned()).into()
}

fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, BackupError> {
    String::from_utf8(entry.path_bytes().into_owned())
        .map_err(|_| not_ours("a path in the archive is not UTF-8"))
}

/// Refuses a data directory with anything in it, and an existing configuration file.
fn refuse_if_in_use(data_dir: &Path, config: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(data_dir).map(|mut rd| rd.next().is_some()) {
        Ok(true) => {
            return Err(BackupError::NotEmpty {
                path: data_dir.to_path_buf(),
            })
        }
        Ok(false) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::io(data_dir)(e)),
    }
    if config.exists() {
        return Err(BackupError::ConfigExists {
            path: config.to_path_buf(),
        });
    }
    Ok(())
}

/// Refuses while a connector runs on `data_dir`: its admin socket accepts a connection.
fn refuse_if_running(data_dir: &Path) -> Result<(), BackupError> {
    let socket = ConnectorDataDir::new(data_dir).admin_socket();
    #[cfg(unix)]
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Err(BackupError::Running {
            path: data_dir.to_path_buf(),
        });
    }
    Ok(())
}

/// The configuration text with `data_dir` set to `dir` (absolute), the rest as it was.
fn with_data_dir(text: &str, dir: &Path) -> Result<String, BackupError> {
    let abs = std::path::absolute(dir).map_err(BackupError::io(dir))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|_| not_ours("the configuration is not TOML"))?;
    doc["data_dir"] = toml_edit::value(abs.to_string_lossy().into_owned());
    Ok(doc.to_string())
}

/// Writes the configuration file (0600) by a rename, so it is the old or the new one.
fn write_config(path: &Path, text: &str) -> Result<(), BackupError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
    }
    let tmp = path.with_extension("toml.restore");
    let write = || -> io::Result<()> {
        let mut f = create_private(&tmp)?;
        io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        BackupError::io(path)(e)
    })
}

fn create_private_dirs(dir: &Path) -> Result<(), BackupError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(BackupError::io(dir))
}

/// The directory the backup is extracted into, next to the data directory (same file
/// system, so the final rename is atomic); removed again unless put in place.
struct Stage {
    path: PathBuf,
    /// The outermost directory made for it (the data directory's parent did not exist),
    /// removed with it.
    made: Option<PathBuf>,
    placed: bool,
}

impl Stage {
    fn create(data_dir: &Path) -> Result<Stage, BackupError> {
        let parent = data_dir.parent().unwrap_or(Path::new("."));
        let made = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        std::fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
        let name = data_dir.file_name().unwrap_or_default().to_string_lossy();
        let path = parent.join(format!(".{name}.restore-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(BackupError::io(&path))?;
        }
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&path).map_err(BackupError::io(&path))?;
        Ok(Stage {
            path,
            made,
            placed: false,
        })
    }

    /// Renames the staged directory to `data_dir`; an existing one is moved aside first and
    /// removed after, or moved back if the rename fails.
    fn put_in_place(mut self, data_dir: &Path) -> Result<(), BackupError> {
        let aside = self.path.with_extension("old");
        let had_old = data_dir.exists();
        if had_old {
            std::fs::rename(data_dir, &aside).map_err(BackupError::io(data_dir))?;
        }
        if let Err(e) = std::fs::rename(&self.path, data_dir) {
            if had_old {
                let _ = std::fs::rename(&aside, data_dir);
            }
            return Err(BackupError::io(data_dir)(e));
        }
        self.placed = true;
        if had_old {
            let _ = std::fs::remove_dir_all(&aside);
        }
        Ok(())
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_dir_all(&self.path);
            if let Some(made) = &self.made {
                let _ = std::fs::remove_dir_all(made);
            }
        }
    }
}

/// Hashes and counts what is read through it, telling `progress` the bytes so far.
struct Hashing<'a, R> {
    inner: R,
    sha: Sha256,
    size: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<'a, R: Read> Hashing<'a, R> {
    fn new(inner: R, progress: &'a mut dyn FnMut(u64)) -> Self {
        Hashing {
            inner,
            sha: Sha256::new(),
            size: 0,
            progress,
        }
    }

    /// Size, SHA-256 (hex) and size again (for the running total).
    fn finish(self) -> (u64, String, u64) {
        (self.size, hex::encode(self.sha.finalize()), self.size)
    }
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.size += n as u64;
        (self.progress)(self.size);
        Ok(n)
    }
}
