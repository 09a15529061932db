//! `portcullis connector system-certificate import` (the real binary) on PKCS#12 files made
//! by the real `openssl` command, as customers' tools make them, from a CA and a client
//! certificate made here. What it writes must load with the connector's own loader.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use portcullis_connector::backend_tls::{BackendTls, BackendTlsConfig};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
const PASSWORD: &str = "s3cret pass";

/// A temporary directory with `ca.pem`, `client.pem`, `client.key` (PKCS#8) and PKCS#12
/// files made from them by `openssl pkcs12 -export`.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::default();
        ca.distinguished_name
            .push(DnType::CommonName, "ACME Issuing CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "connector-berlin");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "ACME");
        params.distinguished_name.push(DnType::CountryName, "DE");
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("client.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("client.key"), key.serialize_pem()).unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `openssl pkcs12 -export` of the client certificate, its key and the CA into `name`,
    /// with `extra` options; `Err` with openssl's message when it refuses.
    fn export(&self, name: &str, password: &str, extra: &[&str]) -> Result<PathBuf, String> {
        let pass = format!("pass:{password}");
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            "client.pem",
            "-certfile",
            "ca.pem",
            "-name",
            "connector",
            "-passout",
            &pass,
            "-out",
            name,
        ];
        if !extra.contains(&"-nokeys") {
            args.extend_from_slice(&["-inkey", "client.key"]);
        }
        args.extend_from_slice(extra);
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(self.dir.path())
            .output()
            .expect("the openssl command (scripts/test installs it)");
        if out.status.success() {
            Ok(self.path(name))
        } else {
            Err(text(&out.stderr))
        }
    }

    /// `import --p12 p12 --cert out.pem --key out.key` plus `extra`, with `env_password`
    /// as PORTCULLIS_P12_PASSWORD when given.
    fn import(&self, p12: &Path, env_password: Option<&str>, extra: &[&str]) -> Output {
        let (cert, key) = (self.path("out.pem"), self.path("out.key"));
        let mut cmd = Command::new(BIN);
        cmd.args(["connector", "system-certificate", "import", "--p12"])
            .arg(p12)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(extra)
            .env_remove("PORTCULLIS_P12_PASSWORD");
        if let Some(p) = env_password {
            cmd.env("PORTCULLIS_P12_PASSWORD", p);
        }
        cmd.output().expect("binary runs")
    }

    /// The written pair, loaded as the connector loads it at start.
    fn load_written(&self) -> Result<BackendTls, String> {
        BackendTls::load(&BackendTlsConfig {
            trust_all: false,
            trust_store: vec![],
            system_certificate: Some((self.path("out.pem"), self.path("out.key"))),
        })
        .map_err(|e| e.to_string())
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Subjects of the certificates in a PEM file, in order.
fn subjects(path: &Path) -> Vec<String> {
    let pem = std::fs::read(path).unwrap();
    x509_parser::pem::Pem::iter_from_buffer(&pem)
        .map(|p| p.unwrap().parse_x509().unwrap().subject().to_string())
        .collect()
}

#[test]
fn a_pkcs12_file_imports_from_a_password_file_and_loads() {
    let f = Files::new();
    let p12 = f.export("good.p12", PASSWORD, &[]).unwrap();
    // First line only; a CRLF ending is not part of the password.
    std::fs::write(f.path("pw"), format!("{PASSWORD}\r\nnot this line\n")).unwrap();
    let pw = f.path("pw");
    let out = f.import(&p12, None, &["--password-file", pw.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "Imported the system certificate \"connector\"",
        "subject    CN=connector-berlin, O=ACME, C=DE",
        "issuer     CN=ACME Issuing CA",
        "chain      2 certificate(s)",
        "[backend_tls]",
        "system_certificate_key = ",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
    assert_eq!(mode(&f.path("out.key")), 0o600);
    assert_eq!(mode(&f.path("out.pem")), 0o644);
    let key = std::fs::read_to_string(f.path("out.key")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
    assert_eq!(
        subjects(&f.path("out.pem")),
        ["CN=connector-berlin, O=ACME, C=DE", "CN=ACME Issuing CA"]
    );
    f.load_written().unwrap();
}

#[test]
fn the_password_from_the_environment_and_a_wrong_or_missing_one() {
    let f = Files::new();
    let p12 = f.export("good.p12", PASSWORD, &[]).unwrap();

    let out = f.import(&p12, Some("not it"), &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("wrong password"), "{err}");
    assert!(!err.contains("needs one"), "{err}");
    assert!(!f.path("out.key").exists() && !f.path("out.pem").exists());

    let out = f.import(&p12, None, &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "wrong password, or the file needs one: give --password-file or \
             PORTCULLIS_P12_PASSWORD"
        ),
        "{err}"
    );

    let out = f.import(&p12, Some(PASSWORD), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    f.load_written().unwrap();

    // A file exported with an empty password opens with none given.
    let open = f.export("open.p12", "", &[]).unwrap();
    let out = f.import(&open, None, &["--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    f.load_written().unwrap();
}

#[test]
fn certificates_only_and_other_files_are_refused_by_name() {
    let f = Files::new();
    let nokeys = f.export("nokeys.p12", PASSWORD, &["-nokeys"]).unwrap();
    let out = f.import(&nokeys, Some(PASSWORD), &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no private key"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(f.path("garbage.p12"), b"\x30\x03garbage, not DER at all").unwrap();
    let out = f.import(&f.path("garbage.p12"), Some(PASSWORD), &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a PKCS#12 file"),
        "{}",
        text(&out.stderr)
    );

    // The PEM files themselves: told to use them as they are.
    let out = f.import(&f.path("client.pem"), None, &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("this is a PEM file"),
        "{}",
        text(&out.stderr)
    );
    assert!(!f.path("out.key").exists() && !f.path("out.pem").exists());
}

#[test]
fn an_existing_target_is_kept_without_force() {
    let f = Files::new();
    let p12 = f.export("good.p12", PASSWORD, &[]).unwrap();
    std::fs::write(f.path("out.pem"), "old chain").unwrap();
    let out = f.import(&p12, Some(PASSWORD), &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(f.path("out.pem")).unwrap(),
        "old chain"
    );
    assert!(!f.path("out.key").exists());

    // A replaced key gets mode 0600 even where the old file had another.
    std::fs::write(f.path("out.key"), "old key").unwrap();
    std::fs::set_permissions(
        f.path("out.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let out = f.import(&p12, Some(PASSWORD), &["--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(mode(&f.path("out.key")), 0o600);
    f.load_written().unwrap();
}

/// Older exports: 3DES for keys and certificates with a SHA-1 MAC, and OpenSSL's `-legacy`
/// (RC2-40 for the certificates) where this openssl still offers it.
#[test]
fn legacy_encrypted_files_import() {
    let f = Files::new();
    let des = f
        .export(
            "3des.p12",
            PASSWORD,
            &[
                "-certpbe",
                "PBE-SHA1-3DES",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        )
        .unwrap();
    let out = f.import(&des, Some(PASSWORD), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    f.load_written().unwrap();

    match f.export("legacy.p12", PASSWORD, &["-legacy"]) {
        Ok(legacy) => {
            let out = f.import(&legacy, Some(PASSWORD), &["--force"]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            f.load_written().unwrap();
        }
        // OpenSSL 1.1 has no -legacy option, an OpenSSL 3 without its legacy provider cannot
        // use it: nothing to try then. Any other failure is one.
        Err(e) if e.to_lowercase().contains("legacy") => {
            eprintln!("openssl -legacy unavailable here, not tried: {e}")
        }
        Err(e) => panic!("openssl pkcs12 -export -legacy failed: {e}"),
    }
}
