//! niping's test payload (sap-reference §1.10).
//!
//! `niping -c` sends buffers of 1000 bytes by default that start with the ASCII eye catcher
//! `EYECATCHER`; `niping -s` echoes them. Wireshark recognises niping traffic by that prefix,
//! and so does [`is_niping`]. The bytes after the eye catcher carry no meaning; this crate
//! fills them with zeros.

/// The prefix of every niping buffer.
pub const EYECATCHER: &[u8; 10] = b"EYECATCHER";
/// niping's default buffer size.
pub const DEFAULT_LEN: usize = 1000;
/// niping's default server port.
pub const DEFAULT_PORT: u16 = 3298;

/// A niping buffer of `len` bytes; lengths below the eye catcher's 10 bytes are raised to 10,
/// since a shorter buffer would not be recognisable as niping's.
pub fn payload(len: usize) -> Vec<u8> {
    let mut out = EYECATCHER.to_vec();
    out.resize(len.max(EYECATCHER.len()), 0);
    out
}

/// Whether an NI payload is a niping buffer.
pub fn is_niping(payload: &[u8]) -> bool {
    payload.starts_with(EYECATCHER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_start_with_the_eye_catcher() {
        for (len, want) in [(DEFAULT_LEN, 1000), (10, 10), (3, 10), (0, 10), (11, 11)] {
            let p = payload(len);
            assert_eq!(p.len(), want);
            assert!(is_niping(&p));
        }
        assert!(!is_niping(b"EYECATCHE"));
        assert!(!is_niping(b"NI_PING\0"));
    }
}
