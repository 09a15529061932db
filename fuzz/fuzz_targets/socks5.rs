//! Arbitrary bytes through every SOCKS5 parser, alone and as a handshake sequence.
//!
//! The parsers read what any TCP client sends the hub, so none may panic. The length contract
//! is checked too, because the driver relies on it to read with `read_exact` into a fixed
//! buffer: `consumed` stays within the input, and `needed` never reaches past
//! `MAX_MESSAGE_LEN`. A complete message must also parse identically from exactly its own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_socks5::{
    parse_credentials, parse_greeting, parse_request, Parsed, Socks5Error, MAX_MESSAGE_LEN,
};

type Parser<T> = fn(&[u8]) -> Result<Parsed<T>, Socks5Error>;

/// Checks one parse of `data`; returns the bytes consumed by a complete message.
fn check<T: PartialEq + std::fmt::Debug>(data: &[u8], parse: Parser<T>) -> Option<usize> {
    match parse(data) {
        Ok(Parsed::Complete { message, consumed }) => {
            assert!(consumed > 0 && consumed <= data.len().min(MAX_MESSAGE_LEN));
            match parse(&data[..consumed]) {
                Ok(Parsed::Complete {
                    message: again,
                    consumed: again_consumed,
                }) => assert!(again == message && again_consumed == consumed),
                other => panic!("exact bytes of a complete message: {other:?}"),
            }
            Some(consumed)
        }
        Ok(Parsed::Incomplete { needed }) => {
            assert!(needed >= 1 && data.len() + needed <= MAX_MESSAGE_LEN);
            None
        }
        Err(err) => {
            let _ = err.reply_code();
            let _ = err.to_string();
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, parse_greeting);
    check(data, parse_credentials);
    check(data, parse_request);

    // As a handshake: each message parsed from what the previous one left.
    let mut rest = data;
    if let Some(n) = check(rest, parse_greeting) {
        rest = &rest[n..];
        if let Some(n) = check(rest, parse_credentials) {
            rest = &rest[n..];
            check(rest, parse_request);
        }
    }
});
