//! The tokio driver of the SOCKS5 entry: reads and writes a stream in the order the hub uses
//! it, over the sans-IO codec in [`portcullis_socks5`] (which documents the protocol and the
//! incremental-parsing contract this driver relies on).
//!
//! # Layout
//! [`accept_auth`] (greeting and credentials), then the caller verifies and calls
//! [`send_auth_result`], then [`read_request`], then the caller decides and calls
//! [`send_reply`]. [`accept`] runs the whole handshake with a verifier closure for callers
//! that don't need the pause.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use portcullis_socks5::{
    encode_auth_status, encode_method_selection, encode_reply, parse_credentials, parse_greeting,
    parse_request, Credentials, Parsed, ReplyCode, Socks5Error, TargetAddr, MAX_MESSAGE_LEN,
    MAX_REPLY_LEN, METHOD_NO_ACCEPTABLE, METHOD_USERNAME_PASSWORD,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Everything [`accept`] learnt from a client whose credentials the verifier accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socks5Request {
    /// The credentials the verifier accepted.
    pub credentials: Credentials,
    /// The destination the client asked for.
    pub target: TargetAddr,
}

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
