//! Human passwords: argon2id hashes, the password rules, and one-time passwords an admin hands
//! out.
//!
//! Why argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane, OWASP's first choice): a
//! human password has little entropy, so a stolen database must make every guess expensive,
//! in memory as well as time. The hash is stored as a PHC string, which names its own
//! parameters, so stronger parameters later still verify the old hashes.
//!
//! Hashing costs tens of milliseconds of CPU: callers run [`hash`] and [`verify`] on the
//! blocking pool ([`hash_blocking`], [`verify_blocking`]) so that sign-ins never stall the
//! runtime's workers.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use portcullis_domain::secret::Secret;

/// Fewest characters a password may have.
pub const MIN_LEN: usize = 12;
/// Most characters a password may have (argon2 takes any length; this bounds the work).
pub const MAX_LEN: usize = 256;

/// Why a new password was refused. The message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRule {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("a password needs at least {MIN_LEN} characters")]
    TooShort,
    /// More than [`MAX_LEN`] characters.
    #[error("a password may have at most {MAX_LEN} characters")]
    TooLong,
    /// The password contains the user's login name.
    #[error("a password must not contain the user name")]
    ContainsName,
    /// One character repeated, or fewer than 5 different characters.
    #[error("a password needs at least 5 different characters")]
    TooPlain,
    /// The new password is the current one.
    #[error("the new password must differ from the current one")]
    Unchanged,
}

/// Checks a password a user chose against the rules (length, variety, not the user name).
pub fn check_rules(user_name: &str, password: &str) -> Result<(), PasswordRule> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordRule::TooShort);
    }
    if chars > MAX_LEN {
        return Err(PasswordRule::TooLong);
    }
    if !user_name.is_empty() && password.to_lowercase().contains(&user_name.to_lowercase()) {
        return Err(PasswordRule::ContainsName);
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err(PasswordRule::TooPlain);
    }
    Ok(())
}

/// The argon2id hash of `password` as a PHC string, with a fresh random salt.
pub fn hash(password: &str) -> Secret<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        // Only a salt or output of the wrong size fails, and the defaults have neither.
        .map(|h| Secret::new(h.to_string()))
        .unwrap_or_else(|_| Secret::new(String::new()))
}

/// Whether `password` matches the stored PHC string (constant time inside argon2). A stored
/// string that is not a valid PHC hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`hash`] on the blocking pool.
pub async fn hash_blocking(password: Secret<String>) -> Secret<String> {
    tokio::task::spawn_blocking(move || hash(password.expose()))
        .await
        .unwrap_or_else(|_| Secret::new(String::new()))
}

/// [`verify`] on the blocking pool; with `stored` `None` (no such user, or no password) the
/// same work is done against a hash nothing matches, so that the answer's timing does not
/// tell whether the user exists.
pub async fn verify_blocking(password: Secret<String>, stored: Option<Secret<String>>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(h) => verify(password.expose(), h.expose()),
        None => {
            let _ = verify(password.expose(), decoy());
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password nobody knows, made once.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash(generate().expose()).into_inner())
}

/// Letters and digits that cannot be mistaken for one another when read aloud or typed from a
/// printout (no 0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A one-time password for an admin to hand over: 20 characters of [`ALPHABET`] (about 115
/// bits), which the first sign-in must change.
pub fn generate() -> Secret<String> {
    let mut out = String::with_capacity(20);
    let mut rng = OsRng;
    while out.len() < 20 {
        // Rejection sampling keeps every character equally likely.
        let b = (rng.next_u32() & 0xff) as usize;
        if b < 256 - 256 % ALPHABET.len() {
            out.push(ALPHABET[b % ALPHABET.len()] as char);
        }
    }
    Secret::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery");
        assert!(h.expose().starts_with("$argon2id$v=19$"), "{}", h.expose());
        assert!(verify("correct horse battery", h.expose()));
        assert!(!verify("correct horse batterY", h.expose()));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert_ne!(hash("correct horse battery"), h, "a fresh salt every time");
    }

    #[test]
    fn the_rules_refuse_weak_passwords_with_a_reason() {
        assert_eq!(check_rules("anna", "short"), Err(PasswordRule::TooShort));
        assert_eq!(
            check_rules("anna", &"x".repeat(MAX_LEN + 1)),
            Err(PasswordRule::TooLong)
        );
        assert_eq!(
            check_rules("anna", "my-ANNA-password"),
            Err(PasswordRule::ContainsName)
        );
        assert_eq!(
            check_rules("anna", "abababababab"),
            Err(PasswordRule::TooPlain)
        );
        assert_eq!(check_rules("anna", "tulip-river-9-stone"), Ok(()));
    }

    #[test]
    fn one_time_passwords_are_long_unambiguous_and_pass_the_rules() {
        let a = generate();
        assert_eq!(a.expose().len(), 20);
        assert!(a.expose().bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(generate(), a);
        // Practically always: 20 characters from 55 have 5 distinct ones.
        assert_eq!(check_rules("x@y", a.expose()), Ok(()));
    }
}
