//! Cookies: reading one from a request, and the `Set-Cookie` of a `__Host-` session cookie.
//!
//! A session cookie is `Secure`, `HttpOnly`, `SameSite=Strict`, `Path=/` and has no `Domain`
//! (the `__Host-` prefix makes the browser insist on all of that but `HttpOnly` and
//! `SameSite`).

use axum::http::{header, HeaderMap, HeaderValue};

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

/// `Set-Cookie` for session cookie `name` holding `value`; `None` removes it.
pub fn session_cookie(name: &str, value: Option<&str>) -> HeaderValue {
    let v = match value {
        Some(c) => format!("{name}={c}; Path=/; Secure; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_read_by_name_and_set_strictly() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-x=two"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("__Host-x=three"));
        assert_eq!(get(&h, "__Host-x").as_deref(), Some("two"));
        assert_eq!(get(&h, "a").as_deref(), Some("1"));
        assert_eq!(get(&h, "b"), None);
        let set = session_cookie("__Host-x", Some("v"));
        let set = set.to_str().unwrap();
        for part in [
            "__Host-x=v",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(set.contains(part), "{set}");
        }
        assert!(session_cookie("__Host-x", None)
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
    }
}
