//! `portcullis connector backup|restore` as the real binary: where the password comes from,
//! what is refused (no or empty password, a backup of a newer portcullis, a broken audit
//! chain, a data directory with files, an existing configuration, a running connector),
//! `--data-dir` and `--force`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use portcullis_connector::audit::{AuditAction, AuditEvent, AuditLog};
use portcullis_connector::backup::{decrypt_all, encrypt_all, Password};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
const PASSWORD: &str = "a long backup password";

/// A connector's configuration and data directory, as an enrolled connector leaves them
/// (the identity is stand-in text: backup copies files, it does not read them).
fn connector(dir: &Path, audit_ok: bool) -> PathBuf {
    let config = dir.join("connector.toml");
    std::fs::write(
        &config,
        "data_dir = \"data\"\n[admin]\nlisten = \"\"\n[[access]]\nname = \"erp\"\nvirtual = \"erp.internal:3200\"\ninternal = \"127.0.0.1:3200\"\nprotocol = \"tcp\"\n",
    )
    .unwrap();
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("identity")).unwrap();
    std::fs::create_dir_all(data.join("trust")).unwrap();
    std::fs::write(data.join("identity/client.pem"), "client certificate").unwrap();
    std::fs::write(data.join("identity/client.key"), "client key").unwrap();
    std::fs::write(data.join("trust/backend-ca.pem"), "a trusted CA").unwrap();
    // The socket is the running connector's, not state: never backed up.
    std::fs::write(data.join("connector.sock"), "").unwrap();
    let log = AuditLog::open(&data.join("audit.log")).unwrap();
    for n in 0..3 {
        log.record(AuditEvent::new(
            AuditAction::MonitoringReset,
            "ok",
            serde_json::json!({ "n": n }),
        ))
        .unwrap();
    }
    drop(log);
    if !audit_ok {
        // An edited record: the chain no longer holds.
        let text = std::fs::read_to_string(data.join("audit.log")).unwrap();
        std::fs::write(
            data.join("audit.log"),
            text.replacen("\"n\":1", "\"n\":7", 1),
        )
        .unwrap();
    }
    // A record being written as the backup runs: not complete, not taken.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("audit.log"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"seq\":3,\"half").unwrap();
    config
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_BACKUP_PASSWORD")
        .env_remove("PORTCULLIS_CONNECTOR_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("binary runs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: Output, why: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded; wanted {why:?}");
    assert!(err.contains(why), "wanted {why:?} in: {err}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn backup(config: &Path, out: &Path) {
    ok(run(
        &[
            "connector",
            "backup",
            "--out",
            s(out),
            "--config",
            s(config),
        ],
        &[("PORTCULLIS_BACKUP_PASSWORD", PASSWORD)],
    ));
}

#[test]
fn a_backup_needs_a_password_from_the_environment_or_a_file_never_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = connector(dir.path(), true);
    let out = dir.path().join("c.backup");
    let args = [
        "connector",
        "backup",
        "--out",
        s(&out),
        "--config",
        s(&config),
    ];
    refused(run(&args, &[]), "no backup password");
    refused(
        run(&args, &[("PORTCULLIS_BACKUP_PASSWORD", "")]),
        "the backup password is empty",
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let mut with_file = args.to_vec();
    with_file.extend(["--password-file", s(&empty)]);
    refused(run(&with_file, &[]), "the backup password is empty");
    assert!(!out.exists(), "a refused backup wrote a file");

    backup(&config, &out);
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let sealed = std::fs::read(&out).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        find(&sealed, b"client key").is_none(),
        "the backup is not encrypted"
    );
    // What it holds: the socket and the half-written record are not in it.
    let plain = decrypt_all(&sealed, &Password::new(PASSWORD).unwrap()).unwrap();
    assert!(find(&plain, b"connector.sock").is_none());
    assert!(find(&plain, b"half").is_none());
    for name in [
        "config/connector.toml",
        "data/identity/client.key",
        "data/trust/backend-ca.pem",
        "data/audit.log",
        "manifest.json",
    ] {
        assert!(find(&plain, name.as_bytes()).is_some(), "{name} missing");
    }

    // Restored with the password from a file, onto a fresh directory, elsewhere.
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("connector.toml");
    let elsewhere = fresh.path().join("var/lib/portcullis");
    let said = ok(run(
        &[
            "connector",
            "restore",
            "--from",
            s(&out),
            "--config",
            s(&target),
            "--data-dir",
            s(&elsewhere),
            "--password-file",
            s(&pw),
        ],
        &[],
    ));
    assert!(said.contains("audit log verified (3 records)"), "{said}");
    assert_eq!(
        std::fs::read(elsewhere.join("identity/client.key")).unwrap(),
        b"client key"
    );
    assert!(!elsewhere.join("connector.sock").exists());
    let restored = std::fs::read_to_string(&target).unwrap();
    assert!(restored.contains(s(&elsewhere)), "{restored}");
    assert!(restored.contains("erp.internal:3200"), "{restored}");
    portcullis_connector::ConnectorConfig::load(&target).unwrap();

    // Again onto it: refused without --force, done with it.
    let again = [
        "connector",
        "restore",
        "--from",
        s(&out),
        "--config",
        s(&target),
        "--data-dir",
        s(&elsewhere),
    ];
    let env = [("PORTCULLIS_BACKUP_PASSWORD", PASSWORD)];
    refused(
        run(&again, &env),
        "is not empty; restore over it only with --force",
    );
    // An existing configuration file is not overwritten either.
    let empty_dir = fresh.path().join("empty");
    let mut other_dir = again.to_vec();
    other_dir[7] = s(&empty_dir);
    refused(
        run(&other_dir, &env),
        "exists; restore over it only with --force",
    );
    assert!(!empty_dir.exists());
    std::fs::write(elsewhere.join("identity/client.key"), "changed since").unwrap();
    let mut forced = again.to_vec();
    forced.push("--force");
    // Never under a running connector, --force or not: its admin socket answers.
    let listener =
        std::os::unix::net::UnixListener::bind(elsewhere.join("connector.sock")).unwrap();
    refused(run(&forced, &env), "a connector is running on");
    drop(listener);
    ok(run(&forced, &env));
    assert_eq!(
        std::fs::read(elsewhere.join("identity/client.key")).unwrap(),
        b"client key"
    );
}

#[test]
fn a_backup_of_a_newer_portcullis_or_with_a_broken_audit_chain_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.backup");
    backup(&connector(dir.path(), true), &out);
    let pw = Password::new(PASSWORD).unwrap();

    // A newer portcullis made it (the manifest is not under a hash; its version is checked).
    let mut plain = decrypt_all(&std::fs::read(&out).unwrap(), &pw).unwrap();
    let this = format!("\"portcullis_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    let at = find(&plain, this.as_bytes()).expect("the manifest names this version");
    // Same length (a larger major version), so the tar entry's size still holds.
    let newer = format!(
        "\"portcullis_version\": \"9{}\"",
        &env!("CARGO_PKG_VERSION")[1..]
    );
    plain.splice(at..at + this.len(), newer.bytes());
    let newer_file = dir.path().join("newer.backup");
    std::fs::write(&newer_file, encrypt_all(&plain, &pw).unwrap()).unwrap();

    let broken = tempfile::tempdir().unwrap();
    let broken_out = broken.path().join("b.backup");
    backup(&connector(broken.path(), false), &broken_out);

    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("connector.toml");
    let env = [("PORTCULLIS_BACKUP_PASSWORD", PASSWORD)];
    for (file, why) in [
        (&newer_file, "newer than this one"),
        (&broken_out, "the audit log in the backup does not verify"),
    ] {
        refused(
            run(
                &[
                    "connector",
                    "restore",
                    "--from",
                    s(file),
                    "--config",
                    s(&target),
                ],
                &env,
            ),
            why,
        );
        assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0, "{why}");
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
