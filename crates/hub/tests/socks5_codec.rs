//! SOCKS5 entry point: the sans-IO codec (round trips, every byte split, garbage) and the tokio
//! driver over in-memory pipes, loopback TCP and, when it is installed, the real `curl`.
//!
//! The client side is written here from RFC 1928/1929 rather than shared with the module, so a
//! misreading of the RFC has to be made twice to go unnoticed.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::time::Duration;

use portcullis_hub::entry::socks5::{
    accept, accept_auth, encode_auth_status, encode_method_selection, encode_reply,
    parse_credentials, parse_greeting, parse_request, read_request, send_auth_result, send_reply,
    Credentials, Greeting, Parsed, ReplyCode, Request, Secret, Socks5Error, TargetAddr,
    MAX_MESSAGE_LEN, MAX_REPLY_LEN,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

// ---- a client written from the RFCs ------------------------------------------------------------

fn greeting(methods: &[u8]) -> Vec<u8> {
    let mut out = vec![5, methods.len() as u8];
    out.extend_from_slice(methods);
    out
}

fn credentials(user: &[u8], pass: &[u8]) -> Vec<u8> {
    let mut out = vec![1, user.len() as u8];
    out.extend_from_slice(user);
    out.push(pass.len() as u8);
    out.extend_from_slice(pass);
    out
}

/// A request with a raw address field (`addr` includes the length byte for domains).
fn request_raw(cmd: u8, atyp: u8, addr: &[u8], port: u16) -> Vec<u8> {
    let mut out = vec![5, cmd, 0, atyp];
    out.extend_from_slice(addr);
    out.extend_from_slice(&port.to_be_bytes());
    out
}

fn connect(target: &TargetAddr) -> Vec<u8> {
    match target {
        TargetAddr::Ip(SocketAddr::V4(a)) => request_raw(1, 1, &a.ip().octets(), a.port()),
        TargetAddr::Ip(SocketAddr::V6(a)) => request_raw(1, 4, &a.ip().octets(), a.port()),
        TargetAddr::Domain(host, port) => connect_domain(host.as_bytes(), *port),
    }
}

fn connect_domain(host: &[u8], port: u16) -> Vec<u8> {
    let mut addr = vec![host.len() as u8];
    addr.extend_from_slice(host);
    request_raw(1, 3, &addr, port)
}

/// Decodes a whole reply, checking its framing.
fn decode_reply(bytes: &[u8]) -> (ReplyCode, SocketAddr) {
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

fn complete<T: Debug>(parsed: Result<Parsed<T>, Socks5Error>) -> (T, usize) {
    match parsed {
        Ok(Parsed::Complete { message, consumed }) => (message, consumed),
        other => panic!("expected a complete message, got {other:?}"),
    }
}

fn alice() -> Credentials {
    Credentials {
        username: "alice".into(),
        password: Secret::new(*b"s3cret pass"),
    }
}

fn domain(host: &str, port: u16) -> TargetAddr {
    TargetAddr::Domain(host.into(), port)
}

fn ip(addr: &str) -> TargetAddr {
    TargetAddr::Ip(addr.parse().unwrap())
}

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

// ---- encoders and parsers ----------------------------------------------------------------------

#[test]
fn encoders_write_the_rfc_layout() {
    assert_eq!(encode_method_selection(2), [5, 2]);
    assert_eq!(encode_method_selection(0xFF), [5, 0xFF]);
    assert_eq!(encode_auth_status(true), [1, 0]);
    assert_eq!(encode_auth_status(false), [1, 1]);

    let mut out = Vec::new();
    encode_reply(
        ReplyCode::Succeeded,
        Some("10.1.2.3:4567".parse().unwrap()),
        &mut out,
    );
    assert_eq!(out, [5, 0, 0, 1, 10, 1, 2, 3, 0x11, 0xD7]);

    out.clear();
    encode_reply(ReplyCode::NotAllowed, None, &mut out);
    assert_eq!(out, [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);

    out.clear();
    encode_reply(
        ReplyCode::HostUnreachable,
        Some("[::1]:80".parse().unwrap()),
        &mut out,
    );
    let mut expected = vec![5, 4, 0, 4];
    expected.extend([0; 15]);
    expected.extend([1, 0, 80]);
    assert_eq!(out, expected);
    assert_eq!(out.len(), MAX_REPLY_LEN);
}

#[test]
fn every_reply_code_and_address_round_trips() {
    let codes = [
        ReplyCode::Succeeded,
        ReplyCode::GeneralFailure,
        ReplyCode::NotAllowed,
        ReplyCode::NetworkUnreachable,
        ReplyCode::HostUnreachable,
        ReplyCode::ConnectionRefused,
        ReplyCode::TtlExpired,
        ReplyCode::CommandNotSupported,
        ReplyCode::AddressTypeNotSupported,
    ];
    for (byte, code) in codes.into_iter().enumerate() {
        assert_eq!(u8::from(code), byte as u8);
        for bound in [
            "0.0.0.0:0",
            "192.0.2.7:65535",
            "[2001:db8::5]:1080",
            "[::]:0",
        ] {
            let bound: SocketAddr = bound.parse().unwrap();
            let mut out = Vec::new();
            encode_reply(code, Some(bound), &mut out);
            assert_eq!(decode_reply(&out), (code, bound));
        }
    }
    assert_eq!(ReplyCode::try_from(9), Err(9));
}

#[test]
fn client_messages_round_trip_and_leave_trailing_bytes() {
    let (g, used) = complete(parse_greeting(&greeting(&[0, 2, 0x80])));
    assert_eq!((g.methods.as_slice(), used), (&[0, 2, 0x80][..], 5));
    assert!(g.offers(2) && !g.offers(1));

    let mut bytes = credentials(b"alice", b"s3cret pass");
    let len = bytes.len();
    bytes.extend(b"trailing");
    assert_eq!(complete(parse_credentials(&bytes)), (alice(), len));

    let utf8 = credentials("zoë".as_bytes(), &[0, 255, b':']);
    let (c, _) = complete(parse_credentials(&utf8));
    assert_eq!(
        (c.username.as_str(), c.password.expose()),
        ("zoë", &[0, 255, b':'][..])
    );

    let targets = [
        ip("10.0.0.1:22"),
        ip("0.0.0.0:0"),
        ip("[2001:db8::1]:443"),
        ip("[::ffff:10.0.0.1]:65535"),
        domain("example.internal", 80),
        domain("a", 1),
        domain(&"x".repeat(255), 5432),
    ];
    for target in targets {
        let mut bytes = connect(&target);
        let len = bytes.len();
        bytes.extend(b"\x16\x03\x01 optimistic");
        let (request, used) = complete(parse_request(&bytes));
        assert_eq!(
            (request, used),
            (
                Request {
                    target: target.clone()
                },
                len
            )
        );
    }
}

#[test]
fn target_display_is_host_colon_port() {
    assert_eq!(ip("10.0.0.1:22").to_string(), "10.0.0.1:22");
    assert_eq!(ip("[2001:db8::1]:443").to_string(), "[2001:db8::1]:443");
    assert_eq!(
        domain("example.internal", 80).to_string(),
        "example.internal:80"
    );
    assert_eq!(domain("example.internal", 80).port(), 80);
    assert_eq!(ip("[::1]:9").port(), 9);
}

#[test]
fn domain_fields_are_normalised() {
    let (r, _) = complete(parse_request(&connect_domain(b"DB-1.Corp_Internal.", 5432)));
    assert_eq!(r.target, domain("db-1.corp_internal.", 5432));
    let (r, _) = complete(parse_request(&connect_domain(b"192.168.1.10", 443)));
    assert_eq!(r.target, ip("192.168.1.10:443"));
    let (r, _) = complete(parse_request(&connect_domain(b"fe80::1", 443)));
    assert_eq!(r.target, ip("[fe80::1]:443"));
}

#[test]
fn secrets_do_not_print() {
    let shown = format!("{:?}", alice());
    assert!(shown.contains("alice"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert_eq!(format!("{:?}", Secret::new(*b"x")), "****");
    assert_ne!(Secret::new(*b"a"), Secret::new(*b"ab"));
    assert_eq!(Secret::new(*b"ab"), Secret::new(*b"ab"));
}

// ---- every byte split --------------------------------------------------------------------------

/// What a sans-IO consumer makes of a byte stream: the three messages and what is left.
#[derive(Debug, PartialEq)]
struct Session {
    greeting: Option<Greeting>,
    credentials: Option<Credentials>,
    request: Option<Request>,
    rest: Vec<u8>,
}

/// Tries one parser on the buffer if its message is not in yet; true once it is.
fn step<T>(
    buf: &mut Vec<u8>,
    slot: &mut Option<T>,
    parse: fn(&[u8]) -> Result<Parsed<T>, Socks5Error>,
) -> bool {
    if slot.is_some() {
        return true;
    }
    match parse(buf) {
        Ok(Parsed::Complete { message, consumed }) => {
            assert!(consumed <= buf.len());
            buf.drain(..consumed);
            *slot = Some(message);
            true
        }
        Ok(Parsed::Incomplete { needed }) => {
            assert!(needed >= 1 && buf.len() + needed <= MAX_MESSAGE_LEN);
            false
        }
        Err(err) => panic!("valid input rejected: {err}"),
    }
}

fn feed(chunks: &[&[u8]]) -> Session {
    let mut s = Session {
        greeting: None,
        credentials: None,
        request: None,
        rest: Vec::new(),
    };
    for chunk in chunks {
        s.rest.extend_from_slice(chunk);
        let _ = step(&mut s.rest, &mut s.greeting, parse_greeting)
            && step(&mut s.rest, &mut s.credentials, parse_credentials)
            && step(&mut s.rest, &mut s.request, parse_request);
    }
    s
}

fn handshake(target: &TargetAddr) -> Vec<u8> {
    let mut bytes = greeting(&[0, 2]);
    bytes.extend(credentials(b"alice", b"s3cret pass"));
    bytes.extend(connect(target));
    bytes.extend(b"GET / HTTP/1.1\r\n");
    bytes
}

#[test]
fn every_split_of_a_handshake_parses_the_same() {
    for target in [domain("example.internal", 8443), ip("[2001:db8::7]:22")] {
        let bytes = handshake(&target);
        let whole = feed(&[&bytes]);
        assert_eq!(whole.credentials, Some(alice()));
        assert_eq!(whole.request, Some(Request { target }));
        assert_eq!(whole.rest, b"GET / HTTP/1.1\r\n");

        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(feed(&one_by_one), whole, "one byte at a time");
        for i in 0..=bytes.len() {
            assert_eq!(feed(&[&bytes[..i], &bytes[i..]]), whole, "split at {i}");
            for j in i..=bytes.len() {
                let chunks = [&bytes[..i], &bytes[i..j], &bytes[j..]];
                assert_eq!(feed(&chunks), whole, "split at {i} and {j}");
            }
        }
    }
}

// ---- garbage -----------------------------------------------------------------------------------

fn error<T: Debug>(parsed: Result<Parsed<T>, Socks5Error>) -> Socks5Error {
    match parsed {
        Err(err) => err,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn needed<T: Debug>(parsed: Result<Parsed<T>, Socks5Error>) -> usize {
    match parsed {
        Ok(Parsed::Incomplete { needed }) => needed,
        other => panic!("expected incomplete, got {other:?}"),
    }
}

#[test]
fn wrong_versions_are_refused_at_the_first_byte() {
    use Socks5Error::*;
    assert!(matches!(
        error(parse_greeting(&[4])),
        UnsupportedVersion { got: 4 }
    ));
    assert!(matches!(
        error(parse_greeting(b"CONNECT x")),
        UnsupportedVersion { got: b'C' }
    ));
    assert!(matches!(
        error(parse_credentials(&[5])),
        UnsupportedAuthVersion { got: 5 }
    ));
    assert!(matches!(
        error(parse_request(&[4, 1, 0])),
        UnsupportedVersion { got: 4 }
    ));
    assert!(matches!(
        error(parse_request(&[0x16, 3, 1])),
        UnsupportedVersion { got: 0x16 }
    ));
}

#[test]
fn zero_length_and_invalid_fields_are_named() {
    use Socks5Error::*;
    assert!(matches!(error(parse_greeting(&[5, 0])), NoMethods));
    assert!(matches!(
        error(parse_credentials(&credentials(b"", b"p"))),
        EmptyUsername
    ));
    assert!(matches!(
        error(parse_credentials(&credentials(b"u", b""))),
        EmptyPassword
    ));
    assert!(matches!(
        error(parse_credentials(&credentials(&[0xff, 0xfe], b"p"))),
        UsernameNotUtf8
    ));
    assert!(matches!(
        error(parse_credentials(&credentials(b"a\nb", b"p"))),
        UsernameControlChar
    ));

    let cases: [(Vec<u8>, Option<ReplyCode>); 9] = [
        (
            request_raw(2, 1, &[1, 2, 3, 4], 80),
            Some(ReplyCode::CommandNotSupported),
        ),
        (
            request_raw(3, 1, &[1, 2, 3, 4], 80),
            Some(ReplyCode::CommandNotSupported),
        ),
        (
            request_raw(9, 3, b"\x01a", 80),
            Some(ReplyCode::CommandNotSupported),
        ),
        (
            vec![5, 1, 1, 1, 1, 2, 3, 4, 0, 80],
            Some(ReplyCode::GeneralFailure),
        ),
        (
            request_raw(1, 2, &[], 80),
            Some(ReplyCode::AddressTypeNotSupported),
        ),
        (
            request_raw(1, 0xff, &[], 80),
            Some(ReplyCode::AddressTypeNotSupported),
        ),
        (connect_domain(b"", 80), Some(ReplyCode::GeneralFailure)),
        (
            connect_domain(b"evil\r\nhost", 80),
            Some(ReplyCode::GeneralFailure),
        ),
        (
            connect_domain(b"[::1]", 80),
            Some(ReplyCode::GeneralFailure),
        ),
    ];
    for (bytes, code) in cases {
        let err = error(parse_request(&bytes));
        assert_eq!(err.reply_code(), code, "{bytes:?}: {err}");
    }
    assert!(matches!(
        error(parse_request(&request_raw(2, 1, &[1, 2, 3, 4], 80))),
        UnsupportedCommand { command: 2 }
    ));
    assert!(matches!(
        error(parse_request(&request_raw(1, 5, &[], 80))),
        UnsupportedAddressType { atyp: 5 }
    ));
}

#[test]
fn truncated_and_huge_lengths_ask_for_exactly_what_is_missing() {
    assert_eq!(needed(parse_greeting(&[])), 1);
    assert_eq!(needed(parse_credentials(&[])), 1);
    assert_eq!(needed(parse_request(&[])), 1);
    assert_eq!(needed(parse_greeting(&[5])), 1);
    // A length byte of 255 with little behind it: ask for the rest, allocate nothing.
    assert_eq!(needed(parse_greeting(&[5, 255, 1, 2])), 253);
    assert_eq!(needed(parse_credentials(&[1, 255])), 256);
    assert_eq!(
        needed(parse_credentials(
            &credentials(&[b'u'; 255], &[b'p'; 255])[..300]
        )),
        213
    );
    assert_eq!(needed(parse_request(&[5, 1, 0])), 1);
    assert_eq!(needed(parse_request(&[5, 1, 0, 3])), 1);
    assert_eq!(needed(parse_request(&[5, 1, 0, 3, 255])), 257);
    assert_eq!(needed(parse_request(&[5, 1, 0, 4, 0])), 17);
}

/// xorshift64*: deterministic, dependency-free noise.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

fn check_invariants<T>(len: usize, parsed: Result<Parsed<T>, Socks5Error>) {
    match parsed {
        Ok(Parsed::Complete { consumed, .. }) => {
            assert!((3..=len.min(MAX_MESSAGE_LEN)).contains(&consumed))
        }
        Ok(Parsed::Incomplete { needed }) => {
            assert!(needed >= 1 && len + needed <= MAX_MESSAGE_LEN)
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
}

#[test]
fn random_garbage_never_panics_and_keeps_the_length_contract() {
    let mut noise = Noise(0x5EED_F0C5_50C5);
    for _ in 0..200_000 {
        let len = (noise.next() % 600) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| noise.byte()).collect();
        // Mostly get past the version checks so the deeper code runs too.
        if noise.next() & 3 != 0 {
            if let Some(b) = buf.get_mut(0) {
                *b = if noise.next() & 1 == 0 { 5 } else { 1 };
            }
            if let Some(b) = buf.get_mut(3) {
                *b = [1, 3, 4][(noise.next() % 3) as usize];
            }
            if noise.next() & 1 == 0 {
                if let Some(b) = buf.get_mut(1) {
                    *b %= 16;
                }
                if let Some(b) = buf.get_mut(4) {
                    *b %= 16;
                }
            }
        }
        check_invariants(len, parse_greeting(&buf));
        check_invariants(len, parse_credentials(&buf));
        check_invariants(len, parse_request(&buf));
    }
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
    let verify = async |c: &Credentials| c.password == Secret::new(*b"s3cret pass");
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
