//! Reading a posted form: its CSRF field and its fields, from a bounded body.

use axum::extract::Request;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Largest form body accepted.
pub const MAX_FORM: usize = 64 * 1024;

/// Why a form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// The body is longer than [`MAX_FORM`].
    #[error("The form is too large.")]
    TooLarge,
    /// The body is no form, or a field is not what the page expects.
    #[error("The form could not be read{0}.")]
    Unreadable(String),
}

impl FormError {
    /// The answer's status: 413 or 400.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            FormError::TooLarge => axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            FormError::Unreadable(_) => axum::http::StatusCode::BAD_REQUEST,
        }
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// Reads a form body: its `csrf` field (empty when missing) and its fields as `T`.
pub async fn read<T: DeserializeOwned>(req: Request) -> Result<(String, T), FormError> {
    let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM)
        .await
        .map_err(|_| FormError::TooLarge)?;
    let c: CsrfField =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| FormError::Unreadable(String::new()))?;
    let form: T = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| FormError::Unreadable(format!(": {e}")))?;
    Ok((c.csrf, form))
}
