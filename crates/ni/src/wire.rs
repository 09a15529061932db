//! Bounds-checked reading and writing of the primitive NI field types.
//!
//! Every decoder goes through [`Reader`], so a short or lying payload becomes an
//! [`NiError`] instead of an index panic, and nothing is allocated before the bytes it
//! describes have been seen.

use crate::error::NiError;

/// A cursor over an untrusted payload.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Consumes exactly `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], NiError> {
        let available = self.remaining();
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let taken = rest
            .get(..n)
            .ok_or_else(|| NiError::truncated(what, n, available))?;
        self.pos = self.pos.saturating_add(n);
        Ok(taken)
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], NiError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, NiError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, NiError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, NiError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, NiError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Consumes a NUL-terminated string and returns it without the NUL.
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<&'a [u8], NiError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or(NiError::MissingNul { field })?;
        let s = rest.get(..nul).unwrap_or_default();
        self.pos = self.pos.saturating_add(nul).saturating_add(1);
        Ok(s)
    }

    /// Fails unless every byte has been consumed.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), NiError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(NiError::TrailingBytes { what, extra }),
        }
    }

    /// Consumes `eye` (which includes its NUL) or fails with `BadEyeCatcher`.
    pub(crate) fn eye_catcher(&mut self, eye: &'static [u8]) -> Result<(), NiError> {
        let expected = eye_name(eye);
        match self.take(eye.len(), "eye catcher") {
            Ok(got) if got == eye => Ok(()),
            _ => Err(NiError::BadEyeCatcher { expected }),
        }
    }
}

/// The printable part of an eye catcher constant (everything before its NUL).
fn eye_name(eye: &'static [u8]) -> &'static str {
    let text = eye.strip_suffix(b"\0").unwrap_or(eye);
    std::str::from_utf8(text).unwrap_or("?")
}

/// Strict UTF-8 conversion of a decoded field.
pub(crate) fn utf8(bytes: &[u8], field: &'static str) -> Result<String, NiError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| NiError::NotUtf8 { field })
}

/// The bytes of a NUL-padded fixed field up to its first NUL (all of it when there is none).
pub(crate) fn until_nul(field: &[u8]) -> &[u8] {
    match field.iter().position(|b| *b == 0) {
        Some(n) => field.get(..n).unwrap_or_default(),
        None => field,
    }
}

/// Appends `s` and its terminating NUL; a NUL inside `s` would change the message's meaning.
pub(crate) fn put_cstr(out: &mut Vec<u8>, s: &[u8], field: &'static str) -> Result<(), NiError> {
    if s.contains(&0) {
        return Err(NiError::InteriorNul { field });
    }
    out.extend_from_slice(s);
    out.push(0);
    Ok(())
}

/// `s` cut at its first NUL, then to at most `max` bytes on a character boundary: the shape a
/// NUL-padded fixed field can carry and give back unchanged.
pub(crate) fn fit(s: &str, max: usize) -> &str {
    let s = s.split('\0').next().unwrap_or_default();
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Appends `s` NUL-padded to exactly `width` bytes, cut to fit (see [`fit`]).
pub(crate) fn put_fixed(out: &mut Vec<u8>, s: &str, width: usize) {
    let s = fit(s, width);
    out.extend_from_slice(s.as_bytes());
    out.resize(out.len() + (width - s.len()), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0102);
        assert!(matches!(
            r.u32("b"),
            Err(NiError::Truncated {
                needed: 4,
                available: 1,
                ..
            })
        ));
        assert_eq!(r.u8("c").unwrap(), 3);
        assert!(r.u8("d").is_err());
        assert!(r.cstr("e").is_err());
        assert!(r.take(usize::MAX, "f").is_err());
        r.finish("g").unwrap();
    }

    #[test]
    fn cstr_requires_its_nul() {
        let mut r = Reader::new(b"ab\0cd");
        assert_eq!(r.cstr("x").unwrap(), b"ab");
        assert_eq!(r.cstr("y"), Err(NiError::MissingNul { field: "y" }));
    }

    #[test]
    fn fit_cuts_at_nul_and_char_boundary() {
        assert_eq!(fit("abc", 5), "abc");
        assert_eq!(fit("ab\0cd", 5), "ab");
        assert_eq!(fit("abcdef", 3), "abc");
        assert_eq!(fit("aé", 2), "a");
        let mut out = Vec::new();
        put_fixed(&mut out, "xy", 4);
        assert_eq!(out, b"xy\0\0");
    }
}
