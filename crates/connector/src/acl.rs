//! The access control list as the running connector holds it: one [`AclSnapshot`] per
//! version, and the [`inventory`] the hub is told for it.
//!
//! A leaf: the session, the live registry, HTTP processing and the configuration all read
//! these, none of them is needed here.

use std::sync::Arc;

use portcullis_domain::access::AccessControlList;
use portcullis_proto::{frame, Inventory, InventoryTarget, Message, TargetProtocol, MAX_FRAME_LEN};

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

/// The length of the `Inventory` frame that announces `acl` to the hub, as its length prefix
/// counts it (kind byte and body). It must not exceed [`MAX_FRAME_LEN`].
pub fn inventory_frame_len(acl: &AccessControlList) -> usize {
    let inventory = inventory(acl);
    // `frame::encode` debug-asserts on oversized frames, so the body is measured first with
    // the serializer the encoder uses, and only a frame that fits is actually encoded.
    let mut counter = ByteCounter(0);
    if serde_json::to_writer(&mut counter, &inventory).is_err() {
        return usize::MAX;
    }
    let measured = counter.0 + 1;
    if measured > MAX_FRAME_LEN as usize {
        return measured;
    }
    frame::encode_to_vec(&Message::Inventory(inventory)).len() - 4
}

/// An `io::Write` that only counts.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
