//! The niping client: connect (directly or through a route string), send buffers one at a
//! time, check and time each echo.

use std::io;
use std::time::{Duration, Instant};

use portcullis_ni::frame::{NI_PING, NI_PONG};
use portcullis_ni::niping::{payload, DEFAULT_LEN, DEFAULT_PORT, EYECATCHER};
use portcullis_ni::{NiError, RouteString, TalkMode};
use tokio::net::TcpStream;

use super::report::Report;
use super::DEFAULT_MAX_FRAME;
use crate::client::{self, ClientError, RouteRefused};
use crate::io::{read_frame, write_frame, FrameError};

/// Smallest buffer the client sends: the eye catcher itself. A shorter buffer would not be
/// a niping buffer (Wireshark and [`portcullis_ni::niping::is_niping`] recognise it by
/// that prefix).
pub const MIN_LEN: usize = EYECATCHER.len();

/// Largest buffer the client sends: what our own server accepts by default
/// ([`DEFAULT_MAX_FRAME`]). Beyond that the test measures memory, not the network.
pub const MAX_LEN: usize = DEFAULT_MAX_FRAME;

/// What to test and how.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// A host name or address (`sapapp1`, `10.0.0.5`, `::1`), or a route string starting
    /// with `/` (`/H/saprouter/S/3299/H/sapapp1`) whose last hop is the niping server.
    pub target: String,
    /// The niping server's port for a plain host, and for a route whose last hop has no
    /// `/S/` (a route string's own default, 3299, is a SAProuter's port, not niping's).
    pub port: u16,
    /// Buffers to send, at least 1.
    pub loops: u32,
    /// Bytes per buffer, [`MIN_LEN`]..=[`MAX_LEN`].
    pub len: usize,
    /// Limit for every wait on the network: the TCP connect, the route set-up, each echo.
    pub timeout: Duration,
}

impl ClientOptions {
    /// niping's defaults for `target`: port 3298, 10 loops of 1000 bytes, 5 s timeout.
    pub fn new(target: impl Into<String>) -> ClientOptions {
        ClientOptions {
            target: target.into(),
            port: DEFAULT_PORT,
            loops: 10,
            len: DEFAULT_LEN,
            timeout: Duration::from_secs(5),
        }
    }

    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<(), NipingError> {
        let bad = |reason: String| Err(NipingError::InvalidOption(reason));
        if self.target.is_empty() {
            return bad("no target: name the niping server's host or a route string".into());
        }
        if self.port == 0 {
            return bad("port 0: the client needs the niping server's port".into());
        }
        if self.loops == 0 {
            return bad("0 loops: send at least one buffer".into());
        }
        if self.len < MIN_LEN {
            return bad(format!(
                "buffer length {} is below {MIN_LEN} bytes: every niping buffer starts with \
                 the {MIN_LEN}-byte eye catcher EYECATCHER",
                self.len
            ));
        }
        if self.len > MAX_LEN {
            return bad(format!(
                "buffer length {} is above {MAX_LEN} bytes, the largest frame a niping \
                 server accepts by default",
                self.len
            ));
        }
        if self.timeout.is_zero() {
            return bad("timeout 0: every wait would fail at once".into());
        }
        Ok(())
    }
}

/// Why a niping test failed. Each variant's documentation says whose side the fault is on.
///
/// Every message is complete on its own: it includes the text of the underlying error, which
/// is therefore kept in a field and not also returned by `source()`, so that a reporter that
/// walks the chain (`anyhow`'s `{:#}`) does not print it twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NipingError {
    /// An option is out of range (the caller's).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The target starts with `/` but is not a valid route string (the caller's).
    #[error("invalid {0}")]
    RouteString(NiError),
    /// A service in the route string is neither a port nor a known name (the caller's).
    #[error("unknown service '{0}' in the route string: use a port number")]
    UnknownService(String),
    /// The TCP connection (to the server, or to the first router of a route) failed: nothing
    /// listens there, a firewall, or the host name does not resolve (network / server).
    #[error("cannot connect to {target}: {error}{}", connect_hint(.error))]
    Connect {
        /// `host:port` tried.
        target: String,
        /// What the operating system said.
        error: io::Error,
    },
    /// No TCP connection, or no answer to the route request, within the timeout (network).
    #[error("no connection to {target} within {after:?}")]
    ConnectTimeout {
        /// `host:port` or the route string (passwords masked).
        target: String,
        /// The timeout in force.
        after: Duration,
    },
    /// A SAProuter on the way refused the route, with its return code and text (router).
    #[error("route {route} refused: {refused}")]
    RouteRefused {
        /// The route string, passwords masked.
        route: String,
        /// The router's return code and error text.
        refused: RouteRefused,
    },
    /// The route set-up failed otherwise: the router sent something unexpected or broke the
    /// connection (router).
    #[error("route {route} failed: {error}")]
    Route {
        /// The route string, passwords masked.
        route: String,
        /// What went wrong.
        error: ClientError,
    },
    /// A message's echo did not arrive within the timeout (network / server).
    #[error("no echo of message {message} of {of} within {after:?}")]
    EchoTimeout {
        /// The message waited for, counting from 1.
        message: u32,
        /// Messages in the test.
        of: u32,
        /// The timeout in force.
        after: Duration,
    },
    /// The echo differs from what was sent: something on the way altered the data (network /
    /// server).
    #[error("echo of message {message} differs from what was sent: {detail}")]
    EchoMismatch {
        /// The message whose echo differs, counting from 1.
        message: u32,
        /// The first difference.
        detail: String,
    },
    /// The server (or a router on the way) closed or reset the connection before the echo
    /// was complete (server / router).
    #[error("the server closed the connection before echoing message {message}")]
    ServerClosed {
        /// The message waited for, counting from 1.
        message: u32,
    },
    /// Sending or receiving failed otherwise (network).
    #[error("network error on message {message}: {error}")]
    Io {
        /// The message being exchanged, counting from 1.
        message: u32,
        /// What the operating system said.
        error: io::Error,
    },
}

/// What a person can check when a connection is refused.
fn connect_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            " (is a niping server, or the SAProuter, listening on that port?)"
        }
        _ => "",
    }
}

/// A connection to a niping server, ready for the test.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    opts: ClientOptions,
    peer: String,
}

impl Client {
    /// Validates `opts` and connects: TCP to the host, or TCP to the first router and the
    /// route request (MSG mode, so NI frames pass end to end) for a route string.
    pub async fn connect(opts: &ClientOptions) -> Result<Client, NipingError> {
        opts.validate()?;
        let (stream, peer) = if opts.target.starts_with('/') {
            let route = route_to_server(&opts.target, opts.port)?;
            let redacted = route.redacted();
            let stream = client::connect(&route, TalkMode::Msg, opts.timeout)
                .await
                .map_err(|e| route_error(e, &redacted, true))?;
            (stream, redacted)
        } else {
            let peer = host_port(&opts.target, opts.port);
            let stream = client::connect_tcp(&opts.target, &opts.port.to_string(), opts.timeout)
                .await
                .map_err(|e| route_error(e, &peer, false))?;
            (stream, peer)
        };
        Ok(Client {
            stream,
            opts: opts.clone(),
            peer,
        })
    }

    /// Where the client is connected: `host:port`, or the route string with passwords masked.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Sends the buffers one at a time, waits for each echo and checks it byte for byte.
    /// Stops at the first failure, naming the message.
    pub async fn run(mut self) -> Result<Report, NipingError> {
        let loops = self.opts.loops;
        let after = self.opts.timeout;
        let sent = payload(self.opts.len);
        // `loops` comes from the caller; do not reserve billions of entries up front.
        let mut times = Vec::with_capacity(loops.min(1 << 16) as usize);
        for message in 1..=loops {
            let start = Instant::now();
            tokio::time::timeout(after, exchange(&mut self.stream, &sent, message))
                .await
                .map_err(|_| NipingError::EchoTimeout {
                    message,
                    of: loops,
                    after,
                })??;
            times.push(start.elapsed());
        }
        Ok(Report {
            loops,
            len: sent.len(),
            times,
        })
    }
}

/// Connects and runs the test: [`Client::connect`], then [`Client::run`].
pub async fn run_client(opts: &ClientOptions) -> Result<Report, NipingError> {
    Client::connect(opts).await?.run().await
}

/// Sends `sent` as message number `message` and reads its echo, answering keep-alives that
/// arrive meanwhile (a server or router may send `NI_PING` at any time; it is never an echo,
/// since every niping buffer starts with the eye catcher).
async fn exchange(stream: &mut TcpStream, sent: &[u8], message: u32) -> Result<(), NipingError> {
    write_frame(stream, sent)
        .await
        .map_err(|e| io_error(e, message))?;
    loop {
        // The echo has exactly the length sent: anything longer is refused before it is read.
        let echo = match read_frame(stream, sent.len()).await {
            Ok(echo) => echo,
            Err(FrameError::Closed | FrameError::Truncated { .. }) => {
                return Err(NipingError::ServerClosed { message })
            }
            Err(FrameError::Protocol(NiError::TooBig { len, .. })) => {
                return Err(NipingError::EchoMismatch {
                    message,
                    detail: format!("{len} bytes came back, {} were sent", sent.len()),
                })
            }
            Err(FrameError::Protocol(e)) => {
                return Err(NipingError::EchoMismatch {
                    message,
                    detail: e.to_string(),
                })
            }
            Err(FrameError::Io(e)) => return Err(io_error(e, message)),
        };
        if echo == NI_PING {
            write_frame(stream, NI_PONG)
                .await
                .map_err(|e| io_error(e, message))?;
            continue;
        }
        return match first_difference(sent, &echo) {
            None => Ok(()),
            Some(detail) => Err(NipingError::EchoMismatch { message, detail }),
        };
    }
}

/// Describes how `echo` differs from `sent`, or `None` when they are identical.
fn first_difference(sent: &[u8], echo: &[u8]) -> Option<String> {
    if let Some((at, (s, e))) = sent.iter().zip(echo).enumerate().find(|(_, (s, e))| s != e) {
        return Some(format!("byte {at} is {e:#04x}, {s:#04x} was sent"));
    }
    (sent.len() != echo.len())
        .then(|| format!("{} bytes came back, {} were sent", echo.len(), sent.len()))
}

/// A reset or broken pipe in the middle of an exchange means the other side went away.
fn io_error(e: io::Error, message: u32) -> NipingError {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => NipingError::ServerClosed { message },
        _ => NipingError::Io { message, error: e },
    }
}

/// Parses a route string whose last hop is the niping server; that hop's service defaults
/// to `port` instead of the route-string default 3299 (SAProuter's port).
///
/// The user's text is parsed first, as typed, so that error positions refer to it.
fn route_to_server(text: &str, port: u16) -> Result<RouteString, NipingError> {
    let route = RouteString::parse(text).map_err(NipingError::RouteString)?;
    // Token letters may be lower case; host names and passwords cannot contain '/', so the
    // text after the last "/H/" is the last hop's, and "/S/" in it is its service token.
    let upper = text.to_ascii_uppercase();
    let last_hop = upper
        .rfind("/H/")
        .and_then(|at| upper.get(at..))
        .unwrap_or("");
    if last_hop.contains("/S/") {
        return Ok(route);
    }
    RouteString::parse(&format!("{text}/S/{port}")).map_err(NipingError::RouteString)
}

/// `host:port`, with brackets around an IPv6 address.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Maps a failed connect or route set-up; `target` names what was being reached: the
/// server's `host:port`, or the route string when `is_route`.
fn route_error(e: ClientError, target: &str, is_route: bool) -> NipingError {
    match e {
        ClientError::Connect {
            target: first_hop,
            source,
        } => NipingError::Connect {
            // For a route, the router tried first; for a host, `target` (bracketed for IPv6).
            target: if is_route {
                first_hop
            } else {
                target.to_owned()
            },
            error: source,
        },
        ClientError::Timeout(after) => NipingError::ConnectTimeout {
            target: target.to_owned(),
            after,
        },
        ClientError::UnknownService(service) => NipingError::UnknownService(service),
        ClientError::Refused(refused) => NipingError::RouteRefused {
            route: target.to_owned(),
            refused,
        },
        error => NipingError::Route {
            route: target.to_owned(),
            error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_hop_defaults_to_the_niping_port() {
        let route = route_to_server("/H/router/H/app", 3298).unwrap();
        assert_eq!(route.target().service, "3298");
        assert_eq!(route.hops()[0].service, "3299");
        let route = route_to_server("/h/router/s/4000/h/app/s/3300", 3298).unwrap();
        assert_eq!(route.target().service, "3300");
        let route = route_to_server("/H/router/W/pw/H/app", 1234).unwrap();
        assert_eq!(route.target().service, "1234");
        assert_eq!(route.hops()[0].password, "pw");
        assert!(matches!(
            route_to_server("/H/app", 3298),
            Err(NipingError::RouteString(_))
        ));
    }

    #[test]
    fn differences_name_the_first_byte() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(
            first_difference(b"abc", b"abd").as_deref(),
            Some("byte 2 is 0x64, 0x63 was sent")
        );
        assert_eq!(
            first_difference(b"abc", b"ab").as_deref(),
            Some("2 bytes came back, 3 were sent")
        );
    }

    #[test]
    fn options_are_checked() {
        assert!(ClientOptions::new("h").validate().is_ok());
        for broken in [
            ClientOptions {
                len: MIN_LEN - 1,
                ..ClientOptions::new("h")
            },
            ClientOptions {
                len: MAX_LEN + 1,
                ..ClientOptions::new("h")
            },
            ClientOptions {
                loops: 0,
                ..ClientOptions::new("h")
            },
            ClientOptions {
                port: 0,
                ..ClientOptions::new("h")
            },
            ClientOptions::new(""),
        ] {
            assert!(
                matches!(broken.validate(), Err(NipingError::InvalidOption(_))),
                "{broken:?}"
            );
        }
        assert_eq!(host_port("::1", 3298), "[::1]:3298");
        assert_eq!(host_port("app", 3298), "app:3298");
    }
}
