//! Socket options for the tunnel's TCP connection.

use tokio::net::TcpStream;

/// Unsent bytes the kernel may hold for the tunnel socket before it reports "not writable".
///
/// Without a limit the kernel lets a bulk stream queue megabytes of unsent data on the socket
/// (the send buffer is auto-tuned), all of it ahead of any frame queued later; with the limit,
/// data waits in the multiplexer, which interleaves streams, and the kernel's queue stays a
/// fraction of a millisecond long. It limits only bytes not yet sent, not bytes in flight, so
/// it does not cap throughput over a long round trip. Measured on loopback together with the
/// multiplexer's 32 KiB frames and 128 KiB send buffer (`docs/benchmarks.md`): 32 KiB here
/// lowers an interactive stream's p99 next to a bulk one and costs no throughput.
pub const TUNNEL_NOTSENT_LOWAT: u32 = 32 * 1024;

/// Tunes a tunnel socket: `TCP_NODELAY` (frames go out at once; the multiplexer and TLS
/// already write in large batches) and, on Linux, [`TUNNEL_NOTSENT_LOWAT`]. Failures are
/// logged, not fatal: the tunnel works without them, only with worse latency.
pub fn tune_tunnel_socket(tcp: &TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY on the tunnel socket");
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Err(e) = socket2::SockRef::from(tcp).set_tcp_notsent_lowat(TUNNEL_NOTSENT_LOWAT) {
            tracing::debug!(error = %e, "cannot set TCP_NOTSENT_LOWAT on the tunnel socket");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tuned_socket_has_nodelay_and_the_unsent_limit() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        tune_tunnel_socket(&c);
        assert!(c.nodelay().unwrap());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(
            socket2::SockRef::from(&c).tcp_notsent_lowat().unwrap(),
            TUNNEL_NOTSENT_LOWAT
        );
    }
}
