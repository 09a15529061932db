//! How values a client typed into a *name* field reach the log.
//!
//! A SOCKS5 user name, a `Portcullis-Location` header or a route string's host are names, and
//! logging them helps an operator see why a client was refused. But people paste a credential
//! into the wrong field (the token as the user name, a password as the host), and the log is
//! read by more people than the credential's holder. So a value is logged as itself only when
//! it has the shape of a name and not that of a Portcullis token; otherwise as its length and
//! the first bytes of its SHA-256, which tell two attempts apart without revealing either.

use sha2::{Digest, Sha256};

/// The longest value logged as itself (a DNS name's limit).
const MAX_SHOWN: usize = 253;

/// `value` as it may appear in the log (see the module docs).
pub fn shown(value: &str) -> String {
    let name_like = !value.is_empty()
        && value.len() <= MAX_SHOWN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        && !value.to_ascii_lowercase().contains("pct_");
    if name_like {
        value.to_owned()
    } else {
        let digest = Sha256::digest(value.as_bytes());
        format!(
            "<{} bytes, sha256 {}…>",
            value.len(),
            hex::encode(&digest[..4])
        )
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn names_are_shown_and_anything_like_a_credential_is_not() {
        for name in [
            "berlin",
            "acme-dc1",
            "generic_tcp.prd.acme.portcullis",
            "10.0.0.1:3200",
        ] {
            assert_eq!(shown(name), name);
        }
        let token =
            "pct_0123456789ab_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        for secret in [
            token,
            "PCT_0123456789AB_FF",
            "hunter2!",
            "pass word",
            &"a".repeat(300),
            "",
        ] {
            let s = shown(secret);
            assert!(s.starts_with('<') && s.contains("bytes, sha256"), "{s}");
            if !secret.is_empty() {
                assert!(!s.contains(secret), "{s} shows {secret}");
            }
        }
        assert_ne!(shown("hunter2!"), shown("hunter3!"), "attempts stay apart");
    }
}
