//! A SOCKS5 client's side of the handshake, written from RFC 1928/1929 rather than shared with
//! the codec, so a misreading of the RFC has to be made twice to go unnoticed.
//!
//! Shared by this crate's codec tests and the hub's driver tests
//! (`crates/hub/tests/socks5_driver.rs` includes this file by path), so that both test the
//! server against one independent client. Each includer uses only some of it.
#![allow(dead_code)]

use std::net::SocketAddr;

use portcullis_socks5::{Credentials, ReplyCode, Secret, TargetAddr};

pub fn greeting(methods: &[u8]) -> Vec<u8> {
    let mut out = vec![5, methods.len() as u8];
    out.extend_from_slice(methods);
    out
}

pub fn credentials(user: &[u8], pass: &[u8]) -> Vec<u8> {
    let mut out = vec![1, user.len() as u8];
    out.extend_from_slice(user);
    out.push(pass.len() as u8);
    out.extend_from_slice(pass);
    out
}

/// A request with a raw address field (`addr` includes the length byte for domains).
pub fn request_raw(cmd: u8, atyp: u8, addr: &[u8], port: u16) -> Vec<u8> {
    let mut out = vec![5, cmd, 0, atyp];
    out.extend_from_slice(addr);
    out.extend_from_slice(&port.to_be_bytes());
    out
}

pub fn connect(target: &TargetAddr) -> Vec<u8> {
    match target {
        TargetAddr::Ip(SocketAddr::V4(a)) => request_raw(1, 1, &a.ip().octets(), a.port()),
        TargetAddr::Ip(SocketAddr::V6(a)) => request_raw(1, 4, &a.ip().octets(), a.port()),
        TargetAddr::Domain(host, port) => connect_domain(host.as_bytes(), *port),
    }
}

pub fn connect_domain(host: &[u8], port: u16) -> Vec<u8> {
    let mut addr = vec![host.len() as u8];
    addr.extend_from_slice(host);
    request_raw(1, 3, &addr, port)
}

/// Decodes a whole reply, checking its framing.
pub fn decode_reply(bytes: &[u8]) -> (ReplyCode, SocketAddr) {
    assert_eq!(&bytes[..1], [5], "reply version");
    assert_eq!(bytes[2], 0, "reply RSV");
    let code = ReplyCode::try_from(bytes[1]).expect("known reply code");
    let (ip, port): (std::net::IpAddr, &[u8]) = match bytes[3] {
        1 => {
            assert_eq!(bytes.len(), 10);
            (
                <[u8; 4]>::try_from(&bytes[4..8]).unwrap().into(),
                &bytes[8..],
            )
        }
        4 => {
            assert_eq!(bytes.len(), 22);
            (
                <[u8; 16]>::try_from(&bytes[4..20]).unwrap().into(),
                &bytes[20..],
            )
        }
        other => panic!("reply ATYP {other}"),
    };
    (
        code,
        SocketAddr::new(ip, u16::from_be_bytes([port[0], port[1]])),
    )
}

pub fn alice() -> Credentials {
    Credentials {
        username: "alice".into(),
        password: Secret::new(b"s3cret pass".to_vec()),
    }
}

pub fn domain(host: &str, port: u16) -> TargetAddr {
    TargetAddr::Domain(host.into(), port)
}

pub fn ip(addr: &str) -> TargetAddr {
    TargetAddr::Ip(addr.parse().unwrap())
}

pub fn handshake(target: &TargetAddr) -> Vec<u8> {
    let mut bytes = greeting(&[0, 2]);
    bytes.extend(credentials(b"alice", b"s3cret pass"));
    bytes.extend(connect(target));
    bytes.extend(b"GET / HTTP/1.1\r\n");
    bytes
}
