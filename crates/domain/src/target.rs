//! `host:port` and `host:first-last` as they appear in configuration and on command lines.

use std::fmt;

/// Why a target string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// No `:port` part.
    #[error("{0:?}: expected host:port")]
    MissingPort(String),
    /// The port is not a number in 1..=65535.
    #[error("{0:?}: port must be a number from 1 to 65535")]
    BadPort(String),
    /// `first-last` with last < first.
    #[error("{0:?}: port range must not run backwards")]
    BackwardsRange(String),
    /// Empty host, or characters a host name cannot have.
    #[error("{0:?}: host must be a name, IPv4 or [IPv6] address")]
    BadHost(String),
}

/// A host and an inclusive port range (`first == last` for one port).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPorts {
    /// Lower-cased host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// First port.
    pub first: u16,
    /// Last port.
    pub last: u16,
}

impl HostPorts {
    /// Parses `host:port`, `host:first-last`, `[v6]:port`. Host names are lower-cased so that a
    /// name has one spelling when it is compared.
    pub fn parse(s: &str) -> Result<HostPorts, TargetError> {
        let s = s.trim();
        let (host, ports) = if let Some(rest) = s.strip_prefix('[') {
            let (h, p) = rest
                .split_once("]:")
                .ok_or_else(|| TargetError::MissingPort(s.into()))?;
            (h, p)
        } else {
            s.rsplit_once(':')
                .ok_or_else(|| TargetError::MissingPort(s.into()))?
        };
        if host.contains(':') && !s.starts_with('[') {
            return Err(TargetError::BadHost(s.into()));
        }
        let host = host.to_ascii_lowercase();
        check_host(&host).map_err(|_| TargetError::BadHost(s.into()))?;
        let (first, last) = match ports.split_once('-') {
            Some((a, b)) => (parse_port(a, s)?, parse_port(b, s)?),
            None => {
                let p = parse_port(ports, s)?;
                (p, p)
            }
        };
        if last < first {
            return Err(TargetError::BackwardsRange(s.into()));
        }
        Ok(HostPorts { host, first, last })
    }

    /// Whether `port` lies in the range.
    pub fn contains_port(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    /// Number of ports in the range.
    pub fn len(&self) -> u32 {
        u32::from(self.last) - u32::from(self.first) + 1
    }

    /// Always false: a range holds at least one port.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for HostPorts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if self.first == self.last {
            write!(f, ":{}", self.first)
        } else {
            write!(f, ":{}-{}", self.first, self.last)
        }
    }
}

fn parse_port(p: &str, whole: &str) -> Result<u16, TargetError> {
    match p.trim().parse::<u16>() {
        Ok(0) | Err(_) => Err(TargetError::BadPort(whole.into())),
        Ok(n) => Ok(n),
    }
}

/// Host names: letters, digits, `-`, `.`, `_`, or an IPv6 literal; 1..=253 bytes.
pub fn check_host(host: &str) -> Result<(), TargetError> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    if ok {
        Ok(())
    } else {
        Err(TargetError::BadHost(host.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_write() {
        let t = HostPorts::parse("ERP.internal:3200").unwrap();
        assert_eq!(
            (t.host.as_str(), t.first, t.last),
            ("erp.internal", 3200, 3200)
        );
        let r = HostPorts::parse("db:5432-5439").unwrap();
        assert_eq!((r.first, r.last, r.len()), (5432, 5439, 8));
        let v6 = HostPorts::parse("[::1]:22").unwrap();
        assert_eq!((v6.host.as_str(), v6.first), ("::1", 22));
        assert_eq!(v6.to_string(), "[::1]:22");
        assert_eq!(r.to_string(), "db:5432-5439");
    }

    #[test]
    fn rejects_what_cannot_be_meant() {
        assert!(matches!(
            HostPorts::parse("erp"),
            Err(TargetError::MissingPort(_))
        ));
        assert!(matches!(
            HostPorts::parse("erp:0"),
            Err(TargetError::BadPort(_))
        ));
        assert!(matches!(
            HostPorts::parse("erp:70000"),
            Err(TargetError::BadPort(_))
        ));
        assert!(matches!(
            HostPorts::parse("erp:9-1"),
            Err(TargetError::BackwardsRange(_))
        ));
        assert!(matches!(
            HostPorts::parse(":80"),
            Err(TargetError::BadHost(_))
        ));
        assert!(matches!(
            HostPorts::parse("a b:80"),
            Err(TargetError::BadHost(_))
        ));
        assert!(matches!(
            HostPorts::parse("::1:80"),
            Err(TargetError::BadHost(_))
        ));
    }
}
