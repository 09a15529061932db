//! Arbitrary bytes through every NI decoder.
//!
//! A SAProuter reads these messages from anyone who can reach its port, before any
//! authentication, so no decoder may panic or allocate beyond the input. Whenever a decode
//! succeeds, the value must encode again and decode to the same value: a router that
//! forwards or answers what it decoded must not change its meaning on the way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_ni::admin::AdminRequest;
use portcullis_ni::frame::{decode_frame, frame};
use portcullis_ni::info::{ClientRecord, InfoResponse, ServerRecord};
use portcullis_ni::route::RouteRequest;
use portcullis_ni::rterr::{ErrorInfo, RtErr};
use portcullis_ni::{Message, NiError, RouteString};

/// Decodes, re-encodes, decodes again and demands the same value.
fn round_trip<T, E>(data: &[u8], decode: fn(&[u8]) -> Result<T, NiError>, encode: E)
where
    T: PartialEq + std::fmt::Debug,
    E: Fn(&T) -> Vec<u8>,
{
    match decode(data) {
        Ok(value) => {
            let bytes = encode(&value);
            let again = decode(&bytes).expect("re-encoded value must decode");
            assert_eq!(again, value);
        }
        Err(err) => {
            let _ = err.return_code();
            let _ = err.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Framing: consumed stays within the input and covers header plus payload.
    let mut rest = data;
    while let Ok(Some((payload, used))) = decode_frame(rest, 64 * 1024) {
        assert!(used <= rest.len() && used == payload.len() + 4);
        assert_eq!(frame(payload), rest[..used]);
        rest = &rest[used..];
    }

    round_trip(data, Message::parse, |m: &Message| {
        m.encode().expect("a decoded message must encode")
    });
    round_trip(data, RouteRequest::decode, |r: &RouteRequest| {
        r.encode().expect("a decoded route must encode")
    });
    if let Ok(route) = RouteRequest::decode(data) {
        let _ = (
            route.next_hop(),
            route.own_hop(),
            route.password_for_next_hop(),
        );
        let _ = (route.hops_before(), route.hops_after());
        if let Some(next) = route.forwarded() {
            next.validate()
                .expect("a forwarded valid route stays valid");
        }
    }
    round_trip(data, RtErr::decode, RtErr::encode);
    round_trip(data, ErrorInfo::decode, ErrorInfo::encode);
    round_trip(data, AdminRequest::decode, |a: &AdminRequest| {
        a.encode().expect("a decoded admin request must encode")
    });
    round_trip(data, ClientRecord::decode, |c: &ClientRecord| {
        let mut out = Vec::new();
        c.encode_into(&mut out);
        out
    });
    round_trip(data, ServerRecord::decode, ServerRecord::encode);

    // The information response: the input split into messages at every 0xff byte.
    let parts: Vec<&[u8]> = data.split(|b| *b == 0xff).collect();
    if let Ok(info) = InfoResponse::from_payloads(&parts) {
        let again = InfoResponse::from_payloads(info.to_payloads()).expect("must decode again");
        assert_eq!(again, info);
    }

    // Route strings: any UTF-8 input; a parsed route renders and reparses to itself, and its
    // request is valid.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(route) = RouteString::parse(text) {
            let again = RouteString::parse(&route.to_string()).expect("canonical form must parse");
            assert_eq!(again, route);
            let request = route.to_request(portcullis_ni::TalkMode::Raw, 40);
            request
                .validate()
                .expect("a parsed route string gives a valid request");
            let bytes = request.encode().expect("and it encodes");
            assert_eq!(RouteRequest::decode(&bytes), Ok(request));
        }
        let _ = RouteString::parse_strict(text);
    }
});
