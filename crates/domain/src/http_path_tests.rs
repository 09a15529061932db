use super::*;

fn ok(target: &str) -> String {
    match parse_target(target.as_bytes()) {
        Ok(t) => t.origin_form(),
        Err(e) => panic!("{target:?} refused: {e}"),
    }
}

fn err(target: &str) -> PathError {
    match parse_target(target.as_bytes()) {
        Ok(t) => panic!("{target:?} accepted as {t}"),
        Err(e) => e,
    }
}

#[test]
fn spellings_normalise_to_one_path() {
    for (target, canonical) in [
        ("/", "/"),
        ("/allowed", "/allowed"),
        ("/allowed/", "/allowed/"),
        ("/allowed?x=1&y=/../z", "/allowed?x=1&y=/../z"),
        ("/allowed/../secret", "/secret"),
        ("/allowed/%2e%2e/secret", "/secret"),
        ("/allowed/%2E%2E/secret", "/secret"),
        ("/allowed/.%2e/secret", "/secret"),
        ("/allowed/./x", "/allowed/x"),
        ("/allowed/%2e/x", "/allowed/x"),
        ("//allowed/../secret", "/secret"),
        ("//allowed//x", "/allowed/x"),
        ("/allowed///", "/allowed/"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/a/..", "/"),
        ("/allowed;x/../secret", "/secret"),
        ("/app;jsessionid=AB12/page", "/app;jsessionid=AB12/page"),
        ("/%61%6C%6c%6Fwed", "/allowed"),
        ("/a%7e%2D%5f", "/a~-_"),
        ("/a%2bb", "/a%2Bb"),
        ("/a%3bb", "/a%3Bb"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/a{b}|c", "/a%7Bb%7D%7Cc"),
        (
            "/sap/opu/odata/sap/API_BP('1')",
            "/sap/opu/odata/sap/API_BP('1')",
        ),
        ("/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="),
        ("http://web.internal/allowed/../secret?q", "/secret?q"),
        ("HTTP://web.internal:8080/hello", "/hello"),
        ("https://web.internal", "/"),
        ("http://web.internal?x", "/?x"),
    ] {
        assert_eq!(ok(target), canonical, "{target:?}");
        assert_eq!(
            ok(canonical),
            canonical,
            "canonical form is stable: {canonical:?}"
        );
    }
}

#[test]
fn targets_without_a_single_meaning_are_refused() {
    use PathError::*;
    for (target, why) in [
        ("", Empty),
        ("*", AsteriskForm),
        ("web.internal:443", NotOriginForm),
        ("allowed", NotOriginForm),
        ("ftp://h/x", NotOriginForm),
        ("http:///x", BadAbsoluteForm),
        ("http://user@h/x", BadAbsoluteForm),
        ("/a b", BadByte(b' ')),
        ("/a\0", BadByte(0)),
        ("/a\t", BadByte(b'\t')),
        ("/a\x7f", BadByte(0x7f)),
        ("/caf\u{e9}", BadByte(0xc3)),
        ("/a#frag", BadByte(b'#')),
        ("/a\\..\\secret", Backslash),
        ("/allowed%2F..%2Fsecret", EncodedSeparator),
        ("/allowed/%2E%2E%2Fsecret", EncodedSeparator),
        ("/allowed/..%2fsecret", EncodedSeparator),
        ("/allowed%5C..%5Csecret", EncodedSeparator),
        ("/a%00", EncodedControl),
        ("/a%0a", EncodedControl),
        ("/a%7F", EncodedControl),
        ("/a%", MalformedEscape),
        ("/a%2", MalformedEscape),
        ("/a%zz", MalformedEscape),
        ("/a%%32e", MalformedEscape),
        ("/allowed/%252e%252e/secret", DoubleEncoding),
        // Decoding the unreserved escapes would make a double encoding out of it.
        ("/app/%25%41%41", DoubleEncoding),
        ("/a%c0%ae%c0%ae/x", NotUtf8),
        ("/a%ff", NotUtf8),
        ("/..", AboveRoot),
        ("/a/../..", AboveRoot),
        ("/%2e%2e/x", AboveRoot),
        ("http://h/../x", AboveRoot),
        ("/allowed/..;/secret", DotSegmentWithParams),
        ("/allowed/.;x/y", DotSegmentWithParams),
        ("/allowed/%2e%2e;x/secret", DotSegmentWithParams),
        ("/allowed/..%3Bx/secret", DotSegmentWithParams),
        ("/allowed/;x/y", EmptySegmentWithParams),
        ("/allowed/%3bx/y", EmptySegmentWithParams),
        ("/admin./x", TrailingDotOrBlank),
        ("/.../x", TrailingDotOrBlank),
        ("/allowed/..%20/secret", TrailingDotOrBlank),
        ("/admin%20/x", TrailingDotOrBlank),
        ("/admin;x./y", TrailingDotOrBlank),
    ] {
        assert_eq!(err(target), why, "{target:?}");
    }
    assert_eq!(
        parse_target(&[b'/'; MAX_TARGET_LEN + 1]),
        Err(PathError::TooLong)
    );
}

#[test]
fn readings_take_parameters_off_before_and_after_decoding() {
    let t = parse_target(b"/app;x/admin%3Bv/b%2Bc").unwrap();
    assert_eq!(t.path(), "/app;x/admin%3Bv/b%2Bc");
    assert_eq!(
        t.readings(),
        ["/app;x/admin;v/b+c", "/app/admin/b+c", "/app/admin;v/b+c"]
    );
    assert_eq!(parse_target(b"/plain").unwrap().readings(), ["/plain"]);
}

mod property {
    use super::super::*;
    use crate::access::resource::{check, PathPolicy, Resource};
    use proptest::prelude::*;

    /// Pieces attackers combine: separators, dot spellings, escapes, parameters.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("/".to_owned()),
            Just("/".to_owned()),
            Just("//".to_owned()),
            Just("/..".to_owned()),
            Just("/../".to_owned()),
            Just("/admin".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("%2e".to_owned()),
            Just("%2E%2e".to_owned()),
            Just("%2f".to_owned()),
            Just("%5c".to_owned()),
            Just("\\".to_owned()),
            Just(";".to_owned()),
            Just(";x".to_owned()),
            Just("%3b".to_owned()),
            Just("%25".to_owned()),
            Just("%41".to_owned()),
            Just("%20".to_owned()),
            Just("?".to_owned()),
            Just("#".to_owned()),
            Just("app".to_owned()),
            Just("admin".to_owned()),
            Just("ADMIN".to_owned()),
            Just("secret".to_owned()),
            Just("http://h".to_owned()),
            "[a-z]{1,3}".prop_map(|s| s),
            any::<u8>().prop_map(|b| char::from(b).to_string()),
        ]
    }

    /// Mostly targets that start inside `/app`, so that many are accepted and the escapes
    /// have something to escape from; some arbitrary bytes.
    fn target() -> impl Strategy<Value = Vec<u8>> {
        let start = prop_oneof![
            Just("/app/"),
            Just("/app"),
            Just("//app/"),
            Just("/app;x/"),
            Just("http://h/app/"),
            Just("/"),
            Just(""),
        ];
        let pieces = prop::collection::vec(piece(), 0..10);
        prop_oneof![
            4 => (start, pieces).prop_map(|(s, p)| format!("{s}{}", p.concat()).into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..40),
        ]
    }

    /// How a back end reads what it receives, independently of the parser: decode every
    /// escape, split at `/`, optionally take `;params` off each segment. `None` when the
    /// result still climbs (`.`/`..` segments).
    fn backend_view(forwarded: &str, strip_params: bool) -> Option<String> {
        let path = forwarded.split('?').next().unwrap();
        let mut out = String::new();
        for seg in path.split('/').skip(1) {
            let seg = if strip_params {
                seg.split(';').next().unwrap()
            } else {
                seg
            };
            let decoded = String::from_utf8(decode_bytes(seg.as_bytes())).ok()?;
            let name = if strip_params {
                decoded.split(';').next().unwrap().to_owned()
            } else {
                decoded
            };
            if name == "." || name == ".." || name.contains('/') || name.contains('\\') {
                return None;
            }
            out.push('/');
            out.push_str(&name);
        }
        Some(if out.is_empty() { "/".into() } else { out })
    }

    fn inside(view: &str, resource: &str, policy: PathPolicy, ci: bool) -> bool {
        let (view, resource) = if ci {
            (view.to_ascii_lowercase(), resource.to_ascii_lowercase())
        } else {
            (view.to_owned(), resource.to_owned())
        };
        match policy {
            PathPolicy::PathOnly => view == resource,
            PathPolicy::PathAndSubPaths => view.starts_with(&resource),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Anything accepted is canonical: parsing it again changes nothing, it starts with
        /// `/` and holds no dot segment.
        #[test]
        fn accepted_paths_are_canonical(t in target()) {
            if let Ok(parsed) = parse_target(&t) {
                let again = parse_target(parsed.origin_form().as_bytes()).unwrap();
                prop_assert_eq!(&again, &parsed);
                prop_assert!(parsed.path().starts_with('/'));
                prop_assert!(!parsed.path().split('/').any(|s| s == "." || s == ".."));
                prop_assert!(!parsed.path().contains("//"));
            }
        }

        /// For any bytes accepted under a resource, the path the back end receives is inside
        /// that resource however the back end reads `;` parameters, and a suspended
        /// `/app/admin` sub-tree is never reached.
        #[test]
        fn accepted_requests_stay_inside_the_resource(
            t in target(),
            exact in any::<bool>(),
            ci in any::<bool>(),
        ) {
            let policy = if exact { PathPolicy::PathOnly } else { PathPolicy::PathAndSubPaths };
            let app = Resource::new("/app", policy).unwrap();
            let mut admin = Resource::new("/app/admin", PathPolicy::PathAndSubPaths).unwrap();
            admin.active = false;
            let rs = [app, admin];
            if let Ok(allowed) = check(&rs, &t, false, ci) {
                let forwarded = allowed.target.origin_form();
                for strip in [false, true] {
                    let view = backend_view(&forwarded, strip);
                    prop_assert!(view.is_some(), "{forwarded:?} climbs");
                    let view = view.unwrap();
                    prop_assert!(inside(&view, "/app", policy, ci), "{forwarded:?} → {view:?}");
                    prop_assert!(!inside(&view, "/app/admin", PathPolicy::PathAndSubPaths, ci),
                        "{forwarded:?} reaches the suspended sub-tree as {view:?}");
                }
            }
        }
    }
}
