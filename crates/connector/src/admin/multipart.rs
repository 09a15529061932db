//! Uploads: a `multipart/form-data` form (a file input needs it) read from a bounded body,
//! with the same CSRF check as every other form ([`super::session::Posted`]).
//!
//! Why a small parser of our own: the admin UI's uploads are a handful of fields and one or two
//! small files (PEM, PKCS#12), the whole body is read into memory under [`MAX_UPLOAD`] anyway,
//! and a streaming parser would be a new dependency for the connector and its fuzz build.
//! Every failure is a [`MultipartError`] (400), never a panic: the input is untrusted.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_webui::csrf;

use super::render;
use super::session::{csrf_refused, signed, Signed};
use super::state::Admin;

/// Largest upload body: a PKCS#12 file of the CLI's limit (1 MiB) and the form's fields.
pub const MAX_UPLOAD: usize = (1 << 20) + 64 * 1024;

/// Most parts a form may have.
const MAX_PARTS: usize = 16;

/// Why an upload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultipartError {
    /// Not `multipart/form-data` with a boundary.
    #[error("The form is not multipart/form-data.")]
    NotMultipart,
    /// The body is longer than [`MAX_UPLOAD`].
    #[error("The upload is too large (at most 1 MiB).")]
    TooLarge,
    /// The body does not follow the format.
    #[error("The upload could not be read ({0}).")]
    Malformed(&'static str),
}

/// One field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field's name.
    pub name: String,
    /// The file's name, for a file input.
    pub filename: Option<String>,
    /// The content.
    pub data: Vec<u8>,
}

/// The fields of an uploaded form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(pub Vec<Part>);

impl Fields {
    /// The content of field `name` (the first of that name), `None` when missing or empty (a
    /// file input without a chosen file sends an empty part).
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.data.as_slice())
            .filter(|d| !d.is_empty())
    }

    /// Field `name` as text (empty when missing, or not UTF-8).
    pub fn text(&self, name: &str) -> String {
        self.bytes(name)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
            .to_owned()
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty() && v.len() <= 70).then(|| v.to_owned())
    })
}

/// A `Content-Disposition: form-data; name="…"; filename="…"` parameter.
fn param(disposition: &str, key: &str) -> Option<String> {
    disposition.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Parses a `multipart/form-data` body.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Fields, MultipartError> {
    let b = boundary(content_type).ok_or(MultipartError::NotMultipart)?;
    let open = format!("--{b}");
    let next = format!("\r\n--{b}");
    let mut at = find(body, open.as_bytes(), 0).ok_or(MultipartError::Malformed("no boundary"))?
        + open.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..).ok_or(MultipartError::Malformed("cut off"))?;
        if rest.starts_with(b"--") {
            return Ok(Fields(parts));
        }
        if !rest.starts_with(b"\r\n") {
            return Err(MultipartError::Malformed("a boundary without CRLF"));
        }
        at += 2;
        let head_end =
            find(body, b"\r\n\r\n", at).ok_or(MultipartError::Malformed("a part without head"))?;
        let head = std::str::from_utf8(&body[at..head_end])
            .map_err(|_| MultipartError::Malformed("a head that is not UTF-8"))?;
        let disposition = head
            .split("\r\n")
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(v.trim())
            })
            .ok_or(MultipartError::Malformed("a part without name"))?;
        let name =
            param(disposition, "name").ok_or(MultipartError::Malformed("a nameless part"))?;
        let start = head_end + 4;
        let end = find(body, next.as_bytes(), start)
            .ok_or(MultipartError::Malformed("a part without end"))?;
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::Malformed("too many fields"));
        }
        parts.push(Part {
            name,
            filename: param(disposition, "filename"),
            data: body[start..end].to_vec(),
        });
        at = end + next.len();
    }
}

/// An upload by a signed-in browser with the right CSRF token and no duty left.
#[derive(Debug)]
pub struct Uploaded {
    /// The session.
    pub signed: Signed,
    /// The form's fields.
    pub fields: Fields,
}

impl FromRequest<Admin> for Uploaded {
    type Rejection = Response;

    async fn from_request(req: Request, st: &Admin) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let signed = signed(&parts, st).await?;
        if signed.actor.must_change {
            return Err(Redirect::to("/password").into_response());
        }
        let bad = |e: MultipartError| render::message(StatusCode::BAD_REQUEST, &e.to_string());
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(body, MAX_UPLOAD).await.map_err(|_| {
            render::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                &MultipartError::TooLarge.to_string(),
            )
        })?;
        let fields = parse(&content_type, &bytes).map_err(bad)?;
        if !csrf::same(&fields.text("csrf"), &signed.csrf) {
            return Err(csrf_refused());
        }
        Ok(Uploaded { signed, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=----x1";

    #[test]
    fn fields_and_files_are_read() {
        let body = b"------x1\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
------x1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ca.pem\"\r\n\
Content-Type: application/octet-stream\r\n\r\n-----BEGIN\r\n\r\nx\r\n------x1--\r\n";
        let f = parse(CT, body).unwrap();
        assert_eq!(f.text("csrf"), "abc");
        assert_eq!(f.bytes("file"), Some(&b"-----BEGIN\r\n\r\nx"[..]));
        assert_eq!(f.0[1].filename.as_deref(), Some("ca.pem"));
        assert_eq!(f.bytes("missing"), None);
        assert_eq!(
            boundary("multipart/form-data; boundary=\"q\"").as_deref(),
            Some("q")
        );
    }

    #[test]
    fn garbage_is_refused_without_a_panic() {
        assert_eq!(
            parse("application/x-www-form-urlencoded", b"a=b"),
            Err(MultipartError::NotMultipart)
        );
        for body in [
            &b""[..],
            b"------x1",
            b"------x1\r\n",
            b"------x1\r\nContent-Disposition: form-data\r\n\r\nv\r\n------x1--",
            b"------x1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            b"------x1xx",
        ] {
            assert!(parse(CT, body).is_err(), "{body:?}");
        }
        let many: Vec<u8> = (0..=MAX_PARTS)
            .flat_map(|_| {
                b"------x1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n".to_vec()
            })
            .chain(b"------x1--".to_vec())
            .collect();
        assert!(parse(CT, &many).is_err());
    }
}
