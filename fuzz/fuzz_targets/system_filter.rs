//! Arbitrary text as the systems list's filter (`?q=`).
//!
//! No input may panic, and an accepted filter's canonical form (its `Display`) must parse to
//! the same filter again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_domain::system_filter::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(filter) => {
            let canonical = filter.to_string();
            let again = parse(&canonical).expect("the canonical form parses");
            assert_eq!(again, filter, "{canonical:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
