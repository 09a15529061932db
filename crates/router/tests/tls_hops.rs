//! TLS between routers, the replacement for SNC: `KT` makes the outgoing hop TLS with the
//! named peer, `KP` permits by the authenticated peer's certificate subject.
//!
//! A `KT` line's host applies in both directions (connections from it must be TLS too), so
//! the TLS peer listens on 127.0.0.2 while clients come from 127.0.0.1.

mod common;

use std::path::Path;

use common::*;
use portcullis_ni::{ReturnCode, TalkMode};
use portcullis_router::TlsFiles;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A router identity `CN=<cn>, OU=SAProuter, O=Portcullis, C=DE`, written to `dir`.
fn identity(ca: &Ca, cn: &str, dir: &Path) -> TlsFiles {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "DE");
    dn.push(DnType::OrganizationName, "Portcullis");
    dn.push(DnType::OrganizationalUnitName, "SAProuter");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let files = TlsFiles {
        cert: dir.join(format!("{cn}.pem")),
        key: dir.join(format!("{cn}.key")),
        ca: dir.join("ca.pem"),
    };
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    std::fs::write(&files.ca, &ca.pem).unwrap();
    files
}

const B_NAME: &str = "p:CN=router-b, OU=SAProuter, O=Portcullis, C=DE";
const A_NAME: &str = "p:CN=router-a, OU=SAProuter, O=Portcullis, C=DE";

#[tokio::test]
async fn a_kt_hop_is_tls_and_kp_permits_by_the_peer_name() {
    let pki = tempfile::tempdir().unwrap();
    let ca = ca("Test SAProuter CA");
    let a_files = identity(&ca, "router-a", pki.path());
    let b_files = identity(&ca, "router-b", pki.path());
    let ni = ni_echo().await;

    // B only admits router A, authenticated, and only to the echo server.
    let b = start_router_with(&format!("KP \"{A_NAME}\" 127.0.0.1 {}\n", ni.port()), |c| {
        c.tls = Some(b_files);
        c.listen = "127.0.0.2:0".parse().unwrap();
    })
    .await;
    // A must reach B over TLS, as B.
    let a = start_router_with(
        &format!(
            "KT \"{B_NAME}\" 127.0.0.2 {b}\nP * 127.0.0.2 {b}\n",
            b = b.port()
        ),
        |c| c.tls = Some(a_files.clone()),
    )
    .await;

    let route = format!("{}{}/H/127.0.0.1/S/{}", a.hop(), b.hop(), ni.port());
    let mut stream = connect(&route, TalkMode::Msg).await.unwrap();
    ni_roundtrip(&mut stream, b"over a TLS hop").await;

    // A plain client straight to B has no peer name: no K entry matches it.
    let direct = format!("{}/H/127.0.0.1/S/{}", b.hop(), ni.port());
    assert_eq!(
        refused(connect(&direct, TalkMode::Msg).await).return_code,
        -94
    );
}

#[tokio::test]
async fn a_peer_with_another_name_fails_the_hop_with_104() {
    let pki = tempfile::tempdir().unwrap();
    let ca = ca("Test SAProuter CA");
    let a_files = identity(&ca, "router-a", pki.path());
    let c_files = identity(&ca, "router-c", pki.path());
    let ni = ni_echo().await;
    let c = start_router_with(&format!("P * * {}\n", ni.port()), |cfg| {
        cfg.tls = Some(c_files);
        cfg.listen = "127.0.0.2:0".parse().unwrap();
    })
    .await;
    // A expects router-b behind that port, router-c answers.
    let a = start_router_with(
        &format!(
            "KT \"{B_NAME}\" 127.0.0.2 {p}\nP * 127.0.0.2 {p}\n",
            p = c.port()
        ),
        |cfg| cfg.tls = Some(a_files),
    )
    .await;
    let route = format!("{}{}/H/127.0.0.1/S/{}", a.hop(), c.hop(), ni.port());
    let refusal = refused(connect(&route, TalkMode::Msg).await);
    assert_eq!(
        refusal.code(),
        Some(ReturnCode::RouterSncFailure),
        "{refusal}"
    );
}

#[tokio::test]
async fn a_peer_from_another_ca_fails_the_hop() {
    let pki = tempfile::tempdir().unwrap();
    let a_files = identity(&ca("CA one"), "router-a", pki.path());
    let other = tempfile::tempdir().unwrap();
    let b_files = identity(&ca("CA two"), "router-b", other.path());
    let ni = ni_echo().await;
    let b = start_router_with(&format!("P * * {}\n", ni.port()), |cfg| {
        cfg.tls = Some(b_files);
        cfg.listen = "127.0.0.2:0".parse().unwrap();
    })
    .await;
    let a = start_router_with(
        &format!(
            "KT \"{B_NAME}\" 127.0.0.2 {p}\nP * 127.0.0.2 {p}\n",
            p = b.port()
        ),
        |cfg| cfg.tls = Some(a_files),
    )
    .await;
    let route = format!("{}{}/H/127.0.0.1/S/{}", a.hop(), b.hop(), ni.port());
    let refusal = refused(connect(&route, TalkMode::Msg).await);
    assert_eq!(
        refusal.code(),
        Some(ReturnCode::RouterSncFailure),
        "{refusal}"
    );
}

#[tokio::test]
async fn kt_without_a_tls_identity_is_refused_clearly() {
    let ni = ni_echo_on("127.0.0.2").await;
    let router = start_router(&format!(
        "KT \"{B_NAME}\" 127.0.0.2 {p}\nP * * {p}\n",
        p = ni.port()
    ))
    .await;
    let refusal = refused(
        connect(
            &format!("{}/H/127.0.0.2/S/{}", router.hop(), ni.port()),
            TalkMode::Msg,
        )
        .await,
    );
    assert_eq!(refusal.code(), Some(ReturnCode::RouterSncFailure));
    assert!(refusal.text.contains("no TLS identity"), "{refusal}");
}
