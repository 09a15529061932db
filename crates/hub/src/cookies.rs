//! Reading cookies from request headers: one reading for the web entry and the portal.

use axum::http::{header, HeaderMap};

/// The value of cookie `name` in the request's `Cookie` headers (the first, if repeated).
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
