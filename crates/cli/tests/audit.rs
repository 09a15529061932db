//! `portcullis audit …` as a user runs it: the real binary against a real hub, whose database
//! is then edited behind its back the way an intruder with file access would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use portcullis_test_support::TestHub;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::SqlitePool;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// The hub and what the CLI needs to reach it.
struct World {
    hub: TestHub,
    dir: tempfile::TempDir,
    ca: PathBuf,
    admin_token: String,
}

impl World {
    /// A hub with two companies and a few audited actions.
    async fn new() -> World {
        let hub = TestHub::start().await;
        for c in ["acme", "globex"] {
            hub.company(c).await;
            hub.token(c, "bot").await;
            hub.connector(c, "site").await;
        }
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &hub.ca_pem).unwrap();
        let admin_token =
            std::fs::read_to_string(hub.data_dir().join(portcullis_hub::ADMIN_TOKEN_FILE))
                .unwrap()
                .trim()
                .to_string();
        World {
            hub,
            dir,
            ca,
            admin_token,
        }
    }

    /// Runs `portcullis` with the hub's address, CA and `token` in its environment.
    async fn cli_as(&self, token: &str, args: &[&str]) -> Output {
        let env = vec![
            ("PORTCULLIS_HUB".to_string(), self.hub.api_url.clone()),
            (
                "PORTCULLIS_CA".to_string(),
                self.ca.to_str().unwrap().to_string(),
            ),
            ("PORTCULLIS_TOKEN".to_string(), token.to_string()),
        ];
        run(args, env).await
    }

    async fn cli(&self, args: &[&str]) -> Output {
        self.cli_as(&self.admin_token.clone(), args).await
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A second connection to the hub's database, as someone with access to the file.
    async fn db(&self) -> SqlitePool {
        let opts = SqliteConnectOptions::new().filename(self.hub.data_dir().join("hub.db"));
        SqlitePool::connect_with(opts).await.unwrap()
    }
}

/// Runs the binary off the runtime's threads (the hub runs on them).
async fn run(args: &[&str], env: Vec<(String, String)>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_remove("PORTCULLIS_HUB")
            .env_remove("PORTCULLIS_CA")
            .env_remove("PORTCULLIS_TOKEN")
            .envs(env)
            .output()
            .expect("binary runs")
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn explain(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", explain(o)))
}

fn verify_file(path: &Path) -> Output {
    // Offline: no hub in the environment at all.
    Command::new(BIN)
        .args(["audit", "verify", "--file", path.to_str().unwrap()])
        .env_remove("PORTCULLIS_HUB")
        .env_remove("PORTCULLIS_CA")
        .env_remove("PORTCULLIS_TOKEN")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_names_the_first_bad_seq_after_an_edited_and_after_a_deleted_row() {
    let w = World::new().await;

    // Untouched: intact, exit 0, in words and in JSON.
    let o = w.cli(&["audit", "verify"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    assert!(stdout(&o).contains("audit log intact"), "{}", explain(&o));
    let v = json_of(&w.cli(&["audit", "verify", "--json"]).await);
    assert_eq!(v["ok"], true);

    // Someone rewrites who did seq 3.
    let db = w.db().await;
    let (actor,): (String,) = sqlx::query_as("SELECT actor FROM audit_log WHERE seq = 3")
        .fetch_one(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'token:mallory#99' WHERE seq = 3")
        .execute(&db)
        .await
        .unwrap();
    let o = w.cli(&["audit", "verify"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    assert!(
        stdout(&o).contains("BROKEN at seq 3"),
        "names the seq: {}",
        explain(&o)
    );
    let o = w.cli(&["audit", "verify", "--json"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        json_of(&o),
        json!({"ok": false, "first_bad_seq": 3, "events_before": 2})
    );

    // Put it back: intact again. Then change what seq 4 says happened.
    sqlx::query("UPDATE audit_log SET actor = ? WHERE seq = 3")
        .bind(&actor)
        .execute(&db)
        .await
        .unwrap();
    let o = w.cli(&["audit", "verify"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    let (detail,): (String,) = sqlx::query_as("SELECT detail FROM audit_log WHERE seq = 4")
        .fetch_one(&db)
        .await
        .unwrap();
    sqlx::query(r#"UPDATE audit_log SET detail = '{"nothing":"happened"}' WHERE seq = 4"#)
        .execute(&db)
        .await
        .unwrap();
    let o = w.cli(&["audit", "verify", "--json"]).await;
    assert_eq!(
        json_of(&o),
        json!({"ok": false, "first_bad_seq": 4, "events_before": 3})
    );
    sqlx::query("UPDATE audit_log SET detail = ? WHERE seq = 4")
        .bind(&detail)
        .execute(&db)
        .await
        .unwrap();

    // Someone deletes seq 5: the break shows at seq 6, one event missing before it.
    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(&db)
        .await
        .unwrap();
    let o = w.cli(&["audit", "verify"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    let out = stdout(&o);
    assert!(out.contains("BROKEN at seq 6"), "{}", explain(&o));
    assert!(
        out.contains("1 event(s) right before seq 6 are missing"),
        "{out}"
    );
    assert_eq!(
        json_of(&w.cli(&["audit", "verify", "--json"]).await),
        json!({"ok": false, "first_bad_seq": 6, "events_before": 4})
    );

    // An export made now shows the hole offline too, and the export command says so.
    let file = w.path("after-delete.jsonl");
    let o = w
        .cli(&["audit", "export", "--out", file.to_str().unwrap()])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    let o = verify_file(&file);
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    assert!(
        stdout(&o).contains("line 6 (seq 6): events seq 5..=5 are missing"),
        "{}",
        explain(&o)
    );

    // Every verification is on the record.
    let v = json_of(
        &w.cli(&["audit", "list", "--action", "audit.verified", "--json"])
            .await,
    );
    let outcomes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"ok") && outcomes.contains(&"broken"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_verify_offline_and_a_tampered_line_is_named() {
    let w = World::new().await;
    let file = w.path("audit.jsonl");
    let o = w
        .cli(&["audit", "export", "--out", file.to_str().unwrap()])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Last: seq"),
        "{}",
        explain(&o)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the export is private: {mode:o}");
    }
    let o = verify_file(&file);
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    assert!(stdout(&o).contains("intact"), "{}", explain(&o));
    assert!(stdout(&o).contains("no event missing"), "{}", explain(&o));

    // Change who did seq 2 in the file.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines[2].starts_with(r#"{"seq":2,"#), "{}", lines[2]);
    lines[2] = lines[2].replacen(r#""actor":"token:"#, r#""actor":"token:x"#, 1);
    let tampered = w.path("tampered.jsonl");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    let o = verify_file(&tampered);
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    assert!(
        stdout(&o).contains("line 3 (seq 2): hash mismatch"),
        "{}",
        explain(&o)
    );
    let o = Command::new(BIN)
        .args(["audit", "verify", "--json", "--file"])
        .arg(&tampered)
        .output()
        .unwrap();
    let v = json_of(&o);
    assert_eq!(
        (&v["ok"], &v["line"], &v["seq"], &v["reason"]),
        (&json!(false), &json!(3), &json!(2), &json!("hash_mismatch"))
    );

    // A line that is not JSON.
    lines[2] = "garbage".into();
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    let o = verify_file(&tampered);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("line 3: not JSON"), "{}", explain(&o));

    // The export on standard output is the same format.
    let o = w.cli(&["audit", "export"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    let first: Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(first["portcullis_audit_export"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_company_admin_lists_and_exports_only_his_company() {
    let w = World::new().await;
    let v: Value = w
        .hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/companies/acme/tokens",
            &json!({"name": "boss", "role": "company_admin"}),
        )
        .await
        .unwrap();
    let boss = v["token"].as_str().unwrap().to_string();
    let companies = w.hub.admin.list_companies().await.unwrap();
    let acme = companies.iter().find(|c| c.name == "acme").unwrap().id;

    let file = w.path("acme.jsonl");
    let o = w
        .cli_as(&boss, &["audit", "export", "--out", file.to_str().unwrap()])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    let text = std::fs::read_to_string(&file).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("seq").is_some())
        .collect();
    assert!(events.len() >= 3, "{text}");
    assert!(
        events.iter().all(|e| e["company_id"] == json!(acme)),
        "{text}"
    );
    let o = verify_file(&file);
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    assert!(
        stdout(&o).contains("filtered export (company acme)"),
        "{}",
        explain(&o)
    );

    // The human list is a table of his company's events.
    let o = w.cli_as(&boss, &["audit", "list"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    let out = stdout(&o);
    let header = out.lines().next().unwrap();
    for col in [
        "SEQ", "TIME", "COMPANY", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL",
    ] {
        assert!(header.contains(col), "{out}");
    }
    assert!(out.contains("company.created"), "{out}");
    assert!(!out.contains("globex"), "{out}");
    // … which he may not verify as a whole.
    let o = w.cli_as(&boss, &["audit", "verify"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", explain(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("forbidden"),
        "{}",
        explain(&o)
    );
    // `admin audit` still prints JSON.
    let o = w.cli_as(&boss, &["admin", "audit", "--limit", "2"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    assert_eq!(json_of(&o).as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn verify_without_a_hub_or_a_file_says_what_is_missing() {
    let o = run(&["audit", "verify"], Vec::new()).await;
    assert_eq!(o.status.code(), Some(2), "{}", explain(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--hub"),
        "{}",
        explain(&o)
    );
}
