//! Extractors whose rejections are JSON `{code, message}` like every other API error (axum's
//! own answer in plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

use super::ApiErr;

/// A JSON request body.
#[derive(Debug)]
pub struct Body<T>(pub T);

/// A query string.
#[derive(Debug)]
pub struct Query<T>(pub T);

/// Path parameters.
#[derive(Debug)]
pub struct Path<T>(pub T);

fn rejection(code: &'static str, r: impl IntoResponse + std::fmt::Display) -> ApiErr {
    let message = r.to_string();
    let status = r.into_response().status();
    ApiErr::new(status, code, message)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiErr;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiErr> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Body(v))
            .map_err(|r| rejection("invalid_body", r))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiErr> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|r| rejection("invalid_query", r))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiErr> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|r| rejection("invalid_path", r))
    }
}
