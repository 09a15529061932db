//! How clients name a service connection at an entry point.
//!
//! Every entry point takes a host name and a port (a SOCKS5 domain address, an HTTP
//! `CONNECT host:port`, `portcullis connect host:port`), so a service connection is named as a
//! host under the reserved suffix [`SERVICE_SUFFIX`]:
//!
//! ```text
//! <connection type>.<SID>.<company>.portcullis     e.g.  ssh.prd.acme.portcullis:22
//! ```
//!
//! with the service connection's virtual port. Every label compares case-insensitively: the type
//! and the SID are folded here, and company names (like SIDs and location IDs) are unique
//! without regard to case and looked up that way, so `ssh.PRD.ACME.portcullis` names acme's
//! system and can name no other tenant's. The company name may itself contain dots: the type
//! and the SID are the first two labels, the company is the rest.

/// The suffix that marks a service-connection name.
pub const SERVICE_SUFFIX: &str = ".portcullis";

/// A parsed service-connection name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName {
    /// Connection type key, lower-case.
    pub type_key: String,
    /// SID, upper-case.
    pub sid: String,
    /// Company name as the client wrote it (not folded: the store looks it up without case
    /// and answers with the name as stored).
    pub company: String,
}

impl ServiceName {
    /// The host name for this service connection.
    pub fn host(&self) -> String {
        format!(
            "{}.{}.{}{SERVICE_SUFFIX}",
            self.type_key,
            self.sid.to_ascii_lowercase(),
            self.company
        )
    }
}

/// Parses `host` if it is a service-connection name; `None` for any other host (which the
/// caller treats as a plain virtual host).
pub fn parse_service_host(host: &str) -> Option<ServiceName> {
    let lower = host.to_ascii_lowercase();
    let stem_len = lower.strip_suffix(SERVICE_SUFFIX)?.len();
    let stem = &host[..stem_len];
    let mut parts = stem.splitn(3, '.');
    let type_key = parts.next()?.to_ascii_lowercase();
    let sid = parts.next()?.to_ascii_uppercase();
    let company = parts.next()?.to_owned();
    if type_key.is_empty() || sid.is_empty() || company.is_empty() {
        return None;
    }
    Some(ServiceName {
        type_key,
        sid,
        company,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        let n = parse_service_host("ssh.prd.acme.portcullis").unwrap();
        assert_eq!(
            n,
            ServiceName {
                type_key: "ssh".into(),
                sid: "PRD".into(),
                company: "acme".into()
            }
        );
        assert_eq!(n.host(), "ssh.prd.acme.portcullis");
        let dotted = parse_service_host("R3_Support.PRD.acme.eu.PORTCULLIS").unwrap();
        assert_eq!(
            (
                dotted.type_key.as_str(),
                dotted.sid.as_str(),
                dotted.company.as_str()
            ),
            ("r3_support", "PRD", "acme.eu")
        );
    }

    #[test]
    fn other_hosts_are_not_service_names() {
        for h in [
            "erp.internal",
            "portcullis",
            ".portcullis",
            "ssh.portcullis",
            "ssh.prd.portcullis",
            "ssh..acme.portcullis",
            "ssh.prd.acme.portcullis.evil",
        ] {
            assert_eq!(parse_service_host(h), None, "{h}");
        }
    }
}
