//! Back-end connections per virtual host (CC-43, sap-reference §3.9 "Backend Connections"):
//! how many the connector holds open now, and the most at once since the last reset.
//!
//! A connection counts from the moment its dial succeeded (TCP, and TLS for the entries that
//! speak it) until the connector drops it: a session's connection, and each connection an
//! HTTP session dials again after the back end closed its kept-alive one. Reachability checks
//! do not count. The count is a guard inside the connection's I/O object ([`Tracked`]), so
//! every way a connection ends (closed, cut, failed, the task dropped) counts it down.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::backend::BackendIo;

/// One virtual host's back-end connections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackendConnections {
    /// The virtual `host:port`.
    pub virtual_host: String,
    /// Open now.
    pub open: u64,
    /// Most open at once since the connector started or the last reset.
    pub peak: u64,
    /// Opened since the connector started or the last reset.
    pub opened: u64,
}

/// The counts, by virtual host.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    by_host: Mutex<BTreeMap<String, BackendConnections>>,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BackendConnections>> {
        self.by_host.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a connection to `virtual_host` until the returned guard is dropped.
    pub fn opened(self: &Arc<Self>, virtual_host: &str) -> ConnectionGuard {
        let mut all = self.lock();
        let c = all
            .entry(virtual_host.to_owned())
            .or_insert_with(|| BackendConnections {
                virtual_host: virtual_host.to_owned(),
                ..Default::default()
            });
        c.open += 1;
        c.opened += 1;
        c.peak = c.peak.max(c.open);
        ConnectionGuard {
            counts: self.clone(),
            virtual_host: virtual_host.to_owned(),
        }
    }

    /// Every virtual host a connection was opened to, by name.
    pub fn view(&self) -> Vec<BackendConnections> {
        self.lock().values().cloned().collect()
    }

    /// Peaks fall to what is open now, `opened` to 0; hosts without an open connection go.
    pub fn reset(&self) {
        let mut all = self.lock();
        all.retain(|_, c| c.open > 0);
        for c in all.values_mut() {
            c.peak = c.open;
            c.opened = 0;
        }
    }
}

/// Counts one connection down when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    counts: Arc<Connections>,
    virtual_host: String,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut all = self.counts.lock();
        let c = all
            .entry(self.virtual_host.clone())
            .or_insert_with(|| BackendConnections {
                virtual_host: self.virtual_host.clone(),
                ..Default::default()
            });
        c.open = c.open.saturating_sub(1);
    }
}

/// A back-end connection that is counted while it exists.
pub(crate) struct Tracked {
    io: Box<dyn BackendIo>,
    _guard: ConnectionGuard,
}

impl Tracked {
    pub fn new(io: Box<dyn BackendIo>, guard: ConnectionGuard) -> Self {
        Tracked { io, _guard: guard }
    }
}

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracked")
            .field("virtual_host", &self._guard.virtual_host)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_up_while_open_and_keeps_the_peak() {
        let c = Arc::new(Connections::default());
        let a = c.opened("web:80");
        let b = c.opened("web:80");
        let x = c.opened("erp:3200");
        let v = c.view();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[1].virtual_host.as_str(), v[1].open, v[1].peak),
            ("web:80", 2, 2)
        );
        drop(a);
        drop(b);
        let web = c
            .view()
            .into_iter()
            .find(|v| v.virtual_host == "web:80")
            .unwrap();
        assert_eq!((web.open, web.peak, web.opened), (0, 2, 2));
        c.reset();
        let v = c.view();
        assert_eq!(v.len(), 1, "only hosts with open connections stay: {v:?}");
        assert_eq!((v[0].open, v[0].peak, v[0].opened), (1, 1, 0));
        drop(x);
        assert_eq!(c.view()[0].open, 0);
    }

    #[tokio::test]
    async fn a_tracked_connection_counts_until_dropped() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let c = Arc::new(Connections::default());
        let (near, mut far) = tokio::io::duplex(64);
        let mut t = Tracked::new(Box::new(near), c.opened("web:80"));
        t.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        far.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        assert_eq!(c.view()[0].open, 1);
        drop(t);
        assert_eq!(c.view()[0].open, 0);
    }
}
