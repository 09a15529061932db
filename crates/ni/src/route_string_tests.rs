use super::*;

fn hop(host: &str, service: &str, password: &str) -> Hop {
    Hop::new(host, service).with_password(password)
}

#[test]
fn sap_worked_example_parses() {
    let r = RouteString::parse("/H/sap_rout/H/your_rout/W/pass_to_app/H/yourapp/S/sapsrv").unwrap();
    assert_eq!(
        r.hops(),
        &[
            hop("sap_rout", "3299", ""),
            hop("your_rout", "3299", "pass_to_app"),
            hop("yourapp", "sapsrv", ""),
        ]
    );
    assert_eq!(r.target().host, "yourapp");
}

#[test]
fn legacy_p_means_w_on_the_previous_hop() {
    let new = RouteString::parse("/H/saprouter/W/pass/H/targetserver").unwrap();
    let old = RouteString::parse("/H/saprouter/H/targetserver/P/pass").unwrap();
    assert_eq!(new, old);
    assert_eq!(new.hops()[0].password, "pass");
    let mixed = RouteString::parse("/H/r1/H/r2/P/a/W/b/H/app").unwrap();
    assert_eq!(mixed.hops()[0].password, "a");
    assert_eq!(mixed.hops()[1].password, "b");
}

#[test]
fn lower_case_is_lenient_only() {
    let lenient = RouteString::parse("/h/router/s/3299/w/pw/h/target/s/sapdp00").unwrap();
    assert_eq!(
        lenient,
        RouteString::parse_strict("/H/router/S/3299/W/pw/H/target/S/sapdp00").unwrap()
    );
    assert_eq!(
        RouteString::parse_strict("/h/router/H/target"),
        Err(NiError::RouteStringSyntax {
            position: 2,
            expected: "an upper-case token letter (H, S, W or P)",
            found: Some('h'),
        })
    );
    assert_eq!("/H/ab/H/cd".parse::<RouteString>().unwrap().hops().len(), 2);
}

#[test]
fn errors_name_position_and_expectation() {
    let cases: &[(&str, usize, &str, Option<char>)] = &[
        (
            "",
            1,
            "another /H/ (a route needs a SAProuter and a target)",
            None,
        ),
        ("H/ab", 1, "'/'", Some('H')),
        ("/", 2, "a token letter (H, S, W or P)", None),
        ("/H", 3, "'/' after the token letter", None),
        ("/Hx", 3, "'/' after the token letter", Some('x')),
        ("/H/", 4, "a host name", None),
        ("/H//H/cd", 4, "a host name", Some('/')),
        (
            "/H/a/H/cd",
            4,
            "a host name of at least 2 characters",
            Some('a'),
        ),
        (
            "/H/ab",
            6,
            "another /H/ (a route needs a SAProuter and a target)",
            None,
        ),
        ("/H/ab/", 7, "a token letter (H, S, W or P)", None),
        (
            "/S/3299/H/ab",
            2,
            "H (a route string starts with /H/)",
            Some('S'),
        ),
        ("/H/ab/S/", 9, "a service name or port", None),
        ("/H/ab/W//H/cd", 9, "a password", Some('/')),
        (
            "/H/ab/S/1/S/2/H/cd",
            11,
            "/H/ or a token this hop does not have yet",
            Some('S'),
        ),
        (
            "/H/ab/W/1/W/2/H/cd",
            11,
            "/H/ or a token this hop does not have yet",
            Some('W'),
        ),
        (
            "/H/ab/P/x/H/cd",
            7,
            "no /P/ on the first hop (it names the previous router's password)",
            Some('P'),
        ),
        (
            "/H/ab/W/x/H/cd/P/y",
            16,
            "one password per router (the previous hop already has /W/)",
            Some('P'),
        ),
        (
            "/H/ab/H/cd/W/x",
            12,
            "no /W/ on the last hop (the target checks no password)",
            Some('W'),
        ),
        ("/H/ab/X/1/H/cd", 7, "H, S, W or P", Some('X')),
        ("/H/a b/H/cd", 5, "a printable character or '/'", Some(' ')),
        (
            "/H/ab/W/p\0w/H/cd",
            10,
            "a printable character or '/'",
            Some('\0'),
        ),
        ("/1/ab", 2, "a token letter (H, S, W or P)", Some('1')),
    ];
    for (input, position, expected, found) in cases {
        let want = NiError::RouteStringSyntax {
            position: *position,
            expected,
            found: *found,
        };
        assert_eq!(RouteString::parse(input), Err(want), "{input:?}");
    }
}

#[test]
fn positions_count_characters_not_bytes() {
    assert_eq!(
        RouteString::parse("/H/été/H/x"),
        Err(NiError::RouteStringSyntax {
            position: 10,
            expected: "a host name of at least 2 characters",
            found: Some('x'),
        })
    );
}

#[test]
fn m_token_is_unsupported() {
    let err = RouteString::parse("/H/ab/M/x/H/cd").unwrap_err();
    assert_eq!(
        err,
        NiError::RouteStringUnsupported {
            position: 7,
            token: 'M'
        }
    );
    assert_eq!(
        err.to_string(),
        "route string: at position 7: /M/ is not supported"
    );
    assert_eq!(err.return_code(), -8);
}

#[test]
fn at_most_255_hops() {
    let ok = "/H/hh".repeat(255);
    assert_eq!(RouteString::parse(&ok).unwrap().hops().len(), 255);
    let too_many = "/H/hh".repeat(256);
    assert!(matches!(
        RouteString::parse(&too_many),
        Err(NiError::RouteStringSyntax {
            position: 1277,
            expected: "at most 255 hops",
            ..
        })
    ));
}

#[test]
fn display_is_canonical_and_reparses() {
    let r = RouteString::parse("/H/saprouter/H/target/S/sapdp00/P/secret").unwrap();
    assert_eq!(
        r.to_string(),
        "/H/saprouter/S/3299/W/secret/H/target/S/sapdp00"
    );
    assert_eq!(r.redacted(), "/H/saprouter/S/3299/W/***/H/target/S/sapdp00");
    assert_eq!(RouteString::parse(&r.to_string()).unwrap(), r);
    assert!(!format!("{r:?}").contains("secret"));
}

#[test]
fn to_request_matches_the_spec_examples() {
    let one = RouteString::parse("/H/10.0.0.5/W/S3cr3t/H/10.0.0.1/S/3200").unwrap();
    let req = one.to_request(TalkMode::Msg, 40);
    let mut want = b"NI_ROUTE\0".to_vec();
    want.extend_from_slice(&[2, 0x28, 2, 0, 0, 0, 1, 0, 0, 0, 0x24, 0, 0, 0, 0x0f]);
    want.extend_from_slice(b"10.0.0.5\x003299\x00\x0010.0.0.1\x003200\x00S3cr3t\x00");
    assert_eq!(want.len(), 60);
    assert_eq!(req.encode().unwrap(), want);
    req.validate().unwrap();

    let legacy = RouteString::parse("/H/r1/H/r2/P/pw/H/app/S/3200").unwrap();
    let req = legacy.to_request(TalkMode::Raw, 40);
    let mut want = b"NI_ROUTE\0".to_vec();
    want.extend_from_slice(&[2, 0x28, 3, 1, 0, 0, 2, 0, 0, 0, 30, 0, 0, 0, 9]);
    want.extend_from_slice(b"r1\x003299\x00\x00r2\x003299\x00pw\x00app\x003200\x00\x00");
    assert_eq!(req.encode().unwrap(), want);
    assert_eq!(req.password_for_next_hop(), "pw");
}
