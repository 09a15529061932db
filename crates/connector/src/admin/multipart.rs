//! Uploads: a `multipart/form-data` form (a file input needs it) read from a bounded body,
//! with the same CSRF check as every other form ([`super::session::Posted`]).
//!
//! The admin UI's uploads are a handful of fields and one or two small files (PEM, PKCS#12):
//! the body is read into memory under [`MAX_UPLOAD`], then parsed by `multer` (well kept, the
//! parser behind axum's multipart extractor). Every failure is a [`MultipartError`] (400),
//! never a panic: the input is untrusted.

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

/// Parses a `multipart/form-data` body with `multer` (the parser axum's own extractor uses):
/// at most [`MAX_PARTS`] fields, the whole body already bounded by [`MAX_UPLOAD`].
pub async fn parse(content_type: &str, body: bytes::Bytes) -> Result<Fields, MultipartError> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| MultipartError::NotMultipart)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let limits = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(MAX_UPLOAD as u64));
    let mut form = multer::Multipart::with_constraints(stream, boundary, limits);
    let mut parts = Vec::new();
    let malformed = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            MultipartError::TooLarge
        }
        _ => MultipartError::Malformed("not a well-formed multipart/form-data body"),
    };
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::Malformed("too many fields"));
        }
        let name = field
            .name()
            .ok_or(MultipartError::Malformed("a nameless part"))?
            .to_owned();
        let filename = field.file_name().map(str::to_owned);
        let data = field.bytes().await.map_err(malformed)?.to_vec();
        parts.push(Part {
            name,
            filename,
            data,
        });
    }
    Ok(Fields(parts))
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
        let fields = parse(&content_type, bytes).await.map_err(bad)?;
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

    fn parse(ct: &str, body: &[u8]) -> Result<Fields, MultipartError> {
        let body = bytes::Bytes::copy_from_slice(body);
        futures_util::FutureExt::now_or_never(super::parse(ct, body)).expect("no waiting")
    }

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
