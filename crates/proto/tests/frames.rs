//! Frame codec: round trips, split reads, and hostile input.

use bytes::BytesMut;
use portcullis_proto::frame::{decode, decode_buf, encode, encode_to_vec};
use portcullis_proto::*;

fn samples() -> Vec<Message> {
    vec![
        Message::Hello(Hello {
            software_version: "0.1.0".into(),
            location: "berlin-dc1".into(),
            hostname: Some("cc01".into()),
        }),
        Message::Welcome(Welcome {
            hub_version: "0.1.0".into(),
            heartbeat_interval_ms: 5000,
            warning: Some(VersionWarning {
                message: "upgrade".into(),
                minimum_version: "0.2.0".into(),
                sunset_date: Some("2027-01-01".into()),
            }),
        }),
        Message::Reject(Reject {
            code: RejectCode::ClientTooOld,
            message: "too old".into(),
            minimum_version: Some("0.2.0".into()),
        }),
        Message::Inventory(Inventory {
            targets: vec![InventoryTarget {
                name: "erp".into(),
                virtual_host: "erp.internal".into(),
                port_start: 3200,
                port_end: 3299,
                protocol: TargetProtocol::Tcp,
            }],
        }),
        Message::Heartbeat(Heartbeat { seq: 42, ack: true }),
        Message::StreamOpen(StreamOpen {
            session_id: "s-1".into(),
            host: "erp.internal".into(),
            port: 3200,
            principal: "token:bot@acme".into(),
            entry: "socks5".into(),
            client_addr: Some("127.0.0.1:5555".into()),
            window: None,
            grant: None,
        }),
        Message::StreamReply(StreamReply {
            session_id: "s-1".into(),
            result: OpenResult::Refused {
                code: RefuseCode::NotAllowed,
                message: "no access control entry for erp.internal:3201".into(),
            },
        }),
        Message::StreamReply(StreamReply {
            session_id: "s-2".into(),
            result: OpenResult::Connected,
        }),
        Message::Goodbye(Goodbye {
            reason: GoodbyeReason::Revoked,
            message: "revoked".into(),
        }),
    ]
}

#[test]
fn every_message_round_trips() {
    for m in samples() {
        let enc = encode_to_vec(&m);
        let (dec, used) = decode(&enc).unwrap();
        assert_eq!(dec, m);
        assert_eq!(used, enc.len());
    }
}

#[test]
fn every_split_point_needs_more_bytes_then_completes() {
    let mut stream = Vec::new();
    for m in samples() {
        stream.extend(encode_to_vec(&m));
    }
    // Feed the whole concatenation one byte at a time: exactly the samples come out, in order.
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for b in &stream {
        buf.extend_from_slice(&[*b]);
        while let Some(m) = decode_buf(&mut buf).unwrap() {
            out.push(m);
        }
    }
    assert_eq!(out, samples());
    assert!(buf.is_empty());

    // Every proper prefix of one frame is Incomplete with a truthful `needed`.
    let one = encode_to_vec(&samples()[5]);
    for n in 0..one.len() {
        match decode(&one[..n]) {
            Err(DecodeError::Incomplete { needed }) => {
                assert!(
                    needed >= 1 && n + needed <= one.len(),
                    "n={n} needed={needed}"
                )
            }
            other => panic!("prefix {n}: {other:?}"),
        }
    }
}

#[test]
fn decode_buf_leaves_following_bytes_alone() {
    let mut buf = BytesMut::new();
    encode(&samples()[4], &mut buf);
    buf.extend_from_slice(b"raw stream bytes");
    assert_eq!(decode_buf(&mut buf).unwrap(), Some(samples()[4].clone()));
    assert_eq!(&buf[..], b"raw stream bytes");
}

#[test]
fn oversized_and_zero_lengths_fail_before_the_body_arrives() {
    let huge = (MAX_FRAME_LEN + 1).to_be_bytes();
    assert!(matches!(
        decode(&huge),
        Err(DecodeError::BadLength { len, .. }) if len == MAX_FRAME_LEN + 1
    ));
    assert!(matches!(
        decode(&[0xff, 0xff, 0xff, 0xff, 1]),
        Err(DecodeError::BadLength { .. })
    ));
    assert!(matches!(
        decode(&[0, 0, 0, 0, 1]),
        Err(DecodeError::BadLength { len: 0, .. })
    ));
}

#[test]
fn unknown_kinds_and_bad_bodies_are_named() {
    assert_eq!(
        decode(&[0, 0, 0, 1, 0x7f]),
        Err(DecodeError::UnknownKind(0x7f))
    );
    let mut f = vec![0, 0, 0, 0, 0x06];
    f.extend_from_slice(b"{not json");
    let len = (f.len() - 4) as u32;
    f[..4].copy_from_slice(&len.to_be_bytes());
    assert!(matches!(
        decode(&f),
        Err(DecodeError::Malformed {
            kind: "stream_open",
            ..
        })
    ));
}

#[test]
fn hosts_with_spaces_or_controls_and_port_zero_are_refused() {
    for (host, port) in [("erp internal", 80), ("erp\n", 80), ("", 80), ("ok", 0)] {
        let body = serde_json::json!({
            "session_id": "s", "host": host, "port": port, "principal": "p", "entry": "socks5"
        })
        .to_string();
        let mut f = ((body.len() + 1) as u32).to_be_bytes().to_vec();
        f.push(0x06);
        f.extend_from_slice(body.as_bytes());
        assert!(
            matches!(decode(&f), Err(DecodeError::Malformed { .. })),
            "{host:?}:{port} accepted"
        );
    }
}

#[test]
fn unknown_optional_fields_are_ignored_for_forward_compatibility() {
    let body = br#"{"seq":1,"ack":false,"added_in_v2":"x"}"#;
    let mut f = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    f.push(0x05);
    f.extend_from_slice(body);
    assert_eq!(
        decode(&f).unwrap().0,
        Message::Heartbeat(Heartbeat { seq: 1, ack: false })
    );
}

#[test]
fn random_garbage_never_panics() {
    // xorshift: deterministic, no extra dependency.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if len >= 5 && next() % 2 == 0 {
            // Plausible header, random body: exercises the JSON and validation paths.
            let body_len = (len - 4) as u32;
            v[..4].copy_from_slice(&body_len.to_be_bytes());
            v[4] = (next() % 10) as u8;
        }
        let _ = decode(&v);
        let _ = Preface::decode(&v);
    }
}
