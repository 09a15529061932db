//! What an HTTP request path *means*: one parse of the request target, decided once for the
//! connector (which checks it against an entry's resources) and the hub's web entry.
//!
//! A back end that normalises paths (nginx, Apache, SAP ICM, Tomcat, IIS) serves
//! `/allowed/../secret` as `/secret`. Comparing the raw target against an allow-list is
//! therefore no check at all. [`parse_target`] turns a request target into one canonical
//! path, or refuses it when different back ends could read it differently:
//!
//! * **Forms.** Origin form (`/p?q`) and absolute form (`http://host/p?q`, reduced to its
//!   path; an authority with user information is refused). Asterisk form (`*`), authority
//!   form (`host:443`) and anything else have no path: refused.
//! * **Bytes.** Control bytes, blanks, DEL, raw non-ASCII, a raw backslash and `#` (a
//!   fragment is never part of a request target) are refused. Other printable characters
//!   outside RFC 3986's `pchar` (`" < > [ ] ^ \` { | }`) are percent-encoded: one meaning.
//! * **Escapes** (RFC 3986 §6.2.2): a malformed escape is refused; escapes of unreserved
//!   characters (`%41` `%2e` `%7E`) are decoded; the rest keep their escape with uppercase
//!   hex. Refused: an encoded `/` or `\` (`%2F`, `%5C`: a separator to some back ends, a
//!   character to others), encoded control bytes (`%00`…`%1F`, `%7F`), a double encoding
//!   (`%25` followed by two hex digits: a back end that decodes twice sees something else),
//!   and escapes that do not decode to UTF-8 (overlong forms such as `%C0%AE` are a `.` to
//!   some old decoders).
//! * **Segments.** Empty segments are merged (`//a///b` is `/a/b`; a trailing `/` stays, it
//!   names a directory); `.` and `..` are resolved, including their encoded spellings
//!   (`%2e%2E`), and a `..` that would climb above the root is refused (clamping it, as
//!   RFC 3986 does, is not what every back end does). A segment name that ends in `.` or a
//!   blank (`...`, `admin.`, `..%20`) is refused: Windows back ends (IIS) drop those, so
//!   `/admin./x` is `/admin/x` there.
//! * **Path parameters** (`;`): Tomcat, Jetty and SAP ICM take `;jsessionid=…` off every
//!   segment before mapping (`/app;x/admin` is `/app/admin` there); nginx, Apache and IIS
//!   keep it as part of the name. A segment whose name is a dot segment or empty but carries
//!   parameters (`..;x`, `.;`, `;x`) is refused: Tomcat resolves `..;` as `..`. Every other
//!   segment keeps its parameters in the forwarded path, and a resource check
//!   ([`crate::access::resource::check`]) must allow **both** readings: the path as it is and
//!   the path with each segment's parameters taken off. Whichever kind the back end is, it
//!   serves a path the resources allow.
//!
//! The query is kept as sent (its bytes are checked like the path's); it is not part of the
//! resource check.
//!
//! [`RequestTarget::match_form`] is what resources are compared with: the canonical path with
//! every escape decoded (a back end decodes `%2B` to `+`, so a suspended `/a+b` must also
//! catch `/a%2Bb`). [`RequestTarget::origin_form`] is exactly what the back end receives.

use std::fmt;

/// Longest request target accepted, in bytes.
pub const MAX_TARGET_LEN: usize = 16 * 1024;

/// Why a request target has no single meaning (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The target is empty.
    #[error("the request target is empty")]
    Empty,
    /// Longer than [`MAX_TARGET_LEN`].
    #[error("the request target is longer than {MAX_TARGET_LEN} bytes")]
    TooLong,
    /// `*` (`OPTIONS *`): no path.
    #[error("an asterisk-form request target (`*`) names no path")]
    AsteriskForm,
    /// `host:port` or anything else that is neither origin nor absolute form.
    #[error("the request target is neither a path (`/…`) nor an absolute http(s) URL")]
    NotOriginForm,
    /// An absolute-form target without a host, or with user information.
    #[error("the absolute-form request target has no host or carries user information")]
    BadAbsoluteForm,
    /// A byte no request target may hold (control, blank, DEL, non-ASCII, `#`).
    #[error("the request target holds the byte 0x{0:02X}, which no request target may hold")]
    BadByte(u8),
    /// A raw `\`.
    #[error("the request target holds a backslash: a separator to some back ends")]
    Backslash,
    /// `%` not followed by two hex digits.
    #[error("a malformed percent escape")]
    MalformedEscape,
    /// `%2F` or `%5C`.
    #[error("an encoded `/` or `\\` (%2F, %5C): a separator to some back ends")]
    EncodedSeparator,
    /// `%00`…`%1F` or `%7F`.
    #[error("an encoded control character")]
    EncodedControl,
    /// `%25` followed by two hex digits.
    #[error("a double percent encoding (%25 followed by two hex digits)")]
    DoubleEncoding,
    /// Escapes that do not decode to UTF-8.
    #[error("percent escapes that do not decode to UTF-8")]
    NotUtf8,
    /// A `..` above the root.
    #[error("a `..` segment climbs above the root")]
    AboveRoot,
    /// `..;x`, `.;x`.
    #[error("a dot segment with path parameters (`..;`): a dot segment to some back ends")]
    DotSegmentWithParams,
    /// `/;x/`.
    #[error("a segment of path parameters only (`/;…/`)")]
    EmptySegmentWithParams,
    /// A segment name ending in `.` or a blank.
    #[error("a segment that ends in `.` or a blank: Windows back ends drop those")]
    TrailingDotOrBlank,
    /// Non-ASCII on an entry whose back end folds case (its folding rules are unknown).
    #[error("a non-ASCII path on an entry whose back end ignores case")]
    NonAsciiCaseInsensitive,
}

/// A request target, parsed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget {
    path: String,
    query: Option<String>,
}

impl RequestTarget {
    /// The canonical path: starts with `/`, no dot segments, no empty segments but a
    /// trailing one, escapes canonical.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query as sent (without `?`).
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// What the back end receives: the canonical path and the query as sent.
    pub fn origin_form(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// The canonical path with every escape decoded: how a back end that keeps `;` in names
    /// reads it (nginx, Apache, IIS).
    pub fn match_form(&self) -> String {
        decode_all(&self.path)
    }

    /// Every way a back end may read the path, decoded, distinct: as it is
    /// ([`match_form`](Self::match_form)), with each segment's parameters taken off after
    /// decoding, and before decoding (Tomcat: an encoded `%3B` is part of the name there).
    /// A resource check must allow every one.
    pub fn readings(&self) -> Vec<String> {
        let plain = self.match_form();
        let mut out: Vec<String> = Vec::with_capacity(3);
        for r in [strip_params(&plain), decode_all(&strip_params(&self.path))] {
            if r != plain && !out.contains(&r) {
                out.push(r);
            }
        }
        out.insert(0, plain);
        out
    }
}

impl fmt::Display for RequestTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin_form())
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters that stand for themselves in a path (RFC 3986 `pchar` besides escapes and
/// unreserved, and the separator).
fn is_path_char(b: u8) -> bool {
    is_unreserved(b) || b"!$&'()*+,;=:@/".contains(&b)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_escape(out: &mut String, b: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

/// Parses a request target as it appears in the request line.
pub fn parse_target(target: &[u8]) -> Result<RequestTarget, PathError> {
    if target.is_empty() {
        return Err(PathError::Empty);
    }
    if target.len() > MAX_TARGET_LEN {
        return Err(PathError::TooLong);
    }
    for &b in target {
        match b {
            b'\\' => return Err(PathError::Backslash),
            b'#' => return Err(PathError::BadByte(b)),
            0x21..=0x7E => {}
            _ => return Err(PathError::BadByte(b)),
        }
    }
    if target == b"*" {
        return Err(PathError::AsteriskForm);
    }
    let absolute;
    let rest = if target.starts_with(b"/") {
        target
    } else {
        absolute = strip_absolute(target)?;
        absolute.as_slice()
    };
    let (path, query) = match rest.iter().position(|&b| b == b'?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let query = query.map(|q| String::from_utf8_lossy(q).into_owned());
    Ok(RequestTarget {
        path: normalise_path(path)?,
        query,
    })
}

/// `http://authority/rest` → `/rest` (`http://h?q` → `/?q`, `http://h` → `/`).
fn strip_absolute(target: &[u8]) -> Result<Vec<u8>, PathError> {
    let lower: Vec<u8> = target.iter().take(8).map(u8::to_ascii_lowercase).collect();
    let after = if lower.starts_with(b"http://") {
        &target[7..]
    } else if lower.starts_with(b"https://") {
        &target[8..]
    } else {
        return Err(PathError::NotOriginForm);
    };
    let end = after
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(after.len());
    let authority = &after[..end];
    if authority.is_empty() || authority.contains(&b'@') {
        return Err(PathError::BadAbsoluteForm);
    }
    let rest = &after[end..];
    if rest.first() == Some(&b'/') {
        Ok(rest.to_vec())
    } else {
        Ok([b"/".as_slice(), rest].concat())
    }
}

/// One segment with its unreserved escapes decoded and the others canonical; errors for
/// escapes with no single meaning.
fn canonical_segment(seg: &[u8]) -> Result<String, PathError> {
    let mut out = String::with_capacity(seg.len());
    let mut i = 0;
    while i < seg.len() {
        let b = seg[i];
        if b == b'%' {
            let (Some(h), Some(l)) = (
                seg.get(i + 1).copied().and_then(hex),
                seg.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(PathError::MalformedEscape);
            };
            let v = h * 16 + l;
            match v {
                b'/' | b'\\' => return Err(PathError::EncodedSeparator),
                0..=0x1F | 0x7F => return Err(PathError::EncodedControl),
                _ if is_unreserved(v) => out.push(char::from(v)),
                _ => push_escape(&mut out, v),
            }
            i += 3;
        } else {
            if is_path_char(b) {
                out.push(char::from(b));
            } else {
                push_escape(&mut out, b);
            }
            i += 1;
        }
    }
    // `%25` then two hex digits, written so or made so by decoding unreserved escapes
    // (`%25%41%41` is `%25AA`): a back end that decodes twice sees another byte. Checked on
    // the canonical form, which is what the back end receives.
    let b = out.as_bytes();
    if b.windows(5)
        .any(|w| w.starts_with(b"%25") && w[3].is_ascii_hexdigit() && w[4].is_ascii_hexdigit())
    {
        return Err(PathError::DoubleEncoding);
    }
    Ok(out)
}

/// Every escape of a canonical path decoded. Canonical paths decode to UTF-8 (checked when
/// they were made), so nothing is lost.
pub(crate) fn decode_all(path: &str) -> String {
    String::from_utf8_lossy(&decode_bytes(path.as_bytes())).into_owned()
}

fn decode_bytes(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

fn normalise_path(path: &[u8]) -> Result<String, PathError> {
    // `path` starts with '/' (origin form, or what `strip_absolute` left).
    let body = path.strip_prefix(b"/").unwrap_or(path);
    let raw: Vec<&[u8]> = body.split(|&b| b == b'/').collect();
    let mut stack: Vec<String> = Vec::with_capacity(raw.len());
    let mut trailing = false;
    for (n, seg) in raw.iter().enumerate() {
        let last = n + 1 == raw.len();
        let seg = canonical_segment(seg)?;
        match seg.as_str() {
            "" | "." => trailing = last,
            ".." => {
                if stack.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
                trailing = last;
            }
            _ => {
                check_segment(&seg)?;
                stack.push(seg);
                trailing = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for seg in &stack {
        out.push('/');
        out.push_str(seg);
    }
    if trailing || stack.is_empty() {
        out.push('/');
    }
    if std::str::from_utf8(&decode_bytes(out.as_bytes())).is_err() {
        return Err(PathError::NotUtf8);
    }
    Ok(out)
}

/// A segment that is not empty and not a dot segment: refused when one of its readings (as
/// it is, parameters taken off before or after decoding) is a dot segment, empty, or ends in
/// `.` or a blank.
fn check_segment(seg: &str) -> Result<(), PathError> {
    let raw_name = seg.split(';').next().unwrap_or_default();
    let decoded = decode_bytes(seg.as_bytes());
    let readings = [
        decode_bytes(raw_name.as_bytes()),
        decoded
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .to_vec(),
        decoded.clone(),
    ];
    for name in &readings {
        match name.as_slice() {
            b"." | b".." => return Err(PathError::DotSegmentWithParams),
            b"" => return Err(PathError::EmptySegmentWithParams),
            n if n.ends_with(b".") || n.ends_with(b" ") => {
                return Err(PathError::TrailingDotOrBlank)
            }
            _ => {}
        }
    }
    Ok(())
}

/// `path` with each segment's `;parameters` taken off.
fn strip_params(path: &str) -> String {
    path.split('/')
        .map(|seg| seg.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
#[path = "http_path_tests.rs"]
mod tests;
