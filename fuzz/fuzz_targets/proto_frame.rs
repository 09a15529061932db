//! Fuzz the tunnel frame decoder and the preface: any input must decode or fail, never panic,
//! and a decoded frame must re-encode to a frame that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_proto::frame::{decode, encode_to_vec};
use portcullis_proto::Preface;

fuzz_target!(|data: &[u8]| {
    let _ = Preface::decode(data);
    let mut rest = data;
    while let Ok((msg, used)) = decode(rest) {
        let again = encode_to_vec(&msg);
        let (back, _) = decode(&again).expect("re-encoded frame must decode");
        assert_eq!(back, msg);
        rest = &rest[used..];
    }
});
