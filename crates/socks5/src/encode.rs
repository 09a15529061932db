//! Encoders for what a SOCKS5 server sends: method selection, sub-negotiation status, reply.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::BufMut;

use crate::message::{ReplyCode, ATYP_IPV4, ATYP_IPV6, AUTH_VERSION, VERSION};

/// Largest reply [`encode_reply`] writes: an IPv6 bound address (`4 + 16 + 2`).
pub const MAX_REPLY_LEN: usize = 22;

/// The method selection message `[5, method]`.
pub fn encode_method_selection(method: u8) -> [u8; 2] {
    [VERSION, method]
}

/// The sub-negotiation status `[1, 0]` (success) or `[1, 1]` (failure). After a failure the
/// server must close the connection (RFC 1929 §2).
pub fn encode_auth_status(ok: bool) -> [u8; 2] {
    [AUTH_VERSION, if ok { 0 } else { 1 }]
}

/// Appends the reply `[5, REP, 0, ATYP, BND.ADDR, BND.PORT]` (at most [`MAX_REPLY_LEN`]
/// bytes). `bound` is the address the hub connects from; `None` sends `0.0.0.0:0`, which is
/// what clients get when it is meaningless (errors, or a tunnel that leaves elsewhere).
pub fn encode_reply(code: ReplyCode, bound: Option<SocketAddr>, dst: &mut impl BufMut) {
    let bound = bound.unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    dst.put_slice(&[VERSION, code.into(), 0]);
    match bound.ip() {
        IpAddr::V4(ip) => {
            dst.put_u8(ATYP_IPV4);
            dst.put_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            dst.put_u8(ATYP_IPV6);
            dst.put_slice(&ip.octets());
        }
    }
    dst.put_u16(bound.port());
}
