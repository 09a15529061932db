use super::*;
use crate::frame::{decode_frame, frame};

/// sap-reference §1.5.1: one SAProuter 10.0.0.5:3299, target 10.0.0.1:3200, password S3cr3t.
const ONE_ROUTER: &[u8] = &[
    0x00, 0x00, 0x00, 0x3c, // NI length 60
    0x4e, 0x49, 0x5f, 0x52, 0x4f, 0x55, 0x54, 0x45, 0x00, // "NI_ROUTE\0"
    0x02, 0x28, 0x02, 0x00, 0x00, 0x00,
    0x01, // version 2, NI 40, 2 entries, MSG, unused, rest 1
    0x00, 0x00, 0x00, 0x24, // route length 36
    0x00, 0x00, 0x00, 0x0f, // offset 15
    0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x35, 0x00, 0x33, 0x32, 0x39, 0x39, 0x00, 0x00, 0x31,
    0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x00, 0x33, 0x32, 0x30, 0x30, 0x00, //
    0x53, 0x33, 0x63, 0x72, 0x33, 0x74, 0x00,
];

/// sap-reference §1.5.1: r1 → r2 (password pw in r2's entry) → app:3200, raw mode.
fn two_routers_payload() -> Vec<u8> {
    let mut p = b"NI_ROUTE\0".to_vec();
    p.extend_from_slice(&[0x02, 0x28, 0x03, 0x01, 0x00, 0x00, 0x02]);
    p.extend_from_slice(&30u32.to_be_bytes());
    p.extend_from_slice(&9u32.to_be_bytes());
    p.extend_from_slice(b"r1\x003299\x00\x00r2\x003299\x00pw\x00app\x003200\x00\x00");
    p
}

fn one_router() -> RouteRequest {
    RouteRequest {
        route_version: 2,
        ni_version: 40,
        talk_mode: TalkMode::Msg,
        rest_nodes: 1,
        offset: 15,
        hops: vec![
            Hop::new("10.0.0.5", "3299"),
            Hop::new("10.0.0.1", "3200").with_password("S3cr3t"),
        ],
    }
}

fn two_routers() -> RouteRequest {
    RouteRequest {
        route_version: 2,
        ni_version: 40,
        talk_mode: TalkMode::Raw,
        rest_nodes: 2,
        offset: 9,
        hops: vec![
            Hop::new("r1", "3299"),
            Hop::new("r2", "3299").with_password("pw"),
            Hop::new("app", "3200"),
        ],
    }
}

#[test]
fn spec_examples_encode_and_decode_byte_for_byte() {
    assert_eq!(frame(&one_router().encode().unwrap()), ONE_ROUTER);
    let (payload, used) = decode_frame(ONE_ROUTER, 1000).unwrap().unwrap();
    assert_eq!(used, ONE_ROUTER.len());
    assert_eq!(RouteRequest::decode(payload).unwrap(), one_router());

    let payload = two_routers_payload();
    assert_eq!(two_routers().encode().unwrap(), payload);
    assert_eq!(RouteRequest::decode(&payload).unwrap(), two_routers());
}

#[test]
fn every_truncation_of_the_examples_fails() {
    for payload in [ONE_ROUTER[4..].to_vec(), two_routers_payload()] {
        for cut in 0..payload.len() {
            assert!(RouteRequest::decode(&payload[..cut]).is_err(), "cut {cut}");
        }
    }
    for cut in 0..ONE_ROUTER.len() {
        assert_eq!(decode_frame(&ONE_ROUTER[..cut], 1000), Ok(None));
    }
}

/// The two-router payload with one header byte (or the offset) replaced.
fn patched(at: usize, value: u8) -> Vec<u8> {
    let mut p = two_routers_payload();
    p[at] = value;
    p
}

fn with_offset(offset: u32) -> Vec<u8> {
    let mut p = two_routers_payload();
    p[0x14..0x18].copy_from_slice(&offset.to_be_bytes());
    p
}

#[test]
fn each_validation_failure_has_its_own_error() {
    let mut trailing = two_routers_payload();
    trailing.push(0);
    let mut long_area = two_routers_payload();
    long_area[0x13] = 31;
    long_area.push(b'x');
    let cases: Vec<(&str, Vec<u8>, NiError)> = vec![
        (
            "eye",
            patched(0, b'X'),
            NiError::BadEyeCatcher {
                expected: "NI_ROUTE",
            },
        ),
        (
            "version 0",
            patched(0x0a, 0),
            NiError::ClientVersionTooOld { ni_version: 0 },
        ),
        ("talk mode", patched(0x0c, 3), NiError::UnknownTalkMode(3)),
        (
            "one entry",
            patched(0x0b, 1),
            NiError::TooFewEntries { entries: 1 },
        ),
        (
            "rest 0",
            patched(0x0f, 0),
            NiError::RestNodesOutOfRange {
                rest_nodes: 0,
                entries: 3,
            },
        ),
        (
            "rest = entries",
            patched(0x0f, 3),
            NiError::RestNodesOutOfRange {
                rest_nodes: 3,
                entries: 3,
            },
        ),
        (
            "offset at end",
            with_offset(30),
            NiError::OffsetOutOfRange {
                offset: 30,
                route_len: 30,
            },
        ),
        (
            "offset inside entry",
            with_offset(4),
            NiError::OffsetNotAtEntry { offset: 4 },
        ),
        (
            "offset at wrong entry",
            with_offset(20),
            NiError::OffsetMismatch {
                offset: 20,
                expected: 9,
            },
        ),
        (
            "too many entries for the area",
            patched(0x0b, 4),
            NiError::MissingNul { field: "hop host" },
        ),
        (
            "too few entries for the area",
            {
                let mut p = patched(0x0b, 2);
                p[0x0f] = 1;
                p
            },
            NiError::TrailingBytes {
                what: "route entries",
                extra: 10,
            },
        ),
        (
            "bytes after the area",
            trailing,
            NiError::TrailingBytes {
                what: "route request",
                extra: 1,
            },
        ),
        (
            "area not ending in NUL",
            long_area,
            NiError::TrailingBytes {
                what: "route entries",
                extra: 1,
            },
        ),
    ];
    for (name, payload, want) in cases {
        let got = RouteRequest::decode(&payload);
        assert_eq!(got, Err(want.clone()), "{name}");
        let code = if matches!(want, NiError::ClientVersionTooOld { .. }) {
            -96
        } else {
            -93
        };
        assert_eq!(want.return_code(), code, "{name}");
    }
}

#[test]
fn strings_must_be_utf8_and_nul_terminated() {
    let mut p = two_routers_payload();
    p[0x18] = 0xff;
    assert_eq!(
        RouteRequest::decode(&p),
        Err(NiError::NotUtf8 { field: "hop host" })
    );
    let mut p = two_routers_payload();
    let last = p.len() - 1;
    p[last] = b'x';
    assert_eq!(
        RouteRequest::decode(&p),
        Err(NiError::MissingNul {
            field: "hop password"
        })
    );
    let mut bad = one_router();
    bad.hops[0].host = "a\0b".into();
    assert_eq!(
        bad.encode(),
        Err(NiError::InteriorNul { field: "hop host" })
    );
    bad.hops = vec![Hop::new("h", "1"); 256];
    assert_eq!(bad.encode(), Err(NiError::TooManyHops { hops: 256 }));
}

#[test]
fn a_huge_route_length_is_refused_without_allocating() {
    let mut p = two_routers_payload();
    p[0x10..0x14].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        RouteRequest::decode(&p),
        Err(NiError::Truncated {
            what: "route area",
            ..
        })
    ));
}

#[test]
fn first_router_sees_next_hop_counts_and_password() {
    let req = two_routers();
    assert_eq!(req.next_index(), Some(1));
    assert_eq!(req.next_hop().unwrap().host, "r2");
    assert_eq!(req.own_hop().unwrap().host, "r1");
    assert_eq!((req.hops_before(), req.hops_after()), (0, 1));
    assert_eq!(req.password_for_next_hop(), "pw");

    let fwd = req.forwarded().unwrap();
    fwd.validate().unwrap();
    assert_eq!((fwd.rest_nodes, fwd.offset), (1, 20));
    assert_eq!(fwd.next_hop().unwrap().host, "app");
    assert_eq!(fwd.own_hop().unwrap().host, "r2");
    assert_eq!((fwd.hops_before(), fwd.hops_after()), (1, 0));
    // The target's entry is empty, so r2 falls back to its own entry, which in this
    // successor-convention request holds r1's password (see `password_for_next_hop`).
    assert_eq!(fwd.password_for_next_hop(), "pw");
    assert_eq!(fwd.forwarded(), None);
    let bytes = fwd.encode().unwrap();
    assert_eq!(RouteRequest::decode(&bytes).unwrap(), fwd);

    let one = one_router();
    assert_eq!((one.hops_before(), one.hops_after()), (0, 0));
    assert_eq!(one.password_for_next_hop(), "S3cr3t");
    assert_eq!(one.forwarded(), None);
}

#[test]
fn password_falls_back_to_the_routers_own_entry() {
    let mut req = one_router();
    req.hops[1].password.clear();
    req.hops[0].password = "mine".into();
    req.offset = 19;
    assert_eq!(req.password_for_next_hop(), "mine");
    req.hops[1].password = "theirs".into();
    assert_eq!(req.password_for_next_hop(), "theirs");
}

#[test]
fn debug_masks_passwords() {
    let text = format!("{:?}", one_router());
    assert!(!text.contains("S3cr3t"), "{text}");
    assert!(text.contains("password: \"***\""), "{text}");
    assert!(text.contains("password: \"\""), "{text}");
}

#[test]
fn hop_port_uses_the_service_table() {
    assert_eq!(Hop::new("h", "sapdp00").port(), Some(3200));
    assert_eq!(Hop::new("h", "sapmsPRD").port(), None);
}

#[test]
fn talk_modes_round_trip() {
    for mode in [TalkMode::Msg, TalkMode::Raw, TalkMode::Rout] {
        assert_eq!(TalkMode::try_from(mode.as_u8()), Ok(mode));
    }
    assert_eq!(TalkMode::try_from(9), Err(NiError::UnknownTalkMode(9)));
}

#[test]
fn forwarding_without_the_checked_password() {
    use crate::route_string::RouteString;
    // Successor convention: the hub's password sits in the next entry.
    let route = RouteString::parse("/H/hub/S/3299/W/token/H/gw/S/3299/W/gwpass/H/sys/S/3200")
        .unwrap()
        .to_request(TalkMode::Msg, NI_VERSION);
    assert_eq!(route.password_for_next_hop(), "token");
    let forwarded = route.forwarded_without_own_password().unwrap();
    forwarded.validate().unwrap();
    let decoded = RouteRequest::decode(&forwarded.encode().unwrap()).unwrap();
    assert_eq!(decoded.password_for_next_hop(), "gwpass");
    assert!(decoded.hops.iter().all(|h| h.password != "token"));
    assert_eq!(decoded.next_hop().unwrap().host, "sys");

    // Own-entry convention: the hub's password sits in its own entry.
    let mut own = route.clone();
    own.hops[0].password = "token".into();
    own.hops[1].password.clear();
    own.offset = own.hops[0].wire_len() as u32;
    own.validate().unwrap();
    let forwarded = own.forwarded_without_own_password().unwrap();
    forwarded.validate().unwrap();
    assert!(forwarded.hops.iter().all(|h| h.password != "token"));

    // Nothing to forward when the next hop is the target.
    let last = RouteString::parse("/H/hub/S/3299/W/token/H/sys/S/3200")
        .unwrap()
        .to_request(TalkMode::Msg, NI_VERSION);
    assert!(last.forwarded_without_own_password().is_none());
}
