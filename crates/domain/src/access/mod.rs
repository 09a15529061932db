//! The connector's access control list: the customer's own key.
//!
//! [`entry`](EntryOptions) holds the fields besides the targets (back-end type, protocol,
//! host header, system certificate, system ID, description) and the rules between them.
//!
//! Only what is listed is reachable. An entry maps a virtual host and port range (what the hub
//! and its users see) one to one onto an internal host and port range (what the connector
//! dials). The evaluator returns an [`AccessPermit`] that only this module can construct, and
//! dialling takes the permit, so no code path can dial without having been allowed.

mod entry;
pub mod resource;

use std::collections::HashSet;

pub use entry::{
    BackendType, EntryOptions, HostInHeader, Protocol, UnknownName, MAX_DESCRIPTION_LEN,
    MAX_SYSTEM_ID_LEN,
};
pub use resource::{
    AllowedRequest, PathPolicy, RequestRefused, Resource, ResourceDenied, ResourceError,
    ResourceErrorKind,
};

use crate::target::{HostPorts, TargetError};

/// One access control entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// Short unique name, used in logs and audit records.
    pub name: String,
    /// Virtual host and ports.
    pub virtual_target: HostPorts,
    /// Internal host and ports; the range has the same length as the virtual one.
    pub internal: HostPorts,
    /// Protocol.
    pub protocol: Protocol,
    /// Back-end type, host header, system certificate, system ID, description.
    pub options: EntryOptions,
}

/// Why an access control list was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclError {
    /// A target string did not parse.
    #[error("entry {entry:?}: {source}")]
    Target {
        /// The entry's name.
        entry: String,
        /// The parse error.
        source: TargetError,
    },
    /// The internal range is not as long as the virtual range.
    #[error("entry {0:?}: internal port range must be as long as the virtual one")]
    RangeMismatch(String),
    /// Two entries share a name.
    #[error("two entries are named {0:?}")]
    DuplicateName(String),
    /// Two entries claim the same virtual host and port.
    #[error("entries {0:?} and {1:?} overlap on the same virtual host and port")]
    Overlap(String, String),
    /// An entry has an empty name.
    #[error("an entry has an empty name")]
    EmptyName,
    /// A field does not fit the entry's protocol or back-end type, or its own limits.
    #[error("entry {entry:?}: `{field}`: {reason}")]
    Field {
        /// The entry's name.
        entry: String,
        /// The field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl AccessEntry {
    /// Builds an entry with default [`EntryOptions`] from the strings a user writes.
    pub fn new(
        name: &str,
        virtual_target: &str,
        internal: &str,
        protocol: Protocol,
    ) -> Result<AccessEntry, AclError> {
        AccessEntry::with_options(
            name,
            virtual_target,
            internal,
            protocol,
            EntryOptions::default(),
        )
    }

    /// Builds an entry, checking the ranges match and the options fit the protocol and the
    /// back-end type.
    pub fn with_options(
        name: &str,
        virtual_target: &str,
        internal: &str,
        protocol: Protocol,
        options: EntryOptions,
    ) -> Result<AccessEntry, AclError> {
        if name.trim().is_empty() {
            return Err(AclError::EmptyName);
        }
        let wrap = |source| AclError::Target {
            entry: name.into(),
            source,
        };
        let virtual_target = HostPorts::parse(virtual_target).map_err(wrap)?;
        let mut internal = HostPorts::parse(internal).map_err(wrap)?;
        if internal.first == internal.last && virtual_target.len() > 1 {
            // `internal = "10.0.0.5:3200"` with a virtual range: the range maps one to one
            // starting at that port.
            let last = u32::from(internal.first) + virtual_target.len() - 1;
            internal.last =
                u16::try_from(last).map_err(|_| AclError::RangeMismatch(name.into()))?;
        }
        if internal.len() != virtual_target.len() {
            return Err(AclError::RangeMismatch(name.into()));
        }
        entry::check_options(protocol, virtual_target.len(), &options).map_err(
            |(field, reason)| AclError::Field {
                entry: name.into(),
                field,
                reason,
            },
        )?;
        Ok(AccessEntry {
            name: name.into(),
            virtual_target,
            internal,
            protocol,
            options,
        })
    }
}

impl AccessEntry {
    /// Decides an HTTP request on this entry by its resources ([`resource::check`]): the
    /// request target as it appears in the request line in, the canonical target to forward
    /// and the deciding resource out.
    pub fn check_request(
        &self,
        target: &[u8],
        upgrade: bool,
    ) -> Result<AllowedRequest, RequestRefused> {
        resource::check(
            &self.options.resources,
            target,
            upgrade,
            self.options.case_insensitive_paths,
        )
    }
}

/// Proof that the access control list allowed one virtual target. Only [`AccessControlList::check`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPermit {
    entry: String,
    internal_host: String,
    internal_port: u16,
    protocol: Protocol,
    virtual_host: String,
    virtual_port: u16,
    options: EntryOptions,
}

impl AccessPermit {
    /// The entry that allowed the target.
    pub fn entry(&self) -> &str {
        &self.entry
    }
    /// The internal host to dial.
    pub fn internal_host(&self) -> &str {
        &self.internal_host
    }
    /// The internal port to dial.
    pub fn internal_port(&self) -> u16 {
        self.internal_port
    }
    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// The virtual host as the entry writes it.
    pub fn virtual_host(&self) -> &str {
        &self.virtual_host
    }
    /// The virtual port asked for.
    pub fn virtual_port(&self) -> u16 {
        self.virtual_port
    }
    /// The entry's options (host header, resources, …).
    pub fn options(&self) -> &EntryOptions {
        &self.options
    }
    /// Decides an HTTP request by the entry's resources ([`resource::check`]).
    pub fn check_request(
        &self,
        target: &[u8],
        upgrade: bool,
    ) -> Result<AllowedRequest, RequestRefused> {
        resource::check(
            &self.options.resources,
            target,
            upgrade,
            self.options.case_insensitive_paths,
        )
    }
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no access control entry allows {host}:{port}")]
pub struct Denied {
    /// Requested virtual host (as sent).
    pub host: String,
    /// Requested virtual port.
    pub port: u16,
}

/// A validated list of entries. Default deny: an empty list allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessControlList {
    entries: Vec<AccessEntry>,
}

impl AccessControlList {
    /// Validates names and overlaps.
    pub fn new(entries: Vec<AccessEntry>) -> Result<AccessControlList, AclError> {
        let mut names = HashSet::new();
        for (i, e) in entries.iter().enumerate() {
            if !names.insert(e.name.as_str()) {
                return Err(AclError::DuplicateName(e.name.clone()));
            }
            for other in &entries[..i] {
                let v = &e.virtual_target;
                let o = &other.virtual_target;
                if v.host == o.host && v.first <= o.last && o.first <= v.last {
                    return Err(AclError::Overlap(other.name.clone(), e.name.clone()));
                }
            }
        }
        Ok(AccessControlList { entries })
    }

    /// The entries, in configuration order.
    pub fn entries(&self) -> &[AccessEntry] {
        &self.entries
    }

    /// Decides whether `host:port` may be reached. Host names compare case-insensitively.
    pub fn check(&self, host: &str, port: u16) -> Result<AccessPermit, Denied> {
        let wanted = host.trim_start_matches('[').trim_end_matches(']');
        self.entries
            .iter()
            .find(|e| {
                e.virtual_target.host.eq_ignore_ascii_case(wanted)
                    && e.virtual_target.contains_port(port)
            })
            .map(|e| AccessPermit {
                entry: e.name.clone(),
                internal_host: e.internal.host.clone(),
                internal_port: e.internal.first + (port - e.virtual_target.first),
                protocol: e.protocol,
                virtual_host: e.virtual_target.host.clone(),
                virtual_port: port,
                options: e.options.clone(),
            })
            .ok_or_else(|| Denied {
                host: host.into(),
                port,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl() -> AccessControlList {
        AccessControlList::new(vec![
            AccessEntry::new(
                "erp",
                "erp.internal:3200-3299",
                "10.0.0.5:3200",
                Protocol::Tcp,
            )
            .unwrap(),
            AccessEntry::new("db", "db.internal:5432", "127.0.0.1:15432", Protocol::Tcp).unwrap(),
        ])
        .unwrap()
    }

    #[test]
    fn listed_targets_map_one_to_one() {
        let p = acl().check("ERP.internal", 3210).unwrap();
        assert_eq!(
            (p.entry(), p.internal_host(), p.internal_port()),
            ("erp", "10.0.0.5", 3210)
        );
        let d = acl().check("db.internal", 5432).unwrap();
        assert_eq!(d.internal_port(), 15432);
    }

    #[test]
    fn everything_else_is_denied() {
        assert!(acl().check("db.internal", 5433).is_err());
        assert!(acl().check("erp.internal", 3300).is_err());
        assert!(
            acl().check("10.0.0.5", 3200).is_err(),
            "internal names are not virtual names"
        );
        assert!(AccessControlList::default()
            .check("db.internal", 5432)
            .is_err());
    }

    #[test]
    fn bad_lists_are_rejected_with_the_entry_named() {
        let e = |n: &str, v: &str| AccessEntry::new(n, v, "h:1000", Protocol::Tcp).unwrap();
        assert_eq!(
            AccessControlList::new(vec![e("a", "x:1"), e("a", "y:1")]),
            Err(AclError::DuplicateName("a".into()))
        );
        let wide = AccessEntry::new("b", "x:1-5", "h:1000", Protocol::Tcp).unwrap();
        assert_eq!(
            AccessControlList::new(vec![e("a", "x:3"), wide]),
            Err(AclError::Overlap("a".into(), "b".into()))
        );
        assert_eq!(
            AccessEntry::new("c", "x:1-5", "h:1-2", Protocol::Tcp),
            Err(AclError::RangeMismatch("c".into()))
        );
        assert_eq!(
            AccessEntry::new("d", "x:1-5", "h:65534", Protocol::Tcp),
            Err(AclError::RangeMismatch("d".into()))
        );
    }
}
