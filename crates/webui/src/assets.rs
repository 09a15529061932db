//! The embedded assets both UIs serve from `/assets/`: the vendored htmx (see
//! `crates/webui/assets/VENDORED.md`), the base stylesheet and script, the logo. Nothing is
//! fetched at build or run time.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// One embedded file: its name under `/assets/`, content type and bytes.
pub type Asset = (&'static str, &'static str, &'static [u8]);

/// The shared assets.
pub const ASSETS: &[Asset] = &[
    (
        "base.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/base.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx.min.js"),
    ),
    (
        "base.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/base.js"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../assets/logo.svg"),
    ),
];

/// The response for asset `name` (cached for an hour), `None` when there is none.
pub fn serve(name: &str) -> Option<Response> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ctype, body)| {
            (
                [
                    (header::CONTENT_TYPE, *ctype),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                *body,
            )
                .into_response()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_served_and_nothing_else() {
        for (name, ctype, body) in ASSETS {
            assert!(!body.is_empty(), "{name}");
            let r = serve(name).expect("served");
            assert_eq!(r.headers()[header::CONTENT_TYPE], *ctype);
        }
        assert!(serve("../Cargo.toml").is_none());
    }
}
