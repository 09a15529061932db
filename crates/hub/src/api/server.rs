//! The HTTPS accept loop for the API and the portal: the hub's accept loop with its pre-auth
//! slots, and each connection served by `portcullis_webui::serve` (TLS under the pre-auth
//! deadline, then HTTP/1.1 or HTTP/2 by ALPN with upgrades for WebSockets).

use axum::Router;
use portcullis_webui::serve::{Deadlines, Site};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::entry::listener::accept_loop;
use crate::state::State;

/// Serves the API until shutdown.
pub async fn serve(state: State, listener: TcpListener, acceptor: TlsAcceptor, router: Router) {
    let site = Site {
        name: "api",
        acceptor,
        router,
        deadlines: Deadlines {
            tls_handshake: state.config.tls_handshake_timeout,
            header_read: state.config.preauth_timeout,
        },
        shutdown: state.shutdown.clone(),
    };
    accept_loop(state, listener, "api", move |_, tcp, peer, slot| {
        let site = site.clone();
        async move { site.connection(tcp, peer, slot).await }
    })
    .await;
}
