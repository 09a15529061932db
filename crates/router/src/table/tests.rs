//! Scenario tests: SAP's two example tables (sap-reference §1.2.5) line by line, then the
//! error catalogue and the finer points of parsing and matching.

mod details;
mod errors;

use std::net::{IpAddr, Ipv4Addr};

use super::*;

/// SAP's first example. SAP writes `serviceX` on line 1, a placeholder: service names must be
/// known here, so it is `sapgw00` (port 3300, outside line 3's 3200–3298).
const FIXTURE_1: &str = "\
D    host1              host2        sapgw00
D    host3
P    *                  *            3200.3298
P    155.56.*.*         155.56.*.*
P    155.57.1011xxxx.*
P    host4              host5        *            pass
S    host6
P    host7              host8        telnet
P*,0 *                  *            *            gui
";

/// SAP's second example ("Route Table Examples"), with its documented internal form.
const FIXTURE_2: &str = r#"D 10.1.0.0 * *
P0,* 10.1.*.* * *
S*,0 * 10.2.00001xxx.* *
P*,1 * 10.2.*.* *
P 10.3.0.0 10.4.*.* 7
P 10.3.0.1 10.4.0.1 * test
P 10.3.0.2 localhost *
P 10.3.0.3 localhost * info
S 10.3.0.4
KT "p:CN=s0" 10.5.0.0 *
KD "p:CN=s1" 10.5.0.1 *
KP "p:CN=s1" * *
KS * 10.5.0.* *
D * * *
"#;

/// `hostN` is 10.0.0.N, `localhost` 127.0.0.1, ignoring case; other names do not resolve.
fn fake_resolver(name: &str) -> Vec<IpAddr> {
    let name = name.to_ascii_lowercase();
    if name == "localhost" {
        return vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    }
    match name.strip_prefix("host").and_then(|n| n.parse::<u8>().ok()) {
        Some(n) => vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))],
        None => Vec::new(),
    }
}

fn table(text: &str) -> RouteTable {
    let mut table = RouteTable::parse(text).unwrap_or_else(|err| panic!("{err}"));
    table.resolve_hosts(fake_resolver);
    table
}

/// A query from `source` (an address or a fake host name) to `dest` as a client writes it;
/// the router would resolve `dest`, so the fake resolver does.
fn q(source: &str, dest: &'static str, port: u16) -> RouteQuery<'static> {
    let source = source.parse().unwrap_or_else(|_| fake_resolver(source)[0]);
    let query = RouteQuery::new(source, dest, port);
    match fake_resolver(dest).first() {
        Some(addr) if query.dest_addr.is_none() => query.with_dest_addr(*addr),
        _ => query,
    }
}

/// A decision reduced to what the cases compare.
#[derive(Debug, PartialEq)]
enum Want {
    Permit(usize),
    Deny(Option<usize>, DenyReason),
}

use DenyReason::*;
use RouteMode::Native;
use Want::{Deny, Permit as Allow};

fn decide(table: &RouteTable, query: &RouteQuery<'_>) -> Want {
    match table.check(query) {
        Decision::Permit(permit) => Want::Permit(permit.line()),
        Decision::Deny { line, reason } => Want::Deny(line, reason),
    }
}

fn run(table: &RouteTable, cases: Vec<(&str, RouteQuery<'_>, Want)>) {
    let mut failures = Vec::new();
    for (what, query, want) in cases {
        let got = decide(table, &query);
        if got != want {
            failures.push(format!("{what}: got {got:?}, want {want:?} for {query:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn peer(name: &str) -> PeerName {
    PeerName::parse(name).unwrap_or_else(|kind| panic!("{name}: {kind}"))
}

#[test]
fn fixture_1_parses_into_sap_s_entries() {
    let table = table(FIXTURE_1);
    let rendered: Vec<String> = table.entries().iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "D host1 host2 sapgw00",
            "D host3 * *",
            "P * * 3200.3298",
            "P 155.56.*.* 155.56.*.* *",
            "P 155.57.1011xxxx.* * *",
            "P host4 host5 * ********",
            "S host6 * *",
            "P host7 host8 telnet",
            "P*,0 * * * ********",
        ]
    );
    let lines: Vec<usize> = table.entries().iter().map(Entry::line).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let e = table.entries();
    assert_eq!(e[0].service.ports(), Some((3300, 3300)));
    assert_eq!(e[2].service.ports(), Some((3200, 3298)));
    assert_eq!(e[7].service.ports(), Some((23, 23)));
    assert_eq!(e[8].hop_limits(), (255, 0));
    assert_eq!(e[6].kind(), EntryKind::Secure);
}

#[test]
fn fixture_1_means_what_sap_says() {
    let table = table(FIXTURE_1);
    #[rustfmt::skip]
    let cases = vec![
        // D host1 host2 serviceX: "no host1→host2:serviceX".
        ("1: host1→host2:3300", q("host1", "host2", 3300).with_password("gui"), Deny(Some(1), DenyEntry)),
        ("1: by address", q("host1", "10.0.0.2", 3300), Deny(Some(1), DenyEntry)),
        ("1: other ports reach line 9", q("host1", "host2", 3301).with_password("gui"), Allow(9)),
        // D host3: "nothing from host3".
        ("2: host3 to a line-3 port", q("host3", "host2", 3200), Deny(Some(2), DenyEntry)),
        ("2: native telnet too", q("host3", "host8", 23).with_mode(Native), Deny(Some(2), DenyEntry)),
        // P * * 3200.3298: "any route to ports 3200–3298".
        ("3: 3200", q("10.9.9.9", "host2", 3200), Allow(3)),
        ("3: 3298", q("10.9.9.9", "10.7.7.7", 3298).with_hops(3, 3), Allow(3)),
        ("3: native SAP port", q("10.9.9.9", "10.7.7.7", 3200).with_mode(Native), Allow(3)),
        ("3: 3299 is outside", q("10.9.9.9", "host2", 3299), Deny(Some(9), WrongPassword)),
        // P 155.56.*.* 155.56.*.*: "anything inside 155.56.0.0/16".
        ("4: inside", q("155.56.1.2", "155.56.200.3", 8080), Allow(4)),
        ("4: not outward", q("155.56.1.2", "155.57.1.1", 8080), Deny(Some(9), WrongPassword)),
        ("4: not inward", q("155.55.1.2", "155.56.1.1", 8080), Deny(Some(9), WrongPassword)),
        // P 155.57.1011xxxx.*: "anything from 155.57.176.0–155.57.191.255".
        ("5: lowest", q("155.57.176.0", "10.9.9.9", 8080), Allow(5)),
        ("5: highest", q("155.57.191.255", "10.9.9.9", 8080), Allow(5)),
        ("5: below", q("155.57.175.255", "10.9.9.9", 8080), Deny(Some(9), WrongPassword)),
        ("5: above", q("155.57.192.0", "10.9.9.9", 8080), Deny(Some(9), WrongPassword)),
        // P host4 host5 * pass: "host4→host5 any port with password pass".
        ("6: pass", q("host4", "host5", 8080).with_password("pass"), Allow(6)),
        ("6: native to an SAP port", q("host4", "host5", 3600).with_password("pass").with_mode(Native), Allow(6)),
        ("6: wrong password does not fall through", q("host4", "host5", 8080).with_password("gui"), Deny(Some(6), WrongPassword)),
        ("6: no password", q("host4", "host5", 8080), Deny(Some(6), WrongPassword)),
        // S host6: "from host6 NI protocol only".
        ("7: NI", q("host6", "host2", 8080).with_hops(2, 2), Allow(7)),
        ("7: native via another router", q("host6", "host2", 8080).with_mode(Native).with_hops(0, 1), Deny(Some(7), ModeDenied)),
        ("7: native, last router, non-SAP port: * does not match", q("host6", "host2", 8080).with_mode(Native), Deny(None, NoMatch)),
        // P host7 host8 telnet: "native telnet from host7 to host8".
        ("8: telnet", q("host7", "host8", 23).with_mode(Native), Allow(8)),
        ("8: by address", q("host7", "10.0.0.8", 23).with_mode(Native), Allow(8)),
        ("8: ssh is not named", q("host7", "host8", 22).with_mode(Native), Deny(None, NoMatch)),
        // P*,0 * * * gui: "with password gui only routes with no further router after this one".
        ("9: gui, last router", q("10.9.9.9", "10.8.8.8", 8080).with_password("gui"), Allow(9)),
        ("9: routers before are fine", q("10.9.9.9", "10.8.8.8", 8080).with_password("gui").with_hops(9, 0), Allow(9)),
        ("9: a router after", q("10.9.9.9", "10.8.8.8", 8080).with_password("gui").with_hops(0, 1), Deny(Some(9), TooManyAfter { limit: 0, actual: 1 })),
        ("9: native non-SAP port needs it named", q("10.9.9.9", "10.8.8.8", 8080).with_password("gui").with_mode(Native), Deny(None, NoMatch)),
    ];
    run(&table, cases);
}

#[test]
fn fixture_2_has_sap_s_internal_form() {
    let table = table(FIXTURE_2);
    let ip = |s: &str| s.parse::<Ipv4Addr>().ok();
    let e = table.entries();
    assert_eq!(e.len(), 14);
    let source = |i: usize| match &e[i].origin {
        entry::Origin::Host(host) => host.v4_and_wildcard_mask(),
        entry::Origin::Peer(_) => None,
    };
    // D 10.1.0.0 * *
    assert_eq!(source(0), ip("10.1.0.0").zip(ip("0.0.0.0")));
    // P0,* 10.1.*.* * *: shs 0, dsh 255, mask 00.00.ff.ff.
    assert_eq!(e[1].hop_limits(), (0, 255));
    assert_eq!(source(1), ip("10.1.0.0").zip(ip("0.0.255.255")));
    // S*,0 * 10.2.00001xxx.* *: 10.2.8.0–10.2.15.255.
    assert_eq!(
        (e[2].kind(), e[2].hop_limits()),
        (EntryKind::Secure, (255, 0))
    );
    assert_eq!(
        e[2].dest.v4_and_wildcard_mask(),
        ip("10.2.8.0").zip(ip("0.0.7.255"))
    );
    // P*,1 * 10.2.*.* *
    assert_eq!(e[3].hop_limits(), (255, 1));
    assert_eq!(
        e[3].dest.v4_and_wildcard_mask(),
        ip("10.2.0.0").zip(ip("0.0.255.255"))
    );
    // P 10.3.0.0 10.4.*.* 7
    assert_eq!(e[4].service.ports(), Some((7, 7)));
    // Passwords: `test` and `info`, kept only as digests.
    assert!(e[5]
        .password
        .as_ref()
        .is_some_and(|p| p.accepts("test") && !p.accepts("info")));
    assert!(e[7]
        .password
        .as_ref()
        .is_some_and(|p| p.accepts("info") && !p.accepts("")));
    assert!(e[6].password.is_none());
    // S 10.3.0.4: any destination, any service.
    assert_eq!(e[8].to_string(), "S 10.3.0.4 * *");
    // K entries.
    let kinds: Vec<EntryKind> = e[9..].iter().map(Entry::kind).collect();
    let want = [
        EntryKind::KeyTarget,
        EntryKind::KeyDeny,
        EntryKind::KeyPermit,
        EntryKind::KeySecure,
        EntryKind::Deny,
    ];
    assert_eq!(kinds, want);
    assert_eq!(e[9].peer_name(), Some(&peer("p:CN=s0")));
    assert!(e[12].peer_name().is_some_and(PeerName::is_any));
    let rendered: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "D 10.1.0.0 * *",
            "P0,* 10.1.*.* * *",
            "S*,0 * 10.2.00001xxx.* *",
            "P*,1 * 10.2.*.* *",
            "P 10.3.0.0 10.4.*.* 7",
            "P 10.3.0.1 10.4.0.1 * ********",
            "P 10.3.0.2 localhost *",
            "P 10.3.0.3 localhost * ********",
            "S 10.3.0.4 * *",
            "KT \"p:CN=s0\" 10.5.0.0 *",
            "KD \"p:CN=s1\" 10.5.0.1 *",
            "KP \"p:CN=s1\" * *",
            "KS * 10.5.0.* *",
            "D * * *",
        ]
    );
}

#[test]
fn fixture_2_means_what_sap_says() {
    let table = table(FIXTURE_2);
    let s0 = || peer("p:CN=s0");
    #[rustfmt::skip]
    let cases = vec![
        ("1: D 10.1.0.0", q("10.1.0.0", "10.9.0.1", 3200), Deny(Some(1), DenyEntry)),
        ("2: P0,* from 10.1.*.*", q("10.1.2.3", "10.9.0.1", 3200), Allow(2)),
        ("2: any routers after", q("10.1.2.3", "10.9.0.1", 3200).with_hops(0, 200), Allow(2)),
        ("2: a router before", q("10.1.2.3", "10.9.0.1", 3200).with_hops(1, 0), Deny(Some(2), TooManyBefore { limit: 0, actual: 1 })),
        ("3: S*,0 to 10.2.8.0", q("10.7.0.1", "10.2.8.0", 3200).with_hops(40, 0), Allow(3)),
        ("3: to 10.2.15.255", q("10.7.0.1", "10.2.15.255", 3200), Allow(3)),
        ("3: native", q("10.7.0.1", "10.2.8.1", 3200).with_mode(Native), Deny(Some(3), ModeDenied)),
        ("3: a router after does not fall through to 4", q("10.7.0.1", "10.2.8.1", 3200).with_hops(0, 1), Deny(Some(3), TooManyAfter { limit: 0, actual: 1 })),
        ("4: 10.2.16.0 is outside line 3", q("10.7.0.1", "10.2.16.0", 3200).with_hops(0, 1), Allow(4)),
        ("4: 10.2.7.255 is outside line 3", q("10.7.0.1", "10.2.7.255", 3200), Allow(4)),
        ("4: two routers after", q("10.7.0.1", "10.2.16.0", 3200).with_hops(0, 2), Deny(Some(4), TooManyAfter { limit: 1, actual: 2 })),
        ("4: native non-SAP port at the last router", q("10.7.0.1", "10.2.16.0", 8080).with_mode(Native), Deny(Some(14), DenyEntry)),
        ("5: port 7, named explicitly", q("10.3.0.0", "10.4.1.1", 7).with_mode(Native), Allow(5)),
        ("5: port 8", q("10.3.0.0", "10.4.1.1", 8), Deny(Some(14), DenyEntry)),
        ("6: password test", q("10.3.0.1", "10.4.0.1", 3200).with_password("test"), Allow(6)),
        ("6: passwords are case-sensitive", q("10.3.0.1", "10.4.0.1", 3200).with_password("TEST"), Deny(Some(6), WrongPassword)),
        ("6: no password", q("10.3.0.1", "10.4.0.1", 3200), Deny(Some(6), WrongPassword)),
        ("7: localhost by name", q("10.3.0.2", "localhost", 3200), Allow(7)),
        ("7: localhost by address", q("10.3.0.2", "127.0.0.1", 3200), Allow(7)),
        ("7: name case and trailing dot", q("10.3.0.2", "LocalHost.", 3200), Allow(7)),
        ("7: another host", q("10.3.0.2", "127.0.0.2", 3200), Deny(Some(14), DenyEntry)),
        ("8: password info", q("10.3.0.3", "localhost", 3299).with_password("info"), Allow(8)),
        ("8: no password", q("10.3.0.3", "localhost", 3299), Deny(Some(8), WrongPassword)),
        ("9: S 10.3.0.4, NI", q("10.3.0.4", "10.9.9.9", 8080).with_hops(1, 1), Allow(9)),
        ("9: native", q("10.3.0.4", "10.9.9.9", 3200).with_mode(Native), Deny(Some(9), ModeDenied)),
        ("10: KT source without TLS", q("10.5.0.0", "10.5.0.9", 3200), Deny(Some(10), TlsRequired { peer: s0() })),
        ("10: KT source as another peer", q("10.5.0.0", "10.5.0.9", 3200).with_tls_peer("CN=s1"), Deny(Some(10), TlsRequired { peer: s0() })),
        ("10: KT source as s0, reaching KS", q("10.5.0.0", "10.5.0.9", 3200).with_tls_peer("CN=s0"), Allow(13)),
        ("10: KT source as s0, elsewhere", q("10.5.0.0", "10.9.9.9", 3200).with_tls_peer("CN=s0"), Deny(Some(14), DenyEntry)),
        ("11: KD s1 to 10.5.0.1", q("10.8.0.1", "10.5.0.1", 3200).with_tls_peer("CN=s1"), Deny(Some(11), DenyEntry)),
        ("11: without TLS no K entry applies", q("10.8.0.1", "10.5.0.1", 3200), Deny(Some(14), DenyEntry)),
        ("12: KP s1 anywhere", q("10.8.0.1", "10.9.9.9", 3200).with_tls_peer("cn=S1"), Allow(12)),
        ("12: native too", q("10.8.0.1", "10.9.9.9", 3200).with_tls_peer("p:CN=s1").with_mode(Native), Allow(12)),
        ("12: K entries have no hop limits", q("10.8.0.1", "10.9.9.9", 3200).with_tls_peer("CN=s1").with_hops(9, 9), Allow(12)),
        ("12: another peer", q("10.8.0.1", "10.9.9.9", 3200).with_tls_peer("CN=s2"), Deny(Some(14), DenyEntry)),
        ("13: KS, any peer", q("10.8.0.1", "10.5.0.7", 3200).with_tls_peer("CN=other, O=x"), Allow(13)),
        ("13: KS, native", q("10.8.0.1", "10.5.0.7", 3200).with_tls_peer("CN=other").with_mode(Native), Deny(Some(13), ModeDenied)),
        ("13: KS, without TLS", q("10.8.0.1", "10.5.0.7", 3200), Deny(Some(14), DenyEntry)),
        ("14: D * * *", q("10.9.9.9", "10.9.9.8", 3200), Deny(Some(14), DenyEntry)),
    ];
    run(&table, cases);
}

#[test]
fn fixture_2_kt_names_the_outgoing_peer() {
    let table = table(FIXTURE_2);
    let outgoing = |query: RouteQuery<'_>| match table.check(&query) {
        Decision::Permit(permit) => permit.outgoing_tls_peer().cloned(),
        deny => panic!("{query:?}: {deny:?}"),
    };
    let to_s0 = q("10.8.0.1", "10.5.0.0", 3299).with_tls_peer("CN=s1");
    assert_eq!(outgoing(to_s0), Some(peer("p:CN=s0")));
    assert!(outgoing(to_s0).is_some_and(|name| name.matches("CN=s0") && !name.matches("CN=s1")));
    let elsewhere = q("10.8.0.1", "10.5.0.1", 3299).with_tls_peer("CN=s3");
    assert_eq!(outgoing(elsewhere), None);
}

#[test]
fn an_empty_table_denies_everything() {
    for text in ["", "\n\n", "# only a comment\n   \n\t# another\n"] {
        let table = table(text);
        assert!(table.is_empty(), "{text:?}");
        assert_eq!(table.len(), 0);
        assert_eq!(
            decide(&table, &q("10.0.0.1", "10.0.0.2", 3200)),
            Deny(None, NoMatch)
        );
    }
}
