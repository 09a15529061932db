//! The access control list as the running connector holds it: one [`AclSnapshot`] per
//! version, and the [`inventory`] the hub is told for it.
//!
//! A leaf: the session, the live registry, HTTP processing and the configuration all read
//! these, none of them is needed here.

use std::sync::Arc;

use portcullis_domain::access::AccessControlList;
use portcullis_proto::{Inventory, InventoryTarget, TargetProtocol};

/// One version of the access control list.
#[derive(Debug, Clone)]
pub(crate) struct AclSnapshot {
    /// 0 for the list the connector started with, +1 per reload that changed it.
    pub generation: u64,
    /// The list.
    pub acl: Arc<AccessControlList>,
}

/// The inventory the hub is told: one target per entry.
pub(crate) fn inventory(acl: &AccessControlList) -> Inventory {
    Inventory {
        targets: acl
            .entries()
            .iter()
            .map(|e| InventoryTarget {
                name: e.name.clone(),
                virtual_host: e.virtual_target.host.clone(),
                port_start: e.virtual_target.first,
                port_end: e.virtual_target.last,
                // Every entry is a byte stream through the tunnel, whatever the connector
                // speaks to the back end.
                protocol: TargetProtocol::Tcp,
            })
            .collect(),
    }
}
