//! Every syntax error, with the line, column and field it names.

use super::*;
use SyntaxErrorKind as K;

#[test]
fn each_error_names_line_column_and_field() {
    let source = "a source host";
    let peer = "a peer name (a TLS subject, or *)";
    #[rustfmt::skip]
    let cases = [
        ("P * * *\nX * * *", 2, 1, "X", K::UnknownType),
        ("p * * *", 1, 1, "p", K::UnknownType),
        ("PD * * *", 1, 1, "PD", K::UnknownType),
        ("  P0 * * *", 1, 3, "P0", K::HopLimits),
        ("P0,256 * * *", 1, 1, "P0,256", K::HopLimits),
        ("S,1 *", 1, 1, "S,1", K::HopLimits),
        ("P1,2,3 *", 1, 1, "P1,2,3", K::HopLimits),
        ("D0,* host3", 1, 1, "D0,*", K::HopLimitsNotAllowed),
        ("KP0,* * *", 1, 1, "KP0,*", K::HopLimitsNotAllowed),
        ("P", 1, 1, "P", K::MissingField { what: source }),
        ("KT   ", 1, 1, "KT", K::MissingField { what: peer }),
        ("P * * * pw extra", 1, 12, "extra", K::TooManyFields { max: 4 }),
        ("D * * * pw", 1, 9, "pw", K::PasswordNotAllowed),
        ("D * * * x y", 1, 9, "x", K::PasswordNotAllowed),
        ("KT * h * pw", 1, 10, "pw", K::PasswordNotAllowed),
        ("KD * * * pw", 1, 10, "pw", K::PasswordNotAllowed),
        ("P * * 3200 #dispatcher", 1, 12, "#dispatcher", K::InlineComment),
        ("D * * * # deny the rest", 1, 9, "#", K::InlineComment),
        ("# fine\n\nP    155.56.1011xxx.*", 3, 6, "155.56.1011xxx.*", K::BinaryOctet),
        ("P 10.0.0.1011xxxx1", 1, 3, "10.0.0.1011xxxx1", K::BinaryOctet),
        ("P 155.56.*", 1, 3, "155.56.*", K::Ipv4Octets),
        ("P 10.0.0.0.1", 1, 3, "10.0.0.0.1", K::Ipv4Octets),
        ("P 3232235777", 1, 3, "3232235777", K::Ipv4Octets),
        ("P 10.0.0.256", 1, 3, "10.0.0.256", K::Ipv4Octet),
        ("P 10.0.010.1", 1, 3, "10.0.010.1", K::Ipv4Octet),
        ("P 10..0.1", 1, 3, "10..0.1", K::Ipv4Octet),
        ("P 10.0.0.0/33", 1, 3, "10.0.0.0/33", K::PrefixLength { max: 32 }),
        ("P 10.0.0.0/", 1, 3, "10.0.0.0/", K::PrefixLength { max: 32 }),
        ("P 10.*.0.0/16", 1, 3, "10.*.0.0/16", K::PrefixNeedsAddress),
        ("P * 2001:db8::/129", 1, 5, "2001:db8::/129", K::PrefixLength { max: 128 }),
        ("P * 2001:db8:::1", 1, 5, "2001:db8:::1", K::Ipv6),
        ("P * fe80::1%eth0", 1, 5, "fe80::1%eth0", K::Ipv6),
        ("P bad!host", 1, 3, "bad!host", K::HostName),
        ("P host..example", 1, 3, "host..example", K::HostName),
        ("P *.example.com", 1, 3, "*.example.com", K::HostName),
        ("P ü", 1, 3, "ü", K::HostName),
        ("P * * serviceX", 1, 7, "serviceX", K::UnknownService),
        ("P * * 3200-3298", 1, 7, "3200-3298", K::UnknownService),
        ("P * * 0", 1, 7, "0", K::Port),
        ("P * * 70000", 1, 7, "70000", K::Port),
        ("P * * 3298.3200", 1, 7, "3298.3200", K::PortRange),
        ("P * * 3200.", 1, 7, "3200.", K::PortRange),
        ("KP \"p:CN=x * *", 1, 4, "\"p:CN=x * *", K::UnterminatedQuote),
        ("KP \"p:CN=x\"y * *", 1, 12, "y", K::AfterQuote),
        ("KP p:CN=\"x\" * *", 1, 4, "p:CN=\"x\"", K::PeerNameQuote),
        ("KP \"\" * *", 1, 4, "", K::EmptyPeerName),
        ("KP \" p: \" * *", 1, 4, " p: ", K::EmptyPeerName),
        // Tabs are one column each; CRLF line ends; columns count characters, not bytes.
        ("\tP\t*\t*\tnope", 1, 8, "nope", K::UnknownService),
        ("P * * *\r\nP * * bad\r\n", 2, 7, "bad", K::UnknownService),
        ("KP \"p:CN=Jürgen, O=X\" * nope", 1, 25, "nope", K::UnknownService),
        ("\u{feff}P * * nope", 1, 7, "nope", K::UnknownService),
    ];
    let mut failures = Vec::new();
    for (text, line, column, field, kind) in cases {
        let got = RouteTable::parse(text).map(|table| table.len());
        let ok = matches!(
            &got,
            Err(TableError::Syntax { path: None, line: l, column: c, field: f, kind: k })
                if (*l, *c, f.as_str(), k) == (line, column, field, &kind)
        );
        if !ok {
            failures.push(format!(
                "{text:?}: got {got:?}, want {line}:{column} {field:?} {kind:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn an_error_reads_as_a_sentence() {
    let err = RouteTable::parse("# fine\n\nP    155.56.1011xxx.*").err();
    assert_eq!(
        err.map(|err| err.to_string()).as_deref(),
        Some(r#"line 3, column 6: "155.56.1011xxx.*": a binary octet needs 8 digits of 0, 1 or x"#)
    );
}

#[test]
fn loading_names_the_file() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("saprouttab");
    let err = RouteTable::load(&missing).unwrap_err();
    assert!(matches!(&err, TableError::NotFound { path } if *path == missing));
    let message = err.to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("refuses to start"), "{message}");

    let bad = dir.path().join("bad");
    std::fs::write(&bad, "P * * *\nP * * serviceX\n").unwrap();
    let message = RouteTable::load(&bad).unwrap_err().to_string();
    let want = format!(
        "route permission table {}: line 2, column 7: \"serviceX\": unknown service name",
        bad.display()
    );
    assert!(message.starts_with(&want), "{message}");

    let latin1 = dir.path().join("latin1");
    std::fs::write(&latin1, b"P * * *\nP * * * J\xfcrgen\n").unwrap();
    let err = RouteTable::load(&latin1).unwrap_err();
    assert!(
        matches!(
            err,
            TableError::NotUtf8 {
                line: 2,
                column: 10,
                ..
            }
        ),
        "{err:?}"
    );

    let good = dir.path().join("good");
    std::fs::write(&good, "\u{feff}# header\r\nP * * 3200\r\nD * * *\r\n").unwrap();
    let table = RouteTable::load(&good).unwrap();
    assert_eq!(table.len(), 2);
    assert_eq!(table.entries()[1].line(), 3);
}
