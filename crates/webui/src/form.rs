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

/// The client's address, as the listener gave it (`ConnectInfo`); `0.0.0.0:0` when unknown
/// (a router driven without a listener, in tests).
pub fn peer(ext: &axum::http::Extensions) -> std::net::SocketAddr {
    ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
}

/// Why a pre-session form (the sign-in form) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreSessionRefusal {
    /// The body could not be read.
    Form(FormError),
    /// No pre-session cookie, or the form's CSRF token is not the one derived from it.
    Csrf,
}

/// Reads a form posted before any session exists (the sign-in form): its fields and the
/// client's address, once its CSRF token matches the one derived from the pre-session cookie
/// `cookie` for `purpose`.
pub async fn read_pre_session<T: DeserializeOwned>(
    req: Request,
    cookie: &str,
    purpose: &str,
) -> Result<(T, std::net::SocketAddr), PreSessionRefusal> {
    let pre = crate::cookies::get(req.headers(), cookie).unwrap_or_default();
    let from = peer(req.extensions());
    let (given, form) = read(req).await.map_err(PreSessionRefusal::Form)?;
    if pre.is_empty() || !crate::csrf::same(&given, &crate::csrf::csrf_of(purpose, &pre)) {
        return Err(PreSessionRefusal::Csrf);
    }
    Ok((form, from))
}
