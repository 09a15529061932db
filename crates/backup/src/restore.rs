//! Restoring a backup: decrypt into a directory next to the data directory, check
//! everything, then rename it into place. Any refusal leaves the data directory and the
//! configuration file as they were.
//!
//! [`extract`] does the part every component shares; the component decides where the data
//! directory is and whether it may be replaced (from the configuration, before anything is
//! written), verifies what only it understands in the staged directory (its audit chain), then
//! calls [`Extracted::put_in_place`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::{check_path, Manifest, ManifestError};
use crate::write::create_private;
use crate::{seal, BackupError, Password, DATA_PREFIX, MANIFEST_NAME};

/// The largest manifest read (a manifest lists files; megabytes of it are not one).
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;
/// The largest configuration file read (it is held in memory).
const MAX_CONFIG: u64 = 16 * 1024 * 1024;

/// What is restored and how the archive must look.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    /// The backup file.
    pub from: &'a Path,
    /// `connector` or `hub`: a backup of another component is refused.
    pub component: &'static str,
    /// The configuration file's path inside the archive (`config/hub.toml`).
    pub config_name: &'a str,
    /// Whether the archive must start with the configuration (the connector's does; a hub
    /// runs without one).
    pub config_required: bool,
}

/// Where the component wants the data files: decided from the configuration in the backup
/// (if any) before anything is written.
#[derive(Debug)]
pub struct Target<T> {
    /// The data directory to restore into.
    pub data_dir: PathBuf,
    /// Whatever the component keeps for after the checks (the configuration text to write).
    pub keep: T,
}

/// A backup extracted into its staging directory with every file checked against the
/// manifest: not yet in place.
#[derive(Debug)]
pub struct Extracted<T> {
    /// The backup's manifest (version and component checked).
    pub manifest: Manifest,
    /// The data directory it is meant for.
    pub data_dir: PathBuf,
    /// What the component's decision kept.
    pub keep: T,
    stage: Stage,
}

impl<T> Extracted<T> {
    /// The staging directory holding the data files (for the component's own checks).
    pub fn staged(&self) -> &Path {
        &self.stage.path
    }

    /// Renames the staged directory to the data directory; an existing one is moved aside
    /// first and removed after, or moved back if the rename fails.
    pub fn put_in_place(self) -> Result<(Manifest, PathBuf, T), BackupError> {
        self.stage.put_in_place(&self.data_dir)?;
        Ok((self.manifest, self.data_dir, self.keep))
    }
}

/// Opens the backup `spec.from` with `password`, gives `decide` the configuration text it
/// holds (`None` when it holds none), extracts the data files into a staging directory next
/// to the data directory `decide` names, and checks them and the manifest (format,
/// component, version not newer than `running`, every file's size and hash, safe paths).
/// `progress` is told the bytes extracted so far.
pub fn extract<T>(
    spec: Spec<'_>,
    password: &Password,
    running: &semver::Version,
    decide: impl FnOnce(Option<String>) -> Result<Target<T>, BackupError>,
    progress: &mut dyn FnMut(u64),
) -> Result<Extracted<T>, BackupError> {
    let file = File::open(spec.from).map_err(BackupError::io(spec.from))?;
    let plain = seal::decrypt_from(BufReader::new(file), password)?;
    let mut archive = tar::Archive::new(plain);
    let read_err = |e: io::Error| {
        if seal::is_damage(&e) {
            BackupError::Damaged
        } else {
            BackupError::io(spec.from)(e)
        }
    };
    let mut entries = archive.entries().map_err(read_err)?;

    // The configuration comes first: it says where the data directory is.
    let mut first = match entries.next() {
        Some(e) => e.map_err(read_err)?,
        None => return Err(not_ours("the archive is empty")),
    };
    let mut found = BTreeMap::new();
    let mut done = 0;
    let (config_text, pending) = if entry_name(&first)? == spec.config_name {
        let mut original = Vec::new();
        let mut hashing = Hashing::new((&mut first).take(MAX_CONFIG), progress);
        hashing.read_to_end(&mut original).map_err(read_err)?;
        let (size, sha) = hashing.finish();
        done = size;
        found.insert(spec.config_name.to_owned(), (size, sha));
        let text = String::from_utf8(original)
            .map_err(|_| not_ours("the configuration is not UTF-8 text"))?;
        (Some(text), None)
    } else if spec.config_required {
        return Err(not_ours(
            "the archive does not start with the configuration",
        ));
    } else {
        (None, Some(first))
    };
    let Target { data_dir, keep } = decide(config_text)?;

    let stage = Stage::create(&data_dir)?;
    let mut manifest = None;
    for entry in pending.into_iter().map(Ok).chain(entries) {
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
        let (size, sha) = hashing.finish();
        done += size;
        found.insert(name, (size, sha));
    }
    // Read to the end: the last chunk's authentication tells a file cut short.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(read_err)?;

    let manifest = manifest.ok_or_else(|| not_ours("the archive has no manifest"))?;
    manifest.check_header(spec.component, running)?;
    manifest.check_files(&found)?;
    Ok(Extracted {
        manifest,
        data_dir,
        keep,
        stage,
    })
}

fn not_ours(why: &str) -> BackupError {
    ManifestError::NotAManifest(why.to_owned()).into()
}

fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, BackupError> {
    String::from_utf8(entry.path_bytes().into_owned())
        .map_err(|_| not_ours("a path in the archive is not UTF-8"))
}

/// Refuses a data directory with anything in it, and an existing configuration file (when
/// one is to be written): what a restore without `--force` must not replace.
pub fn refuse_if_in_use(data_dir: &Path, config: Option<&Path>) -> Result<(), BackupError> {
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
    if let Some(config) = config.filter(|c| c.exists()) {
        return Err(BackupError::ConfigExists {
            path: config.to_path_buf(),
        });
    }
    Ok(())
}

/// Writes a configuration file (0600) by a rename, so it is the old or the new one.
pub fn write_config(path: &Path, text: &str) -> Result<(), BackupError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".restore");
    let tmp = path.with_file_name(tmp_name);
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

/// Creates `dir` and its missing parents, each readable by its owner only.
pub fn create_private_dirs(dir: &Path) -> Result<(), BackupError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(BackupError::io(dir))
}

/// The directory the backup is extracted into, next to the data directory (same file
/// system, so the final rename is atomic); removed again unless put in place.
#[derive(Debug)]
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

    /// Size and SHA-256 (hex).
    fn finish(self) -> (u64, String) {
        (self.size, hex::encode(self.sha.finalize()))
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
