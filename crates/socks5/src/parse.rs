//! Parsers for what a SOCKS5 client sends: the greeting, the username/password
//! sub-negotiation and the request. Each takes the bytes received so far and answers
//! [`Parsed::Incomplete`] until its whole message is in (see the crate docs for the contract).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str;

use portcullis_domain::secret::Secret;

use crate::error::Socks5Error;
use crate::message::{
    Credentials, Greeting, Request, TargetAddr, ATYP_DOMAIN, ATYP_IPV4, ATYP_IPV6, AUTH_VERSION,
    CMD_CONNECT, VERSION,
};

/// Largest client message in bytes: credentials with a 255-byte username and password
/// (`1 + 1 + 255 + 1 + 255`). Length fields are single bytes, so nothing can claim more; a
/// driver can read into a fixed buffer of this size and never allocate from a length field.
pub const MAX_MESSAGE_LEN: usize = 513;
/// Result of feeding bytes to a sans-IO parser.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Parsed<T> {
    /// A whole message was parsed from the front of the input.
    Complete {
        /// The message.
        message: T,
        /// Bytes of the input it took; anything after them belongs to the next message.
        consumed: usize,
    },
    /// The input is a valid prefix of a message but ends too early.
    Incomplete {
        /// At least this many more bytes are required (always ≥ 1). Reading exactly this many
        /// never reads past the end of the message.
        needed: usize,
    },
}

/// Returns [`Parsed::Incomplete`] from the enclosing parser unless `$buf` holds `$len` bytes.
macro_rules! need {
    ($buf:expr, $len:expr) => {
        if $buf.len() < $len {
            return Ok(Parsed::Incomplete {
                needed: $len - $buf.len(),
            });
        }
    };
}

/// Parses a greeting: `VER=5, NMETHODS (1..=255), METHODS`.
pub fn parse_greeting(buf: &[u8]) -> Result<Parsed<Greeting>, Socks5Error> {
    need!(buf, 1);
    check_version(buf[0])?;
    need!(buf, 2);
    let len = 2 + usize::from(buf[1]);
    if len == 2 {
        return Err(Socks5Error::NoMethods);
    }
    need!(buf, len);
    Ok(Parsed::Complete {
        message: Greeting {
            methods: buf[2..len].to_vec(),
        },
        consumed: len,
    })
}

/// Parses a username/password sub-negotiation: `VER=1, ULEN, UNAME, PLEN, PASSWD`.
pub fn parse_credentials(buf: &[u8]) -> Result<Parsed<Credentials>, Socks5Error> {
    need!(buf, 1);
    if buf[0] != AUTH_VERSION {
        return Err(Socks5Error::UnsupportedAuthVersion { got: buf[0] });
    }
    need!(buf, 2);
    let plen_at = 2 + usize::from(buf[1]);
    need!(buf, plen_at + 1);
    let len = plen_at + 1 + usize::from(buf[plen_at]);
    need!(buf, len);
    let (username, password) = (&buf[2..plen_at], &buf[plen_at + 1..len]);
    if username.is_empty() {
        return Err(Socks5Error::EmptyUsername);
    }
    if password.is_empty() {
        return Err(Socks5Error::EmptyPassword);
    }
    let username = str::from_utf8(username).map_err(|_| Socks5Error::UsernameNotUtf8)?;
    if username.chars().any(char::is_control) {
        return Err(Socks5Error::UsernameControlChar);
    }
    Ok(Parsed::Complete {
        message: Credentials {
            username: username.to_owned(),
            password: Secret::new(password.to_vec()),
        },
        consumed: len,
    })
}

/// Parses a request: `VER=5, CMD=1, RSV=0, ATYP, DST.ADDR, DST.PORT`.
pub fn parse_request(buf: &[u8]) -> Result<Parsed<Request>, Socks5Error> {
    need!(buf, 1);
    check_version(buf[0])?;
    need!(buf, 4);
    let addr_len = match buf[3] {
        ATYP_IPV4 => 4,
        ATYP_IPV6 => 16,
        ATYP_DOMAIN => {
            need!(buf, 5);
            1 + usize::from(buf[4])
        }
        atyp => return Err(Socks5Error::UnsupportedAddressType { atyp }),
    };
    let len = 4 + addr_len + 2;
    need!(buf, len);
    if buf[1] != CMD_CONNECT {
        return Err(Socks5Error::UnsupportedCommand { command: buf[1] });
    }
    if buf[2] != 0 {
        return Err(Socks5Error::NonZeroReserved { got: buf[2] });
    }
    let addr = &buf[4..len - 2];
    let port = u16::from_be_bytes([buf[len - 2], buf[len - 1]]);
    let target = match buf[3] {
        ATYP_IPV4 => TargetAddr::Ip(SocketAddr::new(
            Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).into(),
            port,
        )),
        ATYP_IPV6 => {
            let mut octets = [0; 16];
            octets.copy_from_slice(addr);
            TargetAddr::Ip(SocketAddr::new(Ipv6Addr::from(octets).into(), port))
        }
        _ => parse_domain(&addr[1..], port)?,
    };
    Ok(Parsed::Complete {
        message: Request { target },
        consumed: len,
    })
}

fn check_version(got: u8) -> Result<(), Socks5Error> {
    if got == VERSION {
        Ok(())
    } else {
        Err(Socks5Error::UnsupportedVersion { got })
    }
}

/// Validates a domain field. IP literals become [`TargetAddr::Ip`] and names are lower-cased,
/// so that policy sees one spelling per destination: `10.0.0.1` sent as a name must not slip
/// past a rule written for the address, nor `ERP.corp` past one written for `erp.corp`.
fn parse_domain(raw: &[u8], port: u16) -> Result<TargetAddr, Socks5Error> {
    if raw.is_empty() {
        return Err(Socks5Error::EmptyDomain);
    }
    if let Some(ip) = str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<IpAddr>().ok())
    {
        return Ok(TargetAddr::Ip(SocketAddr::new(ip, port)));
    }
    let valid = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
    if let Some(&byte) = raw.iter().find(|b| !valid(b)) {
        return Err(Socks5Error::InvalidDomain { byte });
    }
    let host = raw.iter().map(|b| char::from(b.to_ascii_lowercase()));
    Ok(TargetAddr::Domain(host.collect(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// Longest messages of each kind, with every length field at 255.
    fn longest() -> [Vec<u8>; 3] {
        let mut greeting = vec![VERSION, 255];
        greeting.extend(1..=255);
        let mut creds = vec![AUTH_VERSION, 255];
        creds.extend([b'u'; 255]);
        creds.push(255);
        creds.extend([b'p'; 255]);
        let mut request = vec![VERSION, CMD_CONNECT, 0, ATYP_DOMAIN, 255];
        request.extend([b'h'; 255]);
        request.extend([0, 80]);
        [greeting, creds, request]
    }

    fn check_prefixes<T: fmt::Debug>(
        msg: &[u8],
        parse: fn(&[u8]) -> Result<Parsed<T>, Socks5Error>,
    ) {
        for cut in 0..msg.len() {
            match parse(&msg[..cut]) {
                Ok(Parsed::Incomplete { needed }) => {
                    assert!(
                        needed >= 1 && cut + needed <= msg.len(),
                        "cut {cut}: {needed}"
                    )
                }
                other => panic!("prefix of {cut} bytes: {other:?}"),
            }
        }
        match parse(msg) {
            Ok(Parsed::Complete { consumed, .. }) => assert_eq!(consumed, msg.len()),
            other => panic!("whole message: {other:?}"),
        }
    }

    #[test]
    fn longest_messages_fit_the_driver_buffer_and_needed_never_overshoots() {
        let [greeting, creds, request] = longest();
        assert_eq!(creds.len(), MAX_MESSAGE_LEN);
        assert!(greeting.len() <= MAX_MESSAGE_LEN && request.len() <= MAX_MESSAGE_LEN);
        check_prefixes(&greeting, parse_greeting);
        check_prefixes(&creds, parse_credentials);
        check_prefixes(&request, parse_request);
    }

    #[test]
    fn semantic_errors_wait_for_the_whole_request() {
        // BIND to 1.2.3.4:80, one byte short: still incomplete, so the 0x07 reply the caller
        // sends is not followed by unread bytes (and a reset) on our side.
        let bind = [VERSION, 2, 0, ATYP_IPV4, 1, 2, 3, 4, 0, 80];
        assert_eq!(
            parse_request(&bind[..9]).unwrap(),
            Parsed::Incomplete { needed: 1 }
        );
        assert!(matches!(
            parse_request(&bind),
            Err(Socks5Error::UnsupportedCommand { command: 2 })
        ));
        // Structural errors cannot wait: the rest cannot be framed.
        assert!(matches!(
            parse_request(&[VERSION, 1, 0, 9]),
            Err(Socks5Error::UnsupportedAddressType { atyp: 9 })
        ));
        assert!(matches!(
            parse_greeting(&[4]),
            Err(Socks5Error::UnsupportedVersion { got: 4 })
        ));
    }
}
