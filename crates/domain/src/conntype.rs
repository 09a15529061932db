//! Connection types (a catalogue, not hard-coded behaviour) and service connections: a type
//! set up for one system, pointing at a connector location and a virtual `host:port` that
//! connector exposes (sap-reference §2.3).

use serde::{Deserialize, Serialize};

use crate::target::{check_host, TargetError};

/// How the hub and connector carry a connection type's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnProtocol {
    /// SAP NI (SAP GUI, RFC) through a route.
    Ni,
    /// Plain TCP, byte for byte.
    Tcp,
    /// HTTP(S) to a maintained URL.
    Http,
}

impl ConnProtocol {
    /// Every value.
    pub const ALL: [ConnProtocol; 3] = [ConnProtocol::Ni, ConnProtocol::Tcp, ConnProtocol::Http];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnProtocol::Ni => "ni",
            ConnProtocol::Tcp => "tcp",
            ConnProtocol::Http => "http",
        }
    }
}

impl std::str::FromStr for ConnProtocol {
    type Err = ConnError;
    fn from_str(s: &str) -> Result<Self, ConnError> {
        ConnProtocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ConnError::Invalid {
                field: "protocol",
                reason: format!("{s:?} is not one of: ni, tcp, http"),
            })
    }
}

/// A connection type's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnTypeDef {
    /// Short stable key used on command lines and in entry-point names, e.g. `ssh`.
    pub key: String,
    /// Display name, e.g. `SSH`.
    pub name: String,
    /// How traffic is carried.
    pub protocol: ConnProtocol,
    /// The usual port, if there is one. For NI types this is the base: the system number is
    /// added (`3200` + `NN` gives the dispatcher port `32NN`).
    pub default_port: Option<u16>,
    /// Whether a service connection of this type must name a URL (web types).
    pub needs_url: bool,
    /// What the type is for.
    pub description: String,
}

/// The catalogue every hub starts with. Companies may add their own types beside it.
pub fn catalogue() -> Vec<ConnTypeDef> {
    let t = |key: &str, name: &str, protocol, port, needs_url, description: &str| ConnTypeDef {
        key: key.into(),
        name: name.into(),
        protocol,
        default_port: port,
        needs_url,
        description: description.into(),
    };
    use ConnProtocol::*;
    vec![
        t(
            "r3_support",
            "R/3 Support",
            Ni,
            Some(3200),
            false,
            "SAP GUI access to an ABAP system through an NI route to its dispatcher (port 32NN)",
        ),
        t(
            "http_connect",
            "HTTP Connect - URLAccess",
            Http,
            None,
            true,
            "A service session to one maintained URL (Java systems, Web Dynpro, Fiori)",
        ),
        t(
            "wts",
            "Windows Terminal Server",
            Tcp,
            Some(3389),
            false,
            "Remote desktop (RDP) to a terminal server",
        ),
        t("ssh", "SSH", Tcp, Some(22), false, "A shell on a Unix host"),
        t(
            "telnet",
            "Telnet",
            Tcp,
            Some(23),
            false,
            "A Telnet session (unencrypted; prefer SSH)",
        ),
        t(
            "database",
            "Database",
            Tcp,
            None,
            false,
            "Database tools to a database server",
        ),
        t(
            "generic_tcp",
            "Generic TCP",
            Tcp,
            None,
            false,
            "Any TCP-based server",
        ),
    ]
}

/// A field of a connection type or service connection is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// The field and what is expected.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field's name as the API spells it.
        field: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConnError {
    ConnError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Checks a type key: 1–40 characters `a-z`, `0-9`, `_`, starting with a letter. Keys appear
/// in entry-point names (`<company>.<SID>.<type>`), so they must not contain dots.
pub fn check_key(key: &str) -> Result<(), ConnError> {
    let b = key.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "key",
            format!("{key:?}: 1 to 40 characters a-z, 0-9 and _, starting with a letter"),
        ))
    }
}

impl ConnTypeDef {
    /// Checks a company's own type before it is stored.
    pub fn validate(&self) -> Result<(), ConnError> {
        check_key(&self.key)?;
        if self.name.trim().is_empty() || self.name.chars().count() > 80 {
            return Err(invalid("name", "1 to 80 characters"));
        }
        if self.default_port == Some(0) {
            return Err(invalid("default_port", "must be 1 to 65535"));
        }
        Ok(())
    }

    /// The port a new service connection of this type gets when none is given, for a
    /// system with `system_number` (`"00"`–`"99"`).
    pub fn port_for(&self, system_number: &str) -> Option<u16> {
        let base = self.default_port?;
        match self.protocol {
            ConnProtocol::Ni => system_number
                .parse::<u16>()
                .ok()
                .and_then(|nr| base.checked_add(nr)),
            _ => Some(base),
        }
    }
}

/// Checks a service connection's virtual target and URL against its type. Returns the host
/// lower-cased, as the connector matches it.
pub fn check_service_target(
    ty: &ConnTypeDef,
    virtual_host: &str,
    virtual_port: u16,
    url: Option<&str>,
) -> Result<String, ConnError> {
    let host = virtual_host.trim().to_ascii_lowercase();
    check_host(&host).map_err(|e: TargetError| invalid("virtual_host", e.to_string()))?;
    if virtual_port == 0 {
        return Err(invalid("virtual_port", "must be 1 to 65535"));
    }
    match (ty.needs_url, url) {
        (true, None) => {
            return Err(invalid(
                "url",
                format!(
                    "the type {} needs the URL engineers may open (http:// or https://)",
                    ty.key
                ),
            ))
        }
        (true, Some(u)) if !(u.starts_with("http://") || u.starts_with("https://")) => {
            return Err(invalid(
                "url",
                format!("{u:?} must start with http:// or https://"),
            ))
        }
        (false, Some(_)) => {
            return Err(invalid("url", format!("the type {} takes no URL", ty.key)))
        }
        _ => {}
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(key: &str) -> ConnTypeDef {
        catalogue().into_iter().find(|t| t.key == key).unwrap()
    }

    #[test]
    fn the_catalogue_is_valid_and_has_the_seeded_types() {
        let c = catalogue();
        for t in &c {
            t.validate().unwrap();
        }
        let keys: Vec<_> = c.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "r3_support",
                "http_connect",
                "wts",
                "ssh",
                "telnet",
                "database",
                "generic_tcp"
            ]
        );
        assert_eq!(ty("wts").default_port, Some(3389));
        assert_eq!(ty("ssh").default_port, Some(22));
        assert_eq!(ty("telnet").default_port, Some(23));
    }

    #[test]
    fn ni_ports_follow_the_system_number() {
        assert_eq!(ty("r3_support").port_for("00"), Some(3200));
        assert_eq!(ty("r3_support").port_for("42"), Some(3242));
        assert_eq!(ty("ssh").port_for("42"), Some(22));
        assert_eq!(ty("database").port_for("00"), None);
    }

    #[test]
    fn service_targets_are_checked_against_their_type() {
        assert_eq!(
            check_service_target(&ty("ssh"), "ERP.Internal", 22, None).unwrap(),
            "erp.internal"
        );
        assert!(check_service_target(&ty("ssh"), "bad host", 22, None).is_err());
        assert!(check_service_target(&ty("ssh"), "erp", 0, None).is_err());
        assert!(check_service_target(&ty("ssh"), "erp", 22, Some("http://x")).is_err());
        let e = check_service_target(&ty("http_connect"), "erp", 443, None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("url: the type http_connect needs"),
            "{e}"
        );
        assert!(check_service_target(&ty("http_connect"), "erp", 443, Some("ftp://x")).is_err());
        assert!(
            check_service_target(&ty("http_connect"), "erp", 443, Some("https://erp/sap/bc"))
                .is_ok()
        );
    }

    #[test]
    fn keys_are_slugs() {
        for bad in ["", "SSH", "1ssh", "my.type", "a-b", &"x".repeat(41)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        check_key("hana_studio2").unwrap();
    }
}
