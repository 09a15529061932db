//! Backup and restore of a connector (issue #17 part 2): a backup of a running connector,
//! restored onto a fresh directory after its data is wiped, brings back the same identity
//! and access list; a wrong password, a damaged file and a file altered under its manifest
//! are refused by name and change nothing.

use std::path::{Path, PathBuf};

use portcullis::connector_backup::{self, BackupArgs, PasswordArgs, RestoreArgs};
use portcullis_connector::backup::{decrypt_all, encrypt_all, Password};
use portcullis_connector::{ConnectorConfig, State};
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::Granted;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "correct horse battery staple";

fn password_file(dir: &Path, text: &str) -> PasswordArgs {
    let p = dir.join(format!("pw-{}", text.len()));
    std::fs::write(&p, format!("{text}\n")).unwrap();
    PasswordArgs {
        password_file: Some(p),
    }
}

async fn echo_works(w: &Granted) {
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("socks5 connect refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"ping").await.unwrap(), b"ping");
}

/// Restores in a blocking task (scrypt takes a second on purpose); the error's text.
async fn restore(args: RestoreArgs) -> Result<(), String> {
    tokio::task::spawn_blocking(move || connector_backup::restore(&args))
        .await
        .unwrap()
        .map_err(|e| format!("{e:#}"))
}

fn restore_args(from: &Path, config: &Path, pw: PasswordArgs) -> RestoreArgs {
    RestoreArgs {
        from: from.to_path_buf(),
        config: config.to_path_buf(),
        data_dir: None,
        force: false,
        password: pw,
    }
}

/// Every path under `dir`, sorted (to show a refused restore left nothing behind).
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            out.extend(tree(&p));
            out.push(p);
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_connector_restored_onto_a_fresh_directory_reconnects_as_itself_with_its_access_list() {
    let mut w = Granted::echo().await;
    echo_works(&w).await;
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("berlin.backup");
    let pw = password_file(work.path(), PASSWORD);

    // Backed up while it runs.
    let args = BackupArgs {
        out: file.clone(),
        config: w.conn.config_path(),
        password: pw,
    };
    tokio::task::spawn_blocking(move || connector_backup::backup(&args))
        .await
        .unwrap()
        .unwrap();
    let cert = std::fs::read(w.conn.data_dir().join("identity/client.pem")).unwrap();
    let records = portcullis_connector::audit::verify_file(&w.conn.audit_log()).unwrap();

    // The host dies: the connector stops, its data is gone.
    w.conn.stop().await;
    let conn_id = w.conn.id;
    w.hub
        .wait_registry("the connector's tunnel is gone", |r| {
            r.by_connector(conn_id).is_none()
        })
        .await;
    std::fs::remove_dir_all(w.conn.data_dir()).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let config = fresh.path().join("etc/connector.toml");

    // Refusals first, each by name, each leaving the fresh directory empty.
    let wrong = password_file(work.path(), "not the password");
    let e = restore(restore_args(&file, &config, wrong))
        .await
        .unwrap_err();
    assert!(
        e.contains("wrong password or not a Portcullis backup"),
        "{e}"
    );
    assert_eq!(tree(fresh.path()), Vec::<PathBuf>::new());

    let sealed = std::fs::read(&file).unwrap();
    let mut flipped = sealed.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let damaged = work.path().join("damaged.backup");
    std::fs::write(&damaged, &flipped).unwrap();
    let pw = password_file(work.path(), PASSWORD);
    let e = restore(restore_args(&damaged, &config, pw))
        .await
        .unwrap_err();
    assert!(e.contains("damaged or was altered"), "{e}");
    assert_eq!(tree(fresh.path()), Vec::<PathBuf>::new());

    // Whoever knows the password re-seals an archive with one certificate byte changed:
    // the manifest's SHA-256 no longer matches.
    let password = Password::new(PASSWORD).unwrap();
    let mut plain = decrypt_all(&sealed, &password).unwrap();
    let at = find(&plain, b"BEGIN CERTIFICATE").expect("a certificate in the archive");
    plain[at] = b'b';
    let altered = work.path().join("altered.backup");
    std::fs::write(&altered, encrypt_all(&plain, &password).unwrap()).unwrap();
    let pw = password_file(work.path(), PASSWORD);
    let e = restore(restore_args(&altered, &config, pw))
        .await
        .unwrap_err();
    assert!(
        e.contains("the backup was altered: data/identity/client.pem does not match its SHA-256"),
        "{e}"
    );
    assert_eq!(tree(fresh.path()), Vec::<PathBuf>::new());

    // The real one, onto the fresh directory.
    let pw = password_file(work.path(), PASSWORD);
    restore(restore_args(&file, &config, pw)).await.unwrap();
    let data = fresh.path().join("etc/data");
    assert_eq!(
        std::fs::read(data.join("identity/client.pem")).unwrap(),
        cert
    );
    assert_private(&data);
    assert_eq!(
        portcullis_connector::audit::verify_file(&data.join("audit.log")).unwrap(),
        records
    );

    // A second restore onto it is refused without --force, and changes nothing.
    let before = tree(fresh.path());
    let pw = password_file(work.path(), PASSWORD);
    let e = restore(restore_args(&file, &config, pw)).await.unwrap_err();
    assert!(
        e.contains("is not empty; restore over it only with --force"),
        "{e}"
    );
    assert_eq!(tree(fresh.path()), before);

    // It starts from what was restored and is the same connector with the same list.
    let cfg = ConnectorConfig::load(&config).unwrap();
    let shutdown = CancellationToken::new();
    let mut running = portcullis_connector::spawn(cfg, Some(config.clone()), shutdown.clone());
    tokio::time::timeout(
        portcullis_test_support::WAIT,
        running.status.wait_for(|s| s.state == State::Connected),
    )
    .await
    .expect("the restored connector connects in time")
    .unwrap();
    w.hub
        .wait_registry("the restored connector's tunnel", |r| {
            r.by_connector(conn_id).is_some()
        })
        .await;
    w.hub
        .wait_inventory(w.conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    echo_works(&w).await;
    shutdown.cancel();
    let _ = running.join.await;
    // Its audit log went on from the restored chain.
    assert!(portcullis_connector::audit::verify_file(&data.join("audit.log")).unwrap() > records);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Directories 0700, files 0600, all the way down.
fn assert_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for p in tree(dir) {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&p), want, "{}", p.display());
    }
}
