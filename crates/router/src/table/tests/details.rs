//! The finer points: field forms, the native-service rule, condition order, TLS peer names,
//! host-name resolution, masking.

use super::*;

#[test]
fn hop_limits_parse_and_render() {
    let cases = [
        ("P0,* *", (0, 255), "P0,* * * *"),
        ("P*,0 *", (255, 0), "P*,0 * * *"),
        ("S*,1 *", (255, 1), "S*,1 * * *"),
        ("P255,3 *", (255, 3), "P*,3 * * *"),
        ("P007,1 *", (7, 1), "P7,1 * * *"),
        ("P *", (255, 255), "P * * *"),
        ("P*,* *", (255, 255), "P * * *"),
        ("KP * *", (255, 255), "KP * * *"),
    ];
    for (text, limits, rendered) in cases {
        let table = table(text);
        let entry = &table.entries()[0];
        assert_eq!(
            (entry.hop_limits(), entry.to_string().as_str()),
            (limits, rendered),
            "{text}"
        );
    }
}

#[test]
fn host_forms_match_sources() {
    #[rustfmt::skip]
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("133.27.16.0/24", &["133.27.16.0", "133.27.16.255"], &["133.27.17.0", "133.27.15.255"]),
        ("133.27.16.9/24", &["133.27.16.200"], &["133.27.17.9"]),
        ("0.0.0.0/0", &["1.2.3.4", "255.255.255.255"], &["::1"]),
        ("10.0.0.1/32", &["10.0.0.1"], &["10.0.0.2"]),
        ("133.27.17.*", &["133.27.17.0", "133.27.17.99"], &["133.27.18.1"]),
        ("10.*.3.*", &["10.200.3.4"], &["10.200.4.4", "11.200.3.4"]),
        ("*.*.*.*", &["8.8.8.8"], &["2001:db8::1"]),
        ("00001111.*.*.*", &["15.1.2.3"], &["14.1.2.3"]),
        ("1011XXXX.0.0.0", &["176.0.0.0", "191.0.0.0"], &["192.0.0.0", "176.0.0.1"]),
        ("1.2.3.4", &["1.2.3.4", "::ffff:1.2.3.4"], &["1.2.3.5", "::1.2.3.4"]),
        ("10.1.*.*", &["::ffff:10.1.2.3"], &["::ffff:10.2.2.3"]),
        ("2001:db8::/32", &["2001:db8:1::1"], &["2001:db9::", "10.0.0.1"]),
        ("::1", &["::1"], &["::2", "127.0.0.1"]),
        ("::ffff:10.0.0.0/104", &["10.1.2.3", "::ffff:10.9.9.9"], &["11.0.0.0"]),
        ("*", &["0.0.0.0", "::"], &[]),
        ("host4", &["10.0.0.4"], &["10.0.0.5"]),
        ("nowhere.example", &[], &["10.0.0.4", "0.0.0.0"]),
    ];
    for (pattern, yes, no) in cases {
        let table = table(&format!("P {pattern} * *"));
        for addr in *yes {
            let got = decide(&table, &q(addr, "10.9.9.9", 3200));
            assert_eq!(got, Allow(1), "{pattern} should match {addr}");
        }
        for addr in *no {
            let got = decide(&table, &q(addr, "10.9.9.9", 3200));
            assert_eq!(
                got,
                Deny(None, NoMatch),
                "{pattern} should not match {addr}"
            );
        }
    }
}

#[test]
fn service_forms() {
    let cases = [
        ("sapdp00", (3200, 3200)),
        ("SAPGW01", (3301, 3301)),
        ("sapdps00", (4700, 4700)),
        ("sapgw00.sapgw99", (3300, 3399)),
        ("3299.3299", (3299, 3299)),
        ("1.65535", (1, 65535)),
        ("telnet", (23, 23)),
        ("65535", (65535, 65535)),
    ];
    for (service, ports) in cases {
        let table = table(&format!("P * * {service}"));
        assert_eq!(table.entries()[0].service.ports(), Some(ports), "{service}");
        assert_eq!(table.entries()[0].to_string(), format!("P * * {service}"));
    }
}

#[test]
fn sap_service_ports_are_the_native_exception() {
    let table = table("P * * *");
    let native_last = |port| q("10.0.0.1", "10.0.0.2", port).with_mode(Native);
    for port in [
        3200, 3298, 3299, 3300, 3399, 3600, 3699, 4700, 4799, 4800, 4899,
    ] {
        assert_eq!(decide(&table, &native_last(port)), Allow(1), "{port}");
    }
    for port in [22, 80, 3199, 3400, 3599, 3700, 4699, 4900, 65535] {
        assert_eq!(
            decide(&table, &native_last(port)),
            Deny(None, NoMatch),
            "{port}"
        );
        let via_router = native_last(port).with_hops(0, 1);
        assert_eq!(decide(&table, &via_router), Allow(1), "{port} via a router");
        let ni = native_last(port).with_mode(RouteMode::Ni);
        assert_eq!(decide(&table, &ni), Allow(1), "{port} NI");
    }
    // A deny entry's `*` still matches: the rule never lets a route past a D line.
    let table = super::table("D 10.0.0.1\nP * * 22");
    assert_eq!(decide(&table, &native_last(22)), Deny(Some(1), DenyEntry));
}

#[test]
fn the_password_is_checked_before_hops_and_mode() {
    let table = table("S0,0 * * * pw");
    let base = q("10.0.0.1", "10.0.0.2", 3200).with_mode(Native);
    #[rustfmt::skip]
    let cases = vec![
        ("nothing right", base.with_hops(1, 1), Deny(Some(1), WrongPassword)),
        ("password right", base.with_hops(1, 1).with_password("pw"), Deny(Some(1), TooManyBefore { limit: 0, actual: 1 })),
        ("hops right", base.with_password("pw"), Deny(Some(1), ModeDenied)),
        ("all right", base.with_password("pw").with_mode(RouteMode::Ni), Allow(1)),
    ];
    run(&table, cases);
}

#[test]
fn generic_password_accepts_anything() {
    let table = table("P * * * *");
    for password in ["", "x", "a long password"] {
        let query = q("10.0.0.1", "10.0.0.2", 3200).with_password(password);
        assert_eq!(decide(&table, &query), Allow(1), "{password:?}");
    }
    assert_eq!(table.entries()[0].to_string(), "P * * * *");
}

#[test]
fn passwords_never_show() {
    let table = table("P * * * hunter2\nKP \"p:CN=a b\" * * hunter2");
    for entry in table.entries() {
        assert!(entry.to_string().ends_with(" ********"));
        let shown = format!("{entry:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        // Not even the digest: a SHA-256 of a weak password is as good as the password.
        assert!(shown.contains("Digest(<redacted 32 bytes>)"), "{shown}");
    }
    let query = q("10.0.0.1", "10.0.0.2", 3200).with_password("hunter2");
    assert!(!format!("{query:?}").contains("hunter2"));
}

#[test]
fn peer_names_compare_loosely() {
    let name = peer("p:CN=sapserv2, OU=SAProuter, O=SAP, C=DE");
    for subject in [
        "CN=sapserv2,OU=SAProuter,O=SAP,C=DE",
        "cn=SAPSERV2 ,  ou=saprouter,o=sap, c=de",
        "p:CN=sapserv2, OU=SAProuter, O=SAP, C=DE",
        "  P:CN=sapserv2, OU=SAProuter, O=SAP, C=DE ",
    ] {
        assert!(name.matches(subject), "{subject}");
    }
    for subject in [
        "CN=sapserv2, OU=SAProuter, O=SAP",
        "CN=sap serv2, OU=SAProuter, O=SAP, C=DE",
        "OU=SAProuter, CN=sapserv2, O=SAP, C=DE",
        "",
    ] {
        assert!(!name.matches(subject), "{subject}");
    }
    assert!(peer("*").matches("CN=anything") && peer("*").is_any());
    assert_eq!(
        name.as_written(),
        "p:CN=sapserv2, OU=SAProuter, O=SAP, C=DE"
    );
}

#[test]
fn peer_names_quoted_or_not() {
    let table = table(concat!(
        "KP \"p:CN=sapserv2, OU=SAProuter, O=SAP, C=DE\" 10.10.10.10 3200\n",
        "KP p:CN=s0 * *\n",
        "KP \"p:CN=s0\"\t* *\n",
        "KP \"*\" * *\n",
    ));
    let rendered: Vec<String> = table.entries().iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "KP \"p:CN=sapserv2, OU=SAProuter, O=SAP, C=DE\" 10.10.10.10 3200",
            "KP \"p:CN=s0\" * *",
            "KP \"p:CN=s0\" * *",
            "KP * * *",
        ]
    );
    let sapserv2 =
        q("10.0.0.1", "10.10.10.10", 3200).with_tls_peer("CN=sapserv2, OU=SAProuter, O=SAP, C=DE");
    assert_eq!(decide(&table, &sapserv2), Allow(1));
}

#[test]
fn plain_entries_match_tls_connections_too() {
    let table = table("P 10.0.0.1 * *");
    let query = q("10.0.0.1", "10.0.0.2", 3200).with_tls_peer("CN=r1");
    assert_eq!(decide(&table, &query), Allow(1));
}

#[test]
fn kt_service_applies_outgoing_only() {
    let table = table("KT \"p:CN=r2\" 10.9.0.1 3299\nKT * 10.9.0.2\nP * * *");
    let outgoing = |query: RouteQuery<'_>| match table.check(&query) {
        Decision::Permit(permit) => permit.outgoing_tls_peer().cloned(),
        deny => panic!("{query:?}: {deny:?}"),
    };
    assert_eq!(
        outgoing(q("10.0.0.1", "10.9.0.1", 3299)),
        Some(peer("p:CN=r2"))
    );
    assert_eq!(outgoing(q("10.0.0.1", "10.9.0.1", 3200)), None);
    assert_eq!(outgoing(q("10.0.0.1", "10.9.0.2", 80)), Some(peer("*")));
    #[rustfmt::skip]
    let cases = vec![
        ("from r2 without TLS", q("10.9.0.1", "10.0.0.1", 3200), Deny(Some(1), TlsRequired { peer: peer("p:CN=r2") })),
        ("from r2 with TLS", q("10.9.0.1", "10.0.0.1", 3200).with_tls_peer("CN=r2"), Allow(3)),
        ("from .2 without TLS", q("10.9.0.2", "10.0.0.1", 3200), Deny(Some(2), TlsRequired { peer: peer("*") })),
        ("from .2 with any TLS peer", q("10.9.0.2", "10.0.0.1", 3200).with_tls_peer("CN=x"), Allow(3)),
    ];
    run(&table, cases);
    let reason = TlsRequired { peer: peer("*") };
    assert_eq!(
        reason.to_string(),
        "the source must connect over mutually authenticated TLS"
    );
}

#[test]
fn return_codes() {
    let cases = [
        (DenyEntry, -94),
        (NoMatch, -94),
        (WrongPassword, -94),
        (
            TooManyBefore {
                limit: 0,
                actual: 1,
            },
            -94,
        ),
        (
            TooManyAfter {
                limit: 0,
                actual: 1,
            },
            -94,
        ),
        (ModeDenied, -101),
        (TlsRequired { peer: peer("*") }, -94),
    ];
    for (reason, code) in cases {
        assert_eq!(reason.return_code().code(), code, "{reason}");
    }
}

#[test]
fn host_names_resolve_once_each() {
    let mut table =
        RouteTable::parse("P host1 HOST2 *\nP host2 host1 *\nD 10.0.0.9 unknown *").unwrap();
    assert_eq!(table.host_names(), ["host1", "HOST2", "unknown"]);
    let mut asked = Vec::new();
    table.resolve_hosts(|name| {
        asked.push(name.to_owned());
        fake_resolver(name)
    });
    assert_eq!(asked, ["host1", "HOST2", "unknown"]);
    // The name of an unresolved destination still matches by name; an unresolved name never
    // matches a source.
    let query = RouteQuery::new("10.0.0.9".parse().unwrap(), "UNKNOWN", 80);
    assert_eq!(decide(&table, &query), Deny(Some(3), DenyEntry));
    assert_eq!(decide(&table, &q("host2", "host1", 80)), Allow(2));
    // Resolving again replaces the addresses.
    table.resolve_hosts(|_| Vec::new());
    assert_eq!(
        decide(&table, &q("host2", "host1", 80)),
        Deny(None, NoMatch)
    );
    assert_eq!(decide(&table, &query), Deny(Some(3), DenyEntry));
}

#[test]
fn query_new_takes_a_literal_destination_address() {
    let query = RouteQuery::new("10.0.0.1".parse().unwrap(), "2001:db8::1", 3200);
    assert_eq!(query.dest_addr, "2001:db8::1".parse().ok());
    let query = RouteQuery::new("10.0.0.1".parse().unwrap(), "sapserver", 3200);
    assert_eq!(query.dest_addr, None);
}

#[test]
fn rendered_tables_parse_back_to_themselves() {
    for text in [FIXTURE_1, FIXTURE_2] {
        let first = RouteTable::parse(text).unwrap();
        let rendered: String = first.entries().iter().map(|e| format!("{e}\n")).collect();
        let second = RouteTable::parse(&rendered).unwrap();
        let again: String = second.entries().iter().map(|e| format!("{e}\n")).collect();
        assert_eq!(rendered, again);
    }
}
