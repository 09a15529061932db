//! Transport: everything between the hub and a connector that touches sockets, TLS and time.
//!
//! # Layout
//! - [`pki`]: the hub's certificate authority, server certificates, connector CSRs (rcgen).
//! - [`tls`]: rustls configurations (TLS 1.3 tunnel with mutual auth, API server, pinned clients).
//! - [`backoff`]: jittered exponential reconnect back-off that resets after a stable period.
//! - [`proxy`]: dialling out through an HTTP CONNECT proxy with Basic authentication.
//! - [`tunnel`]: the handshake and the HTTP/2 multiplexer (roles reversed), hub and connector sides.
//! - [`h2stream`]: one multiplexed stream as `AsyncRead + AsyncWrite`, with flow control.
//! - [`framed`]: reading and writing protocol frames on byte streams.
//! - [`relay`]: counted bidirectional copying that can be cut.
//! - [`preauth`]: a listener's pre-authentication slots: caps in all and per source, deadlines.
#![forbid(unsafe_code)]

pub mod backoff;
pub mod framed;
pub mod h2stream;
pub mod pki;
pub mod preauth;
pub mod proxy;
pub mod relay;
pub mod sockopt;
pub mod tls;
pub mod tunnel;
