//! What the tests that run `portcullis connector …` against a running connector share: the
//! binary, an identity whose hub is a closed port (the connector keeps retrying while its
//! admin socket serves), and the wait for that socket.

#![allow(dead_code)] // each test binary uses its part

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use portcullis_connector::{Enrollment, Identity};
use portcullis_transport::pki::{self, Ca};

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
pub const T: Duration = Duration::from_secs(20);
pub const DAY: Duration = Duration::from_secs(86_400);

pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_CONNECTOR_CONFIG")
        .output()
        .expect("binary runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An identity whose hub is a closed port: the connector keeps retrying, its socket serves.
pub fn identity(dir: &Path) {
    let m = pki::generate_ca("test hub ca").expect("ca");
    let ca = Ca::from_pem(&m.cert_pem, m.key_pem.expose()).expect("load ca");
    let (csr, key) = pki::generate_csr("connector").expect("csr");
    let signed = ca.sign_csr(&csr, "acme/loc1", DAY).expect("sign");
    Identity::new(
        signed.cert_pem,
        key,
        ca.cert_pem().to_owned(),
        Enrollment {
            tunnel_addr: "127.0.0.1:1".into(),
            tunnel_server_name: "localhost".into(),
            connector_id: 1,
            company: "acme".into(),
            location: "loc1".into(),
        },
    )
    .write(&dir.join("data"), false)
    .expect("identity");
}

/// Waits until the connector's admin socket `socket` exists (it is created by the bind, so
/// the socket accepts from then on).
pub async fn socket_ready(socket: &Path) {
    let deadline = Instant::now() + T;
    while !socket.exists() {
        assert!(Instant::now() < deadline, "the admin socket never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
