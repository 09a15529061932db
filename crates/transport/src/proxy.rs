//! Dialling out, directly or through an HTTP `CONNECT` proxy with Basic authentication.
//!
//! Connectors often sit behind a corporate proxy that only lets `CONNECT` through. We speak
//! just enough HTTP/1.1 for that: one request, one response head, then the socket is a raw
//! tunnel to the hub and TLS starts on it.
//!
//! The response head is read without consuming a single byte past its end (the socket is
//! peeked, then exactly the head is read). Bytes the target sends straight after the proxy's
//! `200` — a server-speaks-first protocol may land in the same segment — stay in the socket
//! for the caller instead of being dropped or mistaken for garbage.

use std::io;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest proxy response head accepted, in bytes. Real proxies send a few hundred.
pub const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// Longest reason phrase kept in [`ProxyError::Refused`], in characters.
const MAX_REASON_CHARS: usize = 128;

/// The proxy password's type: the workspace's one masked-secret type, re-exported so that
/// users of [`HttpProxy`] need no other import.
pub use portcullis_domain::secret::Secret;

/// An outbound HTTP proxy reachable over plain TCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProxy {
    /// Proxy address as `host:port` (IPv6 literals in brackets: `[::1]:3128`).
    pub addr: String,
    /// Basic-auth user name. Credentials are sent only when this is set; it may not contain
    /// `:` (RFC 7617).
    pub username: Option<String>,
    /// Basic-auth password; empty when `None`.
    ///
    /// Security: Basic auth travels in clear to the proxy. The proxy (and anyone on the path
    /// to it) can read it; use a proxy-specific credential, never a domain account's password
    /// if that can be avoided.
    pub password: Option<Secret<String>>,
}

/// Failures while dialling out. Variants say whether the proxy or the target is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The target host contains characters that cannot appear in an HTTP authority
    /// (whitespace, control characters, `/`, `@`, …) — refused to avoid header injection.
    #[error("invalid target host {0:?}")]
    InvalidTarget(String),

    /// The proxy user name contains `:` or control characters and cannot be sent in Basic auth.
    #[error("invalid proxy user name")]
    InvalidUsername,

    /// The TCP connection to the proxy failed.
    #[error("could not connect to proxy {addr}: {source}")]
    ProxyConnect {
        /// The proxy address.
        addr: String,
        /// The socket error.
        #[source]
        source: io::Error,
    },

    /// A direct TCP connection to the target failed.
    #[error("could not connect to {addr}: {source}")]
    TargetConnect {
        /// `host:port` of the target.
        addr: String,
        /// The socket error.
        #[source]
        source: io::Error,
    },

    /// Reading from or writing to the proxy failed after connecting.
    #[error("I/O error talking to proxy: {0}")]
    Io(#[source] io::Error),

    /// The proxy closed the connection before sending a complete response head.
    #[error("proxy closed the connection before answering")]
    ProxyClosed,

    /// The proxy's response head is larger than [`MAX_RESPONSE_HEAD`].
    #[error("proxy response head exceeds {MAX_RESPONSE_HEAD} bytes")]
    ResponseTooLarge,

    /// The proxy's response is not an HTTP/1.x status line.
    #[error("malformed proxy response")]
    MalformedResponse,

    /// The proxy answered `407 Proxy Authentication Required`: credentials missing or wrong.
    #[error("proxy authentication required (407)")]
    AuthRequired,

    /// The proxy refused the tunnel with a non-2xx status.
    #[error("proxy refused CONNECT: {status} {reason}")]
    Refused {
        /// HTTP status code.
        status: u16,
        /// Reason phrase, lossily decoded and truncated.
        reason: String,
    },

    /// The whole dial (connect, request, response) did not finish within the deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Opens a TCP tunnel to `target_host:target_port` through `proxy` with HTTP `CONNECT`.
///
/// `timeout` is a deadline for the whole exchange: connecting to the proxy, sending the
/// request and reading the response head. On a 2xx answer the returned stream is the tunnel,
/// with `TCP_NODELAY` set; no byte after the response head has been consumed.
pub async fn connect_via_proxy(
    proxy: &HttpProxy,
    target_host: &str,
    target_port: u16,
    timeout: Duration,
) -> Result<TcpStream, ProxyError> {
    // Validate before touching the network: nothing from here can inject into the request.
    let authority = authority(target_host, target_port)?;
    let credentials = basic_credentials(proxy)?;
    let exchange = async {
        let mut stream = TcpStream::connect(proxy.addr.as_str())
            .await
            .map_err(|source| ProxyError::ProxyConnect {
                addr: proxy.addr.clone(),
                source,
            })?;
        stream.set_nodelay(true).map_err(ProxyError::Io)?;
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(credentials) = &credentials {
            request.push_str("Proxy-Authorization: Basic ");
            request.push_str(credentials);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(ProxyError::Io)?;
        let head = read_response_head(&mut stream).await?;
        check_status(&head)?;
        Ok(stream)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ProxyError::Timeout(timeout))?
}

/// Connects to `host:port`, through `proxy` when given, within `timeout`; sets `TCP_NODELAY`.
pub async fn dial(
    host: &str,
    port: u16,
    proxy: Option<&HttpProxy>,
    timeout: Duration,
) -> Result<TcpStream, ProxyError> {
    if let Some(proxy) = proxy {
        return connect_via_proxy(proxy, host, port, timeout).await;
    }
    let addr = || format!("{host}:{port}");
    let stream = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| ProxyError::Timeout(timeout))?
        .map_err(|source| ProxyError::TargetConnect {
            addr: addr(),
            source,
        })?;
    stream
        .set_nodelay(true)
        .map_err(|source| ProxyError::TargetConnect {
            addr: addr(),
            source,
        })?;
    Ok(stream)
}

/// `host:port` for the request line, IPv6 literals bracketed.
fn authority(host: &str, port: u16) -> Result<String, ProxyError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(std::net::IpAddr::V6(v6)) = bare.parse() {
        return Ok(format!("[{v6}]:{port}"));
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !valid {
        return Err(ProxyError::InvalidTarget(host.to_owned()));
    }
    Ok(format!("{host}:{port}"))
}

/// `base64(user:password)` when a user name is configured.
fn basic_credentials(proxy: &HttpProxy) -> Result<Option<String>, ProxyError> {
    let Some(user) = &proxy.username else {
        return Ok(None);
    };
    if user.contains(':') || user.chars().any(char::is_control) {
        return Err(ProxyError::InvalidUsername);
    }
    let password = proxy.password.as_ref().map_or("", |p| p.expose().as_str());
    let plain = format!("{user}:{password}");
    Ok(Some(
        base64::engine::general_purpose::STANDARD.encode(plain.as_bytes()),
    ))
}

/// Reads the response head up to and including the blank line, and not one byte more.
///
/// Peeks at what has arrived, then consumes either exactly up to the end of the head or
/// everything peeked (if the head is not complete yet). Every loop iteration consumes at
/// least one byte, so this never spins.
async fn read_response_head(stream: &mut TcpStream) -> Result<Vec<u8>, ProxyError> {
    const END: &[u8] = b"\r\n\r\n";
    let mut head = Vec::with_capacity(512);
    let mut window = vec![0u8; MAX_RESPONSE_HEAD];
    loop {
        let room = MAX_RESPONSE_HEAD - head.len();
        if room == 0 {
            return Err(ProxyError::ResponseTooLarge);
        }
        let peeked = stream
            .peek(&mut window[..room])
            .await
            .map_err(ProxyError::Io)?;
        if peeked == 0 {
            return Err(ProxyError::ProxyClosed);
        }
        // The terminator may straddle what we already hold and what was just peeked.
        let overlap = head.len().min(END.len() - 1);
        let mut search = head[head.len() - overlap..].to_vec();
        search.extend_from_slice(&window[..peeked]);
        let take = match search.windows(END.len()).position(|w| w == END) {
            Some(pos) => pos + END.len() - overlap,
            None => peeked,
        };
        let start = head.len();
        head.resize(start + take, 0);
        stream
            .read_exact(&mut head[start..])
            .await
            .map_err(ProxyError::Io)?;
        if head.ends_with(END) {
            return Ok(head);
        }
    }
}

/// Interprets the status line: 2xx is success, 407 and the rest are errors.
fn check_status(head: &[u8]) -> Result<(), ProxyError> {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or(ProxyError::MalformedResponse)?;
    let line = &head[..line_end];
    // "HTTP/1.x SSS[ reason]"
    let rest = line
        .strip_prefix(b"HTTP/1.")
        .ok_or(ProxyError::MalformedResponse)?;
    let (minor, rest) = rest.split_first().ok_or(ProxyError::MalformedResponse)?;
    if !minor.is_ascii_digit() {
        return Err(ProxyError::MalformedResponse);
    }
    let rest = rest
        .strip_prefix(b" ")
        .ok_or(ProxyError::MalformedResponse)?;
    let code = rest.get(..3).ok_or(ProxyError::MalformedResponse)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return Err(ProxyError::MalformedResponse);
    }
    let status = code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    let after = &rest[3..];
    let reason = match after.first() {
        None => &b""[..],
        Some(b' ') => &after[1..],
        Some(_) => return Err(ProxyError::MalformedResponse),
    };
    match status {
        200..=299 => Ok(()),
        407 => Err(ProxyError::AuthRequired),
        _ => Err(ProxyError::Refused {
            status,
            reason: String::from_utf8_lossy(reason)
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_REASON_CHARS)
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert!(check_status(b"HTTP/1.1 200 Connection established\r\n\r\n").is_ok());
        assert!(check_status(b"HTTP/1.0 200\r\n\r\n").is_ok());
        assert!(matches!(
            check_status(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"),
            Err(ProxyError::AuthRequired)
        ));
        assert!(matches!(
            check_status(b"HTTP/1.1 403 Forbidden\r\n\r\n"),
            Err(ProxyError::Refused { status: 403, ref reason }) if reason == "Forbidden"
        ));
        for bad in [
            &b"SSH-2.0-x\r\n\r\n"[..],
            b"HTTP/1.1 20\r\n\r\n",
            b"HTTP/1.1 2000\r\n\r\n",
            b"HTTP/1.1 abc\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"\r\n\r\n",
            b"",
        ] {
            assert!(
                matches!(check_status(bad), Err(ProxyError::MalformedResponse)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn authorities() {
        assert_eq!(
            authority("hub.example", 443).ok().as_deref(),
            Some("hub.example:443")
        );
        assert_eq!(authority("::1", 443).ok().as_deref(), Some("[::1]:443"));
        assert_eq!(authority("[::1]", 443).ok().as_deref(), Some("[::1]:443"));
        assert_eq!(
            authority("10.0.0.1", 8443).ok().as_deref(),
            Some("10.0.0.1:8443")
        );
        for bad in [
            "",
            "a b",
            "evil\r\nX-Injected: 1",
            "user@host",
            "a/b",
            "h:1",
        ] {
            assert!(
                matches!(authority(bad, 1), Err(ProxyError::InvalidTarget(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn credentials() {
        let mut proxy = HttpProxy {
            addr: "proxy:3128".into(),
            username: Some("alice".into()),
            password: Some(Secret::new("s3cret".into())),
        };
        assert_eq!(
            basic_credentials(&proxy).ok().flatten().as_deref(),
            Some("YWxpY2U6czNjcmV0")
        );
        assert!(!format!("{proxy:?}").contains("s3cret"));
        proxy.username = Some("a:b".into());
        assert!(matches!(
            basic_credentials(&proxy),
            Err(ProxyError::InvalidUsername)
        ));
        proxy.username = None;
        assert!(matches!(basic_credentials(&proxy), Ok(None)));
    }
}
