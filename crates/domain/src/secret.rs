//! [`Secret`]: a value that must never reach a log, an error message or a `Debug` dump.
//!
//! One type for every credential the code holds (API tokens, route passwords, enrolment
//! tokens, private keys, hashes of secrets): its `Debug` shows only that a value is there and
//! how long it is, so a struct holding one can `#[derive(Debug)]` safely instead
//! of writing a redacting `Debug` by hand. Reading the value is explicit ([`Secret::expose`]),
//! which makes every place a secret leaves the type easy to find.

use std::fmt;

/// A secret value, masked in `Debug`. It has no `Display`: a secret written into a URL, a
/// file or a message must be taken out with [`Secret::expose`], never formatted by accident
/// (a masked `Display` once put `<redacted …>` into a link instead of failing to compile).
#[derive(Clone, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value itself: the one way out, so each use is a deliberate, greppable step.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Equality in constant time: how long a comparison takes says nothing about how many
/// leading bytes matched (only whether the lengths differ), so comparing a presented secret
/// with a stored one leaks nothing to a timing attacker.
impl<T: AsRef<[u8]>> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_ref().ct_eq(other.0.as_ref()))
    }
}

impl<T: AsRef<[u8]>> Eq for Secret<T> {}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

/// Serialises as the bare value, as if the wrapper were not there: a secret that travels (an
/// enrolment request's token) or is stored keeps its wire and file format. Masking is about
/// `Debug`, which is where values leak by accident; serialising is deliberate.
impl<T: serde::Serialize> serde::Serialize for Secret<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Reads the bare value (see the `Serialize` impl).
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// How long a secret is, for the mask: useful when debugging a wrong encoding, never the bytes.
pub trait SecretLen {
    /// Length in bytes.
    fn secret_len(&self) -> usize;
}

impl SecretLen for String {
    fn secret_len(&self) -> usize {
        self.len()
    }
}

impl SecretLen for str {
    fn secret_len(&self) -> usize {
        self.len()
    }
}

impl SecretLen for Vec<u8> {
    fn secret_len(&self) -> usize {
        self.len()
    }
}

impl<const N: usize> SecretLen for [u8; N] {
    fn secret_len(&self) -> usize {
        N
    }
}

impl<T: SecretLen + ?Sized> SecretLen for Box<T> {
    fn secret_len(&self) -> usize {
        (**self).secret_len()
    }
}

impl<T: SecretLen> SecretLen for Option<T> {
    fn secret_len(&self) -> usize {
        self.as_ref().map_or(0, SecretLen::secret_len)
    }
}

impl<T: SecretLen> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0.secret_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_show_only_the_length() {
        let s = Secret::new("pct_abc_0123456789".to_string());
        assert_eq!(format!("{s:?}"), "<redacted 18 bytes>");
        assert!(!format!("{s:#?}").contains("0123"));
        assert_eq!(s.expose(), "pct_abc_0123456789");
    }

    #[test]
    fn serde_sees_the_bare_value() {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct Body {
            token: Secret<String>,
            hostname: Option<String>,
        }
        let body = Body {
            token: Secret::new("PCE1.ab.cd.ef".into()),
            hostname: None,
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(json, r#"{"token":"PCE1.ab.cd.ef","hostname":null}"#);
        let back: Body = serde_json::from_str(&json).unwrap();
        assert_eq!(back, body);
        assert!(serde_json::from_str::<Body>(r#"{"token":7,"hostname":null}"#).is_err());
    }

    #[test]
    fn equality_compares_every_byte() {
        let s = |v: &str| Secret::new(v.to_string());
        assert_eq!(s("pct_a_0123"), s("pct_a_0123"));
        assert_ne!(s("pct_a_0123"), s("pct_a_0124"));
        assert_ne!(s("pct_a_0123"), s("xct_a_0123"));
        assert_ne!(s("pct_a_0123"), s("pct_a_012"));
        assert_eq!(Secret::new(vec![1u8, 2]), Secret::new(vec![1u8, 2]));
    }

    #[test]
    fn a_derived_debug_of_a_holder_stays_masked() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            name: &'static str,
            hash: Secret<Vec<u8>>,
        }
        let h = Holder {
            name: "ci",
            hash: Secret::new(vec![0xde, 0xad, 0xbe, 0xef]),
        };
        let shown = format!("{h:?}");
        assert!(
            shown.contains("ci") && shown.contains("<redacted 4 bytes>"),
            "{shown}"
        );
        assert!(!shown.contains("222"), "{shown}");
    }
}
