//! Minimal SOCKS5 and HTTP CONNECT clients, written from RFC 1928/1929 and RFC 9110, so tests
//! speak to the entry points exactly as a third-party client would.

use std::net::SocketAddr;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Result of a SOCKS5 attempt.
#[derive(Debug)]
pub enum Socks5Outcome {
    /// Authentication was refused (status byte).
    AuthFailed(u8),
    /// The CONNECT reply code was not success.
    Refused(u8),
    /// Connected; the stream now carries the target's bytes.
    Connected(TcpStream),
}

/// SOCKS5 CONNECT to `host:port` with username/password.
pub async fn socks5_connect(
    proxy: SocketAddr,
    user: &str,
    pass: &str,
    host: &str,
    port: u16,
) -> std::io::Result<Socks5Outcome> {
    socks5_connect_over(TcpStream::connect(proxy).await?, user, pass, host, port).await
}

/// [`socks5_connect`] on a connection already made to the proxy (from a chosen source).
pub async fn socks5_connect_over(
    mut s: TcpStream,
    user: &str,
    pass: &str,
    host: &str,
    port: u16,
) -> std::io::Result<Socks5Outcome> {
    s.write_all(&[5, 1, 2]).await?;
    let mut sel = [0u8; 2];
    s.read_exact(&mut sel).await?;
    assert_eq!(sel, [5, 2], "server must choose username/password");
    let mut auth = vec![1, user.len() as u8];
    auth.extend_from_slice(user.as_bytes());
    auth.push(pass.len() as u8);
    auth.extend_from_slice(pass.as_bytes());
    s.write_all(&auth).await?;
    let mut st = [0u8; 2];
    s.read_exact(&mut st).await?;
    if st[1] != 0 {
        return Ok(Socks5Outcome::AuthFailed(st[1]));
    }
    let mut req = vec![5, 1, 0, 3, host.len() as u8];
    req.extend_from_slice(host.as_bytes());
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).await?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    let skip = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut l = [0u8; 1];
            s.read_exact(&mut l).await?;
            l[0] as usize + 2
        }
        _ => 0,
    };
    let mut rest = vec![0u8; skip];
    s.read_exact(&mut rest).await?;
    if head[1] != 0 {
        return Ok(Socks5Outcome::Refused(head[1]));
    }
    Ok(Socks5Outcome::Connected(s))
}

/// HTTP CONNECT through the proxy with Basic `location:token`; returns the status code and, on
/// 200, the stream.
pub async fn http_connect(
    proxy: SocketAddr,
    location: &str,
    token: &str,
    target: &str,
) -> std::io::Result<(u16, String, Option<TcpStream>)> {
    http_connect_over(TcpStream::connect(proxy).await?, location, token, target).await
}

/// [`http_connect`] on a connection already made to the proxy (from a chosen source).
pub async fn http_connect_over(
    mut s: TcpStream,
    location: &str,
    token: &str,
    target: &str,
) -> std::io::Result<(u16, String, Option<TcpStream>)> {
    let cred = base64::engine::general_purpose::STANDARD.encode(format!("{location}:{token}"));
    let req = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: Basic {cred}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    // Read the head byte by byte so no tunnelled byte is consumed.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).await? == 0 {
            break;
        }
        head.push(b[0]);
        assert!(head.len() < 16 * 1024, "response head too large");
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if status == 200 {
        return Ok((status, text, Some(s)));
    }
    // Body: read what Content-Length says.
    let len = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await?;
    Ok((status, String::from_utf8_lossy(&body).to_string(), None))
}

/// Writes `msg` and reads the same number of bytes back.
pub async fn echo_round_trip(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    s.write_all(msg).await?;
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).await?;
    Ok(got)
}

/// Runs the real curl with `args` off the async runtime (scripts/test installs it) and asserts
/// it succeeded; returns what it printed. With `-i`, that is the status line and headers too.
pub async fn curl(args: Vec<String>) -> String {
    let shown = args.join(" ");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl").args(&args).output()
    })
    .await
    .expect("curl's thread")
    .expect("curl runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "curl {shown}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The status of the last HTTP response in `curl -i` output (a `-p` tunnel prints the CONNECT
/// answer first); 0 without one.
pub fn last_status(response: &str) -> u16 {
    response
        .lines()
        .rfind(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
