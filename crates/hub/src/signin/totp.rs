//! Time-based one-time codes (RFC 6238): 6 digits, 30-second steps, SHA-1 (what every
//! authenticator app supports), one step of clock drift either way.

use portcullis_domain::secret::Secret;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

/// Seconds per step.
pub const STEP: u64 = 30;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// The issuer authenticator apps show.
pub const ISSUER: &str = "Portcullis";

/// A new random secret.
pub fn new_secret() -> Secret<Vec<u8>> {
    let mut s = vec![0u8; SECRET_BYTES];
    rand::thread_rng().fill_bytes(&mut s);
    Secret::new(s)
}

fn totp(secret: &[u8]) -> Option<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, secret.to_vec()).ok()
}

/// The secret as people type it into an app: base32 without padding, in groups of four.
pub fn display(secret: &[u8]) -> String {
    let b32 = base32(secret);
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 4648 base32, upper case, no padding (what `otpauth://` URIs carry).
pub fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes RFC 4648 base32 (any case, spaces and padding ignored); `None` on another
/// character.
pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an app imports (from a QR code or a link).
pub fn uri(account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP}",
        enc(account),
        base32(secret)
    )
}

/// The code for time `unix` (seconds).
pub fn code_at(secret: &[u8], unix: u64) -> String {
    totp(secret).map(|t| t.generate(unix)).unwrap_or_default()
}

/// The step `code` belongs to at time `unix`, within one step of drift either way; `None`
/// when it matches none. Spaces in the code are ignored.
pub fn matching_step(secret: &[u8], code: &str, unix: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret)?;
    let now = unix / STEP;
    [now, now.saturating_sub(1), now + 1]
        .into_iter()
        .find(|&step| {
            let expected = t.generate(step * STEP);
            expected.len() == code.len()
                && bool::from(subtle::ConstantTimeEq::ct_eq(
                    expected.as_bytes(),
                    code.as_bytes(),
                ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vector_and_drift() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 → 94287082 (8
        // digits); its last 6 digits are the 6-digit code.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(
            matching_step(secret, "287 082", 59 + 30),
            Some(1),
            "one step late"
        );
        assert_eq!(
            matching_step(secret, "287082", 59 + 90),
            None,
            "three steps late"
        );
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "abcdef", 59), None);
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(display(b"foobar"), "MZXW 6YTB OI");
        assert_eq!(
            decode_base32("mzxw 6ytb oi").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(decode_base32("MZ1"), None);
        let s = new_secret();
        assert_eq!(
            decode_base32(&display(s.expose())).as_deref(),
            Some(&s.expose()[..])
        );
        let u = uri("anna@acme", b"foobar");
        assert!(
            u.starts_with("otpauth://totp/Portcullis:anna%40acme?secret=MZXW6YTBOI&"),
            "{u}"
        );
    }
}
