//! The SOCKS5 entry's tokio driver over in-memory pipes, loopback TCP and, when it is
//! installed, the real `curl`. The codec itself is tested in `crates/socks5/tests/codec.rs`.
//!
//! The client side comes from the codec crate's `rfc_client`, written from RFC 1928/1929
//! rather than shared with the codec, so a misreading of the RFC has to be made twice to go
//! unnoticed.

#[path = "../../socks5/tests/rfc_client/mod.rs"]
mod rfc_client;

use std::net::SocketAddr;
use std::time::Duration;

use portcullis_hub::entry::socks5::{
    accept, accept_auth, read_request, send_auth_result, send_reply,
};
use portcullis_socks5::{Credentials, ReplyCode, Secret, Socks5Error, TargetAddr};
use rfc_client::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

async fn read_n<S: AsyncRead + Unpin>(stream: &mut S, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).await.expect("read from server");
    buf
}

async fn read_reply<S: AsyncRead + Unpin>(stream: &mut S) -> (ReplyCode, SocketAddr) {
    let mut reply = read_n(stream, 4).await;
    let rest = if reply[3] == 4 { 18 } else { 6 };
    reply.extend(read_n(stream, rest).await);
    decode_reply(&reply)
}

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

// ---- the tokio driver --------------------------------------------------------------------------

/// The hub's side of a successful handshake, step by step; returns what it learnt.
async fn serve_ok<S>(stream: &mut S, bound: Option<SocketAddr>) -> (Credentials, TargetAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let creds = accept_auth(stream, soon(5_000)).await.expect("auth phase");
    send_auth_result(stream, true).await.unwrap();
    let target = read_request(stream, soon(5_000)).await.expect("request");
    send_reply(stream, ReplyCode::Succeeded, bound)
        .await
        .unwrap();
    (creds, target)
}

/// A well-behaved client that waits for each answer.
async fn polite_client<S>(stream: &mut S, target: &TargetAddr) -> (ReplyCode, SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.write_all(&greeting(&[0, 2])).await.unwrap();
    assert_eq!(read_n(stream, 2).await, [5, 2]);
    stream
        .write_all(&credentials(b"alice", b"s3cret pass"))
        .await
        .unwrap();
    assert_eq!(read_n(stream, 2).await, [1, 0]);
    stream.write_all(&connect(target)).await.unwrap();
    read_reply(stream).await
}

#[tokio::test]
async fn driver_over_a_duplex_pipe() {
    let (mut client, mut server) = tokio::io::duplex(64);
    let target = domain("erp.corp", 443);
    let client = tokio::spawn({
        let target = target.clone();
        async move { polite_client(&mut client, &target).await }
    });
    let bound: SocketAddr = "[2001:db8::9]:40000".parse().unwrap();
    assert_eq!(serve_ok(&mut server, Some(bound)).await, (alice(), target));
    assert_eq!(client.await.unwrap(), (ReplyCode::Succeeded, bound));
}

#[tokio::test]
async fn driver_over_loopback_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = ip("10.20.30.40:5432");
    let client = tokio::spawn({
        let target = target.clone();
        async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            polite_client(&mut stream, &target).await
        }
    });
    let (mut stream, _) = listener.accept().await.unwrap();
    assert_eq!(serve_ok(&mut stream, None).await, (alice(), target));
    assert_eq!(
        client.await.unwrap(),
        (ReplyCode::Succeeded, "0.0.0.0:0".parse().unwrap())
    );
}

#[tokio::test]
async fn driver_reassembles_a_client_that_writes_one_byte_at_a_time() {
    let (mut client, mut server) = tokio::io::duplex(1024);
    let target = domain("example.internal", 80);
    let bytes = handshake(&target);
    let writer = tokio::spawn(async move {
        for byte in bytes.chunks(1) {
            client.write_all(byte).await.unwrap();
            tokio::task::yield_now().await;
        }
        client
    });
    assert_eq!(serve_ok(&mut server, None).await, (alice(), target));
    let mut rest = vec![0; b"GET / HTTP/1.1\r\n".len()];
    server.read_exact(&mut rest).await.unwrap();
    assert_eq!(rest, b"GET / HTTP/1.1\r\n");
    drop(writer.await.unwrap());
}

/// A client that pipelines everything, optimistic data included, then half-closes: after the
/// handshake the stream must hold exactly the optimistic data.
async fn optimistic_data_survives<S, C>(mut server: S, mut client: C)
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let data = b"\x16\x03\x01\x02\x00 pretend ClientHello".to_vec();
    let mut bytes = handshake(&domain("git.corp", 22));
    bytes.truncate(bytes.len() - b"GET / HTTP/1.1\r\n".len());
    bytes.extend(&data);
    let client = tokio::spawn(async move {
        client.write_all(&bytes).await.unwrap();
        client.shutdown().await.unwrap();
        let answers = read_n(&mut client, 4).await;
        (answers, read_reply(&mut client).await)
    });
    let (creds, target) = serve_ok(&mut server, None).await;
    assert_eq!((creds, target), (alice(), domain("git.corp", 22)));
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, data);
    let (answers, (code, _)) = client.await.unwrap();
    assert_eq!((answers, code), (vec![5, 2, 1, 0], ReplyCode::Succeeded));
}

#[tokio::test]
async fn optimistic_data_stays_in_a_duplex_pipe() {
    let (client, server) = tokio::io::duplex(1024);
    optimistic_data_survives(server, client).await;
}

#[tokio::test]
async fn optimistic_data_stays_in_a_tcp_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    optimistic_data_survives(server, client).await;
}

#[tokio::test]
async fn clients_without_username_password_get_0xff() {
    let (mut client, mut server) = tokio::io::duplex(64);
    client.write_all(&greeting(&[0, 1])).await.unwrap();
    let err = accept_auth(&mut server, soon(5_000)).await.unwrap_err();
    assert!(matches!(err, Socks5Error::NoAcceptableMethod), "{err}");
    assert_eq!(read_n(&mut client, 2).await, [5, 0xFF]);
}

#[tokio::test]
async fn malformed_credentials_get_a_failure_status() {
    let (mut client, mut server) = tokio::io::duplex(64);
    client.write_all(&greeting(&[2])).await.unwrap();
    client.write_all(&credentials(b"", b"pw")).await.unwrap();
    let err = accept_auth(&mut server, soon(5_000)).await.unwrap_err();
    assert!(matches!(err, Socks5Error::EmptyUsername), "{err}");
    assert_eq!(read_n(&mut client, 4).await, [5, 2, 1, 1]);
}

#[tokio::test]
async fn rejected_credentials_get_a_failure_status() {
    let (mut client, mut server) = tokio::io::duplex(64);
    client.write_all(&greeting(&[2])).await.unwrap();
    client
        .write_all(&credentials(b"mallory", b"guess"))
        .await
        .unwrap();
    let creds = accept_auth(&mut server, soon(5_000)).await.unwrap();
    assert_eq!(creds.username, "mallory");
    send_auth_result(&mut server, false).await.unwrap();
    drop(server);
    let mut answers = Vec::new();
    client.read_to_end(&mut answers).await.unwrap();
    assert_eq!(answers, [5, 2, 1, 1]);
}

#[tokio::test]
async fn unsupported_commands_are_answered_with_their_reply_code() {
    let (mut client, mut server) = tokio::io::duplex(64);
    client
        .write_all(&request_raw(3, 1, &[0; 4], 0))
        .await
        .unwrap();
    let err = read_request(&mut server, soon(5_000)).await.unwrap_err();
    assert!(
        matches!(err, Socks5Error::UnsupportedCommand { command: 3 }),
        "{err}"
    );
    send_reply(&mut server, err.reply_code().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(
        read_reply(&mut client).await,
        (ReplyCode::CommandNotSupported, "0.0.0.0:0".parse().unwrap())
    );
}

#[tokio::test]
async fn half_a_greeting_runs_into_the_deadline() {
    let (mut client, mut server) = tokio::io::duplex(64);
    client.write_all(&[5]).await.unwrap();
    let start = Instant::now();
    let err = accept_auth(&mut server, start + Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, Socks5Error::Timeout), "{err}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(5),
        "{took:?}"
    );
    drop(client);
}

#[tokio::test]
async fn half_a_request_runs_into_the_deadline_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    client
        .write_all(&connect(&domain("slow.corp", 80))[..6])
        .await
        .unwrap();
    let err = read_request(&mut server, soon(200)).await.unwrap_err();
    assert!(matches!(err, Socks5Error::Timeout), "{err}");
}

#[tokio::test]
async fn a_client_hanging_up_mid_message_is_closed_not_io() {
    let (mut client, mut server) = tokio::io::duplex(64);
    client.write_all(&[5, 2, 0]).await.unwrap();
    drop(client);
    let err = accept_auth(&mut server, soon(5_000)).await.unwrap_err();
    assert!(matches!(err, Socks5Error::Closed), "{err}");
}

#[tokio::test]
async fn accept_runs_the_whole_handshake_with_a_verifier() {
    let (mut client, mut server) = tokio::io::duplex(64);
    let target = ip("[fd00::10]:3389");
    let client_task = tokio::spawn({
        let target = target.clone();
        async move { polite_client(&mut client, &target).await }
    });
    let verify = async |c: &Credentials| c.password == Secret::new(b"s3cret pass".to_vec());
    let request = accept(&mut server, soon(5_000), verify).await.unwrap();
    assert_eq!((request.credentials, request.target), (alice(), target));
    send_reply(&mut server, ReplyCode::ConnectionRefused, None)
        .await
        .unwrap();
    assert_eq!(client_task.await.unwrap().0, ReplyCode::ConnectionRefused);

    let (mut client, mut server) = tokio::io::duplex(64);
    client.write_all(&greeting(&[2])).await.unwrap();
    client
        .write_all(&credentials(b"alice", b"wrong"))
        .await
        .unwrap();
    let err = accept(&mut server, soon(5_000), verify).await.unwrap_err();
    assert!(matches!(err, Socks5Error::AuthenticationFailed), "{err}");
    assert_eq!(read_n(&mut client, 4).await, [5, 2, 1, 1]);
}

// ---- the real thing ----------------------------------------------------------------------------

/// curl against a server built on the driver that checks who and where, then says no. The
/// server never dials anything, so no traffic leaves the machine.
#[tokio::test]
async fn curl_is_refused_with_not_allowed() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping curl_is_refused_with_not_allowed: curl is not installed");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let verify =
                async |c: &Credentials| c.username == "user" && c.password.expose() == b"pass";
            let result = accept(&mut stream, soon(10_000), verify).await;
            if result.is_ok() {
                send_reply(&mut stream, ReplyCode::NotAllowed, None)
                    .await
                    .unwrap();
            }
            let _ = seen_tx.send(result.map_err(|e| e.to_string()));
        }
    });

    let output = tokio::process::Command::new("curl")
        .args(["-q", "-sS", "--max-time", "10", "--socks5-hostname"])
        .arg(format!("user:pass@127.0.0.1:{port}"))
        .arg("http://example.internal:80/")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .expect("run curl");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "curl succeeded through a refusal: {stderr}"
    );
    eprintln!(
        "curl exited with {:?}: {}",
        output.status.code(),
        stderr.trim()
    );

    let seen = seen_rx.recv().await.unwrap().expect("handshake with curl");
    assert_eq!(seen.credentials.username, "user");
    assert_eq!(seen.credentials.password.expose(), b"pass");
    assert_eq!(seen.target, domain("example.internal", 80));
    server.abort();
}
