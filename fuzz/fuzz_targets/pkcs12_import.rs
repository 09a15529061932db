//! Arbitrary bytes through the PKCS#12 import of the connector's system certificate, with a
//! fixed password.
//!
//! The file comes from a customer's PKI by way of an admin, and may be anything they picked
//! by mistake: a panic would crash `portcullis connector system-certificate import` instead
//! of naming the problem. Beyond not panicking: every error has a message, and a success
//! holds a chain of at least the key's certificate that the connector's own loader accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_connector::backend_tls::check_system_certificate;
use portcullis_connector::pkcs12::{import, ImportError};

fn check(data: &[u8], alias: Option<&str>) -> Result<(), ImportError> {
    let got = import(data, "fuzz", alias)?;
    assert!(got.chain_len >= 1);
    assert!(got.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    if let Err(e) = check_system_certificate(got.chain_pem.as_bytes(), got.key_pem.as_bytes()) {
        panic!("imported, yet the connector would not load it: {e}");
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    match check(data, None) {
        Ok(()) => {}
        // Several keys: each must be choosable by the aliases the error lists.
        Err(ImportError::SeveralKeys(aliases)) => {
            for alias in aliases {
                if let Err(e) = check(data, Some(&alias)) {
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
