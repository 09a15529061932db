//! What an access control entry says besides its targets: back-end type, protocol, host
//! header, system certificate, system ID, description (sap-reference §3.5.1, §3.5.2), and
//! the rules that tie them together.

use std::fmt;
use std::str::FromStr;

/// Longest system ID.
pub const MAX_SYSTEM_ID_LEN: usize = 32;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 255;

/// What kind of system an entry reaches; it limits the protocols (sap-reference §3.5.1).
/// Written as SAP's API writes it (`abapSys`, `nonSAPsys`, …).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum BackendType {
    /// ABAP system.
    #[serde(rename = "abapSys")]
    AbapSys,
    /// SAP Gateway.
    #[serde(rename = "netweaverGW")]
    NetweaverGw,
    /// SAP HANA.
    #[serde(rename = "hana")]
    Hana,
    /// SAP Application Server Java.
    #[serde(rename = "applServerJava")]
    ApplServerJava,
    /// SAP Composition Environment.
    #[serde(rename = "netweaverCE")]
    NetweaverCe,
    /// SAP Business Connector.
    #[serde(rename = "BC")]
    BusinessConnector,
    /// SAP Process Integration.
    #[serde(rename = "PI")]
    ProcessIntegration,
    /// Another SAP system.
    #[serde(rename = "otherSAPsys")]
    OtherSapSys,
    /// Anything else (the default: it allows every protocol but NI).
    #[default]
    #[serde(rename = "nonSAPsys")]
    NonSapSys,
}

impl BackendType {
    /// Every type, in SAP's order.
    pub const ALL: [BackendType; 9] = [
        BackendType::AbapSys,
        BackendType::NetweaverGw,
        BackendType::Hana,
        BackendType::ApplServerJava,
        BackendType::NetweaverCe,
        BackendType::BusinessConnector,
        BackendType::ProcessIntegration,
        BackendType::OtherSapSys,
        BackendType::NonSapSys,
    ];

    /// The API name (`abapSys`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendType::AbapSys => "abapSys",
            BackendType::NetweaverGw => "netweaverGW",
            BackendType::Hana => "hana",
            BackendType::ApplServerJava => "applServerJava",
            BackendType::NetweaverCe => "netweaverCE",
            BackendType::BusinessConnector => "BC",
            BackendType::ProcessIntegration => "PI",
            BackendType::OtherSapSys => "otherSAPsys",
            BackendType::NonSapSys => "nonSAPsys",
        }
    }

    /// The protocols SAP allows for this type, and NI (SAP GUI's route to an ABAP
    /// dispatcher, or to a SAProuter) where an SAP system that speaks it can sit. RFC is not
    /// offered: it needs SAP's proprietary library.
    pub fn protocols(self) -> &'static [Protocol] {
        use Protocol::*;
        match self {
            BackendType::AbapSys | BackendType::NetweaverGw => &[Http, Https, Tcp, TcpTls, Ni],
            BackendType::Hana => &[Http, Https, Tcp, TcpTls],
            BackendType::ApplServerJava
            | BackendType::NetweaverCe
            | BackendType::BusinessConnector
            | BackendType::ProcessIntegration => &[Http, Https],
            BackendType::OtherSapSys => &[Http, Https, Tcp, TcpTls, Ni],
            BackendType::NonSapSys => &[Http, Https, Tcp, TcpTls, Ldap, Ldaps],
        }
    }
}

impl fmt::Display for BackendType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is none of a type's values, as [`BackendType`], [`Protocol`] and
/// [`HostInHeader`] parse them from configuration files and API requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnknownName {
    /// Not a back-end type.
    #[error("{given:?} is not a back-end type ({})", BackendType::names())]
    BackendType {
        /// The name given, trimmed.
        given: String,
    },
    /// Not a protocol.
    #[error("{given:?} is not a protocol (http, https, tcp, tcp_tls, ldap, ldaps, ni)")]
    Protocol {
        /// The name given, trimmed.
        given: String,
    },
    /// Neither `virtual` nor `internal`.
    #[error("{given:?} is neither \"virtual\" nor \"internal\"")]
    HostInHeader {
        /// The name given, trimmed and lower-cased.
        given: String,
    },
}

impl BackendType {
    /// Every API name, comma-separated, for messages.
    fn names() -> String {
        let names: Vec<&str> = BackendType::ALL.iter().map(|t| t.as_str()).collect();
        names.join(", ")
    }
}

impl FromStr for BackendType {
    type Err = UnknownName;

    /// The API name, compared ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        BackendType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownName::BackendType { given: s.into() })
    }
}

/// Protocols an entry can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// HTTP to the back end; requests checked against the entry's resources.
    Http,
    /// HTTP over TLS to the back end.
    Https,
    /// Plain TCP, relayed byte for byte.
    Tcp,
    /// TCP with TLS from the connector to the back end.
    TcpTls,
    /// LDAP.
    Ldap,
    /// LDAP over TLS.
    Ldaps,
    /// SAP NI (SAP GUI, RFC over a SAProuter), relayed byte for byte.
    Ni,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 7] = [
        Protocol::Http,
        Protocol::Https,
        Protocol::Tcp,
        Protocol::TcpTls,
        Protocol::Ldap,
        Protocol::Ldaps,
        Protocol::Ni,
    ];

    /// The configuration name (`tcp_tls`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Tcp => "tcp",
            Protocol::TcpTls => "tcp_tls",
            Protocol::Ldap => "ldap",
            Protocol::Ldaps => "ldaps",
            Protocol::Ni => "ni",
        }
    }

    /// Whether the connector speaks TLS to the back end.
    pub fn is_tls(self) -> bool {
        matches!(self, Protocol::Https | Protocol::TcpTls | Protocol::Ldaps)
    }

    /// Whether requests are HTTP (resources, host header).
    pub fn is_http(self) -> bool {
        matches!(self, Protocol::Http | Protocol::Https)
    }

    /// Whether an entry may map a port range: stream protocols without a notion of a host
    /// (SAP allows ranges for TCP; NI dispatchers come in ranges too).
    pub fn allows_port_range(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::TcpTls | Protocol::Ni)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = UnknownName;

    /// `http`, `https`, `tcp`, `tcp_tls` (also `tcp-tls`, `tcps` as SAP's API writes it),
    /// `ldap`, `ldaps`, `ni`, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let lower = match lower.as_str() {
            "tcp-tls" | "tcps" => "tcp_tls",
            other => other,
        };
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == lower)
            .ok_or_else(|| UnknownName::Protocol {
                given: s.trim().into(),
            })
    }
}

/// Which host name an HTTP request carries to the back end.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum HostInHeader {
    /// `Host` is the virtual host (SAP's default).
    #[default]
    Virtual,
    /// `Host` is the internal host; the virtual one goes in `X-Forwarded-Host`.
    Internal,
}

impl FromStr for HostInHeader {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "virtual" => Ok(HostInHeader::Virtual),
            "internal" => Ok(HostInHeader::Internal),
            other => Err(UnknownName::HostInHeader {
                given: other.into(),
            }),
        }
    }
}

/// An entry's settings besides name, targets and protocol. The default is what an entry
/// without them means: a non-SAP system, the virtual host in requests, no system
/// certificate, no system ID, no description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryOptions {
    /// Back-end type.
    pub backend_type: BackendType,
    /// Host in request header (HTTP and HTTPS only).
    pub host_in_header: HostInHeader,
    /// Log on to the back end with the system certificate (HTTPS, TCP-TLS, LDAPS only).
    pub system_certificate: bool,
    /// The back end's system ID, for people.
    pub system_id: Option<String>,
    /// What the entry is for, for people.
    pub description: String,
    /// The paths HTTP(S) requests may reach ([`super::resource`]); HTTP and HTTPS only.
    pub resources: Vec<super::Resource>,
    /// The back end ignores the case of paths (IIS, SAP ICM with case-insensitive
    /// handlers): resources then compare in ASCII lowercase, so a suspended `/app/admin`
    /// also refuses `/APP/Admin`. HTTP and HTTPS only.
    pub case_insensitive_paths: bool,
}

/// Checks the options against the protocol and each other; `Err` names the field and why.
pub(crate) fn check_options(
    protocol: Protocol,
    ports: u32,
    o: &EntryOptions,
) -> Result<(), (&'static str, String)> {
    if !o.backend_type.protocols().contains(&protocol) {
        let allowed: Vec<&str> = o
            .backend_type
            .protocols()
            .iter()
            .map(|p| p.as_str())
            .collect();
        return Err((
            "protocol",
            format!(
                "{protocol} is not offered for back-end type {} (allowed: {})",
                o.backend_type,
                allowed.join(", ")
            ),
        ));
    }
    if ports > 1 && !protocol.allows_port_range() {
        return Err((
            "virtual",
            format!("a port range is only allowed for tcp, tcp_tls and ni, not {protocol}"),
        ));
    }
    if o.host_in_header == HostInHeader::Internal && !protocol.is_http() {
        return Err((
            "host_in_header",
            format!("only HTTP and HTTPS requests carry a host header, not {protocol}"),
        ));
    }
    if o.system_certificate && !protocol.is_tls() {
        return Err((
            "system_certificate",
            format!("the system certificate is a TLS client certificate: https, tcp_tls or ldaps, not {protocol}"),
        ));
    }
    if let Some(sid) = &o.system_id {
        let ok = !sid.is_empty()
            && sid.len() <= MAX_SYSTEM_ID_LEN
            && sid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err((
                "system_id",
                format!("1 to {MAX_SYSTEM_ID_LEN} letters, digits, '_' or '-'"),
            ));
        }
    }
    if o.case_insensitive_paths && !protocol.is_http() {
        return Err((
            "case_insensitive_paths",
            format!("only HTTP and HTTPS requests have paths, not {protocol}"),
        ));
    }
    if !o.resources.is_empty() && !protocol.is_http() {
        return Err((
            "resources",
            format!("resources are URL paths of HTTP and HTTPS entries, not {protocol}"),
        ));
    }
    for (i, r) in o.resources.iter().enumerate() {
        if o.resources[..i]
            .iter()
            .any(|other| other.path == r.path && other.policy == r.policy)
        {
            return Err((
                "resources",
                format!("{} is listed twice with the same policy", r.path),
            ));
        }
    }
    if o.description.chars().count() > MAX_DESCRIPTION_LEN
        || o.description.chars().any(char::is_control)
    {
        return Err((
            "description",
            format!("at most {MAX_DESCRIPTION_LEN} characters without control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        for t in BackendType::ALL {
            assert_eq!(t.as_str().parse::<BackendType>(), Ok(t));
            assert_eq!(t.as_str().to_uppercase().parse::<BackendType>(), Ok(t));
        }
        for p in Protocol::ALL {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
        assert_eq!("TCPS".parse::<Protocol>(), Ok(Protocol::TcpTls));
        assert_eq!("tcp-tls".parse::<Protocol>(), Ok(Protocol::TcpTls));
        assert!("udp"
            .parse::<Protocol>()
            .unwrap_err()
            .to_string()
            .contains("not a protocol"));
        assert!("sap"
            .parse::<BackendType>()
            .unwrap_err()
            .to_string()
            .contains("abapSys"));
        assert_eq!(
            " Udp ".parse::<Protocol>(),
            Err(UnknownName::Protocol {
                given: "Udp".into()
            })
        );
        assert_eq!(
            "Both".parse::<HostInHeader>().unwrap_err().to_string(),
            "\"both\" is neither \"virtual\" nor \"internal\""
        );
        assert_eq!(
            "Internal".parse::<HostInHeader>(),
            Ok(HostInHeader::Internal)
        );
    }

    #[test]
    fn the_backend_type_limits_the_protocols() {
        // sap-reference §3.5.1, plus NI for SAP systems.
        let java = EntryOptions {
            backend_type: BackendType::ApplServerJava,
            ..EntryOptions::default()
        };
        assert!(check_options(Protocol::Https, 1, &java).is_ok());
        let (field, why) = check_options(Protocol::Tcp, 1, &java).unwrap_err();
        assert_eq!(field, "protocol");
        assert!(why.contains("allowed: http, https"), "{why}");
        assert!(check_options(Protocol::Ldaps, 1, &EntryOptions::default()).is_ok());
        let abap = EntryOptions {
            backend_type: BackendType::AbapSys,
            ..EntryOptions::default()
        };
        assert!(check_options(Protocol::Ni, 1, &abap).is_ok());
        assert!(check_options(Protocol::Ldap, 1, &abap).is_err());
        assert!(check_options(Protocol::Ni, 1, &EntryOptions::default()).is_err());
    }

    #[test]
    fn fields_that_only_fit_some_protocols() {
        let d = EntryOptions::default();
        assert_eq!(
            check_options(Protocol::Http, 2, &d).unwrap_err().0,
            "virtual"
        );
        assert!(check_options(Protocol::Tcp, 100, &d).is_ok());
        let internal = EntryOptions {
            host_in_header: HostInHeader::Internal,
            ..EntryOptions::default()
        };
        assert!(check_options(Protocol::Http, 1, &internal).is_ok());
        assert_eq!(
            check_options(Protocol::Tcp, 1, &internal).unwrap_err().0,
            "host_in_header"
        );
        let cert = EntryOptions {
            system_certificate: true,
            ..EntryOptions::default()
        };
        for p in [Protocol::Https, Protocol::TcpTls, Protocol::Ldaps] {
            assert!(check_options(p, 1, &cert).is_ok(), "{p}");
        }
        for p in [Protocol::Http, Protocol::Tcp, Protocol::Ldap] {
            assert_eq!(
                check_options(p, 1, &cert).unwrap_err().0,
                "system_certificate"
            );
        }
    }

    #[test]
    fn resources_belong_to_http_entries_once_each() {
        let with = |paths: &[&str]| EntryOptions {
            resources: paths
                .iter()
                .map(|p| super::super::Resource::new(p, Default::default()).unwrap())
                .collect(),
            ..EntryOptions::default()
        };
        assert!(check_options(Protocol::Http, 1, &with(&["/a", "/b"])).is_ok());
        assert_eq!(
            check_options(Protocol::Tcp, 1, &with(&["/a"]))
                .unwrap_err()
                .0,
            "resources"
        );
        let (field, why) = check_options(Protocol::Https, 1, &with(&["/a", "/a"])).unwrap_err();
        assert_eq!(field, "resources");
        assert!(why.contains("/a is listed twice"), "{why}");
    }

    #[test]
    fn system_id_and_description_limits() {
        let with = |sid: &str, description: &str| EntryOptions {
            system_id: Some(sid.into()),
            description: description.into(),
            ..EntryOptions::default()
        };
        assert!(check_options(Protocol::Tcp, 1, &with("PRD", "production ERP")).is_ok());
        for bad in ["", "P R D", &"X".repeat(33)] {
            assert_eq!(
                check_options(Protocol::Tcp, 1, &with(bad, ""))
                    .unwrap_err()
                    .0,
                "system_id",
                "{bad:?}"
            );
        }
        assert_eq!(
            check_options(Protocol::Tcp, 1, &with("PRD", "line\nbreak"))
                .unwrap_err()
                .0,
            "description"
        );
        assert!(check_options(Protocol::Tcp, 1, &with("PRD", &"é".repeat(255))).is_ok());
        assert!(check_options(Protocol::Tcp, 1, &with("PRD", &"é".repeat(256))).is_err());
    }
}
