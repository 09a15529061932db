//! PKCS#12 files written in-process by `p12-keystore` (its writer), for the cases `openssl`
//! cannot make easily: several keys, a key without its certificate, a key with someone
//! else's certificate. The CLI's tests import files made by the real `openssl` too.

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use rustls::pki_types::pem::PemObject;

use super::*;
use crate::backend_tls::{BackendTls, BackendTlsConfig};

struct Pair {
    key: PrivateKey,
    cert: Certificate,
}

/// A CA certificate and a client certificate for `cn` it signed.
fn ca_and_client(cn: &str) -> (Certificate, Pair) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, "Test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "ACME");
    let cert = params.signed_by(&key, &issuer).unwrap();
    (
        Certificate::from_der(ca_cert.der()).unwrap(),
        Pair {
            key: PrivateKey::from_der(&key.serialize_der()).unwrap(),
            cert: Certificate::from_der(cert.der()).unwrap(),
        },
    )
}

fn chain(id: &str, key: &PrivateKey, certs: &[&Certificate]) -> KeyStoreEntry {
    KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
        id,
        key.clone(),
        certs.iter().map(|c| (*c).clone()),
    ))
}

/// The file of `entries` (alias, entry), quick to open (one KDF iteration).
fn p12(password: &str, entries: Vec<(&str, KeyStoreEntry)>) -> Vec<u8> {
    let mut store = KeyStore::new();
    for (alias, entry) in entries {
        store.add_entry(alias, entry);
    }
    store
        .writer(password)
        .encryption_iterations(1)
        .mac_iterations(1)
        .write()
        .unwrap()
}

#[test]
fn a_key_with_its_chain_imports_and_loads() {
    let (ca, client) = ca_and_client("connector-berlin");
    let file = p12(
        "s3cret",
        vec![("conn", chain("1", &client.key, &[&client.cert, &ca]))],
    );
    let got = import(&file, "s3cret", None).unwrap();
    assert_eq!(got.alias, "conn");
    assert_eq!(got.subject, "CN=connector-berlin, O=ACME");
    assert_eq!(got.issuer, "CN=Test CA");
    assert_eq!(got.chain_len, 2);
    assert!(got.not_after > time::OffsetDateTime::now_utc());
    assert!(got.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(got.key_pem.lines().all(|l| l.len() <= 64));
    // Leaf first, then the CA, byte for byte.
    let ders: Vec<_> = CertificateDer::pem_slice_iter(got.chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ders[0].as_ref(), client.cert.as_der());
    assert_eq!(ders[1].as_ref(), ca.as_der());

    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("s.pem"), dir.path().join("s.key"));
    std::fs::write(&c, &got.chain_pem).unwrap();
    std::fs::write(&k, &got.key_pem).unwrap();
    BackendTls::load(&BackendTlsConfig {
        trust_all: false,
        trust_store: vec![],
        system_certificate: Some((c, k)),
    })
    .unwrap();
}

#[test]
fn wrong_password_empty_password_and_legacy_encryption() {
    let (ca, client) = ca_and_client("c");
    let file = p12(
        "right",
        vec![("a", chain("1", &client.key, &[&client.cert]))],
    );
    assert_eq!(
        import(&file, "wrong", None).unwrap_err(),
        ImportError::WrongPassword
    );
    assert_eq!(
        import(&file, "", None).unwrap_err(),
        ImportError::WrongPassword
    );

    let none = p12("", vec![("a", chain("1", &client.key, &[&client.cert]))]);
    assert_eq!(import(&none, "", None).unwrap().chain_len, 1);

    let mut store = KeyStore::new();
    store.add_entry("a", chain("1", &client.key, &[&client.cert, &ca]));
    let legacy = store
        .writer("pw")
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .write()
        .unwrap();
    assert_eq!(import(&legacy, "pw", None).unwrap().chain_len, 2);
}

#[test]
fn several_keys_need_an_alias_and_keep_each_others_certificates_out() {
    let (ca, a) = ca_and_client("a");
    let (_, b) = ca_and_client("b");
    let file = p12(
        "pw",
        vec![
            ("alpha", chain("1", &a.key, &[&a.cert, &ca])),
            ("beta", chain("2", &b.key, &[&b.cert])),
        ],
    );
    let err = import(&file, "pw", None).unwrap_err();
    assert_eq!(
        err,
        ImportError::SeveralKeys(vec!["alpha".into(), "beta".into()])
    );
    assert!(err.to_string().contains(r#"("alpha", "beta")"#), "{err}");

    let beta = import(&file, "pw", Some("beta")).unwrap();
    assert_eq!(beta.subject, "CN=b, O=ACME");
    // b's own certificate and the CA (unbound), not a's.
    assert_eq!(beta.chain_len, 2);
    assert!(!beta
        .chain_pem
        .contains(&pem("CERTIFICATE", a.cert.as_der())));
    assert_eq!(
        import(&file, "pw", Some("#1")).unwrap().subject,
        "CN=a, O=ACME"
    );
    let err = import(&file, "pw", Some("gamma")).unwrap_err();
    assert!(
        matches!(err, ImportError::NoSuchAlias { matches: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("\"alpha\", \"beta\""), "{err}");
}

#[test]
fn missing_or_foreign_parts_are_refused() {
    let (ca, a) = ca_and_client("a");
    let (_, b) = ca_and_client("b");

    let certs_only = p12("pw", vec![("ca", KeyStoreEntry::Certificate(ca.clone()))]);
    assert_eq!(
        import(&certs_only, "pw", None).unwrap_err(),
        ImportError::NoPrivateKey
    );

    let bare_key = p12("pw", vec![("k", chain("1", &a.key, &[]))]);
    assert_eq!(
        import(&bare_key, "pw", None).unwrap_err(),
        ImportError::KeyWithoutCertificate("k".into())
    );

    // The file binds a's key to b's certificate: rustls' key check refuses it.
    let foreign = p12("pw", vec![("k", chain("1", &a.key, &[&b.cert]))]);
    let err = import(&foreign, "pw", None).unwrap_err();
    assert!(matches!(err, ImportError::Unusable(_)), "{err}");
    assert!(err.to_string().contains("do not go together"), "{err}");
}

#[test]
fn other_files_are_named_for_what_they_are() {
    for junk in [
        &b""[..],
        b"\x00\x01garbage",
        b"PK\x03\x04zip",
        b"0\x82\xff\xff",
    ] {
        let err = import(junk, "pw", None).unwrap_err();
        assert!(matches!(err, ImportError::NotPkcs12(_)), "{err}");
        assert!(
            err.to_string().starts_with("this is not a PKCS#12"),
            "{err}"
        );
    }
    let (_, a) = ca_and_client("a");
    let text = pem("CERTIFICATE", a.cert.as_der());
    assert_eq!(
        import(text.as_bytes(), "", None).unwrap_err(),
        ImportError::Pem
    );
}

/// Every prefix and many single-byte changes of a real file: errors, never a panic.
#[test]
fn damaged_files_fail_cleanly() {
    let (ca, a) = ca_and_client("a");
    let file = p12("pw", vec![("a", chain("1", &a.key, &[&a.cert, &ca]))]);
    for len in 0..file.len() {
        assert!(import(&file[..len], "pw", None).is_err());
    }
    for at in (0..file.len()).step_by(7) {
        for delta in [1u8, 0x80] {
            let mut bad = file.clone();
            bad[at] = bad[at].wrapping_add(delta);
            let _ = import(&bad, "pw", None);
        }
    }
}
