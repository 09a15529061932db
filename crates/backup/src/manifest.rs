//! [`Manifest`]: what a backup holds, and the checks a restore makes against it before it
//! touches anything.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

/// The format of the archive this code writes and reads. A newer format is refused.
pub const FORMAT_VERSION: u32 = 1;
/// The component name of a connector backup.
pub const CONNECTOR: &str = "connector";
/// The component name of a hub backup.
pub const HUB: &str = "hub";

/// The manifest, the archive's last entry (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The archive format ([`FORMAT_VERSION`]).
    pub format: u32,
    /// The version of Portcullis that made the backup: a binary older than that refuses it,
    /// since it may not understand the files.
    pub portcullis_version: String,
    /// When the backup was made (RFC 3339, UTC).
    pub created: String,
    /// `connector` or `hub`: a backup restores only into its own kind of component.
    pub component: String,
    /// Every file in the archive but the manifest, in archive order.
    pub files: Vec<FileEntry>,
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the archive, `/`-separated, relative (`data/identity/client.pem`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// Why a backup's manifest or content is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestError {
    /// The archive has no manifest, or it is not one.
    #[error("not a Portcullis backup: {0}")]
    NotAManifest(String),
    /// The archive format is newer than this binary knows.
    #[error("the backup has format {found}; this portcullis reads format {FORMAT_VERSION}: upgrade portcullis to restore it")]
    UnknownFormat {
        /// The format the manifest names.
        found: u32,
    },
    /// A backup made by a newer Portcullis.
    #[error("the backup was made by portcullis {made_by}, newer than this one ({running}): upgrade portcullis to restore it")]
    NewerVersion {
        /// The version that made it.
        made_by: String,
        /// This binary's version.
        running: String,
    },
    /// The version in the manifest is no version.
    #[error("the backup names no valid portcullis version ({0:?})")]
    BadVersion(String),
    /// A backup of another component (a hub backup given to the connector).
    #[error("this is a backup of a {found}, not of a {expected}")]
    WrongComponent {
        /// What the manifest says.
        found: String,
        /// What is being restored.
        expected: &'static str,
    },
    /// A path that could leave the restore directory, or a duplicate.
    #[error("the backup holds a path that is not allowed: {0:?}")]
    BadPath(String),
    /// A file's content differs from the manifest's size or hash.
    #[error("the backup was altered: {path} does not match its SHA-256 in the manifest")]
    Tampered {
        /// The file's path in the archive.
        path: String,
    },
    /// A file the manifest lists is missing from the archive.
    #[error("the backup was altered: {path} is listed in the manifest but missing")]
    Missing {
        /// The file's path in the archive.
        path: String,
    },
    /// A file in the archive the manifest does not list.
    #[error("the backup was altered: {path} is not listed in the manifest")]
    Unlisted {
        /// The file's path in the archive.
        path: String,
    },
}

impl Manifest {
    /// Reads a manifest from its JSON.
    pub fn parse(json: &[u8]) -> Result<Manifest, ManifestError> {
        serde_json::from_slice(json).map_err(|e| ManifestError::NotAManifest(e.to_string()))
    }

    /// Checks what can be checked before the files: the format, that the backup is of
    /// `component`, and that `running` (this binary's version) is not older than the one
    /// that made it. Pre-release and build parts count as semver says.
    pub fn check_header(
        &self,
        component: &'static str,
        running: &semver::Version,
    ) -> Result<(), ManifestError> {
        if self.format > FORMAT_VERSION || self.format == 0 {
            return Err(ManifestError::UnknownFormat { found: self.format });
        }
        if self.component != component {
            return Err(ManifestError::WrongComponent {
                found: self.component.clone(),
                expected: component,
            });
        }
        let made_by = semver::Version::parse(&self.portcullis_version)
            .map_err(|_| ManifestError::BadVersion(self.portcullis_version.clone()))?;
        if made_by > *running {
            return Err(ManifestError::NewerVersion {
                made_by: self.portcullis_version.clone(),
                running: running.to_string(),
            });
        }
        Ok(())
    }

    /// Checks the files found in the archive (`found`: path → size and SHA-256 as computed
    /// while reading) against the manifest: each listed file present with its size and hash,
    /// none unlisted, every path safe.
    pub fn check_files(
        &self,
        found: &BTreeMap<String, (u64, String)>,
    ) -> Result<(), ManifestError> {
        let mut listed = BTreeMap::new();
        for f in &self.files {
            check_path(&f.path)?;
            if listed.insert(f.path.as_str(), f).is_some() {
                return Err(ManifestError::BadPath(f.path.clone()));
            }
            match found.get(&f.path) {
                None => {
                    return Err(ManifestError::Missing {
                        path: f.path.clone(),
                    })
                }
                Some((size, sha)) if *size != f.size || *sha != f.sha256 => {
                    return Err(ManifestError::Tampered {
                        path: f.path.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = found.keys().find(|p| !listed.contains_key(p.as_str())) {
            return Err(ManifestError::Unlisted {
                path: extra.clone(),
            });
        }
        Ok(())
    }
}

/// A path inside the archive is relative, `/`-separated, and made of plain names only (no
/// `..`, no root, no `.`): restoring it cannot write outside the restore directory.
pub fn check_path(path: &str) -> Result<(), ManifestError> {
    let bad = || ManifestError::BadPath(path.to_owned());
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return Err(bad());
    }
    let p = Path::new(path);
    if p.components().all(|c| matches!(c, Component::Normal(_)))
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
    {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &str = CONNECTOR;

    fn manifest(version: &str) -> Manifest {
        Manifest {
            format: FORMAT_VERSION,
            portcullis_version: version.into(),
            created: "2026-12-08T00:00:00Z".into(),
            component: COMPONENT.into(),
            files: vec![
                FileEntry {
                    path: "config/connector.toml".into(),
                    size: 3,
                    sha256: "aa".into(),
                },
                FileEntry {
                    path: "data/audit.log".into(),
                    size: 5,
                    sha256: "bb".into(),
                },
            ],
        }
    }

    fn found(entries: &[(&str, u64, &str)]) -> BTreeMap<String, (u64, String)> {
        entries
            .iter()
            .map(|(p, s, h)| (p.to_string(), (*s, h.to_string())))
            .collect()
    }

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap()
    }

    #[test]
    fn a_manifest_round_trips_through_json() {
        let m = manifest("0.1.0");
        let json = serde_json::to_vec(&m).unwrap();
        assert_eq!(Manifest::parse(&json).unwrap(), m);
        assert!(matches!(
            Manifest::parse(b"{\"format\":1}"),
            Err(ManifestError::NotAManifest(_))
        ));
    }

    #[test]
    fn a_backup_from_a_newer_portcullis_is_refused_and_an_older_or_same_one_accepted() {
        let running = v("0.4.2");
        for ok in ["0.4.2", "0.4.1", "0.3.9", "0.4.2-rc.1"] {
            manifest(ok).check_header(COMPONENT, &running).unwrap();
        }
        for newer in ["0.4.3", "0.5.0", "1.0.0"] {
            assert_eq!(
                manifest(newer).check_header(COMPONENT, &running),
                Err(ManifestError::NewerVersion {
                    made_by: newer.into(),
                    running: "0.4.2".into()
                })
            );
        }
        assert!(matches!(
            manifest("latest").check_header(COMPONENT, &running),
            Err(ManifestError::BadVersion(_))
        ));
    }

    #[test]
    fn another_component_or_a_newer_format_is_refused() {
        let mut m = manifest("0.1.0");
        m.component = "hub".into();
        assert!(matches!(
            m.check_header(COMPONENT, &v("0.1.0")),
            Err(ManifestError::WrongComponent { .. })
        ));
        let mut m = manifest("0.1.0");
        m.format = FORMAT_VERSION + 1;
        assert!(matches!(
            m.check_header(COMPONENT, &v("0.1.0")),
            Err(ManifestError::UnknownFormat { .. })
        ));
    }

    #[test]
    fn every_file_must_match_its_size_and_hash_and_be_listed() {
        let m = manifest("0.1.0");
        m.check_files(&found(&[
            ("config/connector.toml", 3, "aa"),
            ("data/audit.log", 5, "bb"),
        ]))
        .unwrap();
        assert_eq!(
            m.check_files(&found(&[
                ("config/connector.toml", 3, "aa"),
                ("data/audit.log", 5, "bc"),
            ])),
            Err(ManifestError::Tampered {
                path: "data/audit.log".into()
            })
        );
        assert_eq!(
            m.check_files(&found(&[
                ("config/connector.toml", 4, "aa"),
                ("data/audit.log", 5, "bb"),
            ])),
            Err(ManifestError::Tampered {
                path: "config/connector.toml".into()
            })
        );
        assert_eq!(
            m.check_files(&found(&[("config/connector.toml", 3, "aa")])),
            Err(ManifestError::Missing {
                path: "data/audit.log".into()
            })
        );
        assert_eq!(
            m.check_files(&found(&[
                ("config/connector.toml", 3, "aa"),
                ("data/audit.log", 5, "bb"),
                ("data/extra", 1, "cc"),
            ])),
            Err(ManifestError::Unlisted {
                path: "data/extra".into()
            })
        );
    }

    #[test]
    fn paths_that_could_leave_the_restore_directory_are_refused() {
        for ok in [
            "data/audit.log",
            "data/identity/client.pem",
            "config/connector.toml",
        ] {
            check_path(ok).unwrap();
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "data/../../x",
            "data/./x",
            "data//x",
            "data\\x",
            "data/",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} passed");
        }
        let mut m = manifest("0.1.0");
        m.files[1].path = "data/../../etc/cron.d/x".into();
        assert!(matches!(
            m.check_files(&found(&[
                ("config/connector.toml", 3, "aa"),
                ("data/../../etc/cron.d/x", 5, "bb"),
            ])),
            Err(ManifestError::BadPath(_))
        ));
    }
}
