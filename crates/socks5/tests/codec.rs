//! The sans-IO SOCKS5 codec: round trips, every byte split, garbage.
//!
//! The client side comes from `rfc_client`, written from RFC 1928/1929 rather than shared
//! with the codec, so a misreading of the RFC has to be made twice to go unnoticed.

mod rfc_client;

use std::fmt::Debug;
use std::net::SocketAddr;

use portcullis_socks5::{
    encode_auth_status, encode_method_selection, encode_reply, parse_credentials, parse_greeting,
    parse_request, Credentials, Greeting, Parsed, ReplyCode, Request, Secret, Socks5Error,
    MAX_MESSAGE_LEN, MAX_REPLY_LEN,
};
use rfc_client::*;

fn complete<T: Debug>(parsed: Result<Parsed<T>, Socks5Error>) -> (T, usize) {
    match parsed {
        Ok(Parsed::Complete { message, consumed }) => (message, consumed),
        other => panic!("expected a complete message, got {other:?}"),
    }
}

// ---- encoders and parsers ----------------------------------------------------------------------

#[test]
fn encoders_write_the_rfc_layout() {
    assert_eq!(encode_method_selection(2), [5, 2]);
    assert_eq!(encode_method_selection(0xFF), [5, 0xFF]);
    assert_eq!(encode_auth_status(true), [1, 0]);
    assert_eq!(encode_auth_status(false), [1, 1]);

    let mut out = Vec::new();
    encode_reply(
        ReplyCode::Succeeded,
        Some("10.1.2.3:4567".parse().unwrap()),
        &mut out,
    );
    assert_eq!(out, [5, 0, 0, 1, 10, 1, 2, 3, 0x11, 0xD7]);

    out.clear();
    encode_reply(ReplyCode::NotAllowed, None, &mut out);
    assert_eq!(out, [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);

    out.clear();
    encode_reply(
        ReplyCode::HostUnreachable,
        Some("[::1]:80".parse().unwrap()),
        &mut out,
    );
    let mut expected = vec![5, 4, 0, 4];
    expected.extend([0; 15]);
    expected.extend([1, 0, 80]);
    assert_eq!(out, expected);
    assert_eq!(out.len(), MAX_REPLY_LEN);
}

#[test]
fn every_reply_code_and_address_round_trips() {
    let codes = [
        ReplyCode::Succeeded,
        ReplyCode::GeneralFailure,
        ReplyCode::NotAllowed,
        ReplyCode::NetworkUnreachable,
        ReplyCode::HostUnreachable,
        ReplyCode::ConnectionRefused,
        ReplyCode::TtlExpired,
        ReplyCode::CommandNotSupported,
        ReplyCode::AddressTypeNotSupported,
    ];
    for (byte, code) in codes.into_iter().enumerate() {
        assert_eq!(u8::from(code), byte as u8);
        for bound in [
            "0.0.0.0:0",
            "192.0.2.7:65535",
            "[2001:db8::5]:1080",
            "[::]:0",
        ] {
            let bound: SocketAddr = bound.parse().unwrap();
            let mut out = Vec::new();
            encode_reply(code, Some(bound), &mut out);
            assert_eq!(decode_reply(&out), (code, bound));
        }
    }
    assert_eq!(ReplyCode::try_from(9), Err(9));
}

#[test]
fn client_messages_round_trip_and_leave_trailing_bytes() {
    let (g, used) = complete(parse_greeting(&greeting(&[0, 2, 0x80])));
    assert_eq!((g.methods.as_slice(), used), (&[0, 2, 0x80][..], 5));
    assert!(g.offers(2) && !g.offers(1));

    let mut bytes = credentials(b"alice", b"s3cret pass");
    let len = bytes.len();
    bytes.extend(b"trailing");
    assert_eq!(complete(parse_credentials(&bytes)), (alice(), len));

    let utf8 = credentials("zoë".as_bytes(), &[0, 255, b':']);
    let (c, _) = complete(parse_credentials(&utf8));
    assert_eq!(
        (c.username.as_str(), c.password.expose().as_slice()),
        ("zoë", &[0, 255, b':'][..])
    );

    let targets = [
        ip("10.0.0.1:22"),
        ip("0.0.0.0:0"),
        ip("[2001:db8::1]:443"),
        ip("[::ffff:10.0.0.1]:65535"),
        domain("example.internal", 80),
        domain("a", 1),
        domain(&"x".repeat(255), 5432),
    ];
    for target in targets {
        let mut bytes = connect(&target);
        let len = bytes.len();
        bytes.extend(b"\x16\x03\x01 optimistic");
        let (request, used) = complete(parse_request(&bytes));
        assert_eq!(
            (request, used),
            (
                Request {
                    target: target.clone()
                },
                len
            )
        );
    }
}

#[test]
fn target_display_is_host_colon_port() {
    assert_eq!(ip("10.0.0.1:22").to_string(), "10.0.0.1:22");
    assert_eq!(ip("[2001:db8::1]:443").to_string(), "[2001:db8::1]:443");
    assert_eq!(
        domain("example.internal", 80).to_string(),
        "example.internal:80"
    );
    assert_eq!(domain("example.internal", 80).port(), 80);
    assert_eq!(ip("[::1]:9").port(), 9);
}

#[test]
fn domain_fields_are_normalised() {
    let (r, _) = complete(parse_request(&connect_domain(b"DB-1.Corp_Internal.", 5432)));
    assert_eq!(r.target, domain("db-1.corp_internal.", 5432));
    let (r, _) = complete(parse_request(&connect_domain(b"192.168.1.10", 443)));
    assert_eq!(r.target, ip("192.168.1.10:443"));
    let (r, _) = complete(parse_request(&connect_domain(b"fe80::1", 443)));
    assert_eq!(r.target, ip("[fe80::1]:443"));
}

#[test]
fn secrets_do_not_print() {
    let shown = format!("{:?}", alice());
    assert!(shown.contains("alice"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert_eq!(
        format!("{:?}", Secret::new(b"x".to_vec())),
        "<redacted 1 bytes>"
    );
    assert_ne!(Secret::new(b"a".to_vec()), Secret::new(b"ab".to_vec()));
    assert_eq!(Secret::new(b"ab".to_vec()), Secret::new(b"ab".to_vec()));
}

// ---- every byte split --------------------------------------------------------------------------

/// What a sans-IO consumer makes of a byte stream: the three messages and what is left.
#[derive(Debug, PartialEq)]
struct Session {
    greeting: Option<Greeting>,
    credentials: Option<Credentials>,
    request: Option<Request>,
    rest: Vec<u8>,
}

/// Tries one parser on the buffer if its message is not in yet; true once it is.
fn step<T>(
    buf: &mut Vec<u8>,
    slot: &mut Option<T>,
    parse: fn(&[u8]) -> Result<Parsed<T>, Socks5Error>,
) -> bool {
    if slot.is_some() {
        return true;
    }
    match parse(buf) {
        Ok(Parsed::Complete { message, consumed }) => {
            assert!(consumed <= buf.len());
            buf.drain(..consumed);
            *slot = Some(message);
            true
        }
        Ok(Parsed::Incomplete { needed }) => {
            assert!(needed >= 1 && buf.len() + needed <= MAX_MESSAGE_LEN);
            false
        }
        Err(err) => panic!("valid input rejected: {err}"),
    }
}

fn feed(chunks: &[&[u8]]) -> Session {
    let mut s = Session {
        greeting: None,
        credentials: None,
        request: None,
        rest: Vec::new(),
    };
    for chunk in chunks {
        s.rest.extend_from_slice(chunk);
        let _ = step(&mut s.rest, &mut s.greeting, parse_greeting)
            && step(&mut s.rest, &mut s.credentials, parse_credentials)
            && step(&mut s.rest, &mut s.request, parse_request);
    }
    s
}

#[test]
fn every_split_of_a_handshake_parses_the_same() {
    for target in [domain("example.internal", 8443), ip("[2001:db8::7]:22")] {
        let bytes = handshake(&target);
        let whole = feed(&[&bytes]);
        assert_eq!(whole.credentials, Some(alice()));
        assert_eq!(whole.request, Some(Request { target }));
        assert_eq!(whole.rest, b"GET / HTTP/1.1\r\n");

        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(feed(&one_by_one), whole, "one byte at a time");
        for i in 0..=bytes.len() {
            assert_eq!(feed(&[&bytes[..i], &bytes[i..]]), whole, "split at {i}");
            for j in i..=bytes.len() {
                let chunks = [&bytes[..i], &bytes[i..j], &bytes[j..]];
                assert_eq!(feed(&chunks), whole, "split at {i} and {j}");
            }
        }
    }
}

// ---- garbage -----------------------------------------------------------------------------------

fn error<T: Debug>(parsed: Result<Parsed<T>, Socks5Error>) -> Socks5Error {
    match parsed {
        Err(err) => err,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn needed<T: Debug>(parsed: Result<Parsed<T>, Socks5Error>) -> usize {
    match parsed {
        Ok(Parsed::Incomplete { needed }) => needed,
        other => panic!("expected incomplete, got {other:?}"),
    }
}

#[test]
fn wrong_versions_are_refused_at_the_first_byte() {
    use Socks5Error::*;
    assert!(matches!(
        error(parse_greeting(&[4])),
        UnsupportedVersion { got: 4 }
    ));
    assert!(matches!(
        error(parse_greeting(b"CONNECT x")),
        UnsupportedVersion { got: b'C' }
    ));
    assert!(matches!(
        error(parse_credentials(&[5])),
        UnsupportedAuthVersion { got: 5 }
    ));
    assert!(matches!(
        error(parse_request(&[4, 1, 0])),
        UnsupportedVersion { got: 4 }
    ));
    assert!(matches!(
        error(parse_request(&[0x16, 3, 1])),
        UnsupportedVersion { got: 0x16 }
    ));
}

#[test]
fn zero_length_and_invalid_fields_are_named() {
    use Socks5Error::*;
    assert!(matches!(error(parse_greeting(&[5, 0])), NoMethods));
    assert!(matches!(
        error(parse_credentials(&credentials(b"", b"p"))),
        EmptyUsername
    ));
    assert!(matches!(
        error(parse_credentials(&credentials(b"u", b""))),
        EmptyPassword
    ));
    assert!(matches!(
        error(parse_credentials(&credentials(&[0xff, 0xfe], b"p"))),
        UsernameNotUtf8
    ));
    assert!(matches!(
        error(parse_credentials(&credentials(b"a\nb", b"p"))),
        UsernameControlChar
    ));

    let cases: [(Vec<u8>, Option<ReplyCode>); 9] = [
        (
            request_raw(2, 1, &[1, 2, 3, 4], 80),
            Some(ReplyCode::CommandNotSupported),
        ),
        (
            request_raw(3, 1, &[1, 2, 3, 4], 80),
            Some(ReplyCode::CommandNotSupported),
        ),
        (
            request_raw(9, 3, b"\x01a", 80),
            Some(ReplyCode::CommandNotSupported),
        ),
        (
            vec![5, 1, 1, 1, 1, 2, 3, 4, 0, 80],
            Some(ReplyCode::GeneralFailure),
        ),
        (
            request_raw(1, 2, &[], 80),
            Some(ReplyCode::AddressTypeNotSupported),
        ),
        (
            request_raw(1, 0xff, &[], 80),
            Some(ReplyCode::AddressTypeNotSupported),
        ),
        (connect_domain(b"", 80), Some(ReplyCode::GeneralFailure)),
        (
            connect_domain(b"evil\r\nhost", 80),
            Some(ReplyCode::GeneralFailure),
        ),
        (
            connect_domain(b"[::1]", 80),
            Some(ReplyCode::GeneralFailure),
        ),
    ];
    for (bytes, code) in cases {
        let err = error(parse_request(&bytes));
        assert_eq!(err.reply_code(), code, "{bytes:?}: {err}");
    }
    assert!(matches!(
        error(parse_request(&request_raw(2, 1, &[1, 2, 3, 4], 80))),
        UnsupportedCommand { command: 2 }
    ));
    assert!(matches!(
        error(parse_request(&request_raw(1, 5, &[], 80))),
        UnsupportedAddressType { atyp: 5 }
    ));
}

#[test]
fn truncated_and_huge_lengths_ask_for_exactly_what_is_missing() {
    assert_eq!(needed(parse_greeting(&[])), 1);
    assert_eq!(needed(parse_credentials(&[])), 1);
    assert_eq!(needed(parse_request(&[])), 1);
    assert_eq!(needed(parse_greeting(&[5])), 1);
    // A length byte of 255 with little behind it: ask for the rest, allocate nothing.
    assert_eq!(needed(parse_greeting(&[5, 255, 1, 2])), 253);
    assert_eq!(needed(parse_credentials(&[1, 255])), 256);
    assert_eq!(
        needed(parse_credentials(
            &credentials(&[b'u'; 255], &[b'p'; 255])[..300]
        )),
        213
    );
    assert_eq!(needed(parse_request(&[5, 1, 0])), 1);
    assert_eq!(needed(parse_request(&[5, 1, 0, 3])), 1);
    assert_eq!(needed(parse_request(&[5, 1, 0, 3, 255])), 257);
    assert_eq!(needed(parse_request(&[5, 1, 0, 4, 0])), 17);
}

/// xorshift64*: deterministic, dependency-free noise.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

fn check_invariants<T>(len: usize, parsed: Result<Parsed<T>, Socks5Error>) {
    match parsed {
        Ok(Parsed::Complete { consumed, .. }) => {
            assert!((3..=len.min(MAX_MESSAGE_LEN)).contains(&consumed))
        }
        Ok(Parsed::Incomplete { needed }) => {
            assert!(needed >= 1 && len + needed <= MAX_MESSAGE_LEN)
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
}

#[test]
fn random_garbage_never_panics_and_keeps_the_length_contract() {
    let mut noise = Noise(0x5EED_F0C5_50C5);
    for _ in 0..200_000 {
        let len = (noise.next() % 600) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| noise.byte()).collect();
        // Mostly get past the version checks so the deeper code runs too.
        if noise.next() & 3 != 0 {
            if let Some(b) = buf.get_mut(0) {
                *b = if noise.next() & 1 == 0 { 5 } else { 1 };
            }
            if let Some(b) = buf.get_mut(3) {
                *b = [1, 3, 4][(noise.next() % 3) as usize];
            }
            if noise.next() & 1 == 0 {
                if let Some(b) = buf.get_mut(1) {
                    *b %= 16;
                }
                if let Some(b) = buf.get_mut(4) {
                    *b %= 16;
                }
            }
        }
        check_invariants(len, parse_greeting(&buf));
        check_invariants(len, parse_credentials(&buf));
        check_invariants(len, parse_request(&buf));
    }
}
