//! Extractors whose rejections are JSON `{code, message}` like every other API error (axum's
//! own answer in plain text).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

use super::ApiErr;

/// A JSON request body.
#[derive(Debug)]
pub struct Body<T>(pub T);

/// A JSON request body that may be left out altogether: a request without a `Content-Type`
/// and without a body reads as `T::default()` (`curl -X POST` with no data). A body that is
/// there must be JSON, as for [`Body`].
#[derive(Debug)]
pub struct OptionalBody<T>(pub T);

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
        // Every body of this API is a JSON object. serde would also read a struct from an
        // array of its fields in order (`[null, true]`): one meaning per input, so refuse
        // anything but an object before the fields are read.
        let axum::Json(v) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|r| rejection("invalid_body", r))?;
        if !v.is_object() {
            return Err(ApiErr::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(v).map(Body).map_err(|e| {
            ApiErr::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.to_string(),
            )
        })
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiErr;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiErr> {
        if req.headers().contains_key(header::CONTENT_TYPE) {
            return Body::<T>::from_request(req, state)
                .await
                .map(|Body(v)| OptionalBody(v));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| rejection("invalid_body", r))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            Ok(OptionalBody(T::default()))
        } else {
            Err(ApiErr::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_body",
                "send the body as JSON with Content-Type: application/json, or send none",
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Ttl {
        ttl_minutes: Option<i64>,
    }

    async fn read(content_type: Option<&str>, body: &str) -> Result<Ttl, ApiErr> {
        let mut req = axum::http::Request::post("/");
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(axum::body::Body::from(body.to_owned())).unwrap();
        OptionalBody::<Ttl>::from_request(req, &())
            .await
            .map(|OptionalBody(v)| v)
    }

    #[tokio::test]
    async fn an_optional_body_may_be_left_out_but_not_be_anything_but_json() {
        assert_eq!(read(None, "").await.unwrap(), Ttl::default());
        assert_eq!(read(None, " \r\n").await.unwrap(), Ttl::default());
        let json = Some("application/json");
        assert_eq!(
            read(json, r#"{"ttl_minutes": 5}"#).await.unwrap(),
            Ttl {
                ttl_minutes: Some(5)
            }
        );
        assert_eq!(read(json, "{}").await.unwrap(), Ttl::default());
        let e = read(None, r#"{"ttl_minutes": 5}"#).await.unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_body")
        );
        let e = read(json, r#"{"ttl": 5}"#).await.unwrap_err();
        assert_eq!(e.code, "invalid_body", "unknown fields are refused");
        let e = read(json, "").await.unwrap_err();
        assert_eq!(
            e.code, "invalid_body",
            "a JSON content type needs a JSON body"
        );
        let e = read(Some("text/plain"), "ttl=5").await.unwrap_err();
        assert_eq!(e.code, "invalid_body");
    }
}
