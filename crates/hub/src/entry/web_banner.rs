//! The banner the web entry puts on a service's pages: which company and system the browser
//! is in (SID, connection type), until when the window is open (UTC), and a sign-out link.
//!
//! **Where.** Only into a page a person navigates to: an answer with `Content-Type:
//! text/html` to a request that is not `HEAD` and whose `Sec-Fetch-Dest` is `document` (or
//! absent: older browsers, scripts). An HTML fragment a page fetches for itself
//! (`Sec-Fetch-Dest: empty`, e.g. htmx, XHR), a frame's document, a `204`, `205`, `206`,
//! `304` or any other `1xx`/`3xx` answer, and every non-HTML answer pass byte for byte.
//!
//! **How.** Right after the opening `<body …>` tag (comments, scripts and styles before it
//! are skipped); without one after `</head>`, after a leading `<!doctype …>`, or else at the
//! start. Editing needs the body as it is: the entry asks the service for it uncompressed
//! (`Accept-Encoding: identity` on the requests that may get a banner, see [`wanted`]; the
//! other requests keep the browser's `Accept-Encoding`, so scripts and styles still travel
//! compressed) and edits only an answer without `Content-Encoding` (or `identity`). It reads
//! at most [`MAX_HTML`] bytes: a larger page, or one a service compressed anyway, passes
//! unchanged. An edited answer gets its new `Content-Length`, loses `ETag` and
//! `Last-Modified` (validators of a body it no longer has) and is `no-store` (it shows the
//! session's window, which the next page must show as it is then).
//!
//! **What.** Plain HTML, no script, no inline style: a service's Content-Security-Policy may
//! forbid both, and the banner works without JavaScript. Its look comes from
//! [`CSS_PATH`], a stylesheet the entry serves on every service's origin (embedded in the
//! binary). Everything shown is escaped, and every character outside ASCII is written as a
//! character reference, so the banner reads the same in a page of any ASCII-compatible
//! charset; a page declared as UTF-16 is not edited.

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, BodyStream, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use time::OffsetDateTime;

use super::web_pages::{escape, Resp, LOGOUT_PATH};
use crate::state::State;
use crate::web::Binding;

/// The banner's stylesheet, on every service's origin.
pub const CSS_PATH: &str = "/_portcullis/banner.css";
/// The largest HTML body the entry reads to put the banner in; a larger one passes as it is.
pub const MAX_HTML: usize = 4 * 1024 * 1024;
/// The banner element's id: its stylesheet's anchor, and what tests look for.
pub const ID: &str = "portcullis-banner";

const CSS: &str = include_str!("../../assets/web/banner.css");

/// `GET /_portcullis/banner.css`: the banner's stylesheet (no session needed: it holds
/// nothing of anyone's).
pub fn stylesheet(method: &Method) -> Resp {
    let body = if *method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(CSS.as_bytes())
    };
    let mut r = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(CSS.len()));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Whether the answer to a request with `method` and `headers` may get a banner: a page a
/// person navigates to. For those the entry asks the service for an uncompressed answer.
pub fn wanted(method: &Method, headers: &HeaderMap) -> bool {
    if *method == Method::HEAD {
        return false;
    }
    match headers.get("sec-fetch-dest") {
        None => true,
        Some(v) => v.as_bytes().eq_ignore_ascii_case(b"document"),
    }
}

/// Whether an answer with `status` and `headers` is a page the banner may go into.
pub fn editable(status: StatusCode, headers: &HeaderMap) -> bool {
    if status.is_informational()
        || status.is_redirection()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::RESET_CONTENT | StatusCode::PARTIAL_CONTENT
        )
    {
        return false;
    }
    let Some(ctype) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut params = ctype.split(';');
    let essence = params.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("text/html") {
        return false;
    }
    let utf16 = params.any(|p| {
        p.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("charset")
                && v.trim()
                    .trim_matches('"')
                    .to_ascii_lowercase()
                    .starts_with("utf-16")
        })
    });
    if utf16 {
        return false;
    }
    let identity = headers.get_all(header::CONTENT_ENCODING).iter().all(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .all(|c| c.trim().is_empty() || c.trim().eq_ignore_ascii_case("identity"))
        })
    });
    if !identity {
        return false;
    }
    // A declared length past the cap is not read at all.
    match headers.get(header::CONTENT_LENGTH) {
        None => true,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .is_some_and(|n| n <= MAX_HTML as u64),
    }
}

/// What the banner shows.
#[derive(Debug, Clone)]
pub struct Banner<'a> {
    /// The customer company's name.
    pub company: &'a str,
    /// The system's SID.
    pub sid: &'a str,
    /// The connection type, as people read it.
    pub connection_type: &'a str,
    /// Until when the session may run.
    pub until: Until,
}

/// Until when the session may run, as the banner says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The window's end.
    Window(OffsetDateTime),
    /// A technical user's standing grant: no end of its own.
    Grant,
    /// The window could not be read now (the store failed): said so, not guessed.
    Unknown,
}

/// `s` escaped for HTML text and attributes, every character outside ASCII as a character
/// reference.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape(s).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("&#x{:x};", u32::from(c)));
        }
    }
    out
}

fn minute(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

impl Banner<'_> {
    /// The banner's HTML: its stylesheet link and the element.
    pub fn html(&self) -> String {
        let until = match self.until {
            Until::Window(t) => {
                let m = minute(t);
                let iso = m.replace(' ', "T");
                format!(
                    "Window open until <time datetime=\"{iso}Z\" data-portcullis-until=\"{m} UTC\">{m} UTC</time>"
                )
            }
            Until::Grant => "Standing grant (no window)".to_owned(),
            Until::Unknown => "Window end unknown right now".to_owned(),
        };
        format!(
            "<link rel=\"stylesheet\" href=\"{CSS_PATH}\">\
             <aside id=\"{ID}\" aria-label=\"Portcullis session\">\
             <span class=\"portcullis-banner-brand\">Portcullis</span> \
             <span class=\"portcullis-banner-what\"><strong>{}</strong> &#xb7; \
             System <strong data-portcullis-sid>{}</strong> &#xb7; {}</span> \
             <span class=\"portcullis-banner-until\">{until}</span> \
             <a class=\"portcullis-banner-out\" href=\"{LOGOUT_PATH}\">Sign out</a>\
             </aside>",
            text(self.company),
            text(self.sid),
            text(self.connection_type),
        )
    }
}

/// Where in `html` the banner goes: after the opening `<body …>` tag; without one after
/// `</head>`, else after a leading `<!doctype …>`, else at 0.
pub fn insertion_point(html: &[u8]) -> usize {
    let lower = |i: usize, word: &[u8]| {
        html.get(i..i + word.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(word))
    };
    // The end of a tag name: what may follow `<body`, `<script` …
    let ends_name = |i: usize| {
        html.get(i)
            .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
    };
    let find = |from: usize, needle: &[u8]| {
        (from..html.len().saturating_sub(needle.len() - 1)).find(|&i| lower(i, needle))
    };
    let mut head_end = None;
    let mut i = 0;
    while i < html.len() {
        if html[i] != b'<' {
            i += 1;
            continue;
        }
        if lower(i, b"<!--") {
            i = find(i + 4, b"-->").map_or(html.len(), |e| e + 3);
            continue;
        }
        if lower(i, b"<body") && ends_name(i + 5) {
            return tag_end(html, i + 5).unwrap_or(html.len());
        }
        if lower(i, b"</head") && ends_name(i + 6) && head_end.is_none() {
            head_end = tag_end(html, i + 6);
        }
        let raw = [&b"script"[..], b"style", b"title", b"textarea", b"template"]
            .into_iter()
            .find(|w| lower(i + 1, w) && ends_name(i + 1 + w.len()));
        if let Some(w) = raw {
            // Raw text up to the closing tag: a "<body" inside it is no tag.
            let close = [b"</", w].concat();
            i = find(i + 1 + w.len(), &close).unwrap_or(html.len());
            i += close.len();
            continue;
        }
        i += 1;
    }
    if let Some(e) = head_end {
        return e;
    }
    let start = html
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let start = if html[start..].starts_with(b"\xef\xbb\xbf") {
        start + 3
    } else {
        start
    };
    if lower(start, b"<!doctype") {
        return tag_end(html, start).unwrap_or(0);
    }
    0
}

/// The index after the `>` that ends the tag whose attributes start at `from` (quoted values
/// may hold `>`).
fn tag_end(html: &[u8], from: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in html.iter().enumerate().skip(from) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// `html` with `banner` inserted.
pub fn insert(html: &[u8], banner: &str) -> Vec<u8> {
    let at = insertion_point(html);
    let mut out = Vec::with_capacity(html.len() + banner.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(banner.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

/// The service's answer (`parts` and `body`, already [`editable`]) with `banner` in it: the
/// body read up to [`MAX_HTML`]; a longer one (or one with trailers) goes on unchanged, what
/// was read first and then the rest.
pub async fn inject(
    mut parts: http::response::Parts,
    mut body: Incoming,
    banner: &str,
) -> Result<Resp, hyper::Error> {
    let mut read: Vec<Frame<Bytes>> = Vec::new();
    let mut len = 0usize;
    let mut whole = true;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        match frame.data_ref() {
            Some(d) => len += d.len(),
            None => whole = false,
        }
        read.push(frame);
        if !whole || len > MAX_HTML {
            whole = false;
            break;
        }
    }
    if !whole {
        let rest = BodyStream::new(body);
        let stream = futures_util::stream::iter(read.into_iter().map(Ok)).chain(rest);
        return Ok(Response::from_parts(
            parts,
            BodyExt::boxed(StreamBody::new(stream)),
        ));
    }
    let mut html = Vec::with_capacity(len);
    for f in read {
        if let Ok(d) = f.into_data() {
            html.extend_from_slice(&d);
        }
    }
    let edited = insert(&html, banner);
    let h = &mut parts.headers;
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(edited.len()));
    h.remove(header::ETAG);
    h.remove(header::LAST_MODIFIED);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Response::from_parts(
        parts,
        Full::new(Bytes::from(edited))
            .map_err(|never| match never {})
            .boxed(),
    ))
}

/// Until when the session through `window` may run, read now (an extended window shows its
/// new end on the next page).
async fn until(state: &State, window: Option<i64>) -> Until {
    let Some(id) = window else {
        return Until::Grant;
    };
    match state.store.get_window(id).await {
        Ok(Some(w)) => Until::Window(w.closed_at.map_or(w.end_at, |c| c.min(w.end_at))),
        Ok(None) => Until::Unknown,
        Err(e) => {
            tracing::warn!(window = id, error = %e, "web entry: the banner could not read the window");
            Until::Unknown
        }
    }
}

/// The service's page (`parts` and `body`, already [`editable`]) with the banner of the web
/// session `b`, whose session runs through `window`.
pub async fn with_banner(
    state: &State,
    b: &Binding,
    window: Option<i64>,
    parts: http::response::Parts,
    body: Incoming,
) -> Result<Resp, hyper::Error> {
    let html = Banner {
        company: &b.company,
        sid: &b.sid,
        connection_type: &b.connection_type,
        until: until(state, window).await,
    }
    .html();
    inject(parts, body, &html).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(html: &str) -> String {
        let i = insertion_point(html.as_bytes());
        format!("{}|{}", &html[..i], &html[i..])
    }

    #[test]
    fn the_banner_goes_right_after_the_body_tag() {
        assert_eq!(
            at("<!doctype html><html><head><title>x</title></head><body class=\"a>b\" id='c'><p>hi"),
            "<!doctype html><html><head><title>x</title></head><body class=\"a>b\" id='c'>|<p>hi"
        );
        assert_eq!(at("<BODY>x"), "<BODY>|x");
        assert_eq!(at("<body/>x"), "<body/>|x");
        // Not a body tag: another name, a comment, a script's or a title's text.
        assert_eq!(at("<bodyx><body>y"), "<bodyx><body>|y");
        assert_eq!(
            at("<!-- <body> --><script>var s='<body>';</script><title><body></title><body>z"),
            "<!-- <body> --><script>var s='<body>';</script><title><body></title><body>|z"
        );
        // No body tag: after </head>, else after the doctype, else first.
        assert_eq!(at("<head></head><p>x"), "<head></head>|<p>x");
        assert_eq!(
            at("\u{feff}<!DOCTYPE html><p>x"),
            "\u{feff}<!DOCTYPE html>|<p>x"
        );
        assert_eq!(at("  <!doctype html>"), "  <!doctype html>|");
        assert_eq!(at("<p>x"), "|<p>x");
        assert_eq!(at(""), "|");
        // Unfinished markup never panics.
        for odd in [
            "<body",
            "<!--",
            "<script>",
            "<body a='>",
            "<",
            "</head",
            "<!doctype",
        ] {
            let _ = insertion_point(odd.as_bytes());
        }
    }

    #[test]
    fn what_the_banner_shows_is_escaped_and_ascii() {
        let b = Banner {
            company: "acme",
            sid: "PRD",
            connection_type: "Fiori <b>\"x\" & Über",
            // 2026-12-24 08:00:59 UTC
            until: Until::Window(OffsetDateTime::from_unix_timestamp(1_798_099_259).unwrap()),
        }
        .html();
        assert!(
            b.contains("Fiori &lt;b&gt;&quot;x&quot; &amp; &#xdc;ber"),
            "{b}"
        );
        assert!(b.contains(">2026-12-24 08:00 UTC</time>"), "{b}");
        assert!(b.contains("href=\"/_portcullis/logout\""), "{b}");
        assert!(b.is_ascii(), "{b}");
        assert!(!b.contains("style=") && !b.contains("<script"), "{b}");
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_uncompressed_html_pages_are_edited() {
        let ok = StatusCode::OK;
        assert!(editable(ok, &headers(&[("content-type", "text/html")])));
        assert!(editable(
            ok,
            &headers(&[
                ("content-type", "Text/HTML; charset=iso-8859-1"),
                ("content-encoding", "identity"),
                ("content-length", "4194304"),
            ])
        ));
        assert!(editable(
            StatusCode::NOT_FOUND,
            &headers(&[("content-type", "text/html")])
        ));
        for not in [
            vec![("content-type", "application/json")],
            vec![("content-type", "image/png")],
            vec![("content-type", "application/xhtml+xml")],
            vec![],
            vec![("content-type", "text/html"), ("content-encoding", "gzip")],
            vec![("content-type", "text/html"), ("content-length", "4194305")],
            vec![("content-type", "text/html; charset=\"UTF-16LE\"")],
        ] {
            assert!(!editable(ok, &headers(&not)), "{not:?}");
        }
        for status in [204, 205, 206, 301, 302, 304, 101] {
            let s = StatusCode::from_u16(status).unwrap();
            assert!(
                !editable(s, &headers(&[("content-type", "text/html")])),
                "{status}"
            );
        }
    }

    #[test]
    fn only_navigations_ask_for_a_banner() {
        assert!(wanted(&Method::GET, &HeaderMap::new()));
        assert!(wanted(
            &Method::POST,
            &headers(&[("sec-fetch-dest", "document")])
        ));
        assert!(!wanted(&Method::HEAD, &HeaderMap::new()));
        for dest in ["empty", "iframe", "script", "image", "style"] {
            assert!(
                !wanted(&Method::GET, &headers(&[("sec-fetch-dest", dest)])),
                "{dest}"
            );
        }
    }
}
