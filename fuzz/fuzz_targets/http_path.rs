//! Arbitrary bytes as an HTTP request target.
//!
//! The connector and the hub's web entry parse every request target they get from a
//! client; the canonical path is what reaches the back end and what the resources are
//! checked against. No input may panic, and an accepted target must be canonical: parsing
//! its canonical form again gives the same target, the path starts with `/`, it holds no
//! dot segment and no empty segment but a trailing one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_domain::access::resource::check;
use portcullis_domain::access::{PathPolicy, Resource};
use portcullis_domain::http_path::parse_target;

fuzz_target!(|data: &[u8]| {
    match parse_target(data) {
        Ok(target) => {
            let forwarded = target.origin_form();
            let again = parse_target(forwarded.as_bytes()).expect("the canonical form parses");
            assert_eq!(again, target);
            assert_eq!(again.origin_form(), forwarded);
            let path = target.path();
            assert!(path.starts_with('/'), "{path:?}");
            assert!(!path.split('/').any(|s| s == "." || s == ".."), "{path:?}");
            assert!(!path.contains("//"), "{path:?}");
            assert!(!target.readings().is_empty());
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // Under /app with a suspended /app/admin: whatever passes stays out of /app/admin.
    let app = Resource::new("/app", PathPolicy::PathAndSubPaths).expect("valid");
    let mut admin = Resource::new("/app/admin", PathPolicy::PathAndSubPaths).expect("valid");
    admin.active = false;
    for ci in [false, true] {
        if let Ok(allowed) = check(&[app.clone(), admin.clone()], data, false, ci) {
            for reading in allowed.target.readings() {
                let reading = if ci { reading.to_ascii_lowercase() } else { reading };
                assert!(reading.starts_with("/app"), "{reading:?}");
                assert!(!reading.starts_with("/app/admin"), "{reading:?}");
            }
        }
    }
});
