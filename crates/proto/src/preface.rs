//! The versioned preface: `b"PRTCLS"` followed by the wire version as a big-endian `u16`.
//!
//! Both sides send it first. A peer that reads a wrong magic closes at once (it is not talking
//! to Portcullis); a peer that reads an unknown wire version still answers in version 1 frames
//! so the other side learns why it was refused.

use crate::frame::DecodeError;

/// The magic bytes that open every tunnel.
pub const MAGIC: &[u8; 6] = b"PRTCLS";
/// The wire version this build speaks.
pub const WIRE_VERSION: u16 = 1;
/// Length of the preface on the wire.
pub const PREFACE_LEN: usize = 8;

/// The first eight bytes on a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preface {
    /// Wire version the sender speaks.
    pub wire_version: u16,
}

impl Preface {
    /// The preface of this build.
    pub const fn current() -> Self {
        Preface {
            wire_version: WIRE_VERSION,
        }
    }

    /// Encodes the preface.
    pub fn encode(&self) -> [u8; PREFACE_LEN] {
        let mut out = [0u8; PREFACE_LEN];
        out[..6].copy_from_slice(MAGIC);
        out[6..].copy_from_slice(&self.wire_version.to_be_bytes());
        out
    }

    /// Decodes a preface from the start of `src`.
    pub fn decode(src: &[u8]) -> Result<Preface, DecodeError> {
        if src.len() < PREFACE_LEN {
            // Reject a wrong magic as early as the bytes allow, not only after eight bytes.
            let n = src.len().min(MAGIC.len());
            if src[..n] != MAGIC[..n] {
                return Err(DecodeError::BadPreface);
            }
            return Err(DecodeError::Incomplete {
                needed: PREFACE_LEN - src.len(),
            });
        }
        if &src[..6] != MAGIC {
            return Err(DecodeError::BadPreface);
        }
        Ok(Preface {
            wire_version: u16::from_be_bytes([src[6], src[7]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Preface::current();
        assert_eq!(Preface::decode(&p.encode()).unwrap(), p);
    }

    #[test]
    fn short_input_needs_more_bytes_but_wrong_magic_fails_early() {
        let enc = Preface::current().encode();
        for n in 0..PREFACE_LEN {
            assert_eq!(
                Preface::decode(&enc[..n]),
                Err(DecodeError::Incomplete {
                    needed: PREFACE_LEN - n
                })
            );
        }
        assert_eq!(Preface::decode(b"GET"), Err(DecodeError::BadPreface));
        assert_eq!(
            Preface::decode(b"GET / HTTP/1.1\r\n"),
            Err(DecodeError::BadPreface)
        );
    }

    #[test]
    fn other_wire_versions_are_reported_not_rejected() {
        let p = Preface { wire_version: 7 };
        assert_eq!(Preface::decode(&p.encode()).unwrap().wire_version, 7);
    }
}
