//! The browser harness's own test (`tests/browser/scenarios/selftest*.mjs`): a tiny site on
//! 127.0.0.1 port 0, served with the portal's strict Content-Security-Policy, driven by real
//! headless Chromium. `selftest` clicks a button whose handler is an external script, checks
//! the text it changed, passes axe-core and takes a screenshot; `selftest_violation` proves
//! the accessibility check fails on a page with serious violations.

use std::net::SocketAddr;

use portcullis_test_support::browser;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The portal's policy: no inline script or style, no eval.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harness self-test</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header><p>Portcullis</p></header>
<main>
<h1>Harness self-test</h1>
<form id="greet" action="/" method="post">
  <label for="name">Name</label>
  <input id="name" name="name" type="text" autocomplete="name">
  <button type="submit">Greet</button>
</form>
<p id="status" role="status">Not clicked yet</p>
</main>
</body>
</html>
"#;

const APP_JS: &str = r#"document.getElementById('greet').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = document.getElementById('name').value || 'nobody';
  document.getElementById('status').textContent = `Hello, ${name}!`;
});
document.documentElement.dataset.appReady = '1';
"#;

const APP_CSS: &str =
    "body { font-family: sans-serif; margin: 2rem; color: #1a1a1a; background: #fff; }\n\
                       #status { font-weight: bold; }\n";

/// Serious and critical axe violations: an image link with neither alt text nor a name, and
/// an input without a label.
const BAD: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bad page</title></head>
<body>
<main>
<h1>Bad page</h1>
<a href="/nowhere"><img src="/pixel.png"></a>
<form action="/" method="post"><input id="lonely" type="text"></form>
</main>
</body>
</html>
"#;

/// A 1x1 transparent PNG.
const PIXEL: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// A plain HTTP/1.1 server on 127.0.0.1 port 0 for the pages above; one request per
/// connection. It listens before it returns: that is its readiness.
async fn site() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("site binds");
    let addr = listener.local_addr().expect("site address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

async fn serve(mut stream: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let (status, ctype, body): (&str, &str, &[u8]) = match path {
        "/" => ("200 OK", "text/html; charset=utf-8", INDEX.as_bytes()),
        "/app.js" => (
            "200 OK",
            "text/javascript; charset=utf-8",
            APP_JS.as_bytes(),
        ),
        "/app.css" => ("200 OK", "text/css; charset=utf-8", APP_CSS.as_bytes()),
        "/bad" => ("200 OK", "text/html; charset=utf-8", BAD.as_bytes()),
        "/pixel.png" => ("200 OK", "image/png", PIXEL),
        _ => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n"),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {CSP}\r\nX-Content-Type-Options: nosniff\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn selftest_clicks_passes_axe_and_screenshots() {
    let addr = site().await;
    let out = browser::run("selftest", &json!({ "url": format!("http://{addr}") })).await;
    assert!(out.contains("step: the page is accessible"), "{out}");
    assert!(out.contains("screenshot: "), "{out}");
}

#[tokio::test]
async fn selftest_violation_fails_the_axe_check() {
    let addr = site().await;
    let out = browser::run(
        "selftest_violation",
        &json!({ "url": format!("http://{addr}") }),
    )
    .await;
    assert!(out.contains("checkA11y threw as it should"), "{out}");
}
