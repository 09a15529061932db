//! A write is acknowledged only after it is committed together with its audit event: shown on
//! a real full filesystem (a small tmpfs the test mounts; CI runs as root) and by `kill -9`
//! of a real hub process in the middle of a stream of writes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use http::{Method, StatusCode};
use portcullis_client::ApiClient;
use portcullis_test_support::process::{start_hub, Proc};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// A hub process on `data`, with only the API listening.
struct Hub {
    proc: Proc,
    url: String,
    ca: String,
    /// The vendor admin (bootstrap token): creates companies, reads everything.
    admin: ApiClient,
}

impl Hub {
    fn start(data: &Path) -> Hub {
        let (proc, url) = start_hub(BIN, data);
        let ca = std::fs::read_to_string(data.join("pki/ca.pem")).unwrap();
        let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
        let admin = ApiClient::new(&url, &ca, Some(token.trim().to_string())).unwrap();
        Hub {
            proc,
            url,
            ca,
            admin,
        }
    }

    /// A client acting with `token`.
    fn client(&self, token: &str) -> ApiClient {
        ApiClient::new(&self.url, &self.ca, Some(token.to_string())).unwrap()
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        call_as(&self.admin, method, path, body).await
    }

    /// Creates company `name` and its first company admin (the customer does the rest, BY-01);
    /// returns that admin's token.
    async fn company(&self, name: &str) -> String {
        let (status, v) = self
            .call(
                Method::POST,
                "/api/v1/companies",
                Some(&json!({"name": name})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let (status, v) = self
            .call(
                Method::POST,
                &format!("/api/v1/companies/{name}/tokens"),
                Some(&json!({"name": "first-admin", "role": "company_admin"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    async fn sids(&self, company: &str) -> BTreeSet<String> {
        let (status, v) = self
            .call(
                Method::GET,
                &format!("/api/v1/companies/{company}/systems"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["sid"].as_str().unwrap().to_string())
            .collect()
    }

    /// Targets of the `system.created` events, each once (a second one is a defect).
    async fn created_events(&self) -> BTreeSet<String> {
        let (status, v) = self
            .call(
                Method::GET,
                "/api/v1/audit?action=system.created&limit=1000",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let mut seen = BTreeSet::new();
        for e in v.as_array().unwrap() {
            let sid = e["target"].as_str().unwrap().to_string();
            assert!(
                seen.insert(sid.clone()),
                "two system.created events for {sid}"
            );
        }
        seen
    }

    async fn audit_verifies(&self) {
        let (status, v) = self.call(Method::GET, "/api/v1/audit/verify", None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["ok"], true, "the audit chain verifies: {v}");
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for l in self.proc.drain() {
                if l.contains("ERROR") || l.contains("WARN") {
                    eprintln!("hub: {l}");
                }
            }
        }
    }
}

async fn call_as(
    who: &ApiClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let body = body.map(|b| serde_json::to_vec(b).unwrap());
    let (status, bytes) = who.call(method, path, body).await.unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

/// A system body with SID `sid`.
fn system(sid: &str, independent: bool) -> Value {
    json!({
        "sid": sid, "system_number": "00", "system_type": "other",
        "product": "p", "product_version": "1", "installation_number": "0000000001",
        "status": "active", "eu_data_protection": false, "advanced_secure_support": false,
        "allow_independent_opening": independent, "description": "",
    })
}

/// The `i`-th SID with first letter `prefix` (`F00` … `F9Z`; none is reserved).
fn sid(prefix: char, i: usize) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    assert!(i < 360, "SIDs are numbered below 360");
    format!(
        "{prefix}{}{}",
        (b'0' + (i / 36) as u8) as char,
        ALNUM[i % 36] as char
    )
}

/// A tmpfs of `size` mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "this test mounts a tmpfs and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Writes a filler file until the filesystem has no byte left.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(28), "ENOSPC, got {e}");
                    break;
                }
            }
        }
        // Smaller writes take what the 64 KiB ones left.
        while f.write(&[0u8; 512]).is_ok_and(|n| n > 0) {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_writes_with_503_keeps_reads_and_recovers() {
    let fs = Tmpfs::mount("16m");
    let data = fs.path().join("hub");
    let hub = Hub::start(&data);
    let acme = hub.client(&hub.company("acme").await);
    let (status, guarded) = call_as(
        &acme,
        Method::POST,
        "/api/v1/companies/acme/systems",
        Some(&system("PRD", false)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{guarded}");
    let prd = guarded["id"].as_i64().unwrap();

    let filler = fs.fill();
    // Writes go on while SQLite still has room in pages it already owns; each one answered
    // 201 must be stored, and within a bounded number one must meet the full disk.
    let mut acknowledged = BTreeSet::new();
    let mut refused = None;
    for i in 0..360 {
        let s = sid('F', i);
        let (status, v) = call_as(
            &acme,
            Method::POST,
            "/api/v1/companies/acme/systems",
            Some(&system(&s, false)),
        )
        .await;
        match status {
            StatusCode::CREATED => {
                acknowledged.insert(s);
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(v["code"], "storage_full", "{v}");
                refused = Some(s);
                break;
            }
            other => panic!("a write on a full disk answered {other}: {v}"),
        }
    }
    let refused = refused.expect("a write met the full disk within 360 systems");

    // A security-relevant update on the full disk: refused, and the old value stays.
    let (status, v) = call_as(
        &acme,
        Method::PUT,
        &format!("/api/v1/systems/{prd}"),
        Some(&system("PRD", true)),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["code"], "storage_full", "{v}");

    // Reads keep working and show exactly what was acknowledged.
    let (status, v) = hub
        .call(Method::GET, &format!("/api/v1/systems/{prd}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["allow_independent_opening"], false, "{v}");
    let stored = hub.sids("acme").await;
    assert!(
        !stored.contains(&refused),
        "the refused {refused} is not stored"
    );
    for s in &acknowledged {
        assert!(stored.contains(s), "acknowledged {s} is stored");
    }

    // Space returns: writes resume without a restart.
    std::fs::remove_file(filler).unwrap();
    let (status, v) = call_as(
        &acme,
        Method::PUT,
        &format!("/api/v1/systems/{prd}"),
        Some(&system("PRD", true)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = call_as(
        &acme,
        Method::POST,
        "/api/v1/companies/acme/systems",
        Some(&system(&refused, false)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    acknowledged.insert(refused);

    // Every change has its event and every event its change; the chain verifies.
    let mut all = acknowledged.clone();
    all.insert("PRD".into());
    assert_eq!(hub.sids("acme").await, all);
    assert_eq!(hub.created_events().await, all);
    hub.audit_verifies().await;
    drop(hub);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_in_the_middle_of_writes_loses_no_acknowledged_change_and_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let mut acknowledged = BTreeSet::new();
    let mut acme_token = String::new();
    const ROUNDS: usize = 8;
    for round in 0..=ROUNDS {
        let mut hub = Hub::start(&data);
        if round == 0 {
            acme_token = hub.company("acme").await;
        }
        // What the previous kill left: every acknowledged system with its one event, no event
        // without its system, no system without its event, an intact chain.
        let stored = hub.sids("acme").await;
        for s in &acknowledged {
            assert!(
                stored.contains(s),
                "round {round}: acknowledged {s} was lost"
            );
        }
        assert_eq!(
            hub.created_events().await,
            stored,
            "round {round}: systems and their system.created events differ"
        );
        hub.audit_verifies().await;
        if round == ROUNDS {
            break;
        }

        // Eight writers; the hub is killed once 5 + 3·round writes were acknowledged, with
        // the others in flight. Each round names its systems with a letter of its own.
        let prefix = b"KLMNPQRT"[round] as char;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut writers = Vec::new();
        for w in 0..8 {
            let admin = hub.client(&acme_token);
            let tx = tx.clone();
            let sids: Vec<String> = (0..8).map(|k| sid(prefix, w * 8 + k)).collect();
            writers.push(tokio::spawn(async move {
                for s in sids {
                    let body = serde_json::to_vec(&system(&s, false)).unwrap();
                    match admin
                        .call(Method::POST, "/api/v1/companies/acme/systems", Some(body))
                        .await
                    {
                        Ok((StatusCode::CREATED, _)) => {
                            if tx.send(s).is_err() {
                                return;
                            }
                        }
                        // The hub died under this request: it was never acknowledged.
                        _ => return,
                    }
                }
            }));
        }
        drop(tx);
        let want = 5 + 3 * round;
        let mut got = 0;
        while let Some(s) = rx.recv().await {
            acknowledged.insert(s);
            got += 1;
            if got == want {
                hub.proc.kill9();
                break;
            }
        }
        assert_eq!(
            got, want,
            "round {round}: the writers acknowledged {got} writes"
        );
        for w in writers {
            let _ = w.await;
        }
        // Acknowledgements that arrived before the kill but after `want`.
        while let Ok(s) = rx.try_recv() {
            acknowledged.insert(s);
        }
    }
}
