//! The connector's admin listener bounds strangers as the hub's listeners do
//! (`portcullis_transport::preauth`): every connection holds a pre-auth slot from accept until
//! its first request head, within `[admin] preauth_timeout_secs`. One address cannot hold more
//! than `max_preauth_per_source` slots; when all `max_preauth` are held, a client from another
//! address takes the oldest slot of the heaviest one, so a flood cannot lock the
//! administrators out. Linux routes all of 127/8 to the loopback interface, so 127.0.0.1,
//! .2 and .3 are three sources.

use std::net::{Ipv4Addr, SocketAddr};

use portcullis_test_support::{echo_server, TestConnector, TestHub, WAIT};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::portal::Curl;

const FLOOD: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const ADMIN: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// A connector with its admin UI on and `admin` settings.
async fn connector(hub: &TestHub, admin: &str) -> TestConnector {
    let echo = echo_server().await;
    let (conn, _, _) = hub
        .prd_echo_service_with(echo, |c| c.with_admin_toml(admin))
        .await;
    conn
}

struct Ui {
    addr: SocketAddr,
    tls: TlsConnector,
    cert_pem: String,
}

impl Ui {
    fn of(conn: &TestConnector) -> Ui {
        let cert_pem = std::fs::read_to_string(conn.data_dir().join("admin/ui-cert.pem")).unwrap();
        let der = portcullis_transport::pki::pem_to_der_certs(&cert_pem)
            .unwrap()
            .remove(0);
        Ui {
            addr: conn.admin_addr().expect("the admin UI listens"),
            tls: TlsConnector::from(
                portcullis_transport::tls::pinned_client_config(der, &[b"http/1.1"]).unwrap(),
            ),
            cert_pem,
        }
    }

    /// A connection from `src` that completes TLS and then says nothing; an error when the
    /// listener closed it instead.
    async fn silent(&self, src: Ipv4Addr) -> std::io::Result<TlsStream<TcpStream>> {
        let s = TcpSocket::new_v4()?;
        s.bind(SocketAddr::new(src.into(), 0))?;
        let tcp = s.connect(self.addr).await?;
        let name = ServerName::try_from("127.0.0.1").unwrap();
        self.tls.connect(name, tcp).await
    }

    /// `GET /signin` from `src` with curl; its status.
    async fn sign_in_page_from(&self, src: Ipv4Addr) -> u16 {
        let curl = Curl::at(&format!("https://{}", self.addr), &self.cert_pem);
        let url = curl.url("/signin");
        curl.run(&["--interface", &src.to_string(), &url])
            .await
            .status
    }
}

/// Resolves when the listener has closed `s` (end of stream or a reset).
async fn closed(s: &mut TlsStream<TcpStream>) {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn a_flood_from_one_address_cannot_lock_an_administrator_out() {
    let hub = TestHub::start().await;
    let conn = connector(
        &hub,
        "max_preauth = 4\nmax_preauth_per_source = 3\npreauth_timeout_secs = 120\n",
    )
    .await;
    let ui = Ui::of(&conn);
    // 127.0.0.1 holds as many slots as one address may.
    let mut held = Vec::new();
    for i in 0..3 {
        held.push(
            ui.silent(FLOOD)
                .await
                .unwrap_or_else(|e| panic!("silent connection {i}: {e}")),
        );
    }
    // One more from it is closed at once: its TLS handshake cannot complete.
    assert!(
        ui.silent(FLOOD).await.is_err(),
        "a fourth connection from one address got a slot"
    );
    // Another address gets in; now every slot is held.
    let _other = ui.silent(OTHER).await.expect("127.0.0.3 is admitted");
    // The administrator's browser, from a third address, is served all the same ...
    assert_eq!(ui.sign_in_page_from(ADMIN).await, 200);
    // ... because it took the oldest slot of the heaviest address, which was closed.
    tokio::time::timeout(WAIT, closed(&mut held[0]))
        .await
        .expect("the flood's oldest connection is closed");
}

#[tokio::test]
async fn a_silent_client_is_closed_at_the_deadline_and_one_that_asked_is_not() {
    let hub = TestHub::start().await;
    let conn = connector(&hub, "preauth_timeout_secs = 1\n").await;
    let ui = Ui::of(&conn);
    let mut silent = ui.silent(FLOOD).await.unwrap();
    let since = tokio::time::Instant::now();
    // A client that sent a request in time keeps its connection past the deadline.
    let mut asked = ui.silent(ADMIN).await.unwrap();
    let request = b"GET /signin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    asked.write_all(request).await.unwrap();
    let first = read_response(&mut asked).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    tokio::time::timeout(WAIT, closed(&mut silent))
        .await
        .expect("the silent client is closed after the pre-auth deadline");
    // The 1 s deadline closed it, not HTTP's 5 s header-read timeout (a wide margin: the
    // point is which rule acted, not how fast).
    let took = since.elapsed();
    assert!(
        took < std::time::Duration::from_secs(4),
        "closed after {took:?}"
    );
    asked.write_all(request).await.unwrap();
    let second = read_response(&mut asked).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
}

/// One HTTP/1.1 response's head and body (by `content-length`).
async fn read_response(s: &mut TlsStream<TcpStream>) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("the connection is open");
        assert!(n > 0, "the connection was closed");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
    }
}
