//! Service names as SAP route strings and route permission tables use them.
//!
//! SAP systems name their ports by instance number: `sapdpNN` is the dispatcher at 32NN,
//! `sapgwNN` the gateway at 33NN, and the TLS variants `sapdpsNN` / `sapgwsNN` are 47NN / 48NN
//! (sap-reference §1.3). A few well-known names are accepted too, because route permission
//! tables name native services that way (`telnet` in SAP's own example). Anything else must be
//! a port number: there is no `/etc/services` lookup, so a table means the same on every host.

/// The port a service field names: a decimal port (1..=65535), an SAP instance service, or a
/// well-known name. `None` for an unknown name, an empty string or port 0.
pub fn resolve_service(s: &str) -> Option<u16> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u16>().ok().filter(|p| *p != 0);
    }
    let lower = s.to_ascii_lowercase();
    for (prefix, base) in [
        ("sapdps", 4700),
        ("sapgws", 4800),
        ("sapdp", 3200),
        ("sapgw", 3300),
    ] {
        if let Some(nn) = lower.strip_prefix(prefix) {
            return instance(nn).map(|n| base + n);
        }
    }
    WELL_KNOWN
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, port)| *port)
}

/// An SAP instance number: exactly two decimal digits.
fn instance(nn: &str) -> Option<u16> {
    if nn.len() == 2 && nn.bytes().all(|b| b.is_ascii_digit()) {
        nn.parse().ok()
    } else {
        None
    }
}

/// Names a route permission table may use for native services.
const WELL_KNOWN: &[(&str, u16)] = &[
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("http", 80),
    ("ldap", 389),
    ("https", 443),
    ("ldaps", 636),
    ("ms-wbt-server", 3389),
    ("niping", 3298),
    ("saprouter", 3299),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_instances_and_names_resolve() {
        let cases: &[(&str, Option<u16>)] = &[
            ("3200", Some(3200)),
            ("65535", Some(65535)),
            ("0", None),
            ("65536", None),
            ("", None),
            ("sapdp00", Some(3200)),
            ("sapdp99", Some(3299)),
            ("SAPDP01", Some(3201)),
            ("sapgw00", Some(3300)),
            ("sapgw42", Some(3342)),
            ("sapdps00", Some(4700)),
            ("sapgws01", Some(4801)),
            ("sapdp0", None),
            ("sapdp100", None),
            ("sapdpxx", None),
            ("telnet", Some(23)),
            ("saprouter", Some(3299)),
            ("sapmsPRD", None),
            ("nonsense", None),
            ("-1", None),
        ];
        for (input, want) in cases {
            assert_eq!(resolve_service(input), *want, "{input:?}");
        }
    }
}
