//! Server side of SOCKS5 (RFC 1928) `CONNECT` with username/password authentication (RFC 1929).
//!
//! Engineers point ordinary tools (curl, browsers, database clients, `ssh -o ProxyCommand`) at
//! the hub's SOCKS5 port. Every session must be attributable to a person, so the hub *requires*
//! username/password authentication and never selects "no authentication" (`0x00`), and only
//! `CONNECT` is offered: `BIND` and `UDP ASSOCIATE` would open paths the hub cannot audit.
//!
//! # Layout
//! - Sans-IO parsers for what clients send — [`parse_greeting`], [`parse_credentials`],
//!   [`parse_request`] — over `&[u8]`, returning [`Parsed`].
//! - Encoders for what the server sends — [`encode_method_selection`], [`encode_auth_status`],
//!   [`encode_reply`].
//! - A thin tokio driver in the order the hub uses it: [`accept_auth`] (greeting and
//!   credentials), then the caller verifies and calls [`send_auth_result`], then
//!   [`read_request`], then the caller decides and calls [`send_reply`]. [`accept`] runs the
//!   whole handshake with a verifier closure for callers that don't need the pause.
//!
//! # Incremental parsing
//! A parser given a prefix of a message answers [`Parsed::Incomplete`] with `needed`, the
//! number of bytes it must see *at least* before it can say more. `needed` never reaches past
//! the end of the message, so a reader that reads exactly `needed` more bytes and asks again
//! never consumes a byte of what follows. That is how the driver leaves data a client pipelines
//! after its request (optimistic data, e.g. a TLS ClientHello) in the stream for the caller.
//!
//! # When errors are reported
//! Structural errors — wrong version, unknown address type — are reported as soon as the
//! offending byte arrives, because the rest of the message cannot be framed. Semantic errors —
//! unsupported command, empty or invalid fields — are reported only once the whole message is
//! in. That way the error reply the caller sends is not lost: closing a TCP socket with unread
//! bytes in its receive buffer sends a reset, which can destroy the reply before the client
//! reads it.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str;

use bytes::BufMut;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Protocol version byte of SOCKS5 greetings, requests and replies.
pub const VERSION: u8 = 0x05;
/// Version byte of the RFC 1929 username/password sub-negotiation.
pub const AUTH_VERSION: u8 = 0x01;
/// Method "no authentication required". Listed for completeness: the hub never selects it.
pub const METHOD_NO_AUTH: u8 = 0x00;
/// Method "username/password" (RFC 1929), the only one the hub selects.
pub const METHOD_USERNAME_PASSWORD: u8 = 0x02;
/// Method selection answer meaning "none of the offered methods is acceptable".
pub const METHOD_NO_ACCEPTABLE: u8 = 0xFF;
/// Request command `CONNECT`, the only one supported.
pub const CMD_CONNECT: u8 = 0x01;
/// Address type: IPv4, 4 bytes.
pub const ATYP_IPV4: u8 = 0x01;
/// Address type: domain name, one length byte then the name.
pub const ATYP_DOMAIN: u8 = 0x03;
/// Address type: IPv6, 16 bytes.
pub const ATYP_IPV6: u8 = 0x04;

/// Largest client message in bytes: credentials with a 255-byte username and password
/// (`1 + 1 + 255 + 1 + 255`). Length fields are single bytes, so nothing can claim more; the
/// driver reads into a fixed buffer of this size and never allocates from a length field.
pub const MAX_MESSAGE_LEN: usize = 513;
/// Largest reply [`encode_reply`] writes: an IPv6 bound address (`4 + 16 + 2`).
pub const MAX_REPLY_LEN: usize = 22;

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

/// The client's opening message: the authentication methods it offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// Offered method codes, 1 to 255 of them, in the client's order.
    pub methods: Vec<u8>,
}

impl Greeting {
    /// Whether the client offers `method`.
    pub fn offers(&self, method: u8) -> bool {
        self.methods.contains(&method)
    }
}

/// A password. `Debug` prints `****` and there is no `Display`, so it cannot end up in logs by
/// accident. RFC 1929 passwords are arbitrary octets, hence bytes rather than a `String`.
/// Equality is constant-time in the contents.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    /// The secret in clear, for the one place that verifies it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

/// Username and password from the RFC 1929 sub-negotiation, *not yet verified*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// 1 to 255 bytes of UTF-8 without control characters (it ends up in audit logs).
    pub username: String,
    /// 1 to 255 arbitrary bytes.
    pub password: Secret,
}

/// Where the client wants to go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetAddr {
    /// An IP address: ATYP 1 or 4, or a domain field that was an IP literal.
    Ip(SocketAddr),
    /// A host name, lower-cased, made of ASCII letters, digits, `-`, `.` and `_`. Not resolved
    /// here: the name is resolved on the customer's side, where it means something.
    Domain(String, u16),
}

impl TargetAddr {
    /// The destination port.
    pub fn port(&self) -> u16 {
        match self {
            Self::Ip(addr) => addr.port(),
            Self::Domain(_, port) => *port,
        }
    }
}

/// `host:port`, IPv6 addresses in brackets (`[::1]:22`).
impl fmt::Display for TargetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(addr) => write!(f, "{addr}"),
            Self::Domain(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

/// A client's `CONNECT` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The destination.
    pub target: TargetAddr,
}

/// Everything [`accept`] learnt from a client whose credentials the verifier accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socks5Request {
    /// The credentials the verifier accepted.
    pub credentials: Credentials,
    /// The destination the client asked for.
    pub target: TargetAddr,
}

/// The REP field of a reply (RFC 1928 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReplyCode {
    /// The tunnel is open.
    Succeeded = 0x00,
    /// Anything without a better code, including malformed requests.
    GeneralFailure = 0x01,
    /// Policy forbids this user this target.
    NotAllowed = 0x02,
    /// The target's network cannot be reached.
    NetworkUnreachable = 0x03,
    /// The target host cannot be reached.
    HostUnreachable = 0x04,
    /// The target refused the connection.
    ConnectionRefused = 0x05,
    /// The connection attempt timed out.
    TtlExpired = 0x06,
    /// The command is not `CONNECT`.
    CommandNotSupported = 0x07,
    /// The address type is none of IPv4, domain, IPv6.
    AddressTypeNotSupported = 0x08,
}

impl From<ReplyCode> for u8 {
    fn from(code: ReplyCode) -> Self {
        code as u8
    }
}

impl TryFrom<u8> for ReplyCode {
    /// The unknown byte.
    type Error = u8;

    fn try_from(byte: u8) -> Result<Self, u8> {
        Ok(match byte {
            0x00 => Self::Succeeded,
            0x01 => Self::GeneralFailure,
            0x02 => Self::NotAllowed,
            0x03 => Self::NetworkUnreachable,
            0x04 => Self::HostUnreachable,
            0x05 => Self::ConnectionRefused,
            0x06 => Self::TtlExpired,
            0x07 => Self::CommandNotSupported,
            0x08 => Self::AddressTypeNotSupported,
            other => return Err(other),
        })
    }
}

/// Why a SOCKS5 handshake failed.
///
/// Every variant except [`Io`](Self::Io) is the client's fault (a broken or hostile client, a
/// non-SOCKS5 client, or one that gave up); `Io` may be either side's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Socks5Error {
    /// VER of a greeting or request is not 5: a SOCKS4 client sends 4, an HTTP client pointed
    /// at the port sends a letter. No reply is sent: the client would not understand it.
    #[error("client speaks SOCKS version {got}, not 5")]
    UnsupportedVersion {
        /// The version byte received.
        got: u8,
    },
    /// The greeting's NMETHODS is 0: the client offers nothing to choose from.
    #[error("greeting offers no authentication method")]
    NoMethods,
    /// The client does not offer username/password, which the hub requires. The driver has
    /// already answered `0xFF` (no acceptable method).
    #[error("client does not offer username/password authentication")]
    NoAcceptableMethod,
    /// VER of the username/password sub-negotiation is not 1.
    #[error("username/password sub-negotiation version {got}, not 1")]
    UnsupportedAuthVersion {
        /// The version byte received.
        got: u8,
    },
    /// ULEN is 0; RFC 1929 requires 1 to 255 bytes.
    #[error("empty username")]
    EmptyUsername,
    /// PLEN is 0; RFC 1929 requires 1 to 255 bytes.
    #[error("empty password")]
    EmptyPassword,
    /// The username is not valid UTF-8.
    #[error("username is not UTF-8")]
    UsernameNotUtf8,
    /// The username contains a control character, which could forge lines in audit logs.
    #[error("username contains a control character")]
    UsernameControlChar,
    /// The verifier given to [`accept`] rejected the credentials; failure status was sent.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// CMD is not `CONNECT` (`BIND` = 2, `UDP ASSOCIATE` = 3, or unknown). Reply: 0x07.
    #[error("unsupported command {command:#04x}")]
    UnsupportedCommand {
        /// The command byte received.
        command: u8,
    },
    /// RSV is not 0. Reply: 0x01, RFC 1928 has nothing closer.
    #[error("reserved byte is {got:#04x}, not 0")]
    NonZeroReserved {
        /// The reserved byte received.
        got: u8,
    },
    /// ATYP is none of 1, 3, 4. Reply: 0x08.
    #[error("unsupported address type {atyp:#04x}")]
    UnsupportedAddressType {
        /// The address type byte received.
        atyp: u8,
    },
    /// The domain name has length 0. Reply: 0x01 — 0x08 would wrongly tell the client that
    /// domain names are unsupported and invite it to resolve locally (leaking the lookup).
    #[error("empty domain name")]
    EmptyDomain,
    /// The domain name contains a byte that is not an ASCII letter, digit, `-`, `.` or `_`
    /// and is not an IP literal. Reply: 0x01, for the same reason as [`EmptyDomain`](Self::EmptyDomain).
    #[error("domain name contains invalid byte {byte:#04x}")]
    InvalidDomain {
        /// The first offending byte.
        byte: u8,
    },
    /// The deadline passed before the step finished. The stream is mid-message: drop it.
    #[error("SOCKS5 handshake timed out")]
    Timeout,
    /// The client closed the connection in the middle of a message.
    #[error("client closed the connection mid-handshake")]
    Closed,
    /// Reading or writing the stream failed.
    #[error("I/O error during SOCKS5 handshake: {0}")]
    Io(#[source] io::Error),
}

impl Socks5Error {
    /// The reply to send the client for this error, if the protocol has a place for one.
    ///
    /// Only errors found in a request map to a code; the caller sends it with [`send_reply`].
    /// Errors before the request either got their answer from the driver (`0xFF`, auth failure
    /// status) or come from a client that would not understand one.
    pub fn reply_code(&self) -> Option<ReplyCode> {
        match self {
            Self::UnsupportedCommand { .. } => Some(ReplyCode::CommandNotSupported),
            Self::UnsupportedAddressType { .. } => Some(ReplyCode::AddressTypeNotSupported),
            Self::NonZeroReserved { .. } | Self::EmptyDomain | Self::InvalidDomain { .. } => {
                Some(ReplyCode::GeneralFailure)
            }
            _ => None,
        }
    }
}

impl From<io::Error> for Socks5Error {
    fn from(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::UnexpectedEof {
            Self::Closed
        } else {
            Self::Io(err)
        }
    }
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
            password: Secret::new(password),
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

// ---- driver ----------------------------------------------------------------------------------
//
// Cancel safety: none of these functions is cancel-safe. Dropping one mid-way (or hitting its
// deadline) leaves the stream in the middle of a message; the only thing to do then is close it.

/// Reads the greeting, selects username/password and reads the credentials, all before
/// `deadline`. Credentials are returned unverified: verify them, then call [`send_auth_result`].
///
/// If the client does not offer username/password the driver answers `0xFF` and returns
/// [`Socks5Error::NoAcceptableMethod`]; if the credentials message is malformed it sends the
/// failure status. Either way the caller only has to drop the connection.
pub async fn accept_auth<S>(stream: &mut S, deadline: Instant) -> Result<Credentials, Socks5Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    within(deadline, async {
        let greeting = read_message(stream, parse_greeting).await?;
        if !greeting.offers(METHOD_USERNAME_PASSWORD) {
            // Best effort: the refusal is the error worth reporting, not a failed write.
            let _ = send(stream, &encode_method_selection(METHOD_NO_ACCEPTABLE)).await;
            return Err(Socks5Error::NoAcceptableMethod);
        }
        send(stream, &encode_method_selection(METHOD_USERNAME_PASSWORD)).await?;
        match read_message(stream, parse_credentials).await {
            Err(err @ (Socks5Error::Closed | Socks5Error::Io(_))) => Err(err),
            Err(err) => {
                let _ = send(stream, &encode_auth_status(false)).await;
                Err(err)
            }
            ok => ok,
        }
    })
    .await
}

/// Sends the sub-negotiation status. After `ok == false`, close the connection.
///
/// No deadline: two bytes fit in any socket buffer. Wrap it in a timeout if `S` may block.
pub async fn send_auth_result<S>(stream: &mut S, ok: bool) -> Result<(), Socks5Error>
where
    S: AsyncWrite + Unpin,
{
    send(stream, &encode_auth_status(ok)).await
}

/// Reads the request before `deadline` and returns its destination.
///
/// Reads exactly the request's bytes: anything the client sent after it stays in `stream`.
/// On an error with a [`reply_code`](Socks5Error::reply_code), send that with [`send_reply`].
pub async fn read_request<S>(stream: &mut S, deadline: Instant) -> Result<TargetAddr, Socks5Error>
where
    S: AsyncRead + Unpin,
{
    within(deadline, read_message(stream, parse_request))
        .await
        .map(|request| request.target)
}

/// Sends the final reply; `bound` `None` sends `0.0.0.0:0`. After anything but
/// [`ReplyCode::Succeeded`], close the connection. Like [`send_auth_result`], no deadline.
pub async fn send_reply<S>(
    stream: &mut S,
    code: ReplyCode,
    bound: Option<SocketAddr>,
) -> Result<(), Socks5Error>
where
    S: AsyncWrite + Unpin,
{
    let mut reply = Vec::with_capacity(MAX_REPLY_LEN);
    encode_reply(code, bound, &mut reply);
    send(stream, &reply).await
}

/// The whole handshake up to the request, before `deadline`: [`accept_auth`], `verify`,
/// [`send_auth_result`], [`read_request`]. The caller still sends the final reply with
/// [`send_reply`] (and on an error, the error's [`reply_code`](Socks5Error::reply_code)).
///
/// `verify` returning `false` sends the failure status and yields
/// [`Socks5Error::AuthenticationFailed`]. Its running time counts against the deadline.
pub async fn accept<S, F>(
    stream: &mut S,
    deadline: Instant,
    verify: F,
) -> Result<Socks5Request, Socks5Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: AsyncFnOnce(&Credentials) -> bool,
{
    let credentials = accept_auth(stream, deadline).await?;
    let ok = within(deadline, async { Ok(verify(&credentials).await) }).await?;
    within(deadline, send_auth_result(stream, ok)).await?;
    if !ok {
        return Err(Socks5Error::AuthenticationFailed);
    }
    let target = read_request(stream, deadline).await?;
    Ok(Socks5Request {
        credentials,
        target,
    })
}

async fn within<T>(
    deadline: Instant,
    step: impl Future<Output = Result<T, Socks5Error>>,
) -> Result<T, Socks5Error> {
    tokio::time::timeout_at(deadline, step)
        .await
        .map_err(|_| Socks5Error::Timeout)?
}

/// Drives `parse` over bytes read exactly as it asks for them, so nothing past the message is
/// consumed. Partial reads are lost if this is cancelled.
async fn read_message<S, T>(
    stream: &mut S,
    parse: fn(&[u8]) -> Result<Parsed<T>, Socks5Error>,
) -> Result<T, Socks5Error>
where
    S: AsyncRead + Unpin,
{
    let mut buf = [0; MAX_MESSAGE_LEN];
    let mut filled = 0;
    loop {
        match parse(&buf[..filled])? {
            Parsed::Complete { message, .. } => return Ok(message),
            Parsed::Incomplete { needed } => {
                // Cannot fail: no message exceeds MAX_MESSAGE_LEN (see the unit tests).
                let chunk = buf.get_mut(filled..filled + needed).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "SOCKS5 message too long")
                })?;
                stream.read_exact(chunk).await?;
                filled += needed;
            }
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> Result<(), Socks5Error> {
    stream.write_all(bytes).await?;
    // Flush for streams that buffer (TLS); a no-op on a TcpStream.
    stream.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
