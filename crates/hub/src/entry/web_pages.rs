//! The web entry's own pages and the rules its answers follow: the login form that takes
//! the one-time ticket by POST, the logout form with its CSRF token, form bodies, and where a
//! back end's redirect may point.
//!
//! **The ticket never travels in a URL query.** The link the API hands out is
//! `https://<service origin>/_portcullis/login#ticket=T`: a browser never sends the fragment,
//! so no request line, proxy or access log holds the ticket. The login page is a form that
//! POSTs the ticket; a few lines of script fill it from the fragment and submit it, and
//! without JavaScript the page says to paste the part after `#ticket=` into the field and
//! press the button. A `GET …/login?ticket=T` is refused, and that ticket is spent: it was
//! exposed.
//!
//! **Logout** is `POST /_portcullis/logout` with a CSRF token: SHA-256 of the session secret
//! under a fixed label, so it is bound to the session, never stored, and compared in
//! constant time. `GET /_portcullis/logout` shows the form (a button, no script).
//!
//! **Redirects** from the back end stay on the service's own origin: a `Location` on the
//! virtual host becomes its path; a path (`/x`) or a relative reference (`x`, `../x`, `?q`)
//! stays; anything else is refused with 502 and a message naming it: another host or scheme,
//! a protocol-relative `//host`, and anything with a backslash, a blank or a control
//! character (browsers read `/\host` and `/\t/host` as `//host`).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Redeems a link.
pub const LOGIN_PATH: &str = "/_portcullis/login";
/// Ends the web session.
pub const LOGOUT_PATH: &str = "/_portcullis/logout";

/// An answer of the web entry.
pub type Resp = Response<BoxBody<Bytes, hyper::Error>>;

/// Longest form body read (a ticket or a CSRF token, with room to spare).
pub const MAX_FORM: usize = 4096;

/// The script of the login page: fill the ticket from the fragment, drop the fragment from
/// the address bar and history, submit.
const LOGIN_SCRIPT: &str = "var m=/[#&]ticket=([0-9a-f]+)/.exec(location.hash);\
if(m){document.getElementById('ticket').value=m[1];\
history.replaceState(null,'',location.pathname);\
document.getElementById('login').submit();}";

/// An HTML page with the headers every page of ours carries.
pub fn html(status: StatusCode, title: &str, body: &str, script: Option<&str>) -> Resp {
    let script_tag = script.map_or(String::new(), |s| format!("<script>{s}</script>"));
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title></head><body>{body}{script_tag}</body></html>\n",
        escape(title)
    );
    let mut r = Response::new(
        Full::new(Bytes::from(page))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let script_src = script.map_or("'none'".to_owned(), |s| {
        use base64::Engine;
        let digest = Sha256::digest(s.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    });
    if let Ok(v) = HeaderValue::from_str(&format!(
        "default-src 'none'; script-src {script_src}; form-action 'self'; frame-ancestors 'none'"
    )) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// `&`, `<`, `>`, `"` and `'` as entities (`portcullis_webui::sanitize::escape`).
pub use portcullis_webui::sanitize::escape;

/// The login form (`GET /_portcullis/login`).
pub fn login_form(label: &str) -> Resp {
    let body = format!(
        "<h1>Open {}</h1>\
         <form id=\"login\" method=\"post\" action=\"{LOGIN_PATH}\">\
         <p><label for=\"ticket\">Ticket (the part of your link after <code>#ticket=</code>)</label><br>\
         <input id=\"ticket\" name=\"ticket\" autocomplete=\"off\" size=\"70\"></p>\
         <p><button type=\"submit\">Open the service</button></p></form>",
        escape(label)
    );
    let mut r = html(
        StatusCode::OK,
        "Portcullis web entry",
        &body,
        Some(LOGIN_SCRIPT),
    );
    // Not `no-referrer`: under it a browser sends `Origin: null` with the form's POST, and
    // the entry, which refuses a ticket sent from another site's page, could not tell this
    // page from one. `same-origin` gives the origin to this origin only (a referrer never
    // holds the fragment, and the script drops it from the address before it submits).
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// The logout form (`GET /_portcullis/logout`), with the session's CSRF token.
pub fn logout_form(label: &str, csrf: &str) -> Resp {
    let body = format!(
        "<h1>Sign out of {}</h1>\
         <form method=\"post\" action=\"{LOGOUT_PATH}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><button type=\"submit\">Sign out</button></p></form>",
        escape(label),
        escape(csrf)
    );
    html(StatusCode::OK, "Portcullis web entry", &body, None)
}

/// The CSRF token of the web session whose cookie secret is `secret`.
pub fn csrf_token(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"portcullis web logout csrf\0");
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is the CSRF token of `secret`, compared in constant time.
pub fn csrf_ok(given: &str, secret: &str) -> bool {
    let want = csrf_token(secret);
    given.len() == want.len() && bool::from(given.as_bytes().ct_eq(want.as_bytes()))
}

/// Field `name` of an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (form_decode(k)? == name).then(|| form_decode(v)).flatten()
    })
}

fn form_decode(s: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// What becomes of a back end's `Location`.
#[derive(Debug, PartialEq, Eq)]
pub enum Redirect {
    /// Stays as it is (a path or relative reference on the service's origin).
    Keep,
    /// Becomes this path (it pointed at the virtual host).
    Path(String),
    /// Points off the service's origin: refused.
    Refuse,
}

/// Decides a `Location` against the service's virtual `authority` (`host:port`).
pub fn redirect(location: &str, authority: &str) -> Redirect {
    if location
        .bytes()
        .any(|b| b == b'\\' || b.is_ascii_whitespace() || b.is_ascii_control() || b >= 0x80)
    {
        return Redirect::Refuse;
    }
    if location.starts_with("//") {
        return Redirect::Refuse;
    }
    if location.starts_with('/') {
        return Redirect::Keep;
    }
    let scheme_end = location.find(':');
    let first_delim = location.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, first_delim) {
        (Some(c), Some(d)) => c < d,
        (Some(_), None) => true,
        _ => false,
    };
    if !has_scheme {
        // `x`, `../x`, `?q`, `#f`: relative to the page, on the same origin.
        return Redirect::Keep;
    }
    let Ok(uri) = location.parse::<http::Uri>() else {
        return Redirect::Refuse;
    };
    let default_port = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") => 80,
        Some(s) if s.eq_ignore_ascii_case("https") => 443,
        _ => return Redirect::Refuse,
    };
    let (Some(host), Some(a)) = (uri.host(), uri.authority()) else {
        return Redirect::Refuse;
    };
    if a.as_str().contains('@') {
        return Redirect::Refuse;
    }
    let (virtual_host, virtual_port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (authority, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let virtual_host = virtual_host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(default_port);
    if !host.eq_ignore_ascii_case(virtual_host) || virtual_port.is_some_and(|p| p != port) {
        return Redirect::Refuse;
    }
    Redirect::Path(
        uri.path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_the_service_origin() {
        let a = "erp.internal:80";
        assert_eq!(
            redirect("http://erp.internal/landing?x=1", a),
            Redirect::Path("/landing?x=1".into())
        );
        assert_eq!(
            redirect("http://ERP.internal:80/", a),
            Redirect::Path("/".into())
        );
        for keep in ["/relative", "landing", "../up", "?q=1", "#top", "/a:b"] {
            assert_eq!(redirect(keep, a), Redirect::Keep, "{keep}");
        }
        for refuse in [
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "/\t/evil.example",
            "https://evil.example/",
            "http://erp.internal:8080/",
            "http://user@erp.internal/",
            "javascript:alert(1)",
            "data:text/html,x",
            "ftp://erp.internal/",
            "http://erp.internal\u{e9}/",
        ] {
            assert_eq!(redirect(refuse, a), Redirect::Refuse, "{refuse:?}");
        }
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let t = csrf_token("secret-a");
        assert!(csrf_ok(&t, "secret-a"));
        assert!(!csrf_ok(&t, "secret-b"));
        assert!(!csrf_ok("", "secret-a"));
        assert!(!csrf_ok(&t[..10], "secret-a"));
    }

    #[test]
    fn form_fields_decode() {
        assert_eq!(
            form_field(b"a=1&ticket=ab%63d+e", "ticket").as_deref(),
            Some("abcd e")
        );
        assert_eq!(form_field(b"ticket=", "ticket").as_deref(), Some(""));
        assert_eq!(form_field(b"x=1", "ticket"), None);
        assert_eq!(form_field(b"ticket=%zz", "ticket"), None);
        assert_eq!(form_field(b"ticket=%4", "ticket"), None);
    }

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
