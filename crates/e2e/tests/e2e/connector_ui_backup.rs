//! A backup from the running connector's REST API (`POST /api/v1/backup`): an Administrator
//! gets the encrypted file, the same format `portcullis connector restore` reads; restored
//! onto a fresh directory it holds the connector's identity, access list and a verified audit
//! log. Other roles and an empty password are refused; the backup is audited without its
//! password.

use std::path::Path;

use portcullis_connector::backup::{restore, Password, RestoreOptions};

use super::connector_ui::{first_logon, ready_user, world, NEW_PASSWORD};

const BACKUP_PASSWORD: &str = "a long backup pass phrase";

/// `POST /api/v1/backup` as `user`, the body written to `out`: the status.
async fn backup(cert: &Path, url: &str, user: &str, body: &str, out: &Path) -> u16 {
    let auth = format!("{user}:{NEW_PASSWORD}");
    let o = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "30", "--cacert"])
        .arg(cert)
        .args([
            "-u",
            &auth,
            "-H",
            "content-type: application/json",
            "--data",
            body,
        ])
        .arg("-o")
        .arg(out)
        .args(["-w", "%{http_code}", url])
        .output()
        .await
        .expect("curl runs");
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[tokio::test]
async fn an_administrator_downloads_a_backup_that_restores_onto_a_fresh_directory() {
    let w = world().await;
    let c = w.client();
    first_logon(&c, "Administrator", &w.initial_password()).await;
    ready_user(&w, "dora", "Display").await;

    let work = tempfile::tempdir().unwrap();
    let cert = work.path().join("ui.pem");
    std::fs::write(&cert, w.ui_cert()).unwrap();
    let url = c.url("/api/v1/backup");
    let file = work.path().join("connector.age");
    let body = format!(r#"{{"password":"{BACKUP_PASSWORD}"}}"#);
    assert_eq!(backup(&cert, &url, "dora", &body, &file).await, 403);
    assert_eq!(
        backup(&cert, &url, "Administrator", r#"{"password":""}"#, &file).await,
        400
    );
    assert_eq!(
        backup(&cert, &url, "Administrator", &body, &file).await,
        200
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "an age file");

    // Restored onto a fresh directory: the identity, the access list, a verified audit log.
    let fresh = work.path().join("fresh");
    let opts = RestoreOptions {
        from: file.clone(),
        config: fresh.join("connector.toml"),
        data_dir: Some(fresh.join("data")),
        force: false,
    };
    let wrong = Password::new("not it").unwrap();
    assert!(restore(&opts, &wrong, &mut |_| {}).is_err());
    let restored = restore(&opts, &Password::new(BACKUP_PASSWORD).unwrap(), &mut |_| {})
        .expect("the backup restores");
    assert!(restored.audit_records > 0);
    let original = w.conn.data_dir();
    for f in [
        "identity/client.pem",
        "identity/client.key",
        "admin/users.json",
    ] {
        assert_eq!(
            std::fs::read(fresh.join("data").join(f)).unwrap(),
            std::fs::read(original.join(f)).unwrap(),
            "{f}"
        );
    }
    let config = std::fs::read_to_string(fresh.join("connector.toml")).unwrap();
    assert!(config.contains("echo.internal"), "{config}");
    // Nothing left behind in the live data directory, and the backup audited.
    let leftovers: Vec<_> = std::fs::read_dir(original)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".backup-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The page's plain form, as a browser without JavaScript posts it: two different
    // passwords are refused on the page, the same one twice answers the file.
    let form = c.get("/settings/backup").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let r = c
        .post(
            "/settings/backup",
            &[("csrf", &csrf), ("password", "one"), ("repeat", "two")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("role=\"alert\"") && r.body.contains("differ"),
        "{}",
        r.body
    );
    let r = c
        .post(
            "/settings/backup",
            &[("csrf", &csrf), ("password", "same"), ("repeat", "same")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(r
        .header("content-disposition")
        .is_some_and(|d| d.contains(".age")));
    // A Display user gets no Backup page.
    let dora = w.client();
    assert_eq!(dora.sign_in("dora", NEW_PASSWORD).await.status, 303);
    assert_eq!(dora.get("/settings/backup").await.status, 403);

    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    let made: Vec<_> = log.lines().filter(|l| l.contains("backup_made")).collect();
    assert_eq!(made.len(), 2, "the API's and the page's: {log}");
    assert!(made[0].contains("\"via\":\"api\"") && !made[0].contains(BACKUP_PASSWORD));
    assert!(made[1].contains("\"via\":\"ui\"") && !made[1].contains("same"));
}
