//! `portcullis hub backup|restore` as the real binary, beside a hub run as `portcullis hub
//! --config FILE`: what a backup holds (the CA key, the database copied by SQLite, never its
//! `-wal` or the lock), that it is made while the hub serves, that a second hub and a restore
//! are refused on a data directory a hub holds, and what a restore refuses with nothing
//! written (wrong password, a flipped byte, a newer portcullis, a broken audit chain).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use portcullis_connector::backup::{decrypt_all, encrypt_all, Password};
use portcullis_test_support::process::Proc;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
const PASSWORD: &str = "a long hub backup password";

/// A hub configuration in `dir` (data in `dir/data`), listening on port 0 only.
fn hub_config(dir: &Path) -> PathBuf {
    let config = dir.join("hub.toml");
    std::fs::write(
        &config,
        "data_dir = \"data\"\nserver_names = [\"localhost\", \"127.0.0.1\"]\n\n[listen]\napi = \"127.0.0.1:0\"\ntunnel = \"127.0.0.1:0\"\nsocks5 = \"\"\nhttp_proxy = \"\"\nni = \"\"\n",
    )
    .unwrap();
    config
}

/// `portcullis hub --config FILE`, returned once it listens.
fn start_hub(config: &Path) -> Proc {
    let hub = Proc::spawn(BIN, &["hub", "--config", s(config), "--grace-secs", "0"]);
    hub.wait_for("hub listening");
    hub
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("PORTCULLIS_BACKUP_PASSWORD")
        .env_remove("PORTCULLIS_HUB_CONFIG")
        .env_remove("PORTCULLIS_HUB_DATA_DIR")
        .envs(env.iter().copied())
        .output()
        .expect("binary runs")
}

/// Runs the binary, which must exit within 30 s (a hub that should have been refused runs
/// on: it is killed and the test fails, instead of waiting for it forever).
fn exits_within_30s(args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(out) => out.expect("binary runs"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("`portcullis {}` still runs after 30 s", args.join(" "));
        }
    }
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

const ENV: [(&str, &str); 1] = [("PORTCULLIS_BACKUP_PASSWORD", PASSWORD)];

fn backup(config: &Path, out: &Path) -> String {
    ok(run(
        &["hub", "backup", "--out", s(out), "--config", s(config)],
        &ENV,
    ))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_hub_run_with_config_is_backed_up_while_it_serves_and_restored_onto_a_fresh_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = hub_config(dir.path());
    let data = dir.path().join("data");
    let hub = start_hub(&config);

    // One hub per data directory: a second one is refused by name.
    refused(
        exits_within_30s(&["hub", "--config", s(&config)]),
        "another hub is running on the data directory",
    );

    let out = dir.path().join("hub.backup");
    let said = backup(&config, &out);
    assert!(said.contains("keep it as secret as the CA"), "{said}");
    assert_eq!(mode(&out), 0o600);
    let sealed = std::fs::read(&out).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
    let plain = decrypt_all(&sealed, &Password::new(PASSWORD).unwrap()).unwrap();
    for name in [
        "config/hub.toml",
        "data/pki/ca.pem",
        "data/pki/ca.key",
        "data/pki/server.pem",
        "data/pki/server.key",
        "data/secrets.key",
        "data/admin.token",
        "data/hub.db",
        "manifest.json",
        "\"component\": \"hub\"",
    ] {
        assert!(find(&plain, name.as_bytes()).is_some(), "{name} missing");
    }
    for never in ["hub.db-wal", "hub.db-shm", "hub.lock", ".backup-"] {
        assert!(find(&plain, never.as_bytes()).is_none(), "{never} in it");
    }
    // The database copy was a temporary file: gone.
    let left: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".backup-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Never restored under the running hub, --force or not.
    refused(
        run(
            &[
                "hub",
                "restore",
                "--from",
                s(&out),
                "--config",
                s(&config),
                "--force",
            ],
            &ENV,
        ),
        "a hub is running on",
    );

    // Onto a fresh directory elsewhere, the password from a file.
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("etc/hub.toml");
    let elsewhere = fresh.path().join("var/lib/portcullis");
    let said = ok(run(
        &[
            "hub",
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
    assert!(said.contains("audit chain verified (1 events)"), "{said}");
    assert_eq!(
        std::fs::read(elsewhere.join("pki/ca.key")).unwrap(),
        std::fs::read(data.join("pki/ca.key")).unwrap()
    );
    assert_eq!(mode(&elsewhere), 0o700);
    assert_eq!(mode(&elsewhere.join("pki")), 0o700);
    assert_eq!(mode(&elsewhere.join("pki/ca.key")), 0o600);
    assert_eq!(mode(&target), 0o600);
    let restored = std::fs::read_to_string(&target).unwrap();
    assert!(restored.contains(s(&elsewhere)), "{restored}");

    // Again onto it: refused without --force, the directory and then the configuration.
    let again = [
        "hub",
        "restore",
        "--from",
        s(&out),
        "--config",
        s(&target),
        "--data-dir",
        s(&elsewhere),
    ];
    refused(
        run(&again, &ENV),
        "is not empty; restore over it only with --force",
    );
    refused(
        run(&again[..6], &ENV),
        "exists; restore over it only with --force",
    );

    // The restored hub runs with `portcullis hub --config` on the same CA.
    drop(hub);
    let again = start_hub(&target);
    assert_eq!(
        std::fs::read(elsewhere.join("pki/ca.pem")).unwrap(),
        std::fs::read(data.join("pki/ca.pem")).unwrap()
    );
    drop(again);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_a_flipped_byte_a_newer_portcullis_or_a_broken_chain_are_refused_and_nothing_written(
) {
    let dir = tempfile::tempdir().unwrap();
    let config = hub_config(dir.path());
    drop(start_hub(&config));
    let out = dir.path().join("hub.backup");
    backup(&config, &out);
    let pw = Password::new(PASSWORD).unwrap();
    let sealed = std::fs::read(&out).unwrap();

    let flipped = dir.path().join("flipped.backup");
    let mut bytes = sealed.clone();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(&flipped, bytes).unwrap();

    // A newer portcullis made it (the same length, so the tar entry's size holds).
    let mut plain = decrypt_all(&sealed, &pw).unwrap();
    let this = format!("\"portcullis_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    let at = find(&plain, this.as_bytes()).expect("the manifest names this version");
    let newer = format!(
        "\"portcullis_version\": \"9{}\"",
        &env!("CARGO_PKG_VERSION")[1..]
    );
    plain.splice(at..at + this.len(), newer.bytes());
    let newer_file = dir.path().join("newer.backup");
    std::fs::write(&newer_file, encrypt_all(&plain, &pw).unwrap()).unwrap();

    // Someone rewrote who did the first audited action, then backed it up.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", s(&dir.path().join("data/hub.db"))))
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'token:mallory#99' WHERE seq = 1")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let broken = dir.path().join("broken.backup");
    backup(&config, &broken);

    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("hub.toml");
    for (file, password, why) in [
        (
            &out,
            "not the password",
            "wrong password or not a Portcullis backup",
        ),
        (&flipped, PASSWORD, "damaged or was altered"),
        (&newer_file, PASSWORD, "newer than this one"),
        (
            &broken,
            PASSWORD,
            "the audit log in the backup does not verify",
        ),
    ] {
        refused(
            run(
                &["hub", "restore", "--from", s(file), "--config", s(&target)],
                &[("PORTCULLIS_BACKUP_PASSWORD", password)],
            ),
            why,
        );
        assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0, "{why}");
    }
}
