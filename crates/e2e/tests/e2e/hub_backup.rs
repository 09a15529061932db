//! Backup and restore of the hub (issue #17 part 2, hub side): a backup taken while the hub
//! serves sessions and writes their audit events, restored onto a fresh data directory after
//! the hub stopped and its own was removed, brings back the same CA (the connector reconnects with the identity it
//! had, without enrolling again), the system, and an audit chain that verifies and holds the
//! events up to the backup. A wrong password, a flipped byte and a newer portcullis are
//! refused by name with nothing written, and so is a restore under the running hub.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use portcullis_connector::backup::{decrypt_all, encrypt_all, Password};
use portcullis_hub::backup::{backup, restore, RestoreOptions};
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::Granted;

const PASSWORD: &str = "a hub backup password";

async fn echo(socks5: std::net::SocketAddr, token: &str) {
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(socks5, "berlin", token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("socks5 connect refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"ping").await.unwrap(), b"ping");
}

fn options(from: &Path, data_dir: &Path, force: bool) -> RestoreOptions {
    RestoreOptions {
        from: from.to_path_buf(),
        config: None,
        data_dir: Some(data_dir.to_path_buf()),
        force,
    }
}

async fn refused(opts: RestoreOptions, password: &str) -> String {
    restore(&opts, &Password::new(password).unwrap(), |_| {})
        .await
        .map(|r| panic!("restored: {r:?}"))
        .unwrap_err()
        .to_string()
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

async fn audit_events(w: &Granted) -> u64 {
    w.hub.state().store.verify_audit_chain().await.unwrap()
}

/// The running hub's configuration: its data directory and store, as `portcullis hub` has it.
fn config_of(w: &Granted) -> portcullis_hub::HubConfig {
    w.hub.state().config.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_backed_up_while_it_serves_is_restored_with_its_ca_its_systems_and_its_audit_chain() {
    let mut w = Granted::echo().await;
    let system = w.hub.system("acme", "PRD").await;
    echo(w.hub.socks5(), &w.token).await;
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("hub.backup");
    let password = Password::new(PASSWORD).unwrap();

    // Sessions (each audited) run in a loop while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let sessions = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, sessions) = (stop.clone(), sessions.clone());
        let (socks5, token) = (w.hub.socks5(), w.token.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                echo(socks5, &token).await;
                sessions.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while sessions.load(Ordering::Relaxed) < 3 {
        tokio::task::yield_now().await;
    }
    let before = audit_events(&w).await;
    let during = sessions.load(Ordering::Relaxed);
    let config = config_of(&w);
    let summary = backup(&config, None, &file, &password, |_| {})
        .await
        .unwrap();
    assert!(
        sessions.load(Ordering::Relaxed) > during,
        "no session ran during the backup"
    );
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(summary
        .manifest
        .files
        .iter()
        .any(|f| f.path == "data/pki/ca.key"));

    // Not under the running hub, --force or not.
    let data = w.hub.data_dir();
    let e = refused(options(&file, &data, true), PASSWORD).await;
    assert!(e.contains("a hub is running on"), "{e}");

    // The hub stops and its host is gone.
    let store = w.hub.state().store.clone();
    w.hub.stop().await;
    let after = store.verify_audit_chain().await.unwrap();
    drop(store);
    let ca = std::fs::read(data.join("pki/ca.pem")).unwrap();
    std::fs::remove_dir_all(&data).unwrap();

    // Refusals first, each by name, each leaving nothing behind.
    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("hub");
    let e = refused(options(&file, &target, false), "not the password").await;
    assert!(
        e.contains("wrong password or not a Portcullis backup"),
        "{e}"
    );
    let sealed = std::fs::read(&file).unwrap();
    let mut flipped = sealed.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let damaged = work.path().join("damaged.backup");
    std::fs::write(&damaged, &flipped).unwrap();
    let e = refused(options(&damaged, &target, false), PASSWORD).await;
    assert!(e.contains("damaged or was altered"), "{e}");
    let mut plain = decrypt_all(&sealed, &password).unwrap();
    let this = format!("\"portcullis_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    let at = find(&plain, this.as_bytes()).expect("the manifest names this version");
    let newer = format!(
        "\"portcullis_version\": \"9{}\"",
        &env!("CARGO_PKG_VERSION")[1..]
    );
    plain.splice(at..at + this.len(), newer.bytes());
    let newer_file = work.path().join("newer.backup");
    std::fs::write(&newer_file, encrypt_all(&plain, &password).unwrap()).unwrap();
    let e = refused(options(&newer_file, &target, false), PASSWORD).await;
    assert!(e.contains("newer than this one"), "{e}");
    assert_eq!(tree(fresh.path()), Vec::<PathBuf>::new());

    // The real one, onto the fresh directory.
    let restored = restore(&options(&file, &target, false), &password, |_| {})
        .await
        .unwrap();
    assert!(
        (before..=after).contains(&restored.audit_events),
        "{before} <= {} <= {after}",
        restored.audit_events
    );
    assert_eq!(std::fs::read(target.join("pki/ca.pem")).unwrap(), ca);

    // A hub on it (the test hub's directory swapped for the fresh one; same ports): the
    // connector comes back as itself (same CA, no enrolment), the system is there, the chain
    // verifies and went on from the restored one.
    let mut fresh = fresh;
    std::mem::swap(&mut w.hub.dir, &mut fresh);
    w.hub = w.hub.restart().await;
    assert_eq!(w.hub.data_dir(), target);
    let conn_id = w.conn.id;
    w.hub
        .wait_registry("the connector's tunnel to the restored hub", |r| {
            r.by_connector(conn_id).is_some()
        })
        .await;
    w.hub
        .wait_inventory(w.conn.company_id, "berlin", |i| i.len() == 1)
        .await;
    echo(w.hub.socks5(), &w.token).await;
    let systems = w
        .hub
        .company_admin("acme")
        .await
        .list_systems("acme")
        .await
        .unwrap();
    assert!(
        systems.iter().any(|s| s.system.id == system.id),
        "{systems:?}"
    );
    assert!(audit_events(&w).await > restored.audit_events);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
