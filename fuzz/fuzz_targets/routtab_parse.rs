//! Arbitrary text through the route permission table parser, then a fixed set of route
//! requests through every table that parses.
//!
//! The table is operator input, but a parser that panics on a typo would take the router
//! down at reload. Beyond not panicking: an error's display names a line and column; every
//! decision names an entry that exists and could have made it; and an entry rendered with
//! `Display` (password masked) parses back to an entry that renders the same and decides
//! the same for requests without a password.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use portcullis_router::table::{
    Decision, DenyReason, EntryKind, RouteMode, RouteQuery, RouteTable,
};

/// Names resolve by length, so a fuzzed name can meet the fixed addresses below.
fn resolver(name: &str) -> Vec<IpAddr> {
    let n = (name.len() % 4) as u8;
    vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))]
}

fn queries() -> Vec<RouteQuery<'static>> {
    let v4 = |d: u8| IpAddr::V4(Ipv4Addr::new(10, 0, 0, d));
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
    vec![
        RouteQuery::new(v4(1), "10.0.0.2", 3200),
        RouteQuery::new(v4(2), "host", 3299).with_dest_addr(v4(0)),
        RouteQuery::new(v4(3), "abc", 23).with_mode(RouteMode::Native),
        RouteQuery::new(v4(3), "abc", 23)
            .with_mode(RouteMode::Native)
            .with_hops(0, 1),
        RouteQuery::new(mapped, "2001:db8::1", 8080).with_hops(2, 0),
        RouteQuery::new(v6, "a", 3300).with_tls_peer("CN=s1, O=SAP"),
        RouteQuery::new(v4(0), "10.0.0.1", 4700)
            .with_tls_peer("p:cn=s0")
            .with_mode(RouteMode::Native),
        RouteQuery::new(v4(1), "x.example", 65535).with_hops(255, 255),
    ]
}

fn with_password(queries: &[RouteQuery<'static>]) -> Vec<RouteQuery<'static>> {
    queries.iter().map(|q| q.with_password("pass")).collect()
}

/// The deciding entry's position in the table, and the decision without its line.
fn outcome(table: &RouteTable, decision: &Decision) -> (Option<usize>, Result<bool, DenyReason>) {
    let index = |line: usize| {
        let found = table.entries().iter().position(|e| e.line() == line);
        assert!(
            found.is_some(),
            "decision names line {line}, which has no entry"
        );
        found
    };
    match decision {
        Decision::Permit(permit) => {
            let i = index(permit.line());
            let kind = i.map(|i| table.entries()[i].kind());
            assert!(matches!(
                kind,
                Some(
                    EntryKind::Permit
                        | EntryKind::Secure
                        | EntryKind::KeyPermit
                        | EntryKind::KeySecure
                )
            ));
            (i, Ok(permit.outgoing_tls_peer().is_some()))
        }
        Decision::Deny { line, reason } => {
            assert!(matches!(reason.return_code().code(), -94 | -101));
            let _ = reason.to_string();
            let i = line.and_then(index);
            assert_eq!(line.is_none(), *reason == DenyReason::NoMatch);
            if *reason == DenyReason::DenyEntry {
                let kind = i.map(|i| table.entries()[i].kind());
                assert!(matches!(kind, Some(EntryKind::Deny | EntryKind::KeyDeny)));
            }
            (i, Err(reason.clone()))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut table = match RouteTable::parse(&text) {
        Ok(table) => table,
        Err(err) => {
            assert!(err.to_string().starts_with("line "));
            return;
        }
    };
    table.resolve_hosts(resolver);

    let rendered: String = table.entries().iter().map(|e| format!("{e}\n")).collect();
    let mut again = match RouteTable::parse(&rendered) {
        Ok(again) => again,
        Err(err) => panic!("rendered table does not parse: {err}\n{rendered}"),
    };
    again.resolve_hosts(resolver);
    assert_eq!(again.len(), table.len());
    for (a, b) in table.entries().iter().zip(again.entries()) {
        assert_eq!(a.to_string(), b.to_string());
    }

    let plain = queries();
    for query in &plain {
        let first = outcome(&table, &table.check(query));
        let second = outcome(&again, &again.check(query));
        assert_eq!(first, second, "{query:?}");
    }
    for query in &with_password(&plain) {
        let _ = outcome(&table, &table.check(query));
    }
});
