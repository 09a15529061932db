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
            features: vec![FEATURE_RENEW.into()],
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
        Message::WindowSet(WindowSet {
            windows: vec![
                window("41"),
                WindowInfo {
                    closed: true,
                    ..window("42")
                },
            ],
        }),
        Message::WindowSet(WindowSet { windows: vec![] }),
        Message::WindowUpdate(WindowUpdate {
            window: window("43"),
        }),
        Message::WindowClosed(WindowClosed {
            id: "43".into(),
            by: "alice".into(),
            reason: Some("maintenance done".into()),
        }),
        Message::RenewRequest(RenewRequest {
            csr_pem:
                "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
                    .into(),
        }),
        Message::RenewOffer(RenewOffer {
            certificate_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
                .into(),
        }),
        Message::RenewStored(RenewStored {
            fingerprint: "ab".repeat(32),
        }),
        Message::HealthReport(HealthReport {
            software_version: "0.1.0".into(),
            uptime_secs: 3600,
            cpu_permille: Some(125),
            memory_total: Some(8 << 30),
            memory_available: Some(4 << 30),
            disk_total: Some(100 << 30),
            disk_free: Some(60 << 30),
            active_alerts: 1,
            entries: vec![EntryHealth {
                name: "erp".into(),
                internal: "10.0.0.5:443".into(),
                reachable: false,
                detail: "connection refused".into(),
            }],
        }),
        Message::StreamOpen(StreamOpen {
            session_id: "s-3".into(),
            host: "erp.internal".into(),
            port: 3200,
            principal: "engineer@vendor".into(),
            entry: "socks5".into(),
            client_addr: None,
            window: Some("43".into()),
            grant: None,
        }),
        Message::StreamOpen(StreamOpen {
            session_id: "s-4".into(),
            host: "erp.internal".into(),
            port: 3200,
            principal: "token:bot@acme".into(),
            entry: "http".into(),
            client_addr: None,
            window: None,
            grant: Some("g-7".into()),
        }),
        Message::StreamReply(StreamReply {
            session_id: "s-3".into(),
            result: OpenResult::Refused {
                code: RefuseCode::WindowClosed,
                message: "window 43 ended at 2026-01-01T10:00:00Z".into(),
            },
        }),
    ]
}

fn window(id: &str) -> WindowInfo {
    WindowInfo {
        id: id.into(),
        service: "acme/PRD/ssh".into(),
        virtual_host: "prd.internal".into(),
        virtual_port: 22,
        start_ms: 1_800_000_000_000,
        end_ms: 1_800_028_800_000,
        closed: false,
    }
}

/// A frame of `kind` with `body` as it stands (no encoder-side checks).
fn raw_frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut f = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    f.push(kind);
    f.extend_from_slice(body);
    f
}

fn assert_malformed(f: &[u8], kind: &str, needle: &str) {
    match decode(f) {
        Err(DecodeError::Malformed { kind: k, reason }) => {
            assert_eq!(k, kind);
            assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
        }
        other => panic!("expected a malformed {kind}, got {other:?}"),
    }
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
            // Every kind byte in use (0x01..=0x0b), plus 0 and one unknown.
            v[4] = (next() % 13) as u8;
        }
        let _ = decode(&v);
        let _ = Preface::decode(&v);
    }
}

#[test]
fn window_messages_use_their_kind_bytes_and_wire_names() {
    let set = Message::WindowSet(WindowSet {
        windows: vec![window("1")],
    });
    assert_eq!((set.kind(), set.name()), (0x09, "window_set"));
    let update = Message::WindowUpdate(WindowUpdate {
        window: window("1"),
    });
    assert_eq!((update.kind(), update.name()), (0x0a, "window_update"));
    let closed = Message::WindowClosed(WindowClosed {
        id: "1".into(),
        by: "alice".into(),
        reason: None,
    });
    assert_eq!((closed.kind(), closed.name()), (0x0b, "window_closed"));
    // `closed` and `reason` may be left out; `StreamOpen` without window or grant still decodes
    // (the connector refuses it, the codec does not).
    let body = br#"{"window":{"id":"1","service":"s","virtual_host":"h","virtual_port":1,"start_ms":0,"end_ms":1}}"#;
    match decode(&raw_frame(0x0a, body)).unwrap().0 {
        Message::WindowUpdate(u) => assert!(!u.window.closed),
        other => panic!("{other:?}"),
    }
    let body = br#"{"id":"1","by":"alice"}"#;
    assert_eq!(
        decode(&raw_frame(0x0b, body)).unwrap().0,
        Message::WindowClosed(WindowClosed {
            id: "1".into(),
            by: "alice".into(),
            reason: None,
        })
    );
    let body = br#"{"session_id":"s","host":"h","port":1,"principal":"p","entry":"socks5"}"#;
    match decode(&raw_frame(0x06, body)).unwrap().0 {
        Message::StreamOpen(o) => assert_eq!((o.window, o.grant), (None, None)),
        other => panic!("{other:?}"),
    }
    let body =
        br#"{"session_id":"s","result":{"status":"refused","code":"window_closed","message":"m"}}"#;
    assert!(decode(&raw_frame(0x07, body)).is_ok());
}

#[test]
fn windows_with_a_bad_port_host_or_times_are_refused() {
    let cases: [(serde_json::Value, &str); 5] = [
        (serde_json::json!({"virtual_port": 0}), "port 0"),
        (
            serde_json::json!({"end_ms": 1_799_999_999_999i64}),
            "ends before it starts",
        ),
        (
            serde_json::json!({"end_ms": 1_800_000_000_000i64}),
            "ends before it starts",
        ),
        (
            serde_json::json!({"virtual_host": "prd internal"}),
            "characters outside",
        ),
        (serde_json::json!({"id": ""}), "window id"),
    ];
    for (change, needle) in cases {
        let mut w = serde_json::to_value(window("7")).unwrap();
        for (k, v) in change.as_object().unwrap() {
            w[k] = v.clone();
        }
        let update = serde_json::json!({ "window": w }).to_string();
        assert_malformed(&raw_frame(0x0a, update.as_bytes()), "window_update", needle);
        let set = serde_json::json!({ "windows": [window("6"), w] }).to_string();
        assert_malformed(&raw_frame(0x09, set.as_bytes()), "window_set", needle);
    }
    // A port beyond u16 is a JSON error, named as such.
    let mut w = serde_json::to_value(window("7")).unwrap();
    w["virtual_port"] = 70_000.into();
    let update = serde_json::json!({ "window": w }).to_string();
    assert_malformed(&raw_frame(0x0a, update.as_bytes()), "window_update", "");
}

#[test]
fn a_window_set_over_the_limit_is_refused() {
    // Short windows so that MAX_WINDOWS + 1 of them still fit one frame.
    let one =
        r#"{"id":"i","service":"s","virtual_host":"h","virtual_port":1,"start_ms":0,"end_ms":1}"#;
    let body = |n: usize| format!("{{\"windows\":[{}]}}", vec![one; n].join(","));
    let at_limit = body(MAX_WINDOWS);
    assert!(at_limit.len() < MAX_FRAME_LEN as usize);
    match decode(&raw_frame(0x09, at_limit.as_bytes())).unwrap().0 {
        Message::WindowSet(s) => assert_eq!(s.windows.len(), MAX_WINDOWS),
        other => panic!("{other:?}"),
    }
    let over = body(MAX_WINDOWS + 1);
    assert!(
        over.len() < MAX_FRAME_LEN as usize,
        "refused for its count, not its size"
    );
    assert_malformed(
        &raw_frame(0x09, over.as_bytes()),
        "window_set",
        &format!("more than {MAX_WINDOWS} windows"),
    );
}

#[test]
fn window_closed_and_stream_open_texts_are_bounded() {
    let long = "x".repeat(MAX_TEXT_LEN + 1);
    for (field, needle) in [
        ("id", "id longer"),
        ("by", "by longer"),
        ("reason", "reason longer"),
    ] {
        let mut c = serde_json::json!({"id": "1", "by": "alice", "reason": "r"});
        c[field] = long.clone().into();
        assert_malformed(
            &raw_frame(0x0b, c.to_string().as_bytes()),
            "window_closed",
            needle,
        );
    }
    for field in ["window", "grant"] {
        let mut o = serde_json::json!({
            "session_id": "s", "host": "h", "port": 1, "principal": "p", "entry": "socks5"
        });
        o[field] = long.clone().into();
        assert_malformed(
            &raw_frame(0x06, o.to_string().as_bytes()),
            "stream_open",
            &format!("{field} longer"),
        );
    }
}

#[test]
fn host_checks_name_what_is_wrong() {
    assert_eq!(check_host("erp.corp_1:x-y"), Ok(()));
    assert_eq!(check_host(""), Err(HostError::Length { len: 0 }));
    let long = "a".repeat(254);
    assert_eq!(check_host(&long), Err(HostError::Length { len: 254 }));
    assert_eq!(check_host(&long[..253]), Ok(()));
    let err = check_host("prd internal").unwrap_err();
    assert_eq!(
        err,
        HostError::Characters {
            host: "prd internal".into()
        }
    );
    // The messages are what the tunnel's `malformed … frame` errors have always said.
    assert_eq!(
        err.to_string(),
        "host \"prd internal\" has characters outside [A-Za-z0-9._:-]"
    );
    assert_eq!(
        HostError::Length { len: 0 }.to_string(),
        "host must be 1..=253 bytes"
    );
}

#[test]
fn a_welcome_from_an_older_hub_offers_no_features_and_renewal_fields_are_checked() {
    // An older hub's welcome has no `features`: the connector must not send renewal messages.
    let body = br#"{"hub_version":"0.0.9","heartbeat_interval_ms":5000}"#;
    let mut frame = (1 + body.len() as u32).to_be_bytes().to_vec();
    frame.push(0x02);
    frame.extend_from_slice(body);
    let (Message::Welcome(w), _) = decode(&frame).unwrap() else {
        panic!("not a welcome");
    };
    assert!(w.features.is_empty());
    for bad in [
        Message::RenewStored(RenewStored {
            fingerprint: "not hex".into(),
        }),
        Message::RenewOffer(RenewOffer {
            certificate_pem: "no pem here".into(),
        }),
        Message::RenewRequest(RenewRequest {
            csr_pem: format!("-----BEGIN X{}", "A".repeat(MAX_PEM_LEN)),
        }),
        Message::HealthReport(HealthReport {
            software_version: "0.1.0".into(),
            uptime_secs: 1,
            cpu_permille: Some(1001),
            memory_total: None,
            memory_available: None,
            disk_total: None,
            disk_free: None,
            active_alerts: 0,
            entries: Vec::new(),
        }),
    ] {
        let enc = encode_to_vec(&bad);
        assert!(decode(&enc).is_err(), "{bad:?} was accepted");
    }
}
