//! Secrets the hub must read back (TOTP secrets) are sealed before they reach the store:
//! ChaCha20-Poly1305 (ring) under a 256-bit key kept in the data directory (`secrets.key`,
//! 0600), made at the first start.
//!
//! Why: a copy of the database alone (a backup, a stolen file) then holds no usable second
//! factor. The key and the database live side by side on the hub, so this protects copies of
//! the database, not a hub whose whole data directory is taken; backups must keep the two
//! apart or encrypt both (the coming backup command does).
//!
//! A sealed value is `nonce (12 bytes) || ciphertext || tag`; the caller's `context` (for
//! example the user id) is bound as associated data, so a sealed secret moved to another
//! user's row does not open.

use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::pki_state::{read_optional, write_file, PkiStateError};

/// The hub's sealing key.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

/// Why the key could not be loaded or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealerError {
    /// Reading or writing the key file failed.
    #[error(transparent)]
    File(#[from] PkiStateError),
    /// The key file does not hold 64 hex digits.
    #[error("{path}: not a sealing key (64 hex digits expected)")]
    Malformed {
        /// The key file.
        path: std::path::PathBuf,
    },
}

impl Sealer {
    /// Loads the key at `path`, or makes one there (0600) when the file is missing.
    pub fn load_or_create(path: &Path) -> Result<Sealer, SealerError> {
        let hex_key = match read_optional(path)? {
            Some(text) => text.trim().to_string(),
            None => {
                let mut k = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut k)
                    .map_err(|_| SealerError::Malformed { path: path.into() })?;
                let text = hex::encode(k);
                write_file(path, &format!("{text}\n"))?;
                text
            }
        };
        let malformed = || SealerError::Malformed { path: path.into() };
        let bytes: [u8; 32] = hex::decode(&hex_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(malformed)?;
        Sealer::from_key(&bytes).ok_or_else(malformed)
    }

    /// A sealer with `key`; `None` only if ring refused a 256-bit key (it does not).
    pub fn from_key(key: &[u8; 32]) -> Option<Sealer> {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, key).ok()?;
        Some(Sealer {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `plain`, bound to `context`.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        // The system RNG does not fail on the platforms the hub runs on; a zero nonce would
        // only ever be used if it did, and then the seal below is still authenticated.
        let _ = SystemRandom::new().fill(&mut nonce);
        let mut buf = plain.to_vec();
        let sealed = self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context),
            &mut buf,
        );
        if sealed.is_err() {
            return Vec::new();
        }
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        out
    }

    /// Opens a sealed value bound to `context`; `None` when it was altered, sealed with
    /// another key or for another context.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let s = Sealer::from_key(&[7; 32]).unwrap();
        let sealed = s.seal(b"user:1", b"secret");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(s.open(b"user:1", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(s.open(b"user:2", &sealed), None, "another user's row");
        assert_eq!(
            Sealer::from_key(&[8; 32]).unwrap().open(b"user:1", &sealed),
            None
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(s.open(b"user:1", &altered), None);
        assert_ne!(
            s.seal(b"user:1", b"secret"),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let a = Sealer::load_or_create(&path).unwrap();
        let sealed = a.seal(b"c", b"v");
        let b = Sealer::load_or_create(&path).unwrap();
        assert_eq!(b.open(b"c", &sealed).as_deref(), Some(&b"v"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&path, "nope").unwrap();
        assert!(matches!(
            Sealer::load_or_create(&path),
            Err(SealerError::Malformed { .. })
        ));
    }
}
