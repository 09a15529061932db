//! API errors: a stable code and message for the client, the cause in the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_proto::enroll::ApiError;
use portcullis_store::StoreError;

use crate::auth::AuthError;

/// An error answer.
#[derive(Debug)]
pub struct ApiErr {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Message for the client; never contains internals.
    pub message: String,
}

impl ApiErr {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiErr {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 naming what is missing.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 403.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token may not do that",
        )
    }

    /// 400.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500; the cause goes to the log under a fresh id the client can quote.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4();
        tracing::error!(error_id = %id, cause = %cause, "internal API error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error (id {id})"),
        )
    }
}

impl From<StoreError> for ApiErr {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiErr::not_found(what),
            StoreError::Conflict(m) => ApiErr::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Revoked(what) => ApiErr::new(
                StatusCode::CONFLICT,
                "revoked",
                format!("the {what} is revoked"),
            ),
            StoreError::Expired | StoreError::AlreadyUsed => {
                ApiErr::new(StatusCode::GONE, "token_spent", e.to_string())
            }
            StoreError::StorageFull(cause) => {
                tracing::error!(error = %cause, "storage full: a write was refused");
                ApiErr::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_full",
                    "the hub's storage is full: nothing was changed; reading still works; \
                     try again once the operator has freed space",
                )
            }
            other => ApiErr::internal(&chain(&other)),
        }
    }
}

/// An error with its sources, `a: b: c`, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl From<AuthError> for ApiErr {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => ApiErr::internal(&s),
            // The secret was right: telling its holder what the credential is for leaks nothing.
            AuthError::RoutePassword => {
                tracing::info!("API request with a route password refused");
                ApiErr::new(
                    StatusCode::FORBIDDEN,
                    "route_password",
                    "this is a route password: use it only as a connection password (the /W/ \
                     password of an SAP route string, or the SOCKS5 or HTTP proxy password); \
                     the REST API takes API tokens",
                )
            }
            other => {
                tracing::info!(reason = %other, "API authentication failed");
                ApiErr::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "the token is invalid, expired or revoked",
                )
            }
        }
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let body = ApiError {
            code: self.code.into(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<crate::ops::OpError> for ApiErr {
    fn from(e: crate::ops::OpError) -> Self {
        use crate::ops::OpError;
        match e {
            OpError::NotFound(what) => ApiErr::not_found(what),
            OpError::Forbidden { code, message } => {
                ApiErr::new(StatusCode::FORBIDDEN, code, message)
            }
            OpError::Invalid { code, message } => ApiErr::bad_request(code, message),
            OpError::Unprocessable { code, message } => {
                ApiErr::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            OpError::Conflict(message) => ApiErr::new(StatusCode::CONFLICT, "conflict", message),
            OpError::Internal(cause) => ApiErr::internal(&cause),
            OpError::Store(s) => s.into(),
        }
    }
}
