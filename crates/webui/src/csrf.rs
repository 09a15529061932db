//! CSRF tokens: every form that changes something carries `csrf`, the SHA-256 of the
//! session's secret under a label, which only a page of this origin can know. A form without
//! the right one is refused before its handler runs.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The CSRF token of a credential (or a pre-session value) under `label`.
pub fn csrf_of(label: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"portcullis-csrf\0");
    h.update(label.as_bytes());
    h.update(b"\0");
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `presented` is `expected`, in constant time.
pub fn same(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_bind_to_their_secret_and_label() {
        let a = csrf_of("session", "pct_a_b");
        assert_eq!(a, csrf_of("session", "pct_a_b"));
        assert_ne!(a, csrf_of("session", "pct_a_c"));
        assert_ne!(a, csrf_of("signin", "pct_a_b"));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[1..]));
        assert!(!same(&a, &csrf_of("session", "pct_a_c")));
    }
}
